package tui

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/mqscope/mqscope/core"
)

// fixedNow makes durations in goldens deterministic.
var fixedNow = time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)

// viewModel builds a root model filled with core values constructed here:
// a pure view test, no broker (flows against real brokers are in
// flow_test.go).
func viewModel(t *testing.T, readOnly bool) *Model {
	t.Helper()
	m := NewModel(Options{Initial: "prod-eu", ReadOnly: readOnly, Theme: "dark"})
	m.com.Now = func() time.Time { return fixedNow }
	m.connecting = false
	m.com.Caps = core.Capabilities{Driver: core.DriverRedisStream, ServerVersion: "7.0.15", Ops: map[core.Op]core.Support{}}
	for _, op := range core.AllOps {
		m.com.Caps.Ops[op] = core.Support{Supported: true}
	}
	m.com.Caps.Ops[core.OpNak] = core.Support{Reason: "Redis Streams have no negative ack: claim or leave pending"}
	m.com.Caps.Ops[core.OpTerm] = core.Support{Reason: "Redis Streams cannot stop redelivery of one entry"}
	if readOnly {
		for op, s := range m.com.Caps.Ops {
			if op.Mutating() && s.Supported {
				m.com.Caps.Ops[op] = core.Support{Reason: "read-only mode"}
			}
		}
	}
	m.info = core.ServerInfo{Driver: core.DriverRedisStream, Version: "7.0.15", State: core.ConnConnected}
	m.target = &Target{Name: "prod-eu", Address: "redis://10.0.0.5:6379/0"}

	seedHistory(m.com)
	m.topics.setTopics([]core.TopicInfo{
		{Name: "orders", Messages: 18234, Bytes: 4 << 20, Rate: 41.5, Groups: 3, LastTime: fixedNow.Add(-2 * time.Second),
			FirstID: "1764100000000-0", LastID: "1764125999999-3", Extra: map[string]string{"length": "18234", "max_len": "~100000"}},
		{Name: "orders.dlq", Messages: 17, Bytes: 9100, Groups: 0, LastTime: fixedNow.Add(-14 * time.Minute)},
		{Name: "payments", Messages: 920, Bytes: 200 << 10, Rate: 2.25, Groups: 1, LastTime: fixedNow.Add(-3 * time.Hour)},
		{Name: "evil\x1b[2Jname", Messages: 1, Groups: 0},
	})
	m.groups.topic = "orders"
	m.groups.setGroups([]core.GroupInfo{
		{Topic: "orders", Name: "billing", Pending: 0, Lag: 0, Redelivered: -1, LastDelivered: "1764126000000-4",
			Consumers: []core.ConsumerInfo{{Name: "billing-1", Idle: 3 * time.Second}}},
		{Topic: "orders", Name: "shipping", Pending: 42, Lag: 1200, Redelivered: -1, OldestPendingIdle: 14 * time.Minute,
			LastDelivered: "1764125100000-0", Stuck: []string{"oldest pending idle 14m", "consumer ship-2 holds 40 pending, idle 14m"},
			Consumers: []core.ConsumerInfo{
				{Name: "ship-2", Pending: 40, Idle: 14 * time.Minute, OldestPendingIdle: 14 * time.Minute, Stuck: []string{"holds 40 pending, idle 14m"}},
				{Name: "ship-1", Pending: 2, Idle: 2 * time.Second},
			}},
	})
	m.pending.topic, m.pending.group = "orders", "shipping"
	m.pending.groupRefreshed("orders", m.groups.groups)
	m.pending.page = core.PendingPage{Total: 42, Next: "x", Entries: []core.PendingEntry{
		{ID: "1764125100000-0", Consumer: "ship-2", Idle: 14 * time.Minute, Deliveries: 3},
		{ID: "1764125100001-0", Consumer: "ship-2", Idle: 14 * time.Minute, Deliveries: 1},
		{ID: "1764125160000-0", Consumer: "ship-1", Idle: 2 * time.Second, Deliveries: 1},
	}}
	m.pending.loaded = true
	m.pending.rebuild()
	m.tail.pattern = "orders"
	m.tail.tail = core.NewTail(100)
	for i := 0; i < 30; i++ {
		data := []byte(`{"id":` + itoa(1000+i) + `,"status":"paid","amount":12.5}`)
		if i == 28 {
			data = []byte("\x1b]52;c;cHduZWQ=\x07 and \x1b[2J hostile")
		}
		if i == 29 {
			data = []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x9b}
		}
		m.tail.tail.Push(core.Record{Topic: "orders", ID: "1764126000000-" + itoa(i), Data: data,
			Time: fixedNow.Add(time.Duration(i) * 100 * time.Millisecond)})
	}
	m.tail.drain(fixedNow)
	return m
}

