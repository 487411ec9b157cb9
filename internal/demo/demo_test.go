package demo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// eventually polls cond until it returns "" (success) or the deadline
// passes; the last complaint is the failure message.
func eventually(t *testing.T, d time.Duration, what string, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	var last string
	for time.Now().Before(deadline) {
		if last = cond(); last == "" {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v: %s", what, d, last)
}

func startDemo(t *testing.T, o Options) *Demo {
	t.Helper()
	if o.Rate == 0 {
		o.Rate = 20
	}
	if o.Backfill == 0 {
		o.Backfill = 120
	}
	// Start's ctx bounds the demo's whole life.
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Start(ctx, o)
	if err != nil {
		cancel()
		t.Fatalf("demo.Start: %v", err)
	}
	t.Cleanup(func() { cancel(); _ = d.Close() })
	return d
}

func open(t *testing.T, d *Demo, name string) *core.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := d.Open(ctx, name)
	if err != nil {
		t.Fatalf("Open(%s): %v", name, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if c.Address == "" {
		t.Errorf("Open(%s): empty address", name)
	}
	return c.Client
}

func findTopic(ts []core.TopicInfo, name string) (core.TopicInfo, bool) {
	for _, x := range ts {
		if x.Name == name {
			return x, true
		}
	}
	return core.TopicInfo{}, false
}

func findGroup(gs []core.GroupInfo, name string) (core.GroupInfo, bool) {
	for _, g := range gs {
		if g.Name == name {
			return g, true
		}
	}
	return core.GroupInfo{}, false
}

func TestDemoNATS(t *testing.T) {
	t.Parallel()
	d := startDemo(t, Options{NoRedis: true})
	if got := d.Contexts(); !slices.Equal(got, []string{ContextJetStream, ContextNATSCore}) {
		t.Fatalf("contexts without Redis = %v", got)
	}
	if _, err := d.Open(context.Background(), ContextRedis); err == nil {
		t.Error("Open(demo-redis) without Redis succeeded")
	}
	js := open(t, d, ContextJetStream)
	op := js.Operator()
	ctx := context.Background()

	// The orders stream fills up with steady traffic.
	var first uint64
	eventually(t, 20*time.Second, "orders stream has traffic", func() string {
		ts, err := op.Topics(ctx)
		if err != nil {
			return err.Error()
		}
		o, ok := findTopic(ts, StreamOrders)
		if !ok {
			return "no orders topic"
		}
		for _, want := range []string{StreamOrdersDLQ, StreamInventory} {
			if _, ok := findTopic(ts, want); !ok {
				return "no " + want + " topic"
			}
		}
		if first == 0 {
			first = o.Messages
			return "first sample"
		}
		if o.Messages <= first {
			return "orders not growing"
		}
		return ""
	})
	if first < 120 {
		t.Errorf("backfill: orders had %d messages, want >= 120", first)
	}

	// Groups: the stuck one is at its ack-pending maximum, the healthy one
	// is keeping up, the failing one exists.
	eventually(t, 20*time.Second, "group shapes", func() string {
		gs, err := op.Groups(ctx, StreamOrders)
		if err != nil {
			return err.Error()
		}
		st, ok := findGroup(gs, GroupStuck)
		if !ok {
			return "no stuck group"
		}
		if st.Pending != StuckPending || len(st.Stuck) == 0 {
			return "stuck group: pending " + itoa(st.Pending) + " stuck " + strings.Join(st.Stuck, ";")
		}
		if gs[0].Name != GroupStuck {
			return "stuck group does not sort first: " + gs[0].Name
		}
		h, ok := findGroup(gs, GroupHealthy)
		if !ok {
			return "no healthy group"
		}
		if len(h.Stuck) != 0 || h.Lag > 50 {
			return "healthy group lags: lag " + itoa(h.Lag) + " stuck " + strings.Join(h.Stuck, ";")
		}
		if _, ok := findGroup(gs, GroupFailing); !ok {
			return "no failing group"
		}
		if _, ok := findGroup(gs, GroupShipping); !ok {
			return "no shipping group"
		}
		return ""
	})

	// The failing consumer dead-letters high-risk orders with origin headers.
	eventually(t, 30*time.Second, "dead letters in orders.dlq", func() string {
		p, err := op.Browse(ctx, core.BrowseQuery{Topic: StreamOrdersDLQ, From: core.StartAll(), Limit: 5})
		if err != nil {
			return err.Error()
		}
		if len(p.Records) == 0 {
			return "DLQ empty"
		}
		r := p.Records[0]
		if !strings.HasPrefix(r.Header.Get(core.HeaderOriginTopic), "orders.") || r.Header.Get(core.HeaderOriginGroup) != GroupFailing ||
			r.Header.Get(core.HeaderDeliveries) != "3" || !strings.Contains(r.Header.Get(core.HeaderLastError), "fraud-check") {
			return "DLQ record headers: " + headerString(r.Header)
		}
		return ""
	})

	// Payloads: JSON and some binary.
	p, err := op.Browse(ctx, core.BrowseQuery{Topic: StreamOrders, From: core.StartAll(), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var jsonN, binN int
	for _, r := range p.Records {
		switch r.Header.Get("Content-Type") {
		case "application/json":
			jsonN++
		case "application/x-protobuf":
			binN++
		}
	}
	if jsonN == 0 || binN == 0 {
		t.Errorf("first 100 orders: %d JSON, %d binary; want both", jsonN, binN)
	}

	// The NATS Core firehose shows up as observed telemetry subjects.
	nc := open(t, d, ContextNATSCore)
	eventually(t, 20*time.Second, "telemetry subjects observed", func() string {
		ts, err := nc.Operator().Topics(ctx)
		if err != nil {
			return err.Error()
		}
		n := 0
		for _, x := range ts {
			if strings.HasPrefix(x.Name, "telemetry.") {
				n++
			}
		}
		if n < 5 {
			return "telemetry subjects: " + itoa(int64(n))
		}
		return ""
	})

	// Close removes everything, and is idempotent.
	dir := d.Dir()
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s still there after Close: %v", dir, err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestDemoRedis(t *testing.T) {
	t.Parallel()
	url := testbroker.RedisURL(t)
	prefix := testbroker.Name(t, "demo") + ":"
	d := startDemo(t, Options{RedisURL: url, RedisPrefix: prefix})
	if got := d.Contexts(); !slices.Contains(got, ContextRedis) || d.RedisURL() != url {
		t.Fatalf("contexts = %v, redis = %q", got, d.RedisURL())
	}
	rc := open(t, d, ContextRedis)
	op := rc.Operator()
	ctx := context.Background()
	orders := prefix + "orders"

	eventually(t, 20*time.Second, "redis group shapes", func() string {
		gs, err := op.Groups(ctx, orders)
		if err != nil {
			return err.Error()
		}
		st, ok := findGroup(gs, GroupStuck)
		if !ok {
			return "no stuck group"
		}
		if st.Pending != StuckPending || st.OldestPendingIdle < 19*time.Minute || len(st.Stuck) == 0 {
			return "stuck group: pending " + itoa(st.Pending) + " oldest idle " + st.OldestPendingIdle.String()
		}
		if len(st.Consumers) != 1 || st.Consumers[0].Name != ConsumerStuck || st.Consumers[0].Pending != StuckPending {
			return "stuck consumer not " + ConsumerStuck
		}
		h, ok := findGroup(gs, GroupHealthy)
		if !ok || len(h.Stuck) != 0 {
			return "healthy group missing or stuck"
		}
		if _, ok := findGroup(gs, GroupFailing); !ok {
			return "no failing group"
		}
		return ""
	})
	// Pending of the stuck group lists the held entries, old.
	pp, err := op.Pending(ctx, core.PendingQuery{Topic: orders, Group: GroupStuck})
	if err != nil {
		t.Fatal(err)
	}
	if len(pp.Entries) != StuckPending || pp.Entries[0].Consumer != ConsumerStuck || pp.Entries[0].Idle < 19*time.Minute {
		t.Errorf("pending of stuck group: %+v", pp)
	}

	eventually(t, 30*time.Second, "redis dead letters", func() string {
		p, err := op.Browse(ctx, core.BrowseQuery{Topic: orders + ".dlq", From: core.StartAll(), Limit: 5})
		if err != nil {
			return err.Error()
		}
		if len(p.Records) == 0 {
			return "DLQ empty"
		}
		r := p.Records[0]
		if r.Header.Get(core.HeaderOriginTopic) != orders || r.Header.Get(core.HeaderOriginGroup) != GroupFailing {
			return "DLQ headers: " + headerString(r.Header)
		}
		return ""
	})

	// Close deletes every demo key.
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	o, _ := redis.ParseURL(url)
	rdb := redis.NewClient(o)
	defer rdb.Close()
	keys, err := rdb.Keys(ctx, prefix+"*").Result() // a test on a unique prefix
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("keys left after Close: %v", keys)
	}
}

func TestDemoStopsOnCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Start(ctx, Options{NoRedis: true, Backfill: 10, Rate: 50})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("demo goroutines still running 10s after cancel")
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close after cancel: %v", err)
	}
	if _, err := os.Stat(d.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s left after Close: %v", d.Dir(), err)
	}
}

func TestDemoReadOnly(t *testing.T) {
	t.Parallel()
	d := startDemo(t, Options{NoRedis: true, ReadOnly: true, Backfill: 20})
	c := open(t, d, ContextJetStream)
	if !c.Operator().ReadOnly() {
		t.Fatal("demo client is not read-only")
	}
	_, err := c.Operator().Purge(context.Background(), StreamOrders)
	if !errors.Is(err, core.ErrReadOnly) {
		t.Fatalf("purge on a read-only demo: %v", err)
	}
	ts, err := c.Operator().Topics(context.Background())
	if o, ok := findTopic(ts, StreamOrders); err != nil || !ok || o.Messages < 20 {
		t.Errorf("orders after a refused purge: %+v %v", o, err)
	}
}

func TestExplicitRedisMustAnswer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := Start(ctx, Options{RedisURL: "redis://127.0.0.1:1/0", Backfill: 1})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("Start with a dead explicit Redis: %v", err)
	}
}

