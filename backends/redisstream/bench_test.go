package redisstream_test

// Benchmarks: core against raw go-redis on the same Redis, in one run.
//
//	go test -run '^$' -bench . -benchtime 1s ./backends/redisstream/
//
// The Scale benchmarks build large data sets (10 000 streams; a stream of
// 1 000 000 entries all pending in one group) with pipelines and delete
// them afterwards; they only run with -bench.

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqscope/mqscope/internal/benchcmp"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

var benchPayload = []byte(`{"order":12345,"sku":"ABC-1","qty":2,"note":"benchmark payload of about 100 bytes.."}`)

func benchTopic(b *testing.B, admin *redis.Client) string {
	name := testbroker.Name(b, "bench")
	b.Cleanup(func() { admin.Del(context.Background(), name) })
	return name
}

func BenchmarkPublish(b *testing.B) {
	admin := testbroker.Redis(b)
	ctx := context.Background()
	b.Run("raw", func(b *testing.B) {
		tp := benchTopic(b, admin)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := admin.XAdd(ctx, &redis.XAddArgs{Stream: tp, Values: []any{"data", benchPayload}}).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("core", func(b *testing.B) {
		tp := benchTopic(b, admin)
		c := newClient(b, admin, core.Config{})
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := c.Publish(ctx, tp, benchPayload); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPublishParallel publishes from 32×GOMAXPROCS goroutines: raw is
// one XADD per call on a pool of connections; core coalesces concurrent
// calls into pipelines.
func BenchmarkPublishParallel(b *testing.B) {
	admin := testbroker.Redis(b)
	ctx := context.Background()
	b.Run("raw", func(b *testing.B) {
		tp := benchTopic(b, admin)
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := admin.XAdd(ctx, &redis.XAddArgs{Stream: tp, Values: []any{"data", benchPayload}}).Err(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("core", func(b *testing.B) {
		tp := benchTopic(b, admin)
		c := newClient(b, admin, core.Config{})
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := c.Publish(ctx, tp, benchPayload); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// fill writes n entries (library encoding) with pipelines.
func fill(b *testing.B, rdb *redis.Client, stream string, n int) {
	b.Helper()
	ctx := context.Background()
	for done := 0; done < n; {
		pipe := rdb.Pipeline()
		k := min(5000, n-done)
		for i := 0; i < k; i++ {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"data", benchPayload}})
		}
		if _, err := pipe.Exec(ctx); err != nil {
			b.Fatal(err)
		}
		done += k
	}
}

// BenchmarkConsume: consume+ack of b.N stored messages with batch 1, 10,
// 100. raw = XREADGROUP COUNT n + one XACK of the batch.
func BenchmarkConsume(b *testing.B) {
	admin := testbroker.Redis(b)
	ctx := context.Background()
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("batch=%d/raw", n), func(b *testing.B) {
			tp := benchTopic(b, admin)
			fill(b, admin, tp, b.N)
			admin.XGroupCreate(ctx, tp, "g", "0")
			b.ResetTimer()
			got := 0
			for got < b.N {
				res, err := admin.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "raw", Streams: []string{tp, ">"}, Count: int64(n), Block: time.Second}).Result()
				if err != nil {
					b.Fatal(err)
				}
				ids := make([]string, 0, n)
				for _, m := range res[0].Messages {
					ids = append(ids, m.ID)
				}
				if err := admin.XAck(ctx, tp, "g", ids...).Err(); err != nil {
					b.Fatal(err)
				}
				got += len(ids)
			}
		})
		b.Run(fmt.Sprintf("batch=%d/core", n), func(b *testing.B) {
			tp := benchTopic(b, admin)
			fill(b, admin, tp, b.N)
			c := newClient(b, admin, core.Config{})
			var count atomic.Int64
			done := make(chan struct{})
			target := int64(b.N)
			b.ResetTimer()
			sub, err := c.Subscribe(ctx, tp, func(m core.Message) error {
				if count.Add(1) == target {
					close(done)
				}
				return nil
			}, core.WithQueueGroup("g"), core.WithBatchSize(n))
			if err != nil {
				b.Fatal(err)
			}
			select {
			case <-done:
			case <-time.After(5 * time.Minute):
				b.Fatalf("consumed %d of %d", count.Load(), b.N)
			}
			b.StopTimer()
			sub.Unsubscribe()
		})
	}
}

// BenchmarkScaleTopics: Topics over 10 000 streams (target < 2 s).
func BenchmarkScaleTopics(b *testing.B) {
	admin := testbroker.Redis(b)
	ctx := context.Background()
	prefix := testbroker.Name(b, "scale")
	const n = 10000
	pipe := admin.Pipeline()
	for i := 0; i < n; i++ {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: prefix + ":" + strconv.Itoa(i), Values: []any{"data", benchPayload}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	testbroker.CleanupRedisKeys(b, admin, prefix+":*")
	c := newClient(b, admin, core.Config{})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ts, err := c.Operator().Topics(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(ts) < n {
			b.Fatalf("Topics listed %d, want ≥ %d", len(ts), n)
		}
	}
}

// BenchmarkScale1M: one stream of 1 000 000 entries, all pending in one
// group: the first Pending page (target < 300 ms), a Groups refresh (its
// idle scan reads at most 1000 pending entries) and a Browse page from the
// middle (target < 100 ms).
func BenchmarkScale1M(b *testing.B) {
	admin := testbroker.Redis(b)
	ctx := context.Background()
	tp := testbroker.Name(b, "scale1m")
	const n = 1000000
	start := time.Now()
	fill(b, admin, tp, n)
	b.Cleanup(func() { admin.Del(context.Background(), tp) })
	admin.XGroupCreate(ctx, tp, "g", "0")
	for read := 0; read < n; {
		// JUSTID-like cheapness is not available for XREADGROUP: read in
		// chunks and drop the replies.
		res, err := admin.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c" + strconv.Itoa(read%7), Streams: []string{tp, ">"}, Count: 20000}).Result()
		if err != nil {
			b.Fatal(err)
		}
		read += len(res[0].Messages)
	}
	b.Logf("setup: 1 000 000 entries, all pending, in %v", time.Since(start).Round(time.Millisecond))
	mid, _ := admin.XRangeN(ctx, tp, "-", "+", 1).Result()
	c := newClient(b, admin, core.Config{})
	op := c.Operator()
	b.Run("PendingFirstPage", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p, err := op.Pending(ctx, core.PendingQuery{Topic: tp, Group: "g", Limit: 100})
			if err != nil || len(p.Entries) != 100 || p.Total != n {
				b.Fatalf("pending: %d entries, total %d, %v", len(p.Entries), p.Total, err)
			}
		}
	})
	b.Run("PendingFirstPageMinIdle", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p, err := op.Pending(ctx, core.PendingQuery{Topic: tp, Group: "g", Limit: 100, MinIdle: time.Millisecond, Consumer: "c3"})
			if err != nil || len(p.Entries) == 0 {
				b.Fatalf("pending: %d entries, %v", len(p.Entries), err)
			}
		}
	})
	b.Run("Groups", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			gs, err := op.Groups(ctx, tp)
			if err != nil || len(gs) != 1 || gs[0].Pending != n || gs[0].OldestPendingIdle <= 0 || !gs[0].OldestPendingLowerBound {
				b.Fatalf("groups: %+v %v", gs, err)
			}
		}
	})
	b.Run("BrowsePage", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p, err := op.Browse(ctx, core.BrowseQuery{Topic: tp, From: core.AtTime(idTimeOf(mid[0].ID).Add(time.Second)), Limit: 50})
			if err != nil || len(p.Records) != 50 {
				b.Fatalf("browse: %d records, %v", len(p.Records), err)
			}
		}
	})
	b.Run("BrowsePageReverse", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p, err := op.Browse(ctx, core.BrowseQuery{Topic: tp, Reverse: true, Limit: 50})
			if err != nil || len(p.Records) != 50 {
				b.Fatalf("browse: %d records, %v", len(p.Records), err)
			}
		}
	})
}

