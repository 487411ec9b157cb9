package coretest

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
)

type testCase struct {
	name string
	fn   func(t *testing.T, h *Harness)
}

func run(t *testing.T, h *Harness, group string, cases []testCase) {
	t.Helper()
	if h.NewClient == nil {
		t.Fatalf("coretest: Harness.NewClient is nil")
	}
	t.Run(group, func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				c.fn(t, h)
			})
		}
	})
}

// RunMQ runs the Publish/Subscribe conformance cases (issue 2) against h.
func RunMQ(t *testing.T, h Harness) {
	run(t, &h, "MQ", append([]testCase{
		{"PayloadAndHeaders", testPayloadAndHeaders},
		{"ConcurrentPublishersAndSubscribers", testConcurrent},
		{"TopicIsolation", testTopicIsolation},
		{"WildcardSubscribe", testWildcardSubscribe},
		{"QueueGroups", testQueueGroups},
		{"Broadcast", testBroadcast},
		{"AutoAck", testAutoAck},
		{"ManualAck", testManualAck},
		{"HandlerErrorRedelivers", testHandlerErrorRedelivers},
		{"RetryThenDeadLetter", testDeadLetter},
		{"KilledConsumerMessageTakenOver", testKilledConsumer},
		{"BatchSize", testBatchSize},
		{"StartPosition", testStartPosition},
		{"Unsubscribe", testUnsubscribe},
		{"ContextCancel", testContextCancel},
		{"CloseWhileBusy", testCloseWhileBusy},
		{"InjectedConnectionSurvivesClose", testInjectedSurvives},
		{"GroupCreationRace", testGroupCreationRace},
		{"GroupDeletedUnderSubscriber", testGroupDeleted},
		{"TopicDeletedUnderSubscriber", testTopicDeleted},
		{"TrimmedPendingEntry", testTrimmedPending},
		{"BrokerRestartMidLoad", testBrokerRestart},
		{"Metrics", testMetrics},
		{"BadInput", testBadInput},
		{"Dedup", testDedup},
	}, leaveCases()...))
}

