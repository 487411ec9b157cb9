package natscore_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// interleave runs b.N operations in chunks alternating between raw and core;
// run(side, n) does n operations on one side and returns when they are done.
func interleave(b *testing.B, run func(side int, n int)) {
	var spent [2]time.Duration
	var done [2]int
	b.SetBytes(int64(len(benchPayload)))
	b.ResetTimer()
	for i, left := 0, b.N; left > 0; i++ {
		n := min(chunk, left)
		side := i % 2
		t0 := time.Now()
		run(side, n)
		spent[side] += time.Since(t0)
		done[side] += n
		left -= n
	}
	b.StopTimer()
	if done[0] == 0 || done[1] == 0 {
		return // b.N too small to measure both
	}
	raw := float64(done[0]) / spent[0].Seconds()
	cor := float64(done[1]) / spent[1].Seconds()
	b.ReportMetric(raw, "raw-msg/s")
	b.ReportMetric(cor, "core-msg/s")
	b.ReportMetric(cor/raw, "core/raw")
}

// BenchmarkPubSub: one publisher, one subscriber, end to end.
func BenchmarkPubSub(b *testing.B) { pubSub(b, 1, "") }

// BenchmarkQueueGroup: one publisher, two members of a queue group.
func BenchmarkQueueGroup(b *testing.B) { pubSub(b, 2, "workers") }

func pubSub(b *testing.B, members int, group string) {
	srv := testbroker.StartNATS(b)
	sides := [2]benchSide{rawSide(b, srv, "bench.raw"), coreSide(b, srv, "bench.core")}
	var got [2]atomic.Int64
	for i := range sides {
		for m := 0; m < members; m++ {
			sides[i].subscribe(group, func() { got[i].Add(1) })
		}
	}
	var sent [2]int64
	interleave(b, func(side, n int) {
		s, g := sides[side], &got[side]
		for j := 0; j < n; j++ {
			if j%512 == 0 {
				for sent[side]-g.Load() > window {
					runtime.Gosched()
				}
			}
			if err := s.publish(); err != nil {
				b.Fatal(err)
			}
			sent[side]++
		}
		deadline := time.Now().Add(30 * time.Second)
		for g.Load() < sent[side] {
			if time.Now().After(deadline) {
				b.Fatalf("side %d received %d of %d", side, g.Load(), sent[side])
			}
			runtime.Gosched()
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
