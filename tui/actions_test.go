package tui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mqscope/mqscope/core"
)

// TestRewindAsksAgain: ErrNeedsConfirmation shows core's text and asks
// again; a confirmed request is not asked twice.
func TestRewindAsksAgain(t *testing.T) {
	m := viewModel(t, false)
	req := core.RewindRequest{Topic: "orders", Group: "shipping", To: core.StartAll()}
	err := fmt.Errorf("jetstream: rewind recreates consumer shipping, losing its 42 pending acks: %w", core.ErrNeedsConfirmation)
	m.Update(actionDoneMsg{gen: m.com.Gen, job: &job{label: "rewind"}, err: err, next: rewindFollowUp(m.com, req)})
	if m.layers.count(layerDialog) != 1 {
		t.Fatalf("no confirmation dialog after ErrNeedsConfirmation (status %q)", m.status)
	}
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	if s := ansi.Strip(m.render()); !strings.Contains(s, "losing its 42 pending acks") {
		t.Errorf("the dialog does not show what is lost:\n%s", s)
	}
	req.Confirmed = true
	if d := rewindFollowUp(m.com, req)(err); d != nil {
		t.Error("a confirmed rewind asked again")
	}
	if d := rewindFollowUp(m.com, core.RewindRequest{})(errors.New("other")); d != nil {
		t.Error("an unrelated error asked for confirmation")
	}
	if d := moveFollowUp(m.com, core.MoveRequest{Topic: "o", DLQ: "o.dlq", IDs: []string{"1"}})(fmt.Errorf("x: %w", core.ErrNoStream)); d == nil {
		t.Error("ErrNoStream on a move does not offer to create the DLQ")
	}
}

// TestBulkProgressShown: a running bulk action shows done/total in the
// status line from its progress counters (no message per item).
func TestBulkProgressShown(t *testing.T) {
	m := viewModel(t, false)
	j := &job{label: "move to orders.dlq"}
	j.total.Store(1000)
	m.Update(jobStartedMsg{job: j})
	j.done.Store(340)
	if s := ansi.Strip(m.statusLine()); !strings.Contains(s, "move to orders.dlq 340/1000") {
		t.Errorf("status line %q does not show progress", s)
	}
	j.finished.Store(true)
	m.Update(actionDoneMsg{gen: m.com.Gen, job: j, res: core.Result{Requested: 1000, Done: 998, Failed: 2, Errors: []string{"id 7: gone"}}})
	if len(m.jobs) != 0 || !strings.Contains(m.status, "998/1000 done, 2 failed") || !m.statusErr {
		t.Errorf("final status %q (err %v), jobs %d", m.status, m.statusErr, len(m.jobs))
	}
}

// TestCopyUsesOSC52: y/Y in the inspector copy through Bubble Tea's
// clipboard command (OSC 52), never by writing to the terminal directly.
func TestCopyUsesOSC52(t *testing.T) {
	m := viewModel(t, false)
	m.openInspector(core.Record{Topic: "orders", ID: "42-0", Data: []byte("\x1b]52;c;evil\x07")}, inspectMeta{})
	_, cmd := m.Update(tea.KeyPressMsg{Code: 'y', Text: "y"})
	if cmd == nil {
		t.Fatal("no command from copy")
	}
	var kinds []string
	for _, c := range cmd().(tea.BatchMsg) {
		kinds = append(kinds, fmt.Sprintf("%T", c()))
	}
	if !strings.Contains(strings.Join(kinds, " "), "setClipboardMsg") {
		t.Errorf("copy produced %v, want a clipboard message", kinds)
	}
}

// TestTailConsumerNotDrilled: the console's own tail consumer is listed
// (watch only) but enter does not open it as a group to act on.
func TestTailConsumerNotDrilled(t *testing.T) {
	m := viewModel(t, false)
	m.focus = paneGroups
	tailName := "mqscope-tail-Xq3vKp9cE2_1"
	m.groups.setGroups(append(m.groups.groups, core.GroupInfo{Topic: "orders", Name: tailName, Kind: core.GroupTail, Redelivered: -1}))
	if !m.groups.list.selectKey("g\x00" + tailName) {
		t.Fatal("the tail consumer is not listed")
	}
	cmd := m.key(tea.KeyPressMsg{Code: tea.KeyEnter})
	if cmd == nil {
		t.Fatal("enter on the tail consumer says nothing")
	}
	switch msg := cmd().(type) {
	case statusMsg:
		if !strings.Contains(msg.text, "own tail consumer") {
			t.Errorf("status %q does not say why", msg.text)
		}
	default:
		t.Errorf("enter on the tail consumer sent %T, want a status", msg)
	}
}

