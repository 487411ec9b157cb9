package natscore_test

import (
	"context"
	"runtime"
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
// Each pair reports msg/s; the ratio core/raw is what matters (the machine
// is shared and noisy). Payloads are 64 bytes.

var benchPayload = make([]byte, 64)

// window bounds messages in flight between publisher and subscribers, so a
// fast publisher cannot overrun the subscriber's pending limit (which would
// drop messages and leave the benchmark waiting): both sides measure the
// same end-to-end throughput.
const window = 64 * 1024

type benchSide struct {
	publish   func() error
	subscribe func(group string, h func()) // h is called per message
}

func rawSide(b *testing.B, srv *testbroker.NATS) benchSide {
	pc, sc := srv.Connect(b), srv.Connect(b)
	return benchSide{
		publish: func() error { return pc.Publish("bench.subject", benchPayload) },
		subscribe: func(group string, h func()) {
			cb := func(*nats.Msg) { h() }
			var err error
			if group != "" {
				_, err = sc.QueueSubscribe("bench.subject", group, cb)
			} else {
				_, err = sc.Subscribe("bench.subject", cb)
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

func coreSide(b *testing.B, srv *testbroker.NATS) benchSide {
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
		publish: func() error { return pub.Publish(ctx, "bench.subject", benchPayload) },
		subscribe: func(group string, h func()) {
			var opts []core.SubscribeOption
			if group != "" {
				opts = append(opts, core.WithQueueGroup(group))
			}
			if _, err := sub.Subscribe(ctx, "bench.subject", func(core.Message) error { h(); return nil }, opts...); err != nil {
				b.Fatal(err)
			}
		},
	}
}

var sides = []struct {
	name string
	make func(*testing.B, *testbroker.NATS) benchSide
}{{"raw", rawSide}, {"core", coreSide}}

// BenchmarkPubSub: one publisher, one subscriber, end to end.
func BenchmarkPubSub(b *testing.B) {
	for _, sd := range sides {
		b.Run(sd.name, func(b *testing.B) { pubSub(b, sd.make(b, testbroker.StartNATS(b)), 1, "") })
	}
}

// BenchmarkQueueGroup: one publisher, two members of a queue group.
func BenchmarkQueueGroup(b *testing.B) {
	for _, sd := range sides {
		b.Run(sd.name, func(b *testing.B) { pubSub(b, sd.make(b, testbroker.StartNATS(b)), 2, "workers") })
	}
}

func pubSub(b *testing.B, s benchSide, members int, group string) {
	var got atomic.Int64
	done := make(chan struct{})
	n := int64(b.N)
	for i := 0; i < members; i++ {
		s.subscribe(group, func() {
			if got.Add(1) == n {
				close(done)
			}
		})
	}
	b.SetBytes(int64(len(benchPayload)))
	b.ResetTimer()
	for i := int64(0); i < n; i++ {
		if i%1024 == 0 {
			for i-got.Load() > window {
				runtime.Gosched()
			}
		}
		if err := s.publish(); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		b.Fatalf("received %d of %d", got.Load(), n)
	}
	b.StopTimer()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msg/s")
}

// BenchmarkPublish: many goroutines publishing on one connection, no
// subscriber (what the connection can write).
func BenchmarkPublish(b *testing.B) {
	for _, sd := range sides {
		b.Run(sd.name, func(b *testing.B) {
			s := sd.make(b, testbroker.StartNATS(b))
			b.SetBytes(int64(len(benchPayload)))
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := s.publish(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
		})
	}
}
