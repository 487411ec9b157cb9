package tui

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	_ "github.com/mqscope/mqscope/backends"
	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

const waitLong = 20 * time.Second

// flow drives a real program (teatest v2) and looks at the model through
// probes run on the event loop.
type flow struct {
	t   *testing.T
	tm  *teatest.TestModel
	pub *core.Client // optional: the test's own client
}

func startFlow(t *testing.T, o Options) *flow { t.Helper(); return startFlowTo(t, o, io.Discard) }

// startFlowTo is startFlow keeping every byte the program writes to the
// terminal in out (written from another goroutine: out syncs itself).
func startFlowTo(t *testing.T, o Options, out io.Writer) *flow {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Refresh == 0 {
		o.Refresh = 300 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := NewModel(o).WithContext(ctx)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(160, 48),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	f := &flow{t: t, tm: tm}
	t.Cleanup(func() {
		_ = tm.Quit()
		tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
		m.Shutdown()
		cancel()
	})
	// drain the terminal output so the writer never grows unbounded
	go func() {
		buf := make([]byte, 64<<10)
		for ctx.Err() == nil {
			n, _ := tm.Output().Read(buf)
			if n == 0 {
				time.Sleep(20 * time.Millisecond)
				continue
			}
			_, _ = out.Write(buf[:n])
		}
	}()
	return f
}

// probe runs fn on the event loop and waits for it.
func (f *flow) probe(fn func(m *Model)) {
	f.t.Helper()
	done := make(chan struct{})
	f.tm.Send(probeMsg(func(m *Model) { fn(m); close(done) }))
	select {
	case <-done:
	case <-time.After(waitLong):
		f.t.Fatal("the event loop did not answer a probe (frozen?)")
	}
}

func (f *flow) screen() string {
	var s string
	f.probe(func(m *Model) { s = ansi.Strip(m.render()) })
	return s
}

// waitScreen waits until the screen contains all of want.
func (f *flow) waitScreen(what string, want ...string) string {
	f.t.Helper()
	defer f.slow(what, time.Now())
	deadline := time.Now().Add(waitLong)
	var s string
	for time.Now().Before(deadline) {
		s = f.screen()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatalf("%s: screen never showed %q; last screen:\n%s", what, want, s)
	return ""
}

func (f *flow) waitModel(what string, cond func(m *Model) bool) {
	f.t.Helper()
	defer f.slow(what, time.Now())
	deadline := time.Now().Add(waitLong)
	for time.Now().Before(deadline) {
		var ok bool
		f.probe(func(m *Model) { ok = cond(m) })
		if ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatalf("%s: condition not met; last screen:\n%s", what, f.screen())
}

func (f *flow) typ(s string) { f.tm.Type(s) }

func (f *flow) key(k string) {
	switch k {
	case "enter":
		f.tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	case "esc":
		f.tm.Send(tea.KeyPressMsg{Code: tea.KeyEscape})
	case "tab":
		f.tm.Send(tea.KeyPressMsg{Code: tea.KeyTab})
	case "shift+tab":
		f.tm.Send(tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift})
	case "ctrl+u":
		f.tm.Send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	case "space":
		f.tm.Send(tea.KeyPressMsg{Code: tea.KeySpace, Text: " "})
	case "ctrl+s":
		f.tm.Send(tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl})
	default:
		f.tm.Type(k)
	}
}

// command types a `:` command.
func (f *flow) command(c string) {
	f.key(":")
	f.waitModel("command line open", func(m *Model) bool { return m.mode == inputCommand })
	f.typ(c)
	f.key("enter")
}

// filter sets the focused pane's filter with `/`.
func (f *flow) filter(expr string) {
	f.key("/")
	f.waitModel("filter line open", func(m *Model) bool { return m.mode == inputFilter })
	f.typ(expr)
	f.key("enter")
}

// waitStatus waits for the status line to contain want and fails on an
// error status that does not.
func (f *flow) waitStatus(what, want string) {
	f.t.Helper()
	defer f.slow(what, time.Now())
	deadline := time.Now().Add(waitLong)
	var st string
	for time.Now().Before(deadline) {
		f.probe(func(m *Model) { st = m.status })
		if strings.Contains(st, want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatalf("%s: status never said %q; last %q; screen:\n%s", what, want, st, f.screen())
}

func openerFor(cfg core.Config) func(ctx context.Context, name string) (*Target, error) {
	return func(ctx context.Context, name string) (*Target, error) {
		c := cfg
		cl, err := core.New(&c)
		if err != nil {
			return nil, err
		}
		addr := c.NATSURL
		if addr == "" {
			addr = c.RedisURL
		}
		return &Target{Name: name, Client: cl, Address: addr}, nil
	}
}

func newClient(t *testing.T, cfg core.Config) *core.Client {
	t.Helper()
	cl, err := core.New(&cfg)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// holdPending subscribes as group/consumer and never acks, so whatever
// arrives stays pending.
func holdPending(t *testing.T, cl *core.Client, topic, group, consumer string, want int, claimIdle time.Duration) core.Subscription {
	t.Helper()
	var mu sync.Mutex
	got := 0
	done := make(chan struct{})
	sub, err := cl.Subscribe(context.Background(), topic, func(m core.Message) error {
		mu.Lock()
		defer mu.Unlock()
		got++
		if got == want { // deliveries, redeliveries included
			close(done)
		}
		return nil // manual ack: not acked, stays pending
	}, core.WithQueueGroup(group), core.WithManualAck(), core.WithConsumerName(consumer),
		core.WithStartPosition(core.StartAll()), core.WithClaimIdle(claimIdle), core.WithBatchSize(want))
	if err != nil {
		t.Fatalf("subscribe %s/%s: %v", topic, group, err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	select {
	case <-done:
	case <-time.After(waitLong):
		t.Fatalf("holdPending: %d of %d delivered", got, want)
	}
	return sub
}

func publishN(t *testing.T, cl *core.Client, topic string, payloads ...string) {
	t.Helper()
	for _, p := range payloads {
		if err := cl.Publish(context.Background(), topic, []byte(p)); err != nil {
			t.Fatalf("publish to %s: %v", topic, err)
		}
	}
}

func pendingIDs(t *testing.T, op *core.Operator, topic, group string) map[string]string {
	t.Helper()
	pg, err := op.Pending(context.Background(), core.PendingQuery{Topic: topic, Group: group})
	if err != nil {
		t.Fatalf("pending %s/%s: %v", topic, group, err)
	}
	out := map[string]string{}
	for _, e := range pg.Entries {
		out[e.ID] = e.Consumer
	}
	return out
}

func browseAll(t *testing.T, op *core.Operator, topic string) []core.Record {
	t.Helper()
	pg, err := op.Browse(context.Background(), core.BrowseQuery{Topic: topic, Limit: 100})
	if err != nil {
		t.Logf("browse %s: %v", topic, err)
	}
	if err != nil && !errors.Is(err, core.ErrNotFound) && !errors.Is(err, core.ErrNoStream) {
		t.Fatalf("browse %s: %v", topic, err)
	}
	return pg.Records
}

// shortName is a unique name that fits the console's columns.
func shortName(t *testing.T, prefix string) string {
	n := testbroker.Name(t, prefix)
	return prefix + "_" + n[len(n)-8:]
}

func topicMessages(t *testing.T, op *core.Operator, topic string) uint64 {
	t.Helper()
	ti, err := op.Topic(context.Background(), topic)
	if err != nil {
		t.Fatalf("topic %s: %v", topic, err)
	}
	return ti.Messages
}

// slow logs waits that took long (the broker or the machine is slow).
func (f *flow) slow(what string, start time.Time) {
	if d := time.Since(start); d > time.Second {
		f.t.Logf("%s took %s", what, d.Round(time.Millisecond))
	}
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }
