package natscore_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqscope/mqscope/internal/benchcmp"

	"github.com/nats-io/nats.go"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// Core against raw nats.go on the same embedded server, in one run:
//
//	go test -run '^$' -bench . -benchtime 1s ./backends/natscore/
//
// The machine is shared and its load swings within seconds, so each
// benchmark interleaves the two: the b.N messages are sent in chunks that
// alternate between raw nats.go and core (on separate connections and
// subjects of the same server), and the time of each side is summed. Each
// reports raw-msg/s, core-msg/s and core/raw; ns/op is for both together.
// Payloads are 64 bytes.

var benchPayload = make([]byte, 64)

// window bounds messages in flight between publisher and subscribers, so a
// fast publisher cannot overrun the subscriber's pending limit (which would
// drop messages and leave the benchmark waiting): both sides measure the
// same end-to-end throughput.
const window = 32 * 1024

// batch is the unit of the window's accounting.
const batch = 1024

// chunk is how many messages one side sends before the other takes over.
const chunk = 25_000

type benchSide struct {
	publish   func() error
	flush     func() error                 // until the server has processed what was published
	subscribe func(group string, h func()) // h is called per message
}

func rawSide(b *testing.B, srv *testbroker.NATS, subject string) benchSide {
	pc, sc := srv.Connect(b), srv.Connect(b)
	return benchSide{
		publish: func() error { return pc.Publish(subject, benchPayload) },
		flush:   pc.Flush,
		subscribe: func(group string, h func()) {
			cb := func(*nats.Msg) { h() }
			var err error
			if group != "" {
				_, err = sc.QueueSubscribe(subject, group, cb)
			} else {
				_, err = sc.Subscribe(subject, cb)
			}
			if err != nil {
				b.Fatal(err)
			}
			if err := sc.Flush(); err != nil {
				b.Fatal(err)
			}
		},
	}
}

func coreSide(b *testing.B, srv *testbroker.NATS, subject string) benchSide {
	pc, sc := srv.Connect(b), srv.Connect(b)
	newC := func(nc *nats.Conn) *core.Client {
		c, err := core.New(&core.Config{Driver: core.DriverNATSCore}, core.WithNATSConnector(nc))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = c.Close() })
		return c
	}
	pub, sub := newC(pc), newC(sc)
	ctx := context.Background()
	return benchSide{
		publish: func() error { return pub.Publish(ctx, subject, benchPayload) },
		flush:   pc.Flush,
		subscribe: func(group string, h func()) {
			var opts []core.SubscribeOption
			if group != "" {
				opts = append(opts, core.WithQueueGroup(group))
			}
			if _, err := sub.Subscribe(ctx, subject, func(core.Message) error { h(); return nil }, opts...); err != nil {
				b.Fatal(err)
			}
		},
	}
}

// interleave runs b.N operations in chunks alternating between raw and core
// (benchcmp.Interleave), counting the payload's bytes.
func interleave(b *testing.B, run func(side int, n int)) {
	b.SetBytes(int64(len(benchPayload)))
	benchcmp.Interleave(b, chunk, run)
}

// BenchmarkPubSub: one publisher, one subscriber, end to end.
func BenchmarkPubSub(b *testing.B) { pubSub(b, 1, "") }

// BenchmarkQueueGroup: one publisher, two members of a queue group.
func BenchmarkQueueGroup(b *testing.B) { pubSub(b, 2, "workers") }

func pubSub(b *testing.B, members int, group string) {
	srv := testbroker.StartNATS(b)
	sides := [2]benchSide{rawSide(b, srv, "bench.raw"), coreSide(b, srv, "bench.core")}
	type counter struct {
		got     atomic.Int64
		want    atomic.Int64 // total the current chunk ends at
		done    chan struct{}
		credits chan struct{} // one per batch in flight: bounds the window
	}
	var cs [2]*counter
	for i := range sides {
		c := &counter{done: make(chan struct{}, 1), credits: make(chan struct{}, window/batch)}
		cs[i] = c
		for m := 0; m < members; m++ {
			sides[i].subscribe(group, func() {
				n := c.got.Add(1)
				if n%batch == 0 {
					<-c.credits
				}
				if n == c.want.Load() {
					c.done <- struct{}{}
				}
			})
		}
	}
	var sent [2]int64
	interleave(b, func(side, n int) {
		s, c := sides[side], cs[side]
		c.want.Store(sent[side] + int64(n))
		for j := 0; j < n; j++ {
			if sent[side]%batch == 0 {
				c.credits <- struct{}{} // blocks while window messages are in flight
			}
			if err := s.publish(); err != nil {
				b.Fatal(err)
			}
			sent[side]++
		}
		select {
		case <-c.done:
		case <-time.After(30 * time.Second):
			b.Fatalf("side %d received %d of %d", side, c.got.Load(), sent[side])
		}
	})
}

// BenchmarkPublish: four goroutines publishing on one connection, no
// subscriber; each chunk ends with a flush (a PING/PONG round trip), so it
// counts until the server has taken the messages.
func BenchmarkPublish(b *testing.B) {
	srv := testbroker.StartNATS(b)
	sides := [2]benchSide{rawSide(b, srv, "bench.raw"), coreSide(b, srv, "bench.core")}
	const workers = 4
	interleave(b, func(side, n int) {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			k := n / workers
			if w == 0 {
				k += n % workers
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < k; j++ {
					if err := sides[side].publish(); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		// Count the server's side too, so neither side's backlog slows the
		// other's chunk.
		if err := sides[side].flush(); err != nil {
			b.Fatal(err)
		}
	})
}
