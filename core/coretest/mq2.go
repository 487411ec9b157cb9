package coretest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mqscope/mqscope/core"
)

// testKilledConsumer: member "a" takes a message and hangs; its connection
// dies (as when its process is killed); member "b" must get the message.
func testKilledConsumer(t *testing.T, h *Harness) {
	probe := h.client(t, core.Config{})
	requireOp(t, probe, core.OpHistory)
	if h.Connect == nil {
		t.Skipf("%s: the harness cannot open a connection to kill (Harness.Connect is nil)", h.Driver)
	}
	topic := h.topic(t)
	conn := h.Connect(t)
	a := h.client(t, core.Config{Consumer: "a"}, conn.Option)
	hang := newGate(t)
	var sa sink
	started := make(chan struct{}, 1)
	subscribe(t, a, t.Context(), topic, func(m core.Message) error {
		sa.add(m, "a")
		select {
		case started <- struct{}{}:
		default:
		}
		hang.wait()
		return errors.New("consumer a was killed")
	}, core.WithQueueGroup("g"), core.WithClaimIdle(time.Second))
	t.Cleanup(hang.release) // before the Unsubscribe cleanup, which waits for the handler
	publishAll(t, probe, topic, []string{"victim"})
	select {
	case <-started:
	case <-time.After(defaultWait):
		t.Fatalf("consumer a never received the message")
	}
	conn.Close() // a's process "dies" with the message in hand

	b := h.client(t, core.Config{Consumer: "b"})
	var sb sink
	subscribe(t, b, t.Context(), topic, sb.handler("b"), core.WithQueueGroup("g"), core.WithClaimIdle(time.Second))
	sb.waitCount(t, 1)
	g := sb.all()[0]
	if string(g.Data) != "victim" {
		t.Fatalf("b got %q, want the message a held", g.Data)
	}
	if first := sa.all()[0]; first.ID != g.ID {
		t.Errorf("b got id %s, a held id %s", g.ID, first.ID)
	}
	if g.Deliveries != 0 && g.Deliveries < 2 {
		t.Errorf("taken-over message has Deliveries() = %d, want ≥ 2", g.Deliveries)
	}
}

// testBatchSize: with batch n every message arrives once, at most n are in a
// handler at a time, and fetched-but-unhandled messages do not time out
// (Deliveries stays 1 even though a batch takes longer than the claim idle).
func testBatchSize(t *testing.T, h *Harness) {
	const n, total = 20, 60
	c := h.client(t, core.Config{})
	topic := h.topic(t)
	want := payloads("batch", total)
	history := can(t, c, core.OpHistory)
	if history {
		publishAll(t, c, topic, want) // so full batches are there to fetch
	}
	var requests func() []int
	if h.BatchRequests != nil {
		requests = h.BatchRequests(t, topic)
	}
	var s sink
	var inFlight, maxInFlight atomic.Int32
	handler := func(m core.Message) error {
		cur := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			old := maxInFlight.Load()
			if cur <= old || maxInFlight.CompareAndSwap(old, cur) {
				break
			}
		}
		s.add(m, "s")
		time.Sleep(40 * time.Millisecond) // a batch of 20 takes ~0.8 s, near the claim idle
		return nil
	}
	subscribe(t, c, t.Context(), topic, handler, core.WithQueueGroup("g"), core.WithBatchSize(n), core.WithClaimIdle(700*time.Millisecond))
	if !history {
		publishAll(t, c, topic, want)
	}
	s.waitCount(t, total)
	time.Sleep(quiet)
	exactlyOnce(t, fmt.Sprintf("batch size %d", n), s.counts(), want)
	if m := maxInFlight.Load(); m > n {
		t.Errorf("%d handlers ran at once, more than the batch size %d", m, n)
	}
	if requests != nil {
		reqs := requests()
		t.Logf("fetch sizes asked of the broker: %v", reqs)
		if len(reqs) == 0 {
			t.Errorf("saw no fetch from the broker for %s", topic)
		} else if slices.Max(reqs) != n {
			t.Errorf("largest fetch asked for %d messages, want the batch size %d (all: %v)", slices.Max(reqs), n, reqs)
		}
	}
	for _, g := range s.all() {
		if g.Deliveries > 1 {
			t.Errorf("%s: Deliveries() = %d: a prefetched message timed out before its handler ran", g.Data, g.Deliveries)
		}
	}
}