// TestCopyAsJSON: J in the inspector copies the message as the envelope
// `mqscope pub --from` replays, byte for byte (binary and hostile payloads
// included), through OSC 52.
func TestCopyAsJSON(t *testing.T) {
	m := viewModel(t, false)
	rec := core.Record{Topic: "orders", Subject: "orders.paid", ID: "42-0", Data: []byte("\xff\x00\x1b]52;c;evil\x07"), Header: core.Header{"K": {"v"}}}
	m.openInspector(rec, inspectMeta{})
	_, cmd := m.Update(tea.KeyPressMsg{Code: 'J', Text: "J"})
	if cmd == nil {
		t.Fatal("no command from copy as JSON")
	}
	var copied string
	for _, c := range cmd().(tea.BatchMsg) {
		if msg := c(); fmt.Sprintf("%T", msg) == "tea.setClipboardMsg" {
			copied = fmt.Sprintf("%s", msg)
		}
	}
	var e core.Envelope
	if err := json.Unmarshal([]byte(copied), &e); err != nil {
		t.Fatalf("copied %q: %v", copied, err)
	}
	back, err := e.Record()
	if err != nil || !bytes.Equal(back.Data, rec.Data) || back.Subject != rec.Subject || back.Header.Get("K") != "v" {
		t.Errorf("copied envelope gives %+v (%v), want %+v", back, err, rec)
	}
}

// TestStatusClearedOnPaneChange: a status belongs to the pane it was said
// in; moving the cursor keeps it, moving to another pane clears it, and E
// still has the last error.
func TestStatusClearedOnPaneChange(t *testing.T) {
	m := viewModel(t, false)
	m.focus = paneTopics
	m.setErr(fmt.Errorf("ack: boom"))
	m.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
	if m.status != "ack: boom" {
		t.Fatalf("a cursor move cleared the status: %q", m.status)
	}
	m.Update(tea.KeyPressMsg{Code: '2', Text: "2"})
	if m.focus != paneGroups {
		t.Fatalf("focus %v after 2", m.focus)
	}
	if m.status != "" || m.statusErr {
		t.Errorf("status %q kept after moving to another pane", m.status)
	}
	if m.lastErr != "ack: boom" {
		t.Errorf("E lost the last error: %q", m.lastErr)
	}
}

// TestPendingTitleNeverSaysMoreOfFewer: JetStream lists the range between
// the ack floor and the last delivered, so a message acked out of order is
// still listed; the title says so instead of "(3 of 2)".
func TestPendingTitleNeverSaysMoreOfFewer(t *testing.T) {
	m := viewModel(t, false)
	m.pending.page = core.PendingPage{Total: 2, Entries: []core.PendingEntry{{ID: "1"}, {ID: "2"}, {ID: "3"}}}
	m.pending.loaded = true
	m.pending.rebuild()
	if got := m.pending.Title(); !strings.Contains(got, "(3 listed, 2 pending)") {
		t.Errorf("title %q", got)
	}
	m.pending.page.Total = 5
	m.pending.rebuild()
	if got := m.pending.Title(); !strings.Contains(got, "(3 of 5)") {
		t.Errorf("title %q", got)
	}
}

// TestShutdownClosesAContextStillOpening: a connect answered after the
// console stopped closes what it opened (nobody else would: mqscope serve
// runs many consoles in one process, and the broker connection would stay).
func TestShutdownClosesAContextStillOpening(t *testing.T) {
	gate, closed := make(chan struct{}), make(chan struct{})
	m := NewModel(Options{Contexts: []string{"c"}, Initial: "c", Open: func(ctx context.Context, name string) (*Target, error) {
		<-gate // the broker is slow to answer
		return &Target{Name: name, Close: func() error { close(closed); return nil }}, nil
	}})
	cmd := m.connect("c")
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	m.Shutdown()
	close(gate)
	if msg := <-done; msg != nil {
		t.Errorf("a connect answered after shutdown reported %T", msg)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the context opened after shutdown was never closed")
	}
}

// TestTargetsCloseOnce: a target closed by its command is not closed again
// by Shutdown, and one whose close command never ran is closed by it.
func TestTargetsCloseOnce(t *testing.T) {
	var ts targets
	count := map[string]int{}
	mk := func(n string) *Target { return &Target{Name: n, Close: func() error { count[n]++; return nil }} }
	a, b := mk("a"), mk("b")
	ts.add(a)
	ts.add(b)
	l := slog.New(slog.NewTextHandler(io.Discard, nil))
	ts.close(l, a)
	ts.closeAll(l)
	ts.close(l, b) // the command that never ran, running late
	if count["a"] != 1 || count["b"] != 1 {
		t.Errorf("closes %v, want each once", count)
	}
	if ts.add(mk("c")) {
		t.Error("a target was kept after closeAll")
	}
}
