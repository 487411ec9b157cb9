package coretest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
)

// Generous bounds for "eventually" checks: the machine is small and shared;
// nothing here asserts speed.
const (
	defaultWait = 20 * time.Second
	// quiet is how long the suite watches for something that must NOT
	// happen (a redelivery, a message after Unsubscribe).
	quiet = 1500 * time.Millisecond
	// shortClaimIdle makes redelivery of unacked messages quick; quiet is
	// three of it, so a wrongly unacked message shows up.
	shortClaimIdle = 500 * time.Millisecond
)

// eventually polls cond until it holds or defaultWait passes.
func eventually(t testing.TB, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(defaultWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", defaultWait, what())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func msgf(format string, args ...any) func() string {
	return func() string { return fmt.Sprintf(format, args...) }
}

// requireOp skips t (visibly, with the backend's reason) unless every op is
// supported.
func requireOp(t testing.TB, c *core.Client, ops ...core.Op) {
	t.Helper()
	caps := c.Operator().Capabilities(t.Context())
	for _, op := range ops {
		if ok, why := caps.Can(op); !ok {
			t.Skipf("%s: %s: %s", c.Driver(), op, why)
		}
	}
}

func can(t testing.TB, c *core.Client, op core.Op) bool {
	ok, _ := c.Operator().Capabilities(t.Context()).Can(op)
	return ok
}

// skipUnsupported skips when err says the backend lacks the operation.
func skipUnsupported(t testing.TB, what string, err error) {
	t.Helper()
	if errors.Is(err, core.ErrUnsupported) {
		t.Skipf("%s: %v", what, err)
	}
}

// got is one delivery as a handler saw it.
type got struct {
	ID         string
	Topic      string
	Data       []byte
	Header     core.Header
	Deliveries int
	Time       time.Time
	Who        string
	At         time.Time
}

// sink records deliveries.
type sink struct {
	mu   sync.Mutex
	msgs []got
}

func (s *sink) add(m core.Message, who string) got {
	g := got{ID: m.ID(), Topic: m.Topic(), Data: append([]byte(nil), m.Data()...), Header: m.Header().Clone(),
		Deliveries: m.Deliveries(), Time: m.Timestamp(), Who: who, At: time.Now()}
	s.mu.Lock()
	s.msgs = append(s.msgs, g)
	s.mu.Unlock()
	return g
}

// handler records every delivery and succeeds.
func (s *sink) handler(who string) core.Handler {
	return func(m core.Message) error { s.add(m, who); return nil }
}

func (s *sink) len() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.msgs) }

func (s *sink) all() []got {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]got(nil), s.msgs...)
}

// counts maps payload to how often it was delivered.
func (s *sink) counts() map[string]int {
	out := map[string]int{}
	for _, g := range s.all() {
		out[string(g.Data)]++
	}
	return out
}

// byWho counts deliveries per receiver.
func (s *sink) byWho() map[string]int {
	out := map[string]int{}
	for _, g := range s.all() {
		out[g.Who]++
	}
	return out
}

func (s *sink) find(data string) (got, bool) {
	for _, g := range s.all() {
		if string(g.Data) == data {
			return g, true
		}
	}
	return got{}, false
}

// waitCount waits until the sink holds at least n deliveries.
func (s *sink) waitCount(t testing.TB, n int) {
	t.Helper()
	eventually(t, func() string {
		return fmt.Sprintf("got %d deliveries, want %d; payloads: %s", s.len(), n, summary(s.counts()))
	},
		func() bool { return s.len() >= n })
}

// waitAll waits until every payload in want was delivered at least once.
func (s *sink) waitAll(t testing.TB, want []string) {
	t.Helper()
	eventually(t, func() string {
		c := s.counts()
		var missing []string
		for _, w := range want {
			if c[w] == 0 {
				missing = append(missing, w)
			}
		}
		return fmt.Sprintf("%d of %d payloads never delivered: %s", len(missing), len(want), head(missing, 10))
	}, func() bool {
		c := s.counts()
		for _, w := range want {
			if c[w] == 0 {
				return false
			}
		}
		return true
	})
}

// exactlyOnce fails unless every payload in want was delivered exactly once
// and nothing else was delivered.
func exactlyOnce(t testing.TB, who string, c map[string]int, want []string) {
	t.Helper()
	wantSet := map[string]bool{}
	var bad []string
	for _, w := range want {
		wantSet[w] = true
		if c[w] != 1 {
			bad = append(bad, fmt.Sprintf("%s×%d", w, c[w]))
		}
	}
	for k, n := range c {
		if !wantSet[k] {
			bad = append(bad, fmt.Sprintf("unexpected %q×%d", k, n))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Errorf("%s: %d payloads not delivered exactly once (of %d): %s", who, len(bad), len(want), head(bad, 12))
	}
}

func head(s []string, n int) string {
	if len(s) > n {
		return strings.Join(s[:n], ", ") + fmt.Sprintf(", … (%d more)", len(s)-n)
	}
	return strings.Join(s, ", ")
}

func summary(c map[string]int) string {
	keys := make([]string, 0, len(c))
	for k, n := range c {
		keys = append(keys, fmt.Sprintf("%.20q×%d", k, n))
	}
	sort.Strings(keys)
	return head(keys, 8)
}

func payloads(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

func publishAll(t testing.TB, c *core.Client, topic string, data []string, opts ...core.PublishOption) {
	t.Helper()
	for _, d := range data {
		if err := c.Publish(t.Context(), topic, []byte(d), opts...); err != nil {
			t.Fatalf("publish %q to %s: %v", d, topic, err)
		}
	}
}

func subscribe(t testing.TB, c *core.Client, ctx context.Context, topic string, h core.Handler, opts ...core.SubscribeOption) core.Subscription {
	t.Helper()
	sub, err := c.Subscribe(ctx, topic, h, opts...)
	if err != nil {
		t.Fatalf("subscribe to %s: %v", topic, err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return sub
}

// logBuffer is a slog handler that keeps every record's text.
type logBuffer struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
	h   slog.Handler
}

func newLogBuffer() *logBuffer {
	b := &bytes.Buffer{}
	return &logBuffer{mu: &sync.Mutex{}, buf: b, h: slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})}
}

func (l *logBuffer) Enabled(context.Context, slog.Level) bool { return true }
func (l *logBuffer) Handle(ctx context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.h.Handle(ctx, r)
}
func (l *logBuffer) WithAttrs(a []slog.Attr) slog.Handler {
	return &logBuffer{mu: l.mu, buf: l.buf, h: l.h.WithAttrs(a)}
}
func (l *logBuffer) WithGroup(g string) slog.Handler {
	return &logBuffer{mu: l.mu, buf: l.buf, h: l.h.WithGroup(g)}
}
func (l *logBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.buf.String() }

// gate blocks handlers until released; release is idempotent.
type gate struct {
	ch   chan struct{}
	once sync.Once
}

func newGate(t testing.TB) *gate {
	g := &gate{ch: make(chan struct{})}
	t.Cleanup(g.release) // callers register it again after whatever waits for it
	return g
}
func (g *gate) release()              { g.once.Do(func() { close(g.ch) }) }
func (g *gate) wait()                 { <-g.ch }
func (g *gate) done() <-chan struct{} { return g.ch }

func slogNew(h slog.Handler) *slog.Logger { return slog.New(h) }