// testStartPosition: where a subscription (or a new group) starts.
func testStartPosition(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	if ok, why := c.Operator().Capabilities(t.Context()).Can(core.OpStartPosition); !ok {
		topic := h.topic(t)
		for _, p := range []core.Position{core.StartAll(), core.AtSequence(1), core.AtTime(time.Now().Add(-time.Hour))} {
			_, err := c.Subscribe(t.Context(), topic, func(core.Message) error { return nil }, core.WithStartPosition(p))
			if !errors.Is(err, core.ErrUnsupported) {
				t.Errorf("Subscribe from %s on a backend without %s: err = %v, want ErrUnsupported", p, core.OpStartPosition, err)
			}
		}
		t.Skipf("%s: %s: %s", c.Driver(), core.OpStartPosition, why)
	}
	topic := h.topic(t)
	old := payloads("old", 5)
	publishAll(t, c, topic, old[:3])
	time.Sleep(50 * time.Millisecond)
	mark := time.Now()
	time.Sleep(50 * time.Millisecond)
	publishAll(t, c, topic, old[3:])

	// StartAll also tells us the ids.
	var all sink
	subscribe(t, c, t.Context(), topic, all.handler("all"), core.WithStartPosition(core.StartAll()))
	all.waitCount(t, len(old))
	inOrder(t, "StartAll", all.all(), old)
	id2 := all.all()[2].ID

	check := func(t *testing.T, pos core.Position, group string, want []string, optional string) {
		var s sink
		opts := []core.SubscribeOption{core.WithStartPosition(pos)}
		if group != "" {
			opts = append(opts, core.WithQueueGroup(group))
		}
		sub, err := c.Subscribe(t.Context(), topic, s.handler("s"), opts...)
		skipUnsupported(t, "subscribe from "+pos.String(), err)
		if err != nil {
			t.Fatalf("subscribe from %s: %v", pos, err)
		}
		defer sub.Unsubscribe()
		s.waitAll(t, want)
		gs := s.all()
		if len(gs) > 0 && string(gs[0].Data) == optional {
			gs = gs[1:]
		}
		inOrder(t, pos.String(), gs, want)
	}
	t.Run("AtID", func(t *testing.T) { check(t, core.AtID(id2), "", old[3:], old[2]) })
	t.Run("AtIDNewGroup", func(t *testing.T) { check(t, core.AtID(id2), "from-id", old[3:], old[2]) })
	t.Run("AtSequence", func(t *testing.T) {
		seq, err := strconv.ParseUint(id2, 10, 64)
		if err != nil {
			// Ids are not sequences here: the backend must say it cannot
			// start from one.
			sub, err := c.Subscribe(t.Context(), topic, func(core.Message) error { return nil }, core.WithStartPosition(core.AtSequence(3)))
			if err == nil {
				_ = sub.Unsubscribe()
				t.Fatalf("%s: ids are not sequences (%q), yet Subscribe from sequence 3 was accepted", c.Driver(), id2)
			}
			skipUnsupported(t, "subscribe from a sequence", err)
			t.Fatalf("subscribe from a sequence: %v, want an *UnsupportedError", err)
		}
		check(t, core.AtSequence(seq), "", old[3:], old[2])
	})
	t.Run("AtTime", func(t *testing.T) { check(t, core.AtTime(mark), "", old[3:], "") })
	t.Run("LastN", func(t *testing.T) { check(t, core.LastN(2), "", old[3:], "") })
	t.Run("NewGroupDefaultsToAll", func(t *testing.T) {
		var s sink
		subscribe(t, c, t.Context(), topic, s.handler("s"), core.WithQueueGroup("default-start"))
		s.waitAll(t, old)
		inOrder(t, "new group", s.all(), old)
	})
	t.Run("StartNew", func(t *testing.T) {
		var s sink
		subscribe(t, c, t.Context(), topic, s.handler("s"), core.WithStartPosition(core.StartNew()), core.WithQueueGroup("from-new"))
		fresh := "fresh-" + t.Name()
		publishAll(t, c, topic, []string{fresh})
		s.waitCount(t, 1)
		time.Sleep(quiet / 3)
		exactlyOnce(t, "StartNew", s.counts(), []string{fresh})
	})
}