func itoa(i int) string { return strconv.Itoa(i) }

// screen renders the model at w×h through a fixed colour profile (ANSI).
func screen(t *testing.T, m *Model, w, h int) string {
	t.Helper()
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	out := m.render()
	var buf bytes.Buffer
	cw := &colorprofile.Writer{Forward: &buf, Profile: colorprofile.ANSI}
	if _, err := cw.WriteString(out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(ansi.Strip(out), "\n")
	if len(lines) != h {
		t.Errorf("%dx%d: screen has %d lines", w, h, len(lines))
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw != w {
			t.Errorf("%dx%d: line %d is %d cells wide: %q", w, h, i, lw, l)
		}
	}
	return buf.String()
}

func TestGoldenPanes(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		for _, tc := range []struct {
			name  string
			setup func(m *Model)
		}{
			{"topics", func(m *Model) { m.focus = paneTopics }},
			{"groups", func(m *Model) { m.focus = paneGroups; m.groups.list.move(2) }},
			{"pending", func(m *Model) { m.focus = panePending; m.pending.list.toggleMark() }},
			{"tail", func(m *Model) { m.focus = paneTail }},
			{"inspector", func(m *Model) {
				r := core.Record{Topic: "orders", ID: "1764125100000-0", Time: fixedNow.Add(-14 * time.Minute),
					Header: core.Header{"Trace": {"abc\x1b[31m"}, "Content-Type": {"application/json"}},
					Data:   []byte(`{"id":1000,"customer":{"name":"Ann\u001b[2J","country":"NL"},"items":[{"sku":"A-1","qty":2}]}`)}
				m.openInspector(r, inspectMeta{Scope: msgScope{kind: scopePending, topic: "orders", group: "shipping"}, Owner: "ship-2", Deliveries: 3, Idle: "14m"})
			}},
			{"inspector_binary", func(m *Model) {
				m.openInspector(core.Record{Topic: "orders", ID: "7", Data: []byte("\x00\x01\x02binary\xff\x1b]52;c;AAAA\x07")}, inspectMeta{})
			}},
			{"help_readonly", func(m *Model) { m.focus = panePending; m.openHelp() }},
			{"help_end", func(m *Model) {
				m.focus = panePending
				m.Update(tea.KeyPressMsg{Code: '?', Text: "?"})
				m.Update(tea.KeyPressMsg{Code: 'G', Text: "G"})
			}},
			{"ascii_nocolor_light", func(m *Model) {
				m.com.Styles = Theme("light", true, true)
				m.focus = paneGroups
			}},
			{"publish_dialog", func(m *Model) {
				m.pushDialog(resendDialog(m.com, core.Record{Topic: "orders", ID: "9-0",
					Header: core.Header{"Trace": {"t1"}, core.HeaderMsgID: {"dedup"}}, Data: []byte("{\"id\":1}")}))
			}},
			{"resend_binary_dialog", func(m *Model) {
				m.pushDialog(resendDialog(m.com, core.Record{Topic: "orders", ID: "9-1", Data: []byte("\x1b]52;c;AAAA\x07")}))
			}},
			{"groups_tail", func(m *Model) {
				m.focus = paneGroups
				gs := append([]core.GroupInfo{{Topic: "orders", Name: "mqscope-tail-Xq3vKp9cE2_1", Kind: core.GroupTail, Redelivered: -1}}, m.groups.groups...)
				gs = append(gs, core.GroupInfo{Topic: "orders", Name: "adhoc", Kind: core.GroupEphemeral, Redelivered: -1})
				m.groups.setGroups(gs)
			}},
			{"groups_history", func(m *Model) {
				m.focus = paneGroups
				m.groups.setGroups(append(m.groups.groups, core.GroupInfo{Topic: "orders", Name: "audit", Pending: 10, Lag: 600, Redelivered: -1}))
			}},
			{"history_view", func(m *Model) {
				m.focus = paneGroups
				pressAndRun(m, tea.KeyPressMsg{Code: 'h', Text: "h"})
			}},
			{"history_view_ascii", func(m *Model) {
				m.com.Styles = Theme("dark", true, true)
				m.focus = paneGroups
				pressAndRun(m, tea.KeyPressMsg{Code: 'h', Text: "h"})
			}},
			{"errors_dialog", func(m *Model) {
				m.pushDialog(newReportDialog(m.com, []errSection{{title: "Errors of redrive from orders.dlq: 1/3 done, 2 failed", numbered: true, items: []string{
					`redis stream "orders.dlq": redrive 1764125100000-0: origin header missing: the entry was not moved here by mqscope`,
					"redrive 1764125100001-0: xadd orders: OOM command not allowed when used memory > 'maxmemory'"}}}))
			}},
			{"rewind_confirm", func(m *Model) {
				// nats-server 2.9 cannot reset a consumer: core's text of
				// what a re-create loses must show in full
				err := fmt.Errorf(`jetstream: rewinding consumer "workers" on stream "ORDERS" to sequence 1 means deleting and recreating it because nats-server 2.9.10 has no consumer reset (needs ≥ 2.14): its 7 pending (unacked) messages lose their ack state and are delivered again from the new position, every delivery count restarts at 1, redelivery and backoff state and the ack floor (12) are lost, and clients pulling right now get errors until they re-bind: %w`, core.ErrNeedsConfirmation)
				m.pushDialog(rewindFollowUp(m.com, core.RewindRequest{Topic: "orders", Group: "workers", To: core.StartAll()})(err))
			}},
			{"purge_dialog", func(m *Model) {
				t, _ := m.topics.selected()
				m.pushDialog(newPurgeDialog(m.com, t))
			}},
			{"diff", func(m *Model) { openTestDiff(m, goldenDiffA, goldenDiffB) }},
			{"diff_text_nocolor", func(m *Model) {
				m.com.Styles = Theme("dark", true, false)
				a, b := goldenDiffA, goldenDiffB
				a.Data, b.Data = []byte("one\ntwo\nthree\x1b[2J\n"), []byte("one\n2\nthree\x1b[2J\nfour\n")
				openTestDiff(m, a, b)
			}},
			{"filter_tail", func(m *Model) {
				m.focus = paneTail
				f, _ := ParseFilter("id=1003")
				m.tail.SetFilter(f)
			}},
		} {
			name := tc.name + "_" + itoa(size[0]) + "x" + itoa(size[1])
			t.Run(name, func(t *testing.T) {
				m := viewModel(t, tc.name == "help_readonly")
				tc.setup(m)
				out := screen(t, m, size[0], size[1])
				if strings.Contains(ansi.Strip(out), "\x1b") || strings.ContainsRune(ansi.Strip(out), '\a') {
					t.Errorf("raw control characters reached the screen")
				}
				golden.RequireEqual(t, out)
			})
		}
	}
}

