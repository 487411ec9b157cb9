package jetstream_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqscope/mqscope/internal/benchcmp"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// Core against raw nats.go jetstream on the same embedded server, in one run:
//
//	go test -run '^$' -bench . -benchtime 20000x ./backends/jetstream/
//
// Publish: one at a time (core Publish vs js.Publish) and many concurrent
// publishers (core Publish from 64 goroutines vs raw PublishAsync + wait for
// all acks). Consume+ack with batch 1, 10, 100: core Subscribe in a group vs
// a raw pull consumer doing Fetch(batch) + Ack, and vs raw Consume with
// PullMaxMessages(batch).

func benchStream(b *testing.B, n *testbroker.NATS, js jetstream.JetStream) string {
	b.Helper()
	topic := testbroker.Name(b, "bench")
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: topic, Subjects: []string{topic}, Storage: jetstream.FileStorage}); err != nil {
		b.Fatal(err)
	}
	return topic
}

func BenchmarkPublish(b *testing.B) {
	n := testbroker.StartNATS(b)
	_, js := rawJS(b, n)
	c := newClient(b, n, core.Config{})
	payload := make([]byte, 128)
	ctx := context.Background()

	b.Run("sync/core", func(b *testing.B) {
		topic := benchStream(b, n, js)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := c.Publish(ctx, topic, payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sync/raw", func(b *testing.B) {
		topic := benchStream(b, n, js)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := js.Publish(ctx, topic, payload); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("concurrent/core", func(b *testing.B) {
		topic := benchStream(b, n, js)
		b.SetParallelism(benchParallelism) // × GOMAXPROCS goroutines
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := c.Publish(ctx, topic, payload); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("concurrent/raw-async", func(b *testing.B) {
		topic := benchStream(b, n, js)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := js.PublishAsync(topic, payload); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(30 * time.Second):
			b.Fatal("async acks did not complete")
		}
	})
}

func fill(b *testing.B, js jetstream.JetStream, topic string, count int) {
	b.Helper()
	payload := make([]byte, 128)
	for i := 0; i < count; i++ {
		if _, err := js.PublishAsync(topic, payload); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(60 * time.Second):
		b.Fatal("fill: acks did not complete")
	}
}

func BenchmarkConsumeAck(b *testing.B) {
	n := testbroker.StartNATS(b)
	_, js := rawJS(b, n)
	c := newClient(b, n, core.Config{})
	for _, batch := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("batch=%d/core", batch), func(b *testing.B) {
			topic := benchStream(b, n, js)
			fill(b, js, topic, b.N)
			var got atomic.Int64
			done := make(chan struct{})
			target := int64(b.N)
			b.ResetTimer()
			sub, err := c.Subscribe(context.Background(), topic, func(core.Message) error {
				if got.Add(1) == target {
					close(done)
				}
				return nil
			}, core.WithQueueGroup("bench"), core.WithBatchSize(batch))
			if err != nil {
				b.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(120 * time.Second):
				b.Fatalf("consumed %d of %d", got.Load(), b.N)
			}
			b.StopTimer()
			_ = sub.Unsubscribe()
		})
		b.Run(fmt.Sprintf("batch=%d/raw-fetch", batch), func(b *testing.B) {
			topic := benchStream(b, n, js)
			fill(b, js, topic, b.N)
			ctx := context.Background()
			b.ResetTimer()
			cons, err := js.CreateConsumer(ctx, topic, jetstream.ConsumerConfig{Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy})
			if err != nil {
				b.Fatal(err)
			}
			got := 0
			for got < b.N {
				mb, err := cons.Fetch(batch, jetstream.FetchMaxWait(5*time.Second))
				if err != nil {
					b.Fatal(err)
				}
				for m := range mb.Messages() {
					_ = m.Ack()
					got++
				}
				if err := mb.Error(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("batch=%d/raw-consume", batch), func(b *testing.B) {
			topic := benchStream(b, n, js)
			fill(b, js, topic, b.N)
			ctx := context.Background()
			var got atomic.Int64
			done := make(chan struct{})
			target := int64(b.N)
			b.ResetTimer()
			cons, err := js.CreateConsumer(ctx, topic, jetstream.ConsumerConfig{Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy})
			if err != nil {
				b.Fatal(err)
			}
			cc, err := cons.Consume(func(m jetstream.Msg) {
				_ = m.Ack()
				if got.Add(1) == target {
					close(done)
				}
			}, jetstream.PullMaxMessages(batch))
			if err != nil {
				b.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(120 * time.Second):
				b.Fatalf("consumed %d of %d", got.Load(), b.N)
			}
			b.StopTimer()
			cc.Stop()
		})
	}
}

// BenchmarkConsumeAckInterleaved: consume+ack of pre-filled streams, core
// (Subscribe in a group, WithBatchSize(n)) vs raw (a pull consumer doing
// Fetch(n) + Ack), alternating in chunks of consumeChunk messages so that
// the shared machine's load swings hit both alike. The core handler holds
// at the end of its chunk (an atomic compare per message) while raw runs.
//
//	go test -run '^$' -bench ConsumeAckInterleaved -benchtime 20000x ./backends/jetstream/
func BenchmarkConsumeAckInterleaved(b *testing.B) {
	n := testbroker.StartNATS(b)
	_, js := rawJS(b, n)
	c := newClient(b, n, core.Config{})
	const consumeChunk = 2000
	for _, batch := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			rawTopic, coreTopic := benchStream(b, n, js), benchStream(b, n, js)
			fill(b, js, rawTopic, b.N)
			fill(b, js, coreTopic, b.N)
			cons, err := js.CreateConsumer(ctx, rawTopic, jetstream.ConsumerConfig{Durable: "bench", AckPolicy: jetstream.AckExplicitPolicy})
			if err != nil {
				b.Fatal(err)
			}
			var got, allowed atomic.Int64
			resume := make(chan struct{}, 1)
			reached := make(chan struct{}, 1)
			sub, err := c.Subscribe(ctx, coreTopic, func(core.Message) error {
				k := got.Add(1)
				for k > allowed.Load() {
					<-resume
				}
				if k == allowed.Load() {
					select {
					case reached <- struct{}{}:
					default:
					}
				}
				return nil
			}, core.WithQueueGroup("bench"), core.WithBatchSize(batch))
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				// Release a handler held at its chunk's end, then stop.
				allowed.Store(1 << 62)
				select {
				case resume <- struct{}{}:
				default:
				}
				_ = sub.Unsubscribe()
			}()
			benchcmp.Interleave(b, consumeChunk, func(side, count int) {
				if side == benchcmp.Core {
					allowed.Add(int64(count))
					select {
					case resume <- struct{}{}:
					default:
					}
					select {
					case <-reached:
					case <-time.After(60 * time.Second):
						b.Fatalf("core consumed %d, allowed %d", got.Load(), allowed.Load())
					}
					return
				}
				for left := count; left > 0; {
					mb, err := cons.Fetch(min(batch, left), jetstream.FetchMaxWait(5*time.Second))
					if err != nil {
						b.Fatal(err)
					}
					for m := range mb.Messages() {
						_ = m.Ack()
						left--
					}
					if err := mb.Error(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

var benchParallelism = 64

// BenchmarkPublishAsync: one goroutine publishing without waiting, acks
// awaited at the end of each chunk: core PublishAsync + Flush (every
// future checked) vs raw js.PublishAsync + PublishAsyncComplete, on the
// same server, alternating in chunks of asyncChunk messages so that the
// shared machine's load swings hit both alike. Reports both rates and
// core/raw.
//
//	go test -run '^$' -bench PublishAsync -benchtime 100000x ./backends/jetstream/
func BenchmarkPublishAsync(b *testing.B) {
	n := testbroker.StartNATS(b)
	_, js := rawJS(b, n)
	c := newClient(b, n, core.Config{})
	payload := make([]byte, 128)
	ctx := context.Background()
	rawTopic, coreTopic := benchStream(b, n, js), benchStream(b, n, js)
	futs := make([]*core.PublishFuture, 0, asyncChunk)
	run := [2]func(k int){
		func(k int) { // raw
			for i := 0; i < k; i++ {
				if _, err := js.PublishAsync(rawTopic, payload); err != nil {
					b.Fatal(err)
				}
			}
			select {
			case <-js.PublishAsyncComplete():
			case <-time.After(30 * time.Second):
				b.Fatal("raw: async acks did not complete")
			}
		},
		func(k int) { // core
			futs = futs[:0]
			for i := 0; i < k; i++ {
				f, err := c.PublishAsync(ctx, coreTopic, payload)
				if err != nil {
					b.Fatal(err)
				}
				futs = append(futs, f)
			}
			fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := c.Flush(fctx); err != nil {
				b.Fatal("core: async acks did not complete: ", err)
			}
			for _, f := range futs {
				if err := f.Err(); err != nil {
					b.Fatal(err)
				}
			}
		},
	}
	benchcmp.Interleave(b, asyncChunk, func(side, n int) { run[side](n) })
}

const asyncChunk = 10000

// BenchmarkScale1M: one stream of 1 000 000 messages, all delivered to one
// durable consumer and none acked: the first Pending page (the issue's
// target for Redis: < 300 ms), Groups, and Browse pages from the middle and
// the end (< 100 ms).
//
//	go test -run '^$' -bench Scale1M -benchtime 20x ./backends/jetstream/
func BenchmarkScale1M(b *testing.B) {
	n := testbroker.StartNATS(b)
	_, js := rawJS(b, n)
	ctx := context.Background()
	topic := benchStream(b, n, js)
	const total = 1000000
	start := time.Now()
	fill(b, js, topic, total)
	cons, err := js.CreateConsumer(ctx, topic, jetstream.ConsumerConfig{
		Durable: "g", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: -1, AckWait: time.Hour,
	})
	if err != nil {
		b.Fatal(err)
	}
	for got := 0; got < total; {
		mb, err := cons.FetchNoWait(min(20000, total-got))
		if err != nil {
			b.Fatal(err)
		}
		for range mb.Messages() {
			got++
		}
		if err := mb.Error(); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("setup: 1 000 000 messages, all ack-pending, in %v", time.Since(start).Round(time.Millisecond))
	c := newClient(b, n, core.Config{})
	op := c.Operator()
	b.Run("PendingFirstPage", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p, err := op.Pending(ctx, core.PendingQuery{Topic: topic, Group: "g", Limit: 100})
			if err != nil || len(p.Entries) != 100 || p.Total != total {
				b.Fatalf("pending: %d entries, total %d, %v", len(p.Entries), p.Total, err)
			}
		}
	})
	b.Run("Groups", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			gs, err := op.Groups(ctx, topic)
			if err != nil || len(gs) != 1 || gs[0].Pending != total {
				b.Fatalf("groups: %+v, %v", gs, err)
			}
		}
	})
	b.Run("BrowsePage", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p, err := op.Browse(ctx, core.BrowseQuery{Topic: topic, From: core.AtSequence(total / 2), Limit: 50})
			if err != nil || len(p.Records) != 50 {
				b.Fatalf("browse: %d records, %v", len(p.Records), err)
			}
		}
	})
	b.Run("BrowsePageReverse", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p, err := op.Browse(ctx, core.BrowseQuery{Topic: topic, Reverse: true, Limit: 50})
			if err != nil || len(p.Records) != 50 {
				b.Fatalf("browse: %d records, %v", len(p.Records), err)
			}
		}
	})
}