// inOrder fails unless gs holds exactly want, in that order.
func inOrder(t testing.TB, what string, gs []got, want []string) {
	t.Helper()
	var have []string
	for _, g := range gs {
		have = append(have, string(g.Data))
	}
	if strings.Join(have, ",") != strings.Join(want, ",") {
		t.Errorf("%s delivered %v, want %v in order", what, have, want)
	}
}

func testUnsubscribe(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	topic := h.topic(t)
	var s sink
	var busy, finished atomic.Bool
	handler := func(m core.Message) error {
		s.add(m, "s")
		if string(m.Data()) == "slow" {
			busy.Store(true)
			time.Sleep(300 * time.Millisecond)
			finished.Store(true)
		}
		return nil
	}
	sub := subscribe(t, c, t.Context(), topic, handler, core.WithQueueGroup("g"))
	if sub.Topic() != topic {
		t.Errorf("Subscription.Topic() = %q, want %q", sub.Topic(), topic)
	}
	publishAll(t, c, topic, []string{"slow"})
	eventually(t, msgf("handler never ran"), busy.Load)
	if err := sub.Unsubscribe(); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if !finished.Load() {
		t.Errorf("Unsubscribe returned while the handler was still running")
	}
	n := s.len()
	publishAll(t, c, topic, payloads("after", 5))
	time.Sleep(quiet)
	if s.len() != n {
		t.Errorf("%d messages delivered after Unsubscribe returned", s.len()-n)
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Errorf("second Unsubscribe: %v", err)
	}
}

func testContextCancel(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	topic := h.topic(t)
	for _, group := range []string{"", "g"} {
		t.Run("group="+group, func(t *testing.T) {
			topic := h.topic(t)
			var s sink
			ctx, cancel := context.WithCancel(t.Context())
			opts := []core.SubscribeOption{}
			if group != "" {
				opts = append(opts, core.WithQueueGroup(group))
			}
			sub := subscribe(t, c, ctx, topic, s.handler("s"), opts...)
			publishAll(t, c, topic, []string{"before-" + group})
			s.waitCount(t, 1)
			cancel()
			// "Promptly": Unsubscribe after cancel must not hang either.
			done := make(chan error, 1)
			go func() { done <- sub.Unsubscribe() }()
			select {
			case <-done:
			case <-time.After(defaultWait):
				t.Fatalf("Unsubscribe after ctx cancel did not return")
			}
			n := s.len()
			publishAll(t, c, topic, payloads("after-"+group, 5))
			time.Sleep(quiet)
			if s.len() != n {
				t.Errorf("%d messages delivered after ctx was cancelled", s.len()-n)
			}
		})
	}
	// A cancelled ctx makes Publish return an error, not hang.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	done := make(chan error, 1)
	go func() { done <- c.Publish(ctx, topic, []byte("x")) }()
	select {
	case err := <-done:
		if err == nil && can(t, c, core.OpHistory) {
			t.Errorf("Publish with a cancelled context succeeded on a backend that waits for the broker")
		}
	case <-time.After(defaultWait):
		t.Fatalf("Publish with a cancelled context hung")
	}
}