// TestSmallTerminals: nothing overlaps or overflows at awkward sizes.
func TestSmallTerminals(t *testing.T) {
	for _, s := range [][2]int{{80, 3}, {80, 5}, {40, 12}, {80, 24}, {99, 29}, {100, 30}, {132, 43}} {
		m := viewModel(t, false)
		for f := 0; f < numPanes; f++ {
			m.focus = f
			screen(t, m, s[0], s[1])
		}
	}
}

func TestHeaderBadges(t *testing.T) {
	m := viewModel(t, true)
	m.target.Demo = true
	h := ansi.Strip(screen(t, m, 80, 24))
	first := strings.SplitN(h, "\n", 2)[0]
	for _, want := range []string{"prod-eu", "redis_stream 7.0.15", "connected", "demo", "READ-ONLY"} {
		if !strings.Contains(first, want) {
			t.Errorf("header %q lacks %q", first, want)
		}
	}
	m.info.State = core.ConnReconnecting
	if first := strings.SplitN(ansi.Strip(m.render()), "\n", 2)[0]; !strings.Contains(first, "reconnecting") {
		t.Errorf("header %q does not say reconnecting", first)
	}
}

// TestReadOnlyBindingsShownDisabled: in read-only mode mutating bindings
// stay in the footer, marked, and pressing one says why instead of acting.
func TestReadOnlyBindingsShownDisabled(t *testing.T) {
	m := viewModel(t, true)
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
	m.focus = panePending
	foot := ansi.Strip(m.footerLine())
	if !strings.Contains(foot, "a ack✗") {
		t.Errorf("footer %q does not show ack disabled", foot)
	}
	_, cmd := m.Update(tea.KeyPressMsg{Code: 'a', Text: "a"})
	for cmd != nil {
		msg := cmd()
		_, cmd = m.Update(msg)
	}
	if m.layers.count(layerDialog) != 0 {
		t.Fatal("a dialog opened in read-only mode")
	}
	if !m.statusErr || !strings.Contains(m.status, "read-only") {
		t.Errorf("status %q does not say read-only", m.status)
	}
}