func idTimeOf(id string) time.Time {
	var ms int64
	fmt.Sscanf(id, "%d-", &ms)
	return time.UnixMilli(ms)
}

// BenchmarkPublishAsync: one goroutine publishing without waiting: core
// PublishAsync + Flush (every future checked) vs raw go-redis pipelines of
// rawPipeBatch XADDs sent one after another, on the same Redis, alternating
// in chunks of asyncChunk messages. Reports both rates and core/raw.
//
//	go test -run '^$' -bench PublishAsync -benchtime 100000x ./backends/redisstream/
func BenchmarkPublishAsync(b *testing.B) {
	admin := testbroker.Redis(b)
	ctx := context.Background()
	rawTopic, coreTopic := benchTopic(b, admin), benchTopic(b, admin)
	c := newClient(b, admin, core.Config{})
	futs := make([]*core.PublishFuture, 0, asyncChunk)
	run := [2]func(k int){
		func(k int) { // raw
			for done := 0; done < k; {
				pipe := admin.Pipeline()
				n := min(rawPipeBatch, k-done)
				for i := 0; i < n; i++ {
					pipe.XAdd(ctx, &redis.XAddArgs{Stream: rawTopic, Values: []any{"data", benchPayload}})
				}
				if _, err := pipe.Exec(ctx); err != nil {
					b.Fatal(err)
				}
				done += n
			}
		},
		func(k int) { // core
			futs = futs[:0]
			for i := 0; i < k; i++ {
				f, err := c.PublishAsync(ctx, coreTopic, benchPayload)
				if err != nil {
					b.Fatal(err)
				}
				futs = append(futs, f)
			}
			fctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			if err := c.Flush(fctx); err != nil {
				b.Fatal(err)
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

const (
	asyncChunk   = 10000
	rawPipeBatch = 256 // the same batch bound as core's auto-pipeliner
)