func testCloseWhileBusy(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	pub := h.client(t, core.Config{})
	topic := h.topic(t)
	var busy, finished atomic.Bool
	subscribe(t, c, t.Context(), topic, func(m core.Message) error {
		busy.Store(true)
		time.Sleep(500 * time.Millisecond)
		finished.Store(true)
		return nil
	}, core.WithQueueGroup("g"))
	publishAll(t, pub, topic, []string{"busy"})
	eventually(t, msgf("handler never ran"), busy.Load)
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if !finished.Load() {
		t.Errorf("Close returned while a handler was still running")
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := c.Publish(t.Context(), topic, []byte("x")); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Publish after Close: %v, want ErrClosed", err)
	}
	if _, err := c.Subscribe(t.Context(), topic, func(core.Message) error { return nil }); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
	if _, err := c.Operator().Topics(t.Context()); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Operator().Topics after Close: %v, want ErrClosed", err)
	}
	if _, err := c.Operator().Browse(t.Context(), core.BrowseQuery{Topic: topic}); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Operator().Browse after Close: %v, want ErrClosed", err)
	}
}

func testInjectedSurvives(t *testing.T, h *Harness) {
	if h.Connect == nil {
		t.Skipf("%s: the harness cannot inject a connection (Harness.Connect is nil)", h.Driver)
	}
	conn := h.Connect(t)
	c := h.client(t, core.Config{}, conn.Option)
	topic := h.topic(t)
	var s sink
	subscribe(t, c, t.Context(), topic, s.handler("s"), core.WithQueueGroup("g"))
	publishAll(t, c, topic, []string{"one"})
	s.waitCount(t, 1)
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := conn.Alive(t.Context()); err != nil {
		t.Errorf("injected connection after Close: %v, want it still usable", err)
	}
	// A second client on the same connection still works.
	c2 := h.client(t, core.Config{}, conn.Option)
	var s2 sink
	subscribe(t, c2, t.Context(), topic, s2.handler("s2"))
	publishAll(t, c2, topic, []string{"two"})
	s2.waitAll(t, []string{"two"})
}

