package redisstream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

func TestValidateTopic(t *testing.T) {
	t.Parallel()
	c := newClient(t, testbroker.Redis(t), core.Config{})
	ctx := context.Background()
	for _, bad := range []string{"", "has space", "tab\there", "nl\n", "ctl\x01", "glob*", "q?", strings.Repeat("x", 600), "bad\xffutf8"} {
		err := c.Publish(ctx, bad, []byte("x"))
		if !errors.Is(err, core.ErrInvalidTopic) {
			t.Errorf("Publish(%q): want ErrInvalidTopic, got %v", bad, err)
			continue
		}
		if bad != "" && len(bad) < 100 && !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("error should name the topic %q: %v", bad, err)
		}
	}
	if _, err := c.Subscribe(ctx, "orders.*", func(core.Message) error { return nil }); !errors.Is(err, core.ErrInvalidTopic) || !strings.Contains(err.Error(), "pattern") {
		t.Errorf("pattern subscribe: %v", err)
	}
}

func TestEncodingAndForeignEntries(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	c := newClient(t, admin, core.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()

	got := make(chan core.Message, 10)
	sub, err := c.Subscribe(ctx, tp, func(m core.Message) error { got <- m; return nil }, core.WithQueueGroup("g"))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i*7 + i>>8)
	}
	big[0], big[1] = 0xff, 0x00 // not UTF-8
	before := time.Now().Add(-time.Second)
	if err := c.Publish(ctx, tp, big, core.WithHeader("K", "v1"), core.WithHeader("K", "v2"), core.WithMsgID("m-1")); err != nil {
		t.Fatal(err)
	}
	if err := admin.XAdd(ctx, &redis.XAddArgs{Stream: tp, Values: []any{"order", "42", "state", "new"}}).Err(); err != nil {
		t.Fatal(err)
	}
	m := <-got
	if !bytes.Equal(m.Data(), big) {
		t.Fatalf("payload changed: %d bytes back", len(m.Data()))
	}
	if v := m.Header()["K"]; len(v) != 2 || v[0] != "v1" || v[1] != "v2" {
		t.Fatalf("headers: %v", m.Header())
	}
	if m.Header().Get(core.HeaderMsgID) != "m-1" {
		t.Fatalf("msg id header: %v", m.Header())
	}
	if m.Timestamp().Before(before) || m.Timestamp().After(time.Now().Add(time.Second)) || m.Deliveries() != 1 || !strings.Contains(m.ID(), "-") {
		t.Fatalf("metadata: ts=%v n=%d id=%s", m.Timestamp(), m.Deliveries(), m.ID())
	}
	f := <-got
	if string(f.Data()) != `{"order":"42","state":"new"}` || len(f.Header()) != 0 {
		t.Fatalf("foreign entry: %s %v", f.Data(), f.Header())
	}
	caps := c.Operator().Capabilities(ctx)
	if ok, why := caps.Can(core.OpDedup); ok || !strings.Contains(why, "de-duplicate") {
		t.Fatalf("dedup capability: %v %q", ok, why)
	}
	if caps.ServerVersion == "" {
		t.Fatal("no server version in capabilities")
	}
}