func TestCleanupRedisRefusesEmptyPrefix(t *testing.T) {
	if err := CleanupRedis(context.Background(), "redis://127.0.0.1:6379/0", ""); err == nil {
		t.Fatal("CleanupRedis with empty prefix did not refuse")
	}
	if got := globEscape("a*b?[c]\\"); got != `a\*b\?\[c\]\\` {
		t.Errorf("globEscape = %q", got)
	}
}

func TestGenerator(t *testing.T) {
	g := newGen(7)
	seen := map[string]int{}
	for i := 0; i < 500; i++ {
		ev, data, h := g.next()
		seen[ev]++
		if len(data) == 0 || h.Get("Content-Type") == "" || h.Get("Trace-Id") == "" {
			t.Fatalf("event %d: empty payload or headers", i)
		}
		if h.Get("Content-Type") == "application/json" {
			if err := fraudCheck(fakeMsg(data)); err != nil && !strings.Contains(string(data), `"risk":"high"`) {
				t.Fatalf("fraudCheck failed a low-risk order: %v", err)
			}
		} else if fraudCheck(fakeMsg(data)) == nil {
			t.Fatal("fraudCheck accepted a binary payload")
		}
	}
	for _, ev := range []string{"created", "paid", "shipped", "cancelled"} {
		if seen[ev] == 0 {
			t.Errorf("no %s events in 500", ev)
		}
	}
	subj, _ := g.telemetry()
	if !strings.HasPrefix(subj, "telemetry.") || strings.Count(subj, ".") != 3 {
		t.Errorf("telemetry subject %q", subj)
	}
}

