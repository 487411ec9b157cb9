package tui

// The connection lifecycle: open a context off the UI loop, swap it in,
// retry when it fails, refresh every pane on a timer.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
)

// targets are the contexts this console opened and has not closed: a
// close that was a command the stopped program never ran, or a connect
// answered after it stopped, would otherwise leave a broker connection
// open for good (mqscope serve runs many consoles in one process).
// Shutdown closes every one.
type targets struct {
	mu    sync.Mutex
	ended bool
	open  map[*Target]bool
}

// add keeps t; false once the console has shut down (the caller closes t).
func (ts *targets) add(t *Target) bool {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.ended {
		return false
	}
	if ts.open == nil {
		ts.open = map[*Target]bool{}
	}
	ts.open[t] = true
	return true
}

// close closes t unless it was closed already.
func (ts *targets) close(l interface{ Warn(string, ...any) }, t *Target) {
	ts.mu.Lock()
	kept := ts.open[t]
	delete(ts.open, t)
	ts.mu.Unlock()
	if kept {
		closeTarget(l, t)
	}
}

// closeAll closes every target still open; later adds are refused.
func (ts *targets) closeAll(l interface{ Warn(string, ...any) }) {
	ts.mu.Lock()
	ts.ended = true
	open := ts.open
	ts.open = nil
	ts.mu.Unlock()
	for t := range open {
		closeTarget(l, t)
	}
}

func closeTarget(l interface{ Warn(string, ...any) }, t *Target) {
	var err error
	if t.Close != nil {
		err = t.Close()
	} else if t.Client != nil {
		err = t.Client.Close()
	}
	if err != nil {
		l.Warn("close context", "context", t.Name, "err", err)
	}
}

// connect opens a context off the UI loop; the generation moves on so
// every reply of the previous context is dropped.
func (m *Model) connect(name string) tea.Cmd {
	if m.o.Open == nil {
		m.setErr(errors.New("no context configured"))
		return nil
	}
	m.com.Gen++
	gen := m.com.Gen
	m.connecting = true
	m.ctxName = name
	open, base, timeout := m.o.Open, m.com.Ctx, m.com.Timeout
	owned, logger := m.owned, m.com.Logger
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, 2*timeout)
		defer cancel()
		t, err := open(ctx, name)
		if err != nil {
			return connectedMsg{gen: gen, name: name, err: err}
		}
		if !owned.add(t) { // the console stopped while this one opened
			closeTarget(logger, t)
			return nil
		}
		op := t.operator()
		caps := op.Capabilities(ctx)
		info, ierr := op.ServerInfo(ctx)
		if ierr != nil {
			info.State = core.ConnDown
		}
		return connectedMsg{gen: gen, name: name, target: t, caps: caps, info: info}
	}
}

func (m *Model) connected(msg connectedMsg) tea.Cmd {
	if msg.gen != m.com.Gen {
		if msg.target != nil { // the operator switched again meanwhile
			t := msg.target
			return func() tea.Msg { m.owned.close(m.com.Logger, t); return nil }
		}
		return nil
	}
	m.connecting = false
	if msg.err != nil {
		m.info = core.ServerInfo{State: core.ConnDown}
		m.infoErr = msg.err
		err := contextErr(msg.name, msg.err)
		m.setErr(fmt.Errorf("%w (retrying every %s)", err, reconnectEvery))
		gen, name := m.com.Gen, msg.name
		cmds := []tea.Cmd{tea.Tick(reconnectEvery, func(time.Time) tea.Msg { return reconnectMsg{gen: gen, name: name} })}
		if old := m.target; old != nil {
			// the operator asked for another context: the old one's data
			// must not stay on screen as if it were this one's
			m.target, m.com.Op, m.com.Caps = nil, nil, core.Capabilities{}
			m.resetPanes()
			cmds = append(cmds, func() tea.Msg { m.owned.close(m.com.Logger, old); return nil })
		}
		// Topics says why it is empty instead of "loading…" forever
		m.topics.connectFailed(err)
		return tea.Batch(cmds...)
	}
	old := m.target
	m.target = msg.target
	m.com.Op = msg.target.operator()
	m.com.Caps = msg.caps
	m.com.DLQSuffix = m.com.Op.DLQSuffix()
	m.com.Decoder = decode.JSONOrText
	if msg.target.Decoder != nil {
		m.com.Decoder = msg.target.Decoder
	}
	m.com.Queries = map[string]string{}
	for n, q := range msg.target.Queries {
		m.com.Queries[n] = q
	}
	m.com.ReadOnly = m.o.ReadOnly || m.com.Op.ReadOnly()
	m.com.Context = msg.name
	m.info, m.infoErr = msg.info, nil
	m.infoFlight = false // a poll of the old context may never be answered here
	m.applyTargetSettings()
	m.resetPanes()
	// errors of the previous connection say nothing about this one
	m.lastErr, m.lastErrs, m.lastErrsLabel = "", nil, ""
	m.notice = msg.target.Notice
	if m.notice != "" {
		// what the context did that the operator did not ask for (a
		// JetStream URL opened as NATS Core); E shows it in full
		m.setStatus("connected to " + msg.name + ": " + m.notice)
	} else {
		m.setStatus("connected to " + msg.name)
	}
	cmds := []tea.Cmd{m.topics.refresh(), m.refreshTick()}
	if old != nil {
		cmds = append(cmds, func() tea.Msg { m.owned.close(m.com.Logger, old); return nil })
	}
	return tea.Batch(cmds...)
}