func testGroupCreationRace(t *testing.T, h *Harness) {
	const members = 8
	topic := h.topic(t)
	clients := make([]*core.Client, members)
	for i := range clients {
		clients[i] = h.client(t, core.Config{Consumer: fmt.Sprintf("racer%d", i)})
	}
	var s sink
	var wg sync.WaitGroup
	errs := make([]error, members)
	subs := make([]core.Subscription, members)
	start := make(chan struct{})
	for i, c := range clients {
		wg.Go(func() {
			<-start
			subs[i], errs[i] = c.Subscribe(t.Context(), topic, s.handler(fmt.Sprint(i)), core.WithQueueGroup("new-group"))
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("member %d: Subscribe to a new group: %v", i, err)
		} else {
			t.Cleanup(func() { _ = subs[i].Unsubscribe() })
		}
	}
	if t.Failed() {
		return
	}
	want := payloads("race", 40)
	publishAll(t, clients[0], topic, want)
	s.waitCount(t, len(want))
	time.Sleep(quiet)
	exactlyOnce(t, "racing group", s.counts(), want)
}

// testGroupDeleted: the group vanishes under a running subscriber (Redis
// NOGROUP); the subscriber recreates it and goes on, without looping.
func testGroupDeleted(t *testing.T, h *Harness) {
	requireOp(t, h.client(t, core.Config{}), core.OpGroups)
	if h.DeleteGroupRaw == nil {
		t.Skipf("%s: the harness cannot delete a group behind the library's back (Harness.DeleteGroupRaw is nil)", h.Driver)
	}
	recoverAfter(t, h, func(ctx context.Context, topic string) error { return h.DeleteGroupRaw(ctx, topic, "g") })
}

func testTopicDeleted(t *testing.T, h *Harness) {
	requireOp(t, h.client(t, core.Config{}), core.OpHistory)
	if h.DeleteTopicRaw == nil {
		t.Skipf("%s: the harness cannot delete a topic behind the library's back (Harness.DeleteTopicRaw is nil)", h.Driver)
	}
	recoverAfter(t, h, h.DeleteTopicRaw)
}

func recoverAfter(t *testing.T, h *Harness, damage func(ctx context.Context, topic string) error) {
	c := h.client(t, core.Config{})
	topic := h.topic(t)
	var s sink
	subscribe(t, c, t.Context(), topic, s.handler("s"), core.WithQueueGroup("g"), core.WithClaimIdle(shortClaimIdle))
	publishAll(t, c, topic, []string{"before"})
	s.waitCount(t, 1)
	if err := damage(t.Context(), topic); err != nil {
		t.Fatalf("damage %s: %v", topic, err)
	}
	// Publish until one gets through: a publisher may recreate the storage
	// before or after the subscriber notices.
	want := payloads("after", 5)
	publishAll(t, c, topic, want)
	s.waitAll(t, want)
	more := payloads("later", 5)
	publishAll(t, c, topic, more)
	s.waitAll(t, more)
}

// testTrimmedPending: pending entries whose messages were trimmed are acked
// (gone from the pending list) and logged, and never handed to a handler.
func testTrimmedPending(t *testing.T, h *Harness) {
	requireOp(t, h.client(t, core.Config{}), core.OpHistory, core.OpGroups)
	if h.TrimTopicRaw == nil {
		t.Skipf("%s: the harness cannot trim a topic behind the library's back (Harness.TrimTopicRaw is nil)", h.Driver)
	}
	logs := newLogBuffer()
	c := h.client(t, core.Config{Consumer: "a"})
	topic := h.topic(t)
	var s sink
	// Take three messages and never ack them.
	sub := subscribe(t, c, t.Context(), topic, s.handler("a"), core.WithQueueGroup("g"), core.WithManualAck())
	publishAll(t, c, topic, payloads("trimmed", 3))
	s.waitCount(t, 3)
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if p := groupPending(t, c, topic, "g"); p != 3 {
		t.Fatalf("pending = %d before the trim, want 3", p)
	}
	if err := h.TrimTopicRaw(t.Context(), topic); err != nil {
		t.Fatalf("trim %s: %v", topic, err)
	}
	// A new member reclaims idle entries and finds them trimmed.
	b := h.client(t, core.Config{Consumer: "b"}, core.WithLogger(slogNew(logs)))
	var sb sink
	subscribe(t, b, t.Context(), topic, sb.handler("b"), core.WithQueueGroup("g"), core.WithClaimIdle(200*time.Millisecond))
	eventually(t, func() string {
		return fmt.Sprintf("pending = %d, want the trimmed entries gone", groupPending(t, c, topic, "g"))
	},
		func() bool { return groupPending(t, c, topic, "g") == 0 })
	publishAll(t, c, topic, []string{"fresh"})
	sb.waitAll(t, []string{"fresh"})
	for _, g := range sb.all() {
		if string(g.Data) != "fresh" {
			t.Errorf("handler got %q (id %s) from a trimmed entry", g.Data, g.ID)
		}
	}
	if !h.TrimLogged {
		return
	}
	out := logs.String()
	for _, g := range s.all() {
		if !strings.Contains(out, g.ID) {
			t.Errorf("trimmed entry %s was not logged; log:\n%s", g.ID, out)
		}
	}
}

// testBrokerRestart: the connection drops mid-load; every publish that
// returned nil is delivered on a backend with history, and delivery resumes
// on any backend.
func testBrokerRestart(t *testing.T, h *Harness) {
	if h.NewDisruptable == nil {
		t.Skipf("%s: the harness cannot cut a connection (Harness.NewDisruptable is nil)", h.Driver)
	}
	c, disrupt, err := h.NewDisruptable(t, core.Config{Driver: h.Driver})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	history := can(t, c, core.OpHistory)
	topic := h.topic(t)
	var s sink
	subscribe(t, c, t.Context(), topic, s.handler("s"), core.WithQueueGroup("g"), core.WithClaimIdle(time.Second))

	const total = 300
	var accepted []string
	var failed int
	for i := range total {
		if i == total/3 {
			disrupt()
		}
		d := fmt.Sprintf("load-%03d", i)
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		err := c.Publish(ctx, topic, []byte(d))
		cancel()
		if err != nil {
			failed++
			continue
		}
		accepted = append(accepted, d)
	}
	t.Logf("%d publishes accepted, %d failed during the outage", len(accepted), failed)
	// Delivery resumes: keep publishing markers until one arrives.
	eventually(t, msgf("no message delivered after the reconnect"), func() bool {
		_ = c.Publish(t.Context(), topic, []byte("marker"))
		time.Sleep(100 * time.Millisecond)
		_, ok := s.find("marker")
		return ok
	})
	if !history {
		return
	}
	s.waitAll(t, accepted)
	var dup []string
	for d, n := range s.counts() {
		if n > 1 && d != "marker" {
			dup = append(dup, d)
		}
	}
	if len(dup) > 0 {
		t.Logf("redelivered after the outage (allowed, at-least-once): %d", len(dup))
	}
}

func testMetrics(t *testing.T, h *Harness) {
	m := core.NewMetrics("")
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	c := h.client(t, core.Config{}, core.WithMetrics(m))
	topic, bad := h.topic(t), h.topic(t)
	var s sink
	subscribe(t, c, t.Context(), topic, s.handler("s"), core.WithQueueGroup("g"))
	var tries sink
	subscribe(t, c, t.Context(), bad, func(m core.Message) error { tries.add(m, "s"); return errors.New("nope") },
		core.WithQueueGroup("g"), core.WithRetry(core.RetryPolicy{MaxAttempts: 2}), core.WithDeadLetter(),
		core.WithClaimIdle(shortClaimIdle))
	publishAll(t, c, topic, payloads("m", 3))
	publishAll(t, c, bad, []string{"poison"})
	s.waitCount(t, 3)
	tries.waitCount(t, 2)
	d := string(h.Driver)
	sub := map[string]string{"backend": d, "topic": topic, "group": "g"}
	fail := map[string]string{"backend": d, "topic": bad, "group": "g"}
	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"mq_published_total", map[string]string{"backend": d, "topic": topic}, 3},
		{"mq_received_total", sub, 3},
		{"mq_acked_total", sub, 3},
		{"mq_received_total", fail, 2},
		{"mq_failed_total", fail, 2},
		{"mq_nacked_total", fail, 1},
		{"mq_dead_lettered_total", fail, 1},
	}
	for _, w := range want {
		eventually(t, func() string {
			return fmt.Sprintf("%s%v = %v, want %v", w.name, w.labels, metricValue(t, reg, w.name, w.labels), w.value)
		}, func() bool { return metricValue(t, reg, w.name, w.labels) == w.value })
	}
	if n := metricValue(t, reg, "mq_handler_duration_seconds", sub); n != 3 {
		t.Errorf("handler latency histogram has %v samples, want 3", n)
	}
	if n := metricValue(t, reg, "mq_publish_duration_seconds", map[string]string{"backend": d, "topic": topic}); n != 3 {
		t.Errorf("publish latency histogram has %v samples, want 3", n)
	}
	if !s.all()[0].Time.IsZero() { // the backend stores a timestamp
		if n := metricValue(t, reg, "mq_end_to_end_seconds", sub); n != 3 {
			t.Errorf("end-to-end latency histogram has %v samples, want 3", n)
		}
	}
}