func TestStaleRepliesDropped(t *testing.T) {
	m := viewModel(t, false)
	m.groups.req = 5
	m.groups.inflight = true
	m.Update(groupsMsg{gen: m.com.Gen, req: 4, groups: []core.GroupInfo{{Name: "stale"}}})
	if len(m.groups.groups) != 2 || !m.groups.inflight {
		t.Fatal("a stale groups reply was applied")
	}
	m.Update(groupsMsg{gen: m.com.Gen + 1, req: 5, groups: []core.GroupInfo{{Name: "other-context"}}})
	if len(m.groups.groups) != 2 {
		t.Fatal("a reply of another connection was applied")
	}
	// selection survives a refresh by key even when rows move
	m.groups.list.cursor = 0 // shipping (stuck, sorted first)
	m.Update(groupsMsg{gen: m.com.Gen, req: 5, groups: []core.GroupInfo{{Name: "aaa"}, {Name: "billing"}, {Name: "shipping"}}})
	if g, _, _ := m.groups.selected(); g.Name != "shipping" {
		t.Errorf("selection moved to %q after refresh", g.Name)
	}
}

// TestTopicsManyRows: with more topics than rows, the cursor stays
// visible, the detail line stays, and only visible rows are formatted.
func TestTopicsManyRows(t *testing.T) {
	m := viewModel(t, false)
	var ts []core.TopicInfo
	for i := 0; i < 5000; i++ {
		ts = append(ts, core.TopicInfo{Name: "t" + itoa(10000+i), Messages: uint64(i)})
	}
	m.topics.setTopics(ts)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.topics.list.bottom()
	s := ansi.Strip(m.render())
	if !strings.Contains(s, "t14999") || !strings.Contains(s, "t14999:") {
		t.Errorf("last topic or its detail line not shown:\n%s", s)
	}
}