func testPayloadAndHeaders(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	history := can(t, c, core.OpHistory)
	topic := h.topic(t)
	var s sink
	subscribe(t, c, t.Context(), topic, s.handler("s"))

	bin := make([]byte, 256)
	for i := range bin {
		bin[i] = byte(i)
	}
	size := 1 << 20
	if h.MaxPayload > 0 && h.MaxPayload < size+64<<10 {
		size = h.MaxPayload - 64<<10 // room for headers
		t.Logf("the broker takes at most %d bytes per message: sending %d instead of 1 MiB", h.MaxPayload, size)
	}
	big := make([]byte, size)
	r := rand.New(rand.NewChaCha8([32]byte{1}))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	cases := map[string][]byte{
		"binary":   bin,
		"non-utf8": {0xff, 0xfe, 0xfd, 0x00, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1},
		"1MiB":     big,
		"empty":    {},
		"text":     []byte(`{"order":42,"note":"héllo ✓"}`),
	}
	hdr := core.Header{"X-Multi": {"a", "b", "c"}, "x-lower": {"v"}, "X-Utf8": {"héllo ✓"}}
	for name, data := range cases {
		if err := c.Publish(t.Context(), topic, data, core.WithHeader("X-Case", name), core.WithHeaders(hdr)); err != nil {
			t.Fatalf("publish %s (%d bytes): %v", name, len(data), err)
		}
	}
	s.waitCount(t, len(cases))
	seen := map[string]int{}
	for _, g := range s.all() {
		name := g.Header.Get("X-Case")
		seen[name]++
		want, ok := cases[name]
		if !ok {
			t.Errorf("delivery with unknown X-Case %q, headers %v", name, g.Header)
			continue
		}
		if !bytes.Equal(g.Data, want) {
			t.Errorf("%s: payload changed: got %d bytes, want %d (first difference at %d)", name, len(g.Data), len(want), firstDiff(g.Data, want))
		}
		for k, v := range hdr {
			if !reflect.DeepEqual(g.Header[k], v) {
				t.Errorf("%s: header %q = %q, want %q (all headers: %v)", name, k, g.Header[k], v, g.Header)
			}
		}
		if g.Topic != topic {
			t.Errorf("%s: Topic() = %q, want %q", name, g.Topic, topic)
		}
		if g.ID == "" {
			t.Errorf("%s: empty ID()", name)
		}
		if history && (g.Time.IsZero() || time.Since(g.Time).Abs() > time.Minute) {
			t.Errorf("%s: Timestamp() = %v on a backend that stores messages, want about now", name, g.Time)
		}
		if g.Deliveries > 1 {
			t.Errorf("%s: first delivery says Deliveries() = %d", name, g.Deliveries)
		}
	}
	for name := range cases {
		if seen[name] != 1 {
			t.Errorf("%s delivered %d times, want 1", name, seen[name])
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// testConcurrent: 4 publishers on one client, a queue group of 4 members on
// 4 clients and 2 broadcast subscribers; counts are exact.
func testConcurrent(t *testing.T, h *Harness) {
	const publishers, perPublisher, members, listeners = 4, 100, 4, 2
	topic := h.topic(t)
	group := "workers"
	var grp sink
	for i := range members {
		c := h.client(t, core.Config{Consumer: fmt.Sprintf("m%d", i)})
		subscribe(t, c, t.Context(), topic, grp.handler(fmt.Sprintf("m%d", i)), core.WithQueueGroup(group))
	}
	bc := make([]*sink, listeners)
	for i := range bc {
		bc[i] = &sink{}
		c := h.client(t, core.Config{})
		subscribe(t, c, t.Context(), topic, bc[i].handler("b"))
	}
	pub := h.client(t, core.Config{})
	var want []string
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for p := range publishers {
		data := payloads(fmt.Sprintf("p%d", p), perPublisher)
		want = append(want, data...)
		wg.Go(func() {
			for _, d := range data {
				if err := pub.Publish(t.Context(), topic, []byte(d)); err != nil {
					errs <- fmt.Errorf("publish %s: %w", d, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	grp.waitCount(t, len(want))
	for _, b := range bc {
		b.waitCount(t, len(want))
	}
	time.Sleep(quiet) // duplicates would show up now
	exactlyOnce(t, "queue group", grp.counts(), want)
	for i, b := range bc {
		exactlyOnce(t, fmt.Sprintf("broadcast subscriber %d", i), b.counts(), want)
	}
	t.Logf("queue group spread: %v", grp.byWho())
}

func testTopicIsolation(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	a, b := h.topic(t), h.topic(t)
	var sa, sb sink
	subscribe(t, c, t.Context(), a, sa.handler("a"))
	subscribe(t, c, t.Context(), b, sb.handler("b"))
	// Also a prefix-named topic, which must not match either.
	prefixed := a + "x"
	var sp sink
	subscribe(t, c, t.Context(), prefixed, sp.handler("p"))
	wa, wb, wp := payloads("a", 10), payloads("b", 10), payloads("px", 5)
	publishAll(t, c, b, wb)
	publishAll(t, c, prefixed, wp)
	publishAll(t, c, a, wa)
	sa.waitCount(t, len(wa))
	sb.waitCount(t, len(wb))
	sp.waitCount(t, len(wp))
	time.Sleep(quiet / 3)
	exactlyOnce(t, "topic a", sa.counts(), wa)
	exactlyOnce(t, "topic b", sb.counts(), wb)
	exactlyOnce(t, "topic a+x", sp.counts(), wp)
}

func testQueueGroups(t *testing.T, h *Harness) {
	topic := h.topic(t)
	groups := map[string]int{"g1": 3, "g2": 2}
	sinks := map[string]*sink{}
	for g, n := range groups {
		sinks[g] = &sink{}
		for i := range n {
			name := fmt.Sprintf("%s-c%d", g, i)
			c := h.client(t, core.Config{Consumer: name})
			subscribe(t, c, t.Context(), topic, sinks[g].handler(name), core.WithQueueGroup(g))
		}
	}
	pub := h.client(t, core.Config{})
	want := payloads("q", 60)
	publishAll(t, pub, topic, want)
	for _, s := range sinks {
		s.waitCount(t, len(want))
	}
	time.Sleep(quiet)
	for g, s := range sinks {
		exactlyOnce(t, "group "+g, s.counts(), want)
		t.Logf("group %s spread: %v", g, s.byWho())
	}
}

func testBroadcast(t *testing.T, h *Harness) {
	topic := h.topic(t)
	sinks := make([]*sink, 3)
	for i := range sinks {
		sinks[i] = &sink{}
		c := h.client(t, core.Config{})
		subscribe(t, c, t.Context(), topic, sinks[i].handler(fmt.Sprint(i)))
	}
	want := payloads("b", 30)
	publishAll(t, h.client(t, core.Config{}), topic, want)
	for _, s := range sinks {
		s.waitCount(t, len(want))
	}
	time.Sleep(quiet / 3)
	for i, s := range sinks {
		exactlyOnce(t, fmt.Sprintf("broadcast subscriber %d", i), s.counts(), want)
	}
}

// groupPending returns the pending count of group via the operator view, or
// -1 when the backend cannot list groups.
func groupPending(t testing.TB, c *core.Client, topic, group string) int64 {
	t.Helper()
	if !can(t, c, core.OpGroups) {
		return -1
	}
	gs, err := c.Operator().Groups(t.Context(), topic)
	if err != nil {
		t.Fatalf("Groups(%s): %v", topic, err)
	}
	for _, g := range gs {
		if g.Name == group {
			return g.Pending
		}
	}
	t.Fatalf("Groups(%s): no group %q among %d", topic, group, len(gs))
	return -1
}

func testAutoAck(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	topic := h.topic(t)
	var s sink
	subscribe(t, c, t.Context(), topic, s.handler("s"), core.WithQueueGroup("g"), core.WithClaimIdle(shortClaimIdle))
	want := payloads("auto", 10)
	publishAll(t, c, topic, want)
	s.waitCount(t, len(want))
	time.Sleep(quiet) // five claim-idle periods: an unacked message would be back
	exactlyOnce(t, "auto-ack", s.counts(), want)
	if p := groupPending(t, c, topic, "g"); p > 0 {
		t.Errorf("group pending = %d after auto-ack, want 0", p)
	}
}

func testManualAck(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	topic := h.topic(t)
	var s sink
	var ackErrs atomic.Int32
	seen := sync.Map{}
	handler := func(m core.Message) error {
		s.add(m, "s")
		d := string(m.Data())
		_, again := seen.LoadOrStore(d, true)
		// Ack the even payloads at once; the odd ones only when they come back.
		if d[len(d)-1]%2 == 0 || again {
			if err := m.Ack(); err != nil {
				ackErrs.Add(1)
			}
			if err := m.Ack(); err != nil { // twice is harmless
				ackErrs.Add(1)
			}
		}
		return nil
	}
	subscribe(t, c, t.Context(), topic, handler, core.WithQueueGroup("g"), core.WithManualAck(), core.WithClaimIdle(shortClaimIdle))
	want := payloads("man", 10)
	publishAll(t, c, topic, want)
	s.waitCount(t, len(want))
	if n := ackErrs.Load(); n > 0 {
		t.Errorf("%d Ack calls failed", n)
	}
	if !can(t, c, core.OpHistory) {
		time.Sleep(quiet)
		exactlyOnce(t, "manual ack without history", s.counts(), want)
		_, why := c.Operator().Capabilities(t.Context()).Can(core.OpHistory)
		t.Skipf("%s: %s: un-acked messages cannot come back: %s", c.Driver(), core.OpHistory, why)
	}
	var odd []string
	for _, w := range want {
		if w[len(w)-1]%2 == 1 {
			odd = append(odd, w)
		}
	}
	eventually(t, func() string { return "un-acked (odd) payloads did not come back: " + summary(s.counts()) }, func() bool {
		cnt := s.counts()
		for _, o := range odd {
			if cnt[o] < 2 {
				return false
			}
		}
		return true
	})
	time.Sleep(quiet)
	cnt := s.counts()
	for _, w := range want {
		n := cnt[w]
		if w[len(w)-1]%2 == 0 && n != 1 {
			t.Errorf("acked %s delivered %d times, want 1", w, n)
		}
		if w[len(w)-1]%2 == 1 && n != 2 {
			t.Errorf("un-acked-then-acked %s delivered %d times, want 2", w, n)
		}
	}
	checkDeliveriesGrow(t, s.all())
	if p := groupPending(t, c, topic, "g"); p > 0 {
		t.Errorf("group pending = %d after everything was acked, want 0", p)
	}
}

func testHandlerErrorRedelivers(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	topic := h.topic(t)
	var s sink
	seen := sync.Map{}
	handler := func(m core.Message) error {
		s.add(m, "s")
		if _, again := seen.LoadOrStore(string(m.Data()), true); !again {
			return errors.New("first attempt fails")
		}
		return nil
	}
	subscribe(t, c, t.Context(), topic, handler, core.WithQueueGroup("g"),
		core.WithRetry(core.RetryPolicy{MaxAttempts: 5, Backoff: 20 * time.Millisecond}), core.WithClaimIdle(shortClaimIdle))
	want := payloads("err", 5)
	publishAll(t, c, topic, want)
	s.waitCount(t, 2*len(want))
	time.Sleep(quiet)
	cnt := s.counts()
	for _, w := range want {
		if cnt[w] != 2 {
			t.Errorf("%s delivered %d times, want 2 (fail, then succeed)", w, cnt[w])
		}
	}
	checkDeliveriesGrow(t, s.all())
	if p := groupPending(t, c, topic, "g"); p > 0 {
		t.Errorf("group pending = %d after the retries succeeded, want 0", p)
	}
}

func testDeadLetter(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	topic := h.topic(t)
	dlq := c.DeadLetterTopic(topic)
	if dlq != topic+core.DefaultDLQSuffix {
		t.Errorf("DeadLetterTopic(%q) = %q, want %q", topic, dlq, topic+core.DefaultDLQSuffix)
	}
	if again := c.DeadLetterTopic(dlq); again != dlq {
		t.Errorf("DeadLetterTopic(%q) = %q: the suffix was doubled", dlq, again)
	}
	// A dead-letter topic dead-lettering into itself would loop.
	if s, err := c.Subscribe(t.Context(), dlq, func(core.Message) error { return nil }, core.WithQueueGroup("loop"), core.WithDeadLetter()); err == nil {
		_ = s.Unsubscribe()
		t.Errorf("Subscribe(%q, WithDeadLetter()) succeeded: failed messages would be dead-lettered into the topic itself", dlq)
	}
	var dead sink
	subscribe(t, c, t.Context(), dlq, dead.handler("dlq"), core.WithQueueGroup("dlq-reader"))
	var tries sink
	handler := func(m core.Message) error {
		tries.add(m, "s")
		return fmt.Errorf("cannot process %s", m.Data())
	}
	const attempts = 3
	subscribe(t, c, t.Context(), topic, handler, core.WithQueueGroup("g"),
		core.WithRetry(core.RetryPolicy{MaxAttempts: attempts, Backoff: 10 * time.Millisecond}),
		core.WithDeadLetter(), core.WithClaimIdle(shortClaimIdle))
	want := payloads("dl", 3)
	publishAll(t, c, topic, want, core.WithHeader("X-Keep", "kept"))
	dead.waitCount(t, len(want))
	time.Sleep(quiet) // the originals must not come back
	exactlyOnce(t, "dead-letter topic", dead.counts(), want)
	cnt := tries.counts()
	origin := map[string]got{}
	for _, g := range tries.all() {
		origin[string(g.Data)] = g
	}
	for _, w := range want {
		if cnt[w] != attempts {
			t.Errorf("%s handled %d times, want %d (MaxAttempts)", w, cnt[w], attempts)
		}
		d, _ := dead.find(w)
		hd := d.Header
		check := func(key, want string) {
			if got := hd.Get(key); got != want {
				t.Errorf("%s: DLQ header %s = %q, want %q (headers %v)", w, key, got, want, hd)
			}
		}
		check(core.HeaderOriginTopic, topic)
		check(core.HeaderOriginID, origin[w].ID)
		check(core.HeaderOriginGroup, "g")
		check(core.HeaderDeliveries, fmt.Sprint(attempts))
		check("X-Keep", "kept")
		if le := hd.Get(core.HeaderLastError); !strings.Contains(le, "cannot process "+w) {
			t.Errorf("%s: DLQ header %s = %q, want the handler's error", w, core.HeaderLastError, le)
		}
	}
	if p := groupPending(t, c, topic, "g"); p > 0 {
		t.Errorf("group pending = %d after dead-lettering, want 0 (originals acked)", p)
	}
}

// checkDeliveriesGrow fails when a redelivery does not count up (where the
// backend knows the count at all).
func checkDeliveriesGrow(t testing.TB, gs []got) {
	t.Helper()
	byData := map[string][]int{}
	for _, g := range gs {
		byData[string(g.Data)] = append(byData[string(g.Data)], g.Deliveries)
	}
	for d, ds := range byData {
		if ds[0] == 0 {
			continue // unknown on this backend
		}
		if ds[0] != 1 {
			t.Errorf("%s: first Deliveries() = %d, want 1 (all: %v)", d, ds[0], ds)
		}
		for i := 1; i < len(ds); i++ {
			if ds[i] <= ds[i-1] {
				t.Errorf("%s: Deliveries() went %v, want it to grow on each redelivery", d, ds)
				break
			}
		}
	}
}