// metricValue reads a counter's value or a histogram's sample count.
func metricValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather metrics: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			if hg := m.GetHistogram(); hg != nil {
				return float64(hg.GetSampleCount())
			}
		}
	}
	return 0
}

func testBadInput(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	ctx := t.Context()
	topic := h.topic(t)
	ok := func(core.Message) error { return nil }
	for _, bad := range append([]string{""}, h.InvalidTopics...) {
		if err := c.Publish(ctx, bad, []byte("x")); !errors.Is(err, core.ErrInvalidTopic) {
			t.Errorf("Publish to %q: %v, want ErrInvalidTopic", bad, err)
		}
	}
	if _, err := c.Subscribe(ctx, "", ok); !errors.Is(err, core.ErrInvalidTopic) {
		t.Errorf("Subscribe to \"\": %v, want ErrInvalidTopic", err)
	}
	if _, err := c.Subscribe(ctx, topic, nil); err == nil || !strings.Contains(err.Error(), "handler") {
		t.Errorf("Subscribe with a nil handler: %v, want an error naming the handler", err)
	}
	if _, err := c.Subscribe(ctx, topic, ok, core.WithBatchSize(0)); err == nil || !strings.Contains(err.Error(), "batch") {
		t.Errorf("Subscribe with batch size 0: %v, want an error naming the batch size", err)
	}
	if _, err := c.Subscribe(ctx, topic, ok, core.WithQueueGroup("")); err == nil {
		t.Errorf("Subscribe with an empty group: want an error")
	}
	if err := c.Publish(ctx, topic, []byte("x"), core.WithHeader("bad key", "v")); err == nil {
		t.Errorf("Publish with header key %q: want an error", "bad key")
	}
	if _, err := core.New(&core.Config{Driver: "kafka"}); err == nil || !strings.Contains(err.Error(), "kafka") {
		t.Errorf("New with an unknown driver: %v, want an error naming it", err)
	}
	// Nothing listens on port 1: New fails, saying where it tried.
	dead := core.Config{Driver: h.Driver, NATSURL: "nats://127.0.0.1:1", RedisURL: "redis://127.0.0.1:1/0", DialTimeout: time.Second}
	if nc, err := core.New(&dead); err == nil {
		nc.Close()
		t.Errorf("New with no broker at 127.0.0.1:1 succeeded")
	} else if !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("New with no broker: %v, want the address in the error", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Publish(ctx, topic, []byte("x")); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Publish after Close: %v, want ErrClosed", err)
	}
	if _, err := c.Subscribe(ctx, topic, ok); !errors.Is(err, core.ErrClosed) {
		t.Errorf("Subscribe after Close: %v, want ErrClosed", err)
	}
}

