package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// newClient builds a JetStream client on n with its own connection; its
// log goes to the test's output (shown when the test fails or with -v).
func newClient(t testing.TB, n *testbroker.NATS, cfg core.Config) *core.Client {
	t.Helper()
	cfg.Driver = core.DriverJetStream
	cfg.NATSURL = n.URL()
	c, err := core.New(&cfg, core.WithLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func rawJS(t testing.TB, n *testbroker.NATS) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc := n.Connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

func eventually(t testing.TB, d time.Duration, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// counter records payloads a handler saw.
type counter struct {
	mu   sync.Mutex
	seen map[string]int
	max  map[string]int // highest delivery count per payload
}

func newCounter() *counter { return &counter{seen: map[string]int{}, max: map[string]int{}} }

func (c *counter) handle(m core.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := string(m.Data())
	c.seen[k]++
	if m.Deliveries() > c.max[k] {
		c.max[k] = m.Deliveries()
	}
	return nil
}

func (c *counter) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func TestNoStreamIsAClearError(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t)
	c := newClient(t, n, core.Config{})
	topic := testbroker.Name(t, "nostream")
	err := c.Publish(t.Context(), topic, []byte("x"))
	if !errors.Is(err, core.ErrNoStream) {
		t.Fatalf("Publish without stream: %v, want ErrNoStream", err)
	}
	for _, want := range []string{topic, "CreateStreams", "stream add"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	_, err = c.Subscribe(t.Context(), topic, func(core.Message) error { return nil })
	if !errors.Is(err, core.ErrNoStream) {
		t.Fatalf("Subscribe without stream: %v, want ErrNoStream", err)
	}
	// Bad subjects are refused before any I/O.
	for _, bad := range []string{"a..b", "a b", "a.*", "a.>.b", "a*", ".a"} {
		if err := c.Publish(t.Context(), bad, nil); !errors.Is(err, core.ErrInvalidTopic) {
			t.Errorf("Publish(%q): %v, want ErrInvalidTopic", bad, err)
		}
	}
	if _, err := c.Subscribe(t.Context(), "a.>.b", func(core.Message) error { return nil }); !errors.Is(err, core.ErrInvalidTopic) {
		t.Errorf("Subscribe(a.>.b): %v, want ErrInvalidTopic", err)
	}
}

func TestCreateStreamsAndDedup(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t)
	c := newClient(t, n, core.Config{CreateStreams: true})
	_, js := rawJS(t, n)
	topic := testbroker.Name(t, "orders") + ".created"
	ctx := t.Context()
	for i := 0; i < 3; i++ {
		if err := c.Publish(ctx, topic, []byte("once"), core.WithMsgID("order-1")); err != nil {
			t.Fatalf("Publish %d: %v", i, err)
		}
	}
	if err := c.Publish(ctx, topic, []byte("other"), core.WithMsgID("order-2"), core.WithHeader("K", "v")); err != nil {
		t.Fatal(err)
	}
	name, err := js.StreamNameBySubject(ctx, topic)
	if err != nil {
		t.Fatalf("no stream was created for %s: %v", topic, err)
	}
	st, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info := st.CachedInfo()
	if info.Config.Storage != jetstream.FileStorage || len(info.Config.Subjects) != 1 || info.Config.Subjects[0] != topic {
		t.Errorf("created stream %q: storage %v subjects %v, want file storage capturing only %s", name, info.Config.Storage, info.Config.Subjects, topic)
	}
	if strings.ContainsAny(name, ".*>") {
		t.Errorf("stream name %q is not sanitised", name)
	}
	if info.State.Msgs != 2 {
		t.Errorf("stream holds %d messages after 3 publishes with one MsgID and 1 with another, want 2", info.State.Msgs)
	}
	m, err := st.GetMsg(ctx, 2)
	if err != nil || m.Header.Get("K") != "v" || m.Header.Get(core.HeaderMsgID) != "order-2" {
		t.Errorf("stored headers: %v %v", m, err)
	}
}

func TestConsumerRecreatedAfterDelete(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t)
	c := newClient(t, n, core.Config{CreateStreams: true})
	_, js := rawJS(t, n)
	ctx := t.Context()
	topic := testbroker.Name(t, "recreate")
	for _, group := range []string{"workers", ""} {
		t.Run("group="+group, func(t *testing.T) {
			got := newCounter()
			opts := []core.SubscribeOption{core.WithClaimIdle(2 * time.Second)}
			if group != "" {
				opts = append(opts, core.WithQueueGroup(group))
			}
			sub, err := c.Subscribe(ctx, topic, got.handle, opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			pre := testbroker.Name(t, "p")
			if err := c.Publish(ctx, topic, []byte(pre+"-before")); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, func() string { return "first message not delivered" }, func() bool { return got.distinct() == 1 })
			stream, _ := js.StreamNameBySubject(ctx, topic)
			st, err := js.Stream(ctx, stream)
			if err != nil {
				t.Fatal(err)
			}
			names := st.ConsumerNames(ctx)
			deleted := 0
			for name := range names.Name() {
				if group == "" || name == group {
					if err := js.DeleteConsumer(ctx, stream, name); err != nil {
						t.Fatal(err)
					}
					deleted++
				}
			}
			if deleted == 0 {
				t.Fatal("found no consumer to delete")
			}
			for i := 0; i < 5; i++ {
				if err := c.Publish(ctx, topic, fmt.Appendf(nil, "%s-after-%d", pre, i)); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, 20*time.Second, func() string { return fmt.Sprintf("after deleting the consumer: %d of 6 delivered", got.distinct()) },
				func() bool { return got.distinct() == 6 })
		})
	}
}

// The handler takes far longer for the batch than the AckWait: messages
// waiting in the client must be kept alive, not redelivered.
func TestAckWaitNotBurntByPrefetch(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t)
	c := newClient(t, n, core.Config{CreateStreams: true})
	ctx := t.Context()
	topic := testbroker.Name(t, "ackwait")
	const total = 10
	for i := 0; i < total; i++ {
		if err := c.Publish(ctx, topic, fmt.Appendf(nil, "m-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	got := newCounter()
	var handled atomic.Int32
	sub, err := c.Subscribe(ctx, topic, func(m core.Message) error {
		time.Sleep(400 * time.Millisecond) // 10 × 400ms = 4s ≫ AckWait 2s
		handled.Add(1)
		return got.handle(m)
	}, core.WithQueueGroup("slow"), core.WithBatchSize(total), core.WithClaimIdle(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	eventually(t, 20*time.Second, func() string { return fmt.Sprintf("%d handled", handled.Load()) }, func() bool { return handled.Load() >= total })
	time.Sleep(2500 * time.Millisecond) // a redelivery would show up here
	got.mu.Lock()
	defer got.mu.Unlock()
	for k, v := range got.seen {
		if v != 1 || got.max[k] != 1 {
			t.Errorf("%s handled %d times (max delivery count %d): its AckWait ran out while it waited in the client", k, v, got.max[k])
		}
	}
}

func TestBrokerRestartMidLoad(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t)
	c := newClient(t, n, core.Config{CreateStreams: true})
	ctx := t.Context()
	topic := testbroker.Name(t, "restart")
	got := newCounter()
	for _, group := range []string{"g", ""} {
		opts := []core.SubscribeOption{core.WithClaimIdle(2 * time.Second), core.WithBatchSize(10)}
		if group != "" {
			opts = append(opts, core.WithQueueGroup(group))
		}
		sub, err := c.Subscribe(ctx, topic, got.handle, opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
	}
	const total = 400
	var published atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < total; i++ {
			// At-least-once publishing: retry until acked; the MsgID
			// de-duplicates a publish whose ack was lost.
			for {
				pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				err := c.Publish(pctx, topic, fmt.Appendf(nil, "r-%04d", i), core.WithMsgID(fmt.Sprintf("r-%d", i)))
				cancel()
				if err == nil || ctx.Err() != nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			published.Add(1)
		}
	}()
	eventually(t, 20*time.Second, func() string { return "no progress before restart" }, func() bool { return published.Load() > total/4 })
	n.Restart()
	<-done
	// Both subscribers (group and broadcast) get every payload.
	want := total
	eventually(t, 45*time.Second, func() string {
		got.mu.Lock()
		defer got.mu.Unlock()
		var missing []string
		for i := 0; i < total && len(missing) < 5; i++ {
			if got.seen[fmt.Sprintf("r-%04d", i)] < 2 {
				missing = append(missing, fmt.Sprintf("r-%04d", i))
			}
		}
		return fmt.Sprintf("after restart: %d distinct of %d, e.g. missing on a subscriber %v", len(got.seen), want, missing)
	}, func() bool {
		got.mu.Lock()
		defer got.mu.Unlock()
		for i := 0; i < total; i++ {
			if got.seen[fmt.Sprintf("r-%04d", i)] < 2 {
				return false
			}
		}
		return true
	})
}

func TestOperatorJetStreamSpecifics(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t)
	c := newClient(t, n, core.Config{})
	_, js := rawJS(t, n)
	ctx := t.Context()
	op := c.Operator()
	base := testbroker.Name(t, "ops")
	stream := base + "_S"
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{base + ".>"}, Retention: jetstream.WorkQueuePolicy}); err != nil {
		t.Fatal(err)
	}
	a, b := base+".a", base+".b"
	for i := 0; i < 5; i++ {
		for _, s := range []string{a, b} {
			if err := c.Publish(ctx, s, fmt.Appendf(nil, "%s-%d", s[len(base)+1:], i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Browse a subject of a WorkQueue stream, both ways, without creating a consumer.
	p, err := op.Browse(ctx, core.BrowseQuery{Topic: a, From: core.StartAll(), Limit: 3})
	if err != nil || len(p.Records) != 3 || string(p.Records[0].Data) != "a-0" || !p.More {
		t.Fatalf("browse %s: %+v %v", a, p, err)
	}
	p, err = op.Browse(ctx, core.BrowseQuery{Topic: a, From: p.Next, Limit: 10})
	if err != nil || len(p.Records) != 2 || string(p.Records[1].Data) != "a-4" || p.More {
		t.Fatalf("browse %s page 2: %+v %v", a, p, err)
	}
	p, err = op.Browse(ctx, core.BrowseQuery{Topic: stream, Reverse: true, Limit: 3})
	if err != nil || len(p.Records) != 3 || string(p.Records[0].Data) != "b-4" || string(p.Records[2].Data) != "b-3" {
		t.Fatalf("browse %s reversed: %+v %v", stream, p, err)
	}
	if si, _ := js.Stream(ctx, stream); si.CachedInfo().State.Consumers != 0 {
		t.Errorf("browsing created %d consumers", si.CachedInfo().State.Consumers)
	}
	// Purge of a subject leaves the stream's other subjects.
	res, err := op.Purge(ctx, a)
	if err != nil || res.Done != 5 {
		t.Fatalf("purge %s: %+v %v", a, res, err)
	}
	ti, err := op.Topic(ctx, stream)
	if err != nil || ti.Messages != 5 || ti.Extra["retention"] != "WorkQueue" {
		t.Fatalf("after purging %s: %+v %v", a, ti, err)
	}

	// MoveToDLQ with no stream for the DLQ fails with ErrNoStream; EnsureDLQ fixes it.
	dlq := testbroker.Name(t, "dead")
	_, err = op.MoveToDLQ(ctx, core.MoveRequest{Topic: b, IDs: []string{"2"}, DLQ: dlq})
	if !errors.Is(err, core.ErrNoStream) {
		t.Fatalf("MoveToDLQ without a DLQ stream: %v, want ErrNoStream", err)
	}
	if err := op.EnsureDLQ(ctx, dlq); err != nil {
		t.Fatal(err)
	}
	res, err = op.MoveToDLQ(ctx, core.MoveRequest{Topic: b, IDs: []string{"2"}, DLQ: dlq, Reason: "test"})
	if err != nil || res.Done != 1 {
		t.Fatalf("MoveToDLQ: %+v %v", res, err)
	}
	if _, err := op.Get(ctx, b, "2"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("original still there after move: %v", err)
	}
	rec, err := op.Get(ctx, dlq, "1")
	if err != nil || rec.Header.Get(core.HeaderOriginTopic) != b || rec.Header.Get(core.HeaderOriginID) != "2" || string(rec.Data) != "b-0" {
		t.Fatalf("DLQ copy: %+v %v", rec, err)
	}
	res, err = op.Redrive(ctx, core.RedriveRequest{DLQ: dlq, IDs: []string{"1"}, Remove: true})
	if err != nil || res.Done != 1 {
		t.Fatalf("Redrive: %+v %v", res, err)
	}
	if _, err := op.Get(ctx, dlq, "1"); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("DLQ copy kept after redrive with Remove: %v", err)
	}

	// Rewind of a consumer the server cannot reset (deliver policy new)
	// needs confirmation, and says what is lost.
	topic := testbroker.Name(t, "rw")
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: topic, Subjects: []string{topic}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if err := c.Publish(ctx, topic, fmt.Appendf(nil, "rw-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.CreateConsumer(ctx, topic, jetstream.ConsumerConfig{Durable: "late", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverNewPolicy}); err != nil {
		t.Fatal(err)
	}
	_, err = op.Rewind(ctx, core.RewindRequest{Topic: topic, Group: "late", To: core.AtSequence(2)})
	if !errors.Is(err, core.ErrNeedsConfirmation) || !strings.Contains(err.Error(), "delivery count") {
		t.Fatalf("Rewind without confirmation: %v, want ErrNeedsConfirmation naming what is lost", err)
	}
	res, err = op.Rewind(ctx, core.RewindRequest{Topic: topic, Group: "late", To: core.AtSequence(2), Confirmed: true})
	if err != nil || res.Done != 1 {
		t.Fatalf("confirmed Rewind: %+v %v", res, err)
	}
	gs, err := op.Groups(ctx, topic)
	if err != nil || len(gs) != 1 || gs[0].Lag != 3 {
		t.Fatalf("after rewind to 2 the consumer should have 3 to deliver: %+v %v", gs, err)
	}
	// Where the server has consumer reset it is used in place.
	if _, err := js.CreateConsumer(ctx, topic, jetstream.ConsumerConfig{Durable: "all", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	res, err = op.Rewind(ctx, core.RewindRequest{Topic: topic, Group: "all", To: core.AtSequence(3)})
	if err != nil || !strings.Contains(res.Detail, "reset in place") {
		t.Fatalf("Rewind with reset on %s: %+v %v", c.Operator().Capabilities(ctx).ServerVersion, res, err)
	}

	// Tail of a pattern no stream captures falls back to core NATS.
	live := testbroker.Name(t, "live")
	tl, err := op.Tail(ctx, core.TailQuery{Pattern: live + ".*"})
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Stop()
	nc := n.Connect(t)
	if err := nc.Publish(live+".x", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	eventually(t, 5*time.Second, func() string { return "core NATS tail saw nothing" }, func() bool { return tl.Len() == 1 })
	if r := tl.Drain(0); r[0].Subject != live+".x" || string(r[0].Data) != "hello" {
		t.Errorf("tail record %+v", r[0])
	}
}

// deletedStreamSetup subscribes to a new topic (CreateStreams on), sees one
// message through, and returns what the stream-deletion tests need.
func deletedStreamSetup(t *testing.T, prefix string, opts ...core.SubscribeOption) (c *core.Client, js jetstream.JetStream, topic, stream string, got *counter) {
	t.Helper()
	n := testbroker.StartNATS(t)
	c = newClient(t, n, core.Config{CreateStreams: true})
	_, js = rawJS(t, n)
	ctx := t.Context()
	topic = testbroker.Name(t, prefix)
	got = newCounter()
	sub, err := c.Subscribe(ctx, topic, got.handle, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := c.Publish(ctx, topic, []byte("before")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() string { return "first message not delivered" }, func() bool { return got.distinct() == 1 })
	stream, err = js.StreamNameBySubject(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	return c, js, topic, stream, got
}

func TestStreamDeletedUnderSubscriber(t *testing.T) {
	t.Parallel()
	c, js, topic, stream, got := deletedStreamSetup(t, "gone", core.WithQueueGroup("g"))
	ctx := t.Context()
	if err := js.DeleteStream(ctx, stream); err != nil {
		t.Fatal(err)
	}
	// Publish recreates the stream (CreateStreams); the subscriber follows.
	if err := c.Publish(ctx, topic, []byte("after")); err != nil {
		if si, serr := js.Stream(context.Background(), stream); serr == nil {
			t.Logf("stream now: created %v, state %+v", si.CachedInfo().Created, si.CachedInfo().State)
		}
		t.Fatalf("publish after the stream was deleted: %v", err)
	}
	eventually(t, 20*time.Second, func() string { return fmt.Sprintf("after deleting the stream: %v", got.seen) },
		func() bool { got.mu.Lock(); defer got.mu.Unlock(); return got.seen["after"] == 1 })
}

// The stream is deleted and created again, and a message published to it,
// before the subscriber has noticed: the consumer it puts back must start
// at the new stream's beginning, not at "new", or that message is lost.
func TestStreamRecreatedBeforeSubscriberNotices(t *testing.T) {
	t.Parallel()
	for _, group := range []string{"g", ""} {
		t.Run("group="+group, func(t *testing.T) {
			t.Parallel()
			var opts []core.SubscribeOption
			if group != "" {
				opts = append(opts, core.WithQueueGroup(group))
			}
			_, js, topic, stream, got := deletedStreamSetup(t, "again", opts...)
			ctx := t.Context()
			s, err := js.Stream(ctx, stream)
			if err != nil {
				t.Fatal(err)
			}
			scfg := s.CachedInfo().Config
			if err := js.DeleteStream(ctx, stream); err != nil {
				t.Fatal(err)
			}
			if _, err := js.CreateStream(ctx, scfg); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if _, err := js.Publish(ctx, topic, fmt.Appendf(nil, "after-%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, 20*time.Second, func() string { return fmt.Sprintf("after the stream was created again: %v", got.seen) },
				func() bool { return got.distinct() == 4 })
		})
	}
}