// TestHelpReachesEveryBinding: at 80×24 the full help does not fit, so it
// scrolls; scrolling with j through it shows every binding of every pane
// and the global ones ("q quit" included), and a key that is not a
// scrolling key closes it.
func TestHelpReachesEveryBinding(t *testing.T) {
	for _, focus := range []int{paneTopics, paneGroups, panePending, paneTail, -1} {
		m := viewModel(t, false)
		m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
		if focus >= 0 {
			m.focus = focus
		} else {
			m.openInspector(core.Record{Topic: "orders", ID: "1", Data: []byte("x")}, inspectMeta{})
		}
		k := m.com.Keys
		want := append(m.focusedBindings(), k.globalBindings()...)
		want = append(want, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Back)
		m.Update(tea.KeyPressMsg{Code: '?', Text: "?"})
		seen := map[string]bool{}
		for i := 0; i < 60; i++ {
			for _, l := range strings.Split(ansi.Strip(screen(t, m, 80, 24)), "\n") {
				seen[strings.Join(strings.Fields(strings.Trim(l, "|│ ")), " ")] = true
			}
			m.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
			if !m.layers.has(layerHelp) {
				t.Fatal("j closed the help instead of scrolling it")
			}
		}
		for _, b := range want {
			h := b.Help()
			found := false
			for l := range seen {
				found = found || strings.HasPrefix(l, h.Key+" "+h.Desc)
			}
			if !found {
				t.Errorf("focus %d: help never showed %q %q at 80x24", focus, h.Key, h.Desc)
			}
		}
		if !seen["q quit"] {
			t.Errorf("focus %d: \"q quit\" not reachable in help", focus)
		}
		m.Update(tea.KeyPressMsg{Code: 'x', Text: "x"})
		if m.layers.has(layerHelp) {
			t.Error("a non-scrolling key did not close the help")
		}
	}
}

// TestNextPageKeepsRendering: ] resets the cursor while the rows of the
// old page stay on screen until the new page arrives; rendering in between
// must not fail (it used to index an emptied key list).
func TestNextPageKeepsRendering(t *testing.T) {
	for _, browse := range []bool{false, true} {
		m := viewModel(t, false)
		m.focus = panePending
		list, pageNo := &m.pending.msgList, func() int { return m.pending.pg.no }
		if browse {
			m.showInSlot3(m.messages)
			m.messages.topic, m.messages.loaded = "orders", true
			m.messages.pg.next = core.AtID("1-0")
			m.messages.recs = []core.Record{{ID: "3-0"}, {ID: "2-0"}}
			m.messages.rebuild()
			list, pageNo = &m.messages.msgList, func() int { return m.messages.pg.no }
		}
		list.list.move(1)
		m.Update(tea.KeyPressMsg{Code: ']', Text: "]"})
		if pageNo() != 1 || list.list.cursor != 0 {
			t.Errorf("browse=%v: after ] page %d cursor %d", browse, pageNo(), list.list.cursor)
		}
		screen(t, m, 80, 24)
	}
}

// TestGoldenASCII: with Options.ASCII every screen at 80×24 is plain ASCII
// — truncation marks, markers, arrows, tree lines, bullets and borders
// included (the fixtures' message texts are ASCII after sanitising).
func TestGoldenASCII(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(m *Model)
	}{
		{"topics", func(m *Model) { m.focus = paneTopics }},
		{"groups", func(m *Model) { m.focus = paneGroups }},
		{"pending", func(m *Model) { m.focus = panePending; m.pending.list.toggleMark() }},
		{"tail", func(m *Model) { m.focus = paneTail }},
		{"help", func(m *Model) { m.focus = panePending; m.Update(tea.KeyPressMsg{Code: '?', Text: "?"}) }},
		{"publish_dialog", func(m *Model) {
			m.pushDialog(resendDialog(m.com, core.Record{Topic: "orders", ID: "9-0", Data: []byte("{\"id\":1}")}))
		}},
		{"purge_dialog", func(m *Model) {
			tp, _ := m.topics.selected()
			m.pushDialog(newPurgeDialog(m.com, tp))
		}},
		{"connecting", func(m *Model) { m.connecting = true; m.setStatus("connecting to prod-eu…") }},
	} {
		t.Run(tc.name+"_80x24", func(t *testing.T) {
			m := viewModel(t, tc.name == "help")
			m.o.ASCII = true
			m.com.Styles = Theme("dark", false, true)
			tc.setup(m)
			out := screen(t, m, 80, 24)
			for i, r := range ansi.Strip(out) {
				if r > 0x7e || (r < 0x20 && r != '\n') {
					t.Fatalf("non-ASCII %q at byte %d:\n%s", r, i, ansi.Strip(out))
				}
			}
			if v := m.View(); strings.ContainsFunc(v.WindowTitle, func(r rune) bool { return r > 0x7e }) {
				t.Errorf("window title %q is not ASCII", v.WindowTitle)
			}
			golden.RequireEqual(t, out)
		})
	}
}