// applyTargetSettings uses the open context's timeout and tail buffer (its
// refresh is read by refreshTick), or the console's when it sets none.
func (m *Model) applyTargetSettings() {
	m.com.Timeout = m.baseTimeout
	m.com.Trends = m.o.Trends
	buffer := m.o.TailBuffer
	if t := m.target; t != nil {
		if t.Trends.Window > 0 {
			m.com.Trends.Window = t.Trends.Window
		}
		if t.Trends.Stalled > 0 {
			m.com.Trends.Stalled = t.Trends.Stalled
		}
		if t.Timeout > 0 {
			m.com.Timeout = t.Timeout
		}
		if t.TailBuffer > 0 {
			buffer = t.TailBuffer
		}
	}
	m.tail.SetBuffer(buffer)
}

func (m *Model) resetPanes() {
	for _, p := range m.allPanes() {
		p.reset()
	}
	m.customTail = false
	m.stuckFlight, m.stuckAt, m.stuckSkipped = false, time.Time{}, 0
	m.closeInspector()
	m.layers.remove(layerDiff)
	m.com.Mark = nil
}

// contextErr names the context in a failed open, unless the error does
// already (config's Connect says "context NAME: …").
func contextErr(name string, err error) error {
	if strings.HasPrefix(err.Error(), "context "+name+":") {
		return err
	}
	return fmt.Errorf("context %s: %w", name, err)
}

// refreshProblems are the background refreshes whose last attempt failed:
// the header counts them and E lists them. They never take the status line,
// so an action's outcome stays readable while a broker is down.
func (m *Model) refreshProblems() []string {
	if m.target == nil {
		return nil // the status line says the context is down
	}
	var out []string
	if m.infoErr != nil {
		out = append(out, "server info: "+m.infoErr.Error())
	}
	for _, p := range m.panes {
		if err := p.RefreshErr(); err != nil {
			out = append(out, err.Error())
		}
	}
	return out
}

func (m *Model) refreshAll() tea.Cmd { return m.refreshPanes(false) }

// backoffPane is a pane whose periodic refresh may be lighter than a full
// one (the topics pane over many topics).
type backoffPane interface {
	periodic(now time.Time, every time.Duration) tea.Cmd
}

// refreshPanes asks every pane for fresh data; periodic (the refresh
// tick, not the operator or an action) lets a backoffPane do less.
func (m *Model) refreshPanes(periodic bool) tea.Cmd {
	var cmds []tea.Cmd
	for _, p := range m.panes {
		if b, ok := p.(backoffPane); ok && periodic {
			cmds = append(cmds, b.periodic(m.com.Now(), m.refreshEvery()))
			continue
		}
		cmds = append(cmds, p.refresh())
	}
	if m.com.Op != nil && !m.infoFlight {
		m.infoFlight = true
		gen := m.com.Gen
		cmds = append(cmds, m.com.call(func(ctx context.Context, op *core.Operator) tea.Msg {
			info, err := op.ServerInfo(ctx)
			return serverInfoMsg{gen: gen, info: info, err: err}
		}))
	}
	return tea.Batch(cmds...)
}
