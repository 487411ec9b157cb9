package history_test

// The trend signals on real brokers: a workload whose rates are known runs
// in steps of an injected 5 s, and the groups the broker reports after
// each step are sampled at that step's time. So the rates are exact while
// the broker's own counters (pending, lag, delivered) are real.
//
// NATS Core has no stored groups (nothing to sample: OpGroups is
// unsupported there), so it has no group trends.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	_ "github.com/mqscope/mqscope/backends"
	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/history"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// workload publishes to and consumes (and acks) from one group.
type workload struct {
	op           *core.Operator
	topic, group string
	publish      func(n int)
	consume      func(n int) // reads and acks n
}

const step = 5 * time.Second

// run drives the workload through three phases and checks the signal after
// each: 2/s in and nobody consuming for 5 min (stalled), 2/s in and 1/s
// consumed for 2 min (growing), 2/s in and 6/s consumed for 2 min
// (draining, with an ETA).
func (w workload) run(t *testing.T) {
	t.Helper()
	store := history.New(history.Config{MinGap: time.Second})
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	published, acked := int64(10), int64(0) // the fixture published 10
	publish := func(n int) { w.publish(n); published += int64(n) }
	consume := func(n int) { w.consume(n); acked += int64(n) }
	// sample reads the groups once the broker's counters show the whole
	// workload so far (JetStream updates a consumer's pending count
	// asynchronously), and records them at the step's time.
	sample := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			gs, err := w.op.Groups(context.Background(), w.topic)
			if err != nil {
				t.Fatal(err)
			}
			var p history.GroupPoint
			for _, g := range gs {
				if g.Name == w.group {
					p = history.GroupSample(at, g)
				}
			}
			if a, _ := p.Acked(); p.Delivered+p.Lag == published && a == acked {
				store.RecordGroups("ctx", at, w.topic, gs)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the broker never counted the workload: %+v, want %d in, %d acked", p, published, acked)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	assess := func() history.Signal {
		return history.Assess(store.Group("ctx", w.topic, w.group, at.Add(-10*time.Minute)), at, history.Thresholds{})
	}
	sample()
	for range 60 { // 5 minutes
		at = at.Add(step)
		publish(10)
		sample()
	}
	s := assess()
	if s.Kind != history.SignalStalled || s.Text != "growing for 5m while ack rate is 0" {
		t.Fatalf("after 5m with nobody consuming: %v %q (%s)", s.Kind, s.Text, s.Basis)
	}
	if s.Basis != "backlog 10 → 610 over 5m, nothing acked" || s.AckRate != 0 || s.InRate != 2 {
		t.Fatalf("stalled basis %q ack %v in %v", s.Basis, s.AckRate, s.InRate)
	}

	for range 24 { // 2 minutes: 2/s in, 1/s out
		at = at.Add(step)
		publish(10)
		consume(5)
		sample()
	}
	s = assess()
	if s.Kind != history.SignalGrowing || s.Basis != "+1.0/s over last 2m (in 2.0/s, acked 1.0/s)" {
		t.Fatalf("consuming slower than publishing: %v %q %q", s.Kind, s.Text, s.Basis)
	}

	for range 24 { // 2 minutes: 2/s in, 6/s out
		at = at.Add(step)
		publish(10)
		consume(30)
		sample()
	}
	s = assess()
	// backlog 610 + 120 - 480 = 250 at -4/s: empty in 62.5 s
	if s.Kind != history.SignalDraining || s.Basis != "-4.0/s over last 2m (in 2.0/s, acked 6.0/s)" {
		t.Fatalf("consuming faster than publishing: %v %q %q", s.Kind, s.Text, s.Basis)
	}
	if math.Abs(s.ETA.Seconds()-62.5) > 5 || s.Text != "draining, empty in ~1m" {
		t.Fatalf("eta %v %q, want ~62s", s.ETA, s.Text)
	}
}

func TestTrendsJetStream(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t)
	nc := n.Connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	name := testbroker.Name(t, "TRENDS")
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}}); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateConsumer(ctx, name, jetstream.ConsumerConfig{Durable: "work", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	// one message before the start: the backlog is 10 at the first sample
	for range 10 {
		if _, err := js.Publish(ctx, name+".x", []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	c, err := core.New(&core.Config{Driver: core.DriverJetStream, NATSURL: n.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	workload{
		op: c.Operator(), topic: name, group: "work",
		publish: func(k int) {
			for range k {
				if _, err := js.Publish(ctx, name+".x", []byte("m")); err != nil {
					t.Fatal(err)
				}
			}
		},
		consume: func(k int) {
			batch, err := cons.Fetch(k, jetstream.FetchMaxWait(5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for m := range batch.Messages() {
				if err := m.DoubleAck(ctx); err != nil {
					t.Fatal(err)
				}
				got++
			}
			if got != k {
				t.Fatalf("fetched %d, want %d (%v)", got, k, batch.Error())
			}
		},
	}.run(t)
}

func TestTrendsRedis(t *testing.T) {
	t.Parallel()
	rdb := testbroker.Redis(t)
	stream := testbroker.Name(t, "trends")
	testbroker.CleanupRedisKeys(t, rdb, stream+"*")
	ctx := context.Background()
	if err := rdb.XGroupCreateMkStream(ctx, stream, "work", "$").Err(); err != nil {
		t.Fatal(err)
	}
	add := func(k int) {
		for i := range k {
			if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"n", fmt.Sprint(i)}}).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(10)
	c, err := core.New(&core.Config{Driver: core.DriverRedisStream}, core.WithRedisConnector(rdb))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	workload{
		op: c.Operator(), topic: stream, group: "work",
		publish: add,
		consume: func(k int) {
			res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "work", Consumer: "c1", Streams: []string{stream, ">"}, Count: int64(k)}).Result()
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range res[0].Messages {
				ids = append(ids, m.ID)
			}
			if len(ids) != k {
				t.Fatalf("read %d, want %d", len(ids), k)
			}
			if err := rdb.XAck(ctx, stream, "work", ids...).Err(); err != nil {
				t.Fatal(err)
			}
		},
	}.run(t)
}

// TestTrendsNATSCoreHasNoGroups: NATS Core keeps no groups, so there is
// nothing to sample; topics (observed rates) are still sampled.
func TestTrendsNATSCoreHasNoGroups(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t)
	c, err := core.New(&core.Config{Driver: core.DriverNATSCore, NATSURL: n.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	op := c.Operator()
	if ok, why := op.Capabilities(context.Background()).Can(core.OpGroups); ok || why == "" {
		t.Fatalf("NATS Core groups: supported=%v %q", ok, why)
	}
	if _, err := op.Groups(context.Background(), "orders"); !errors.Is(err, core.ErrUnsupported) {
		t.Fatalf("Groups on NATS Core: %v, want ErrUnsupported", err)
	}
}