// TestTopicNamesFit: at 120 columns (Topics is 46 wide) a name of 13
// characters shows whole; the numbers that do not fit drop instead.
func TestTopicNamesFit(t *testing.T) {
	m := viewModel(t, false)
	m.topics.setTopics([]core.TopicInfo{{Name: "ux:orders.dlq", Messages: 3}, {Name: "UX_ORDERS_dlq", Messages: 12345678}})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	view := ansi.Strip(strings.Join(m.topics.View(false), "\n"))
	for _, name := range []string{"ux:orders.dlq", "UX_ORDERS_dlq", "12345678"} {
		if !strings.Contains(view, name) {
			t.Errorf("topics at 120 columns cut %q:\n%s", name, view)
		}
	}
}

// TestPendingHidesUnknownColumns: JetStream knows no owner or idle time
// per pending message, so those columns are left out, not shown blank.
func TestPendingHidesUnknownColumns(t *testing.T) {
	m := viewModel(t, false)
	m.pending.page = core.PendingPage{Total: 2, Entries: []core.PendingEntry{{ID: "41", Deliveries: 2}, {ID: "42", Deliveries: 1}}}
	m.pending.rebuild()
	head := ansi.Strip(m.pending.View(true)[0])
	if strings.Contains(head, "CONSUMER") || strings.Contains(head, "IDLE") || !strings.Contains(head, "DLV") {
		t.Errorf("pending header %q: want ID and DLV only", head)
	}
}

// TestPendingShowsWhatTheMessageSays: where the backend read the messages
// (JetStream), Pending shows their subject, age and size instead of blank
// owner and idle columns, and no DLV column when no count is known.
func TestPendingShowsWhatTheMessageSays(t *testing.T) {
	m := viewModel(t, false)
	now := m.com.Now()
	m.pending.page = core.PendingPage{Total: 2, Entries: []core.PendingEntry{
		{ID: "41", Stored: now.Add(-3 * time.Minute), Subject: "orders.paid", Size: 2048},
		{ID: "42", Stored: now.Add(-90 * time.Second), Subject: "orders.new\x1b[31m", Size: 10},
	}}
	m.pending.rebuild()
	view := ansi.Strip(strings.Join(m.pending.View(true), "\n"))
	head := strings.SplitN(view, "\n", 2)[0]
	for _, want := range []string{"SUBJECT", "AGE", "SIZE"} {
		if !strings.Contains(head, want) {
			t.Errorf("pending header %q lacks %s", head, want)
		}
	}
	if strings.Contains(head, "DLV") || strings.Contains(head, "CONSUMER") {
		t.Errorf("pending header %q shows a column nothing fills", head)
	}
	for _, want := range []string{"orders.paid", "3m", "2.0K", "1m", "10B"} {
		if !strings.Contains(view, want) {
			t.Errorf("pending view lacks %q:\n%s", want, view)
		}
	}
	if raw := strings.Join(m.pending.View(true), "\n"); strings.Contains(raw, "orders.new\x1b") {
		t.Error("a subject's escape sequence reached the view")
	}
}