// testDedup: a message id publishes once within the backend's window.
func testDedup(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpDedup)
	topic := h.topic(t)
	var s sink
	subscribe(t, c, t.Context(), topic, s.handler("s"), core.WithQueueGroup("g"))
	for range 3 {
		if err := c.Publish(t.Context(), topic, []byte("once"), core.WithMsgID("order-42")); err != nil {
			t.Fatalf("publish with a message id: %v", err)
		}
	}
	publishAll(t, c, topic, []string{"other"}, core.WithMsgID("order-43"))
	s.waitAll(t, []string{"once", "other"})
	time.Sleep(quiet / 3)
	exactlyOnce(t, "de-duplicated", s.counts(), []string{"once", "other"})
}

// testWildcardSubscribe: a pattern subscription gets every matching topic,
// each message saying its concrete topic.
func testWildcardSubscribe(t *testing.T, h *Harness) {
	if h.Wildcard == "" {
		t.Skipf("%s: the harness names no wildcard pattern (Harness.Wildcard is empty)", h.Driver)
	}
	c := h.client(t, core.Config{})
	base := h.topic(t)
	var s sink
	subscribe(t, c, t.Context(), base+h.Wildcard, s.handler("s"))
	publishAll(t, c, base+".a", []string{"a"})
	publishAll(t, c, base+".b", []string{"b"})
	publishAll(t, c, base, []string{"base"})
	s.waitAll(t, []string{"a", "b"})
	time.Sleep(quiet / 3)
	exactlyOnce(t, "wildcard subscription", s.counts(), []string{"a", "b"})
	for _, g := range s.all() {
		if g.Topic != base+"."+string(g.Data) {
			t.Errorf("message %q says topic %q, want the concrete one", g.Data, g.Topic)
		}
	}
}
