package core_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// counterValue reads one labelled counter from m.
func counterValue(t *testing.T, m *core.Metrics, name, topic string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mm := range mf.GetMetric() {
			for _, l := range mm.GetLabel() {
				if l.GetName() == "topic" && l.GetValue() == topic {
					return mm.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// The fallback (a bounded pool running Publish) on real Redis: futures
// resolve, order is kept per topic, a broker error comes back in its
// future, metrics count on resolution, Flush waits.
func TestPublishAsyncFallback(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	m := core.NewMetrics("")
	c, err := core.New(&core.Config{Driver: core.DriverRedisStream}, core.WithRedisConnector(admin), core.WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	core.ForceAsyncFallback(c)
	ctx := context.Background()
	topic := testbroker.Name(t, "fallback")
	testbroker.CleanupRedisKeys(t, admin, topic+"*")
	const total = 1000
	futs := make([]*core.PublishFuture, total)
	for i := range futs {
		f, err := c.PublishAsync(ctx, topic, []byte(strconv.Itoa(i)))
		if err != nil {
			t.Fatalf("PublishAsync %d: %v", i, err)
		}
		futs[i] = f
	}
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := c.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	for i, f := range futs {
		select {
		case <-f.Done():
		default:
			t.Fatalf("future %d unresolved after Flush", i)
		}
		if err := f.Wait(ctx); err != nil {
			t.Fatalf("future %d: %v", i, err)
		}
	}
	entries, err := admin.XRange(ctx, topic, "-", "+").Result()
	if err != nil || len(entries) != total {
		t.Fatalf("stream: %d entries, %v; want %d", len(entries), err, total)
	}
	for i, e := range entries {
		if e.Values["data"] != strconv.Itoa(i) {
			t.Fatalf("entry %d holds %v: order not kept", i, e.Values["data"])
		}
	}
	bad := topic + ":string"
	admin.Set(ctx, bad, "x", 0)
	f, err := c.PublishAsync(ctx, bad, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Wait(fctx); err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("XADD to a string key: %v; want WRONGTYPE", err)
	}
	if got := counterValue(t, m, "mq_published_total", topic); got != total {
		t.Fatalf("published_total = %v, want %d", got, total)
	}
	if got := counterValue(t, m, "mq_publish_errors_total", bad); got != 1 {
		t.Fatalf("publish_errors_total = %v, want 1", got)
	}
	if _, err := c.PublishAsync(nil, topic, nil); err == nil { //nolint:staticcheck // nil ctx on purpose
		t.Fatal("nil ctx: no error")
	}
}

// Fallback with the only connection busy: the bounded queue pushes back
// (ctx), Flush honours its ctx, Close resolves every future (queued ones
// with ErrClosed) and later calls say ErrClosed.
func TestPublishAsyncFallbackClose(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	o, err := redis.ParseURL(testbroker.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	o.PoolSize, o.MaxActiveConns, o.MaxIdleConns, o.PoolTimeout = 1, 1, 1, 10*time.Second
	o.ClientName = testbroker.Name(t, "busy")
	rdb := redis.NewClient(o)
	defer rdb.Close()
	c, err := core.New(&core.Config{Driver: core.DriverRedisStream, CloseTimeout: 50 * time.Millisecond}, core.WithRedisConnector(rdb))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	core.ForceAsyncFallback(c)
	ctx := context.Background()
	topic := testbroker.Name(t, "fallback")
	testbroker.CleanupRedisKeys(t, admin, topic+"*")

	blocked := make(chan struct{})
	go func() {
		defer close(blocked)
		rdb.BLPop(ctx, 1500*time.Millisecond, topic+":nothing")
	}()
	for deadline := time.Now().Add(20 * time.Second); ; {
		list, _ := admin.ClientList(ctx).Result()
		if strings.Contains(list, " name="+o.ClientName+" ") && strings.Contains(list, "cmd=blpop") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("BLPOP not seen in CLIENT LIST")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var futs []*core.PublishFuture
	for {
		tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		f, err := c.PublishAsync(tctx, topic, []byte("m"))
		cancel()
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("PublishAsync %d: %v; want DeadlineExceeded once the queue is full", len(futs), err)
			}
			break
		}
		futs = append(futs, f)
		if len(futs) > 10000 {
			t.Fatal("PublishAsync never blocked: unbounded queue")
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	err = c.Flush(fctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush while nothing can be sent: %v; want DeadlineExceeded", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	closed := 0
	for i, f := range futs {
		select {
		case <-f.Done():
		default:
			t.Fatalf("future %d unresolved after Close", i)
		}
		if errors.Is(f.Err(), core.ErrClosed) {
			closed++
		} else if f.Err() != nil {
			t.Fatalf("future %d: %v", i, f.Err())
		}
	}
	if closed == 0 {
		t.Fatalf("no future failed with ErrClosed (%d queued)", len(futs))
	}
	<-blocked
	if _, err := c.PublishAsync(ctx, topic, []byte("late")); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("PublishAsync after Close: %v", err)
	}
}

// Publish a batch without waiting for each confirmation, then check them
// all (JetStream, Redis) — or just Flush when only "all done" matters.
func ExampleClient_PublishAsync() {
	c, err := core.New(&core.Config{Driver: core.DriverJetStream, NATSURL: "nats://127.0.0.1:4222"})
	if err != nil {
		return
	}
	defer c.Close() // waits up to Config.CloseTimeout for outstanding acks
	ctx := context.Background()
	var futs []*core.PublishFuture
	for i := 0; i < 1000; i++ {
		f, err := c.PublishAsync(ctx, "orders.created", []byte(strconv.Itoa(i)))
		if err != nil { // nothing was sent: closed, invalid, no stream, ctx done
			return
		}
		futs = append(futs, f)
	}
	for _, f := range futs {
		if err := f.Wait(ctx); err != nil { // the broker's verdict
			_ = err // retry or report
		}
	}
}