type fakeMsg []byte

func (m fakeMsg) ID() string           { return "1" }
func (m fakeMsg) Topic() string        { return "orders.created" }
func (m fakeMsg) Data() []byte         { return m }
func (m fakeMsg) Header() core.Header  { return nil }
func (m fakeMsg) Timestamp() time.Time { return time.Time{} }
func (m fakeMsg) Deliveries() int      { return 1 }
func (m fakeMsg) Ack() error           { return nil }
func (m fakeMsg) Nak() error           { return nil }

func itoa(n int64) string {
	return strconv.FormatInt(n, 10)
}

func headerString(h core.Header) string {
	var b strings.Builder
	for k, v := range h {
		b.WriteString(k + "=" + strings.Join(v, ",") + " ")
	}
	return b.String()
}

// TestDemoOwnsItsRedis: with no Redis named, the demo seeds a private
// redis-server it starts, writes nothing into the machine's Redis, and
// removes the private server with Close.
func TestDemoOwnsItsRedis(t *testing.T) {
	t.Parallel()
	prefix := testbroker.Name(t, "own") + ":"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := Start(ctx, Options{RedisPrefix: prefix, Backfill: 5, Rate: 20})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = d.Close()
		}
	}()
	if !strings.HasPrefix(d.RedisURL(), "unix://") || !slices.Contains(d.Contexts(), ContextRedis) {
		t.Fatalf("redis = %q (%s), contexts %v: want a private server on a unix socket", d.RedisURL(), d.RedisUnavailable(), d.Contexts())
	}
	rc := open(t, d, ContextRedis)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ts, err := rc.Operator().Topics(ctx)
		if o, ok := findTopic(ts, prefix+"orders"); err == nil && ok && o.Messages > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no orders on the private Redis: %v %v", ts, err)
		}
	}
	// The machine's own Redis got nothing, in any database the old demo used.
	for _, db := range []int{0, 15} {
		o, err := redis.ParseURL(testbroker.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		o.DB = db
		shared := redis.NewClient(o)
		keys, err := shared.Keys(ctx, prefix+"*").Result()
		shared.Close()
		if err != nil || len(keys) != 0 {
			t.Errorf("db %d of the shared Redis holds demo keys %v (%v)", db, keys, err)
		}
	}
	sock := strings.TrimPrefix(d.RedisURL(), "unix://")
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed = true
	if _, err := os.Stat(filepath.Dir(sock)); !os.IsNotExist(err) {
		t.Errorf("the private server's directory is still there: %v", err)
	}
}