func TestConcurrentPublishersAllStored(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	c := newClient(t, admin, core.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for g := 0; g < 50; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				if err := c.Publish(ctx, tp, []byte(fmt.Sprintf("%d-%d", g, i))); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := admin.XLen(ctx, tp).Val(); n != 2000 || failed.Load() != 0 {
		t.Fatalf("stored %d of 2000, %d publish errors", n, failed.Load())
	}
	// A cancelled context fails the call, promptly.
	cctx, ccancel := context.WithCancel(ctx)
	ccancel()
	if err := c.Publish(cctx, tp, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("publish with cancelled ctx: %v", err)
	}
	c.Close()
	if err := c.Publish(ctx, tp, []byte("x")); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestRetryDelayAndDeliveryCount(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	c := newClient(t, admin, core.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()

	type seen struct {
		n  int
		at time.Time
	}
	var mu sync.Mutex
	var deliveries []seen
	done := make(chan struct{})
	sub, err := c.Subscribe(ctx, tp, func(m core.Message) error {
		mu.Lock()
		defer mu.Unlock()
		deliveries = append(deliveries, seen{m.Deliveries(), time.Now()})
		if len(deliveries) < 3 {
			return errors.New("not yet")
		}
		close(done)
		return nil
	}, core.WithQueueGroup("g"), core.WithRetry(core.RetryPolicy{MaxAttempts: 5, Backoff: 150 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	publishAll(t, c, tp, []string{"x"})
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("never succeeded: %v", deliveries)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, d := range deliveries {
		if d.n != i+1 {
			t.Fatalf("delivery %d reported Deliveries()=%d (from the PEL count); all: %v", i+1, d.n, deliveries)
		}
	}
	if gap := deliveries[1].at.Sub(deliveries[0].at); gap < 140*time.Millisecond {
		t.Fatalf("first retry after %v, want ≥ 150ms backoff", gap)
	}
	if gap := deliveries[2].at.Sub(deliveries[1].at); gap < 290*time.Millisecond {
		t.Fatalf("second retry after %v, want ≥ 300ms backoff", gap)
	}
	eventually(t, func() string { return "pending not cleared" }, func() bool {
		p, err := admin.XPending(ctx, tp, "g").Result()
		return err == nil && p.Count == 0
	})
}

func TestDeadLetterFromPELCount(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	c := newClient(t, admin, core.Config{Consumer: "worker"})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	var calls atomic.Int64
	sub, err := c.Subscribe(ctx, tp, func(m core.Message) error { calls.Add(1); return errors.New("boom") },
		core.WithQueueGroup("g"), core.WithRetry(core.RetryPolicy{MaxAttempts: 3}), core.WithDeadLetter())
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	publishAll(t, c, tp, []string{"poison"})
	dlq := tp + ".dlq"
	eventually(t, func() string { return "no DLQ entry" }, func() bool { return admin.XLen(ctx, dlq).Val() == 1 })
	eventually(t, func() string { return "original still pending" }, func() bool {
		p, err := admin.XPending(ctx, tp, "g").Result()
		return err == nil && p.Count == 0
	})
	if calls.Load() != 3 {
		t.Fatalf("handler ran %d times, want 3", calls.Load())
	}
	rec, err := c.Operator().Browse(ctx, core.BrowseQuery{Topic: dlq, Limit: 10})
	if err != nil || len(rec.Records) != 1 {
		t.Fatalf("browse DLQ: %v %v", rec, err)
	}
	h := rec.Records[0].Header
	if h.Get(core.HeaderOriginTopic) != tp || h.Get(core.HeaderDeliveries) != "3" || h.Get(core.HeaderOriginGroup) != "g" ||
		h.Get(core.HeaderOriginConsumer) != "worker" || !strings.Contains(h.Get(core.HeaderLastError), "boom") || string(rec.Records[0].Data) != "poison" {
		t.Fatalf("DLQ headers: %v data %q", h, rec.Records[0].Data)
	}
}

// The group (or the whole stream) is deleted under a running subscriber:
// the group is recreated with MKSTREAM and new messages flow again.
func TestNoGroupRecovery(t *testing.T) {
	t.Parallel()
	for _, variant := range []string{"group", "stream"} {
		t.Run(variant, func(t *testing.T) {
			t.Parallel()
			admin := testbroker.Redis(t)
			tp := topic(t, admin)
			logs := &logBuffer{}
			c := newClient(t, admin, core.Config{}, core.WithLogger(slog.New(logs)))
			ctx, cancel := context.WithTimeout(context.Background(), waitLong)
			defer cancel()
			col := newCollector()
			sub, err := c.Subscribe(ctx, tp, func(m core.Message) error { col.add(m); return nil }, core.WithQueueGroup("g"))
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			publishAll(t, c, tp, []string{"before"})
			eventually(t, func() string { return "first message" }, func() bool { return col.total() == 1 })
			if variant == "group" {
				admin.XGroupDestroy(ctx, tp, "g")
			} else {
				admin.Del(ctx, tp)
			}
			eventually(t, func() string { return "NOGROUP not seen: " + logs.String() }, func() bool { return strings.Contains(logs.String(), "NOGROUP") })
			eventually(t, func() string { return "group not recreated: " + logs.String() }, func() bool {
				gs, err := admin.XInfoGroups(ctx, tp).Result()
				return err == nil && len(gs) == 1
			})
			publishAll(t, c, tp, []string{"after"})
			eventually(t, func() string { return fmt.Sprintf("after recovery got %v", col.count) }, func() bool { return len(col.missing([]string{"after"})) == 0 })
			if n := strings.Count(logs.String(), "NOGROUP"); n > 5 {
				t.Fatalf("NOGROUP logged %d times: a hot loop?\n%s", n, logs.String())
			}
		})
	}
}

// A pending entry whose message was trimmed is acked and logged, not
// retried forever.
func TestTrimmedPendingEntry(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	logs := &logBuffer{}
	c := newClient(t, admin, core.Config{}, core.WithLogger(slog.New(logs)))
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	var calls atomic.Int64
	sub, err := c.Subscribe(ctx, tp, func(m core.Message) error { calls.Add(1); return errors.New("fail") },
		core.WithQueueGroup("g"), core.WithRetry(core.RetryPolicy{Backoff: 300 * time.Millisecond}), core.WithClaimIdle(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	publishAll(t, c, tp, []string{"a", "b"})
	eventually(t, func() string { return "not delivered" }, func() bool { return calls.Load() >= 2 })
	if err := admin.XTrimMaxLen(ctx, tp, 0).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() string { return "trimmed entries still pending" }, func() bool {
		p, err := admin.XPending(ctx, tp, "g").Result()
		return err == nil && p.Count == 0
	})
	if !strings.Contains(logs.String(), "trimmed") {
		t.Fatalf("no log about trimmed entries:\n%s", logs.String())
	}
	n := calls.Load()
	time.Sleep(500 * time.Millisecond)
	if calls.Load() != n {
		t.Fatalf("handler still called after trim: %d -> %d", n, calls.Load())
	}
}

// Many subscribers create the same group at once: BUSYGROUP is fine, each
// message is handled once.
func TestGroupCreationRace(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	c := newClient(t, admin, core.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	col := newCollector()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Subscribe(ctx, tp, func(m core.Message) error { col.add(m); return nil }, core.WithQueueGroup("g"))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent subscribe: %v", err)
		}
	}
	cs, err := admin.XInfoConsumers(ctx, tp, "g").Result()
	_ = cs
	if err != nil {
		t.Fatal(err)
	}
	want := payloads("m", 200)
	publishAll(t, c, tp, want)
	eventually(t, func() string { return fmt.Sprintf("missing %d", len(col.missing(want))) }, func() bool { return len(col.missing(want)) == 0 })
	time.Sleep(200 * time.Millisecond)
	if col.total() != len(want) {
		t.Fatalf("%d deliveries for %d messages", col.total(), len(want))
	}
	// Eight subscriptions of one process: eight distinct consumer names.
	cs, _ = admin.XInfoConsumers(ctx, tp, "g").Result()
	names := map[string]bool{}
	for _, x := range cs {
		names[x.Name] = true
	}
	if len(names) != 8 {
		t.Fatalf("consumer names %v: want 8 distinct (suffixed)", names)
	}
}

// A consumer that read messages and died (never acked) loses them to a live
// member after ClaimIdle, with the delivery count going on from the PEL.
func TestCrashedConsumerRescued(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	admin.XGroupCreateMkStream(ctx, tp, "g", "$")
	for i := 0; i < 5; i++ {
		admin.XAdd(ctx, &redis.XAddArgs{Stream: tp, Values: []any{"data", fmt.Sprint(i)}})
	}
	// The "crashed" consumer reads and vanishes.
	if err := admin.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "dead", Streams: []string{tp, ">"}, Count: 5}).Err(); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, admin, core.Config{Consumer: "alive"})
	var mu sync.Mutex
	counts := map[string]int{}
	sub, err := c.Subscribe(ctx, tp, func(m core.Message) error {
		mu.Lock()
		counts[string(m.Data())] = m.Deliveries()
		mu.Unlock()
		return nil
	}, core.WithQueueGroup("g"), core.WithClaimIdle(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	eventually(t, func() string { return fmt.Sprint(counts) }, func() bool { mu.Lock(); defer mu.Unlock(); return len(counts) == 5 })
	mu.Lock()
	for k, n := range counts {
		if n != 2 {
			t.Errorf("message %s: Deliveries()=%d, want 2 (read once by the dead consumer)", k, n)
		}
	}
	mu.Unlock()
	eventually(t, func() string { return "still pending" }, func() bool {
		p, err := admin.XPending(ctx, tp, "g").Result()
		return err == nil && p.Count == 0
	})
}

// Connections are killed (CLIENT KILL) again and again under load: the
// subscription survives and nothing is lost.
func TestClientKillMidLoad(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	victimName := testbroker.Name(t, "victim")
	victim := rclient(t, victimName)
	c := newClient(t, victim, core.Config{})
	pub := newClient(t, admin, core.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	col := newCollector()
	sub, err := c.Subscribe(ctx, tp, func(m core.Message) error { col.add(m); return nil },
		core.WithQueueGroup("g"), core.WithBatchSize(10), core.WithClaimIdle(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	want := payloads("k", 2000)
	killed := 0
	stop := make(chan struct{})
	var kwg sync.WaitGroup
	kwg.Add(1)
	go func() {
		defer kwg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(40 * time.Millisecond):
			}
			n, _ := testbroker.KillRedisClients(ctx, admin, victimName)
			killed += n
		}
	}()
	for i, w := range want {
		if err := pub.Publish(ctx, tp, []byte(w)); err != nil {
			t.Fatal(err)
		}
		if i%200 == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	eventually(t, func() string { return fmt.Sprintf("missing %d of %d", len(col.missing(want)), len(want)) }, func() bool {
		return len(col.missing(want)) == 0
	})
	close(stop)
	kwg.Wait()
	if killed == 0 {
		t.Fatal("no connection was killed: the test proved nothing")
	}
	t.Logf("killed %d connections; %d messages, %d deliveries (%d duplicates), 0 lost", killed, len(want), col.total(), col.total()-len(want))
}

// Unsubscribe and Close return promptly even while a read is blocked, and
// Close waits for the handler in flight.
func TestStopIsPromptAndDrains(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	c := newClient(t, admin, core.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	sub, err := c.Subscribe(ctx, tp, func(m core.Message) error { return nil }, core.WithQueueGroup("g"))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	sub.Unsubscribe()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Unsubscribe took %v", d)
	}

	// ctx cancel stops delivery.
	sctx, scancel := context.WithCancel(ctx)
	var after atomic.Int64
	var cancelled atomic.Bool
	_, err = c.Subscribe(sctx, tp, func(m core.Message) error {
		if cancelled.Load() {
			after.Add(1)
		}
		return nil
	}, core.WithQueueGroup("g2"), core.WithStartPosition(core.StartNew()))
	if err != nil {
		t.Fatal(err)
	}
	scancel()
	cancelled.Store(true)
	time.Sleep(time.Second)
	publishAll(t, c, tp, []string{"late"})
	time.Sleep(300 * time.Millisecond)
	if after.Load() != 0 {
		t.Fatal("delivered after ctx cancel")
	}

	// Close drains the handler in flight.
	started := make(chan struct{})
	var finished atomic.Bool
	_, err = c.Subscribe(ctx, tp, func(m core.Message) error {
		close(started)
		time.Sleep(400 * time.Millisecond)
		finished.Store(true)
		return nil
	}, core.WithQueueGroup("g3"), core.WithStartPosition(core.StartNew()))
	if err != nil {
		t.Fatal(err)
	}
	publishAll(t, c, tp, []string{"slow"})
	<-started
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if !finished.Load() {
		t.Fatal("Close returned before the handler finished")
	}
	p, _ := admin.XPending(ctx, tp, "g3").Result()
	if p == nil || p.Count != 0 {
		t.Fatalf("the drained handler's ack was not flushed: %+v", p)
	}
}

// Without a group every subscriber gets every message from its start, and
// a failing handler is retried locally.
func TestBroadcastAndStartPositions(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	c := newClient(t, admin, core.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	publishAll(t, c, tp, []string{"old1", "old2", "old3"})
	msgs, _ := admin.XRange(ctx, tp, "-", "+").Result()

	a, b, fromID, last := newCollector(), newCollector(), newCollector(), newCollector()
	var fails atomic.Int64
	for _, s := range []struct {
		col *collector
		pos core.Position
	}{{a, core.StartNew()}, {b, core.StartAll()}, {fromID, core.AtID(msgs[1].ID)}, {last, core.LastN(1)}} {
		col := s.col
		_, err := c.Subscribe(ctx, tp, func(m core.Message) error {
			if col == a && string(m.Data()) == "new1" && fails.Add(1) == 1 {
				return errors.New("once")
			}
			col.add(m)
			return nil
		}, core.WithStartPosition(s.pos), core.WithRetry(core.RetryPolicy{MaxAttempts: 3}))
		if err != nil {
			t.Fatal(err)
		}
	}
	publishAll(t, c, tp, []string{"new1"})
	eventually(t, func() string { return "broadcast" }, func() bool {
		return a.distinct() == 1 && b.distinct() == 4 && fromID.distinct() == 3 && last.distinct() == 2
	})
	if len(a.missing([]string{"new1"})) != 0 || len(fromID.missing([]string{"old2", "old3", "new1"})) != 0 || len(last.missing([]string{"old3", "new1"})) != 0 {
		t.Fatalf("positions: new=%v all=%v id=%v last=%v", a.count, b.count, fromID.count, last.count)
	}
	if fails.Load() < 2 {
		t.Fatal("failed broadcast message was not retried locally")
	}
	if _, err := c.Subscribe(ctx, tp, func(core.Message) error { return nil }, core.WithStartPosition(core.AtSequence(3))); !errors.Is(err, core.ErrUnsupported) {
		t.Fatalf("sequence start: %v", err)
	}
}
