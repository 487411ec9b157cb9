package tui

import (
	"context"
	"fmt"
	"strconv"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
)

// pendingPane shows a group's pending entries (or one consumer's), a page
// at a time, with the actions on pending messages.
type pendingPane struct {
	msgList
	group    string
	consumer string
	info     core.GroupInfo // the group's members, as of the last groups refresh

	page    core.PendingPage
	pg      pager[string] // core.PendingPage cursors
	entries []int         // shown indices into page.Entries
	// a jq filter's verdicts by entry id: each entry's message is read
	// (Get, without side effects) and judged off the UI loop
	qv queryVerdicts
}

func newPendingPane(c *Common) *pendingPane {
	return &pendingPane{msgList: msgList{com: c}, qv: queryVerdicts{queryRun: queryRun{to: queryToPending}}}
}

func (p *pendingPane) Title() string {
	t := "3 Pending"
	if p.group != "" {
		t += p.com.Styles.Dot + SanitizeString(p.topic) + "/" + SanitizeString(p.group)
	}
	if p.consumer != "" {
		t += " @" + SanitizeString(p.consumer)
	}
	if p.loaded {
		if n := int64(len(p.entries)); n > p.page.Total {
			// JetStream lists the range between the ack floor and the
			// last delivered: one acked out of order is still in it
			t += fmt.Sprintf(" (%d listed, %d pending)", n, p.page.Total) + p.pg.title()
		} else {
			t += fmt.Sprintf(" (%d of %d)", n, p.page.Total) + p.pg.title()
		}
	}
	t += p.titleTail()
	if p.filter.Query() != nil {
		t += p.qv.note(p.qv.unjudged(p.ids()))
	}
	return t
}

func (p *pendingPane) SetFilter(f Filter) {
	p.filter = f
	p.qv.reset()
	p.rebuild()
}

func (p *pendingPane) ids() []string {
	ids := make([]string, len(p.page.Entries))
	for i, e := range p.page.Entries {
		ids[i] = e.ID
	}
	return ids
}

// queryNext judges the entries the jq filter has not seen: each one's
// message is read with Get (read-only), decoded and matched, with the
// entry's deliveries, consumer and idle time in $meta.
func (p *pendingPane) queryNext() tea.Cmd {
	q, op := p.filter.Query(), p.com.Op
	if q == nil || op == nil {
		return nil
	}
	topic, entries, dec, timeout := p.topic, p.page.Entries, p.com.Decoder, p.com.Timeout
	return p.qv.next(p.com, q, p.ids(), func(ctx context.Context, i int) (bool, error) {
		e := entries[i]
		gctx, cancel := context.WithTimeout(ctx, timeout)
		rec, err := op.Get(gctx, topic, e.ID)
		cancel()
		if err != nil {
			return false, fmt.Errorf("read %s %s: %w", topic, e.ID, err)
		}
		return q.MatchRecordWith(ctx, dec, rec, e.Deliveries, map[string]any{"consumer": e.Consumer, "idle_ms": e.Idle.Milliseconds()})
	})
}

func (p *pendingPane) Actions() []action {
	k := p.com.Keys
	cur := p.list.selectedKey()
	rows := messageActions(p.com, p.scope(), p.selectedIDs, nil)
	rows = append(rows, send(k.DLQ, needTopic, func() tea.Msg { return browseTopicMsg{topic: dlqOf(p.com, p.topic), dlq: true} }))
	next, first := pageMoves(&p.msgList, &p.pg, "pending: this is the last page", p.refresh)
	as := p.listActions(func() tea.Msg { return p.inspect(cur) }, rows, nil, next, first)
	as = append(as, p.topicActions(nil)...)
	return append(as, diffActions(p.com, func() (msgRef, bool) { return msgRef{topic: p.topic, id: cur}, cur != "" })...)
}

func (p *pendingPane) has(n need) bool {
	return p.msgList.has(n, func(id string) bool { return id != "" })
}

func (p *pendingPane) scope() msgScope {
	return msgScope{kind: scopePending, topic: p.topic, group: p.group, info: p.info, ownerOf: func(id string) string {
		e, _ := p.entryByID(id)
		return e.Consumer
	}}
}

// inspect asks for the entry's message, to open it in the inspector.
func (p *pendingPane) inspect(id string) tea.Msg {
	e, _ := p.entryByID(id)
	return fetchInspectMsg{topic: p.topic, id: id, meta: inspectMeta{Scope: p.scope(),
		Owner: e.Consumer, Deliveries: e.Deliveries, Idle: durOrEmpty(e.Idle)}}
}

// reset forgets everything (context switch).
func (p *pendingPane) reset() {
	p.clear()
	p.topic = ""
}

// clear forgets the group and its rows.
func (p *pendingPane) clear() {
	p.forget()
	p.group, p.consumer, p.info = "", "", core.GroupInfo{}
	p.page, p.pg, p.entries = core.PendingPage{}, pager[string]{}, nil
	p.qv.reset()
}

// setGroup shows the pending entries of a group (or of one consumer).
func (p *pendingPane) setGroup(topic, group, consumer string, info core.GroupInfo) tea.Cmd {
	p.clear()
	p.topic, p.group, p.consumer, p.info = topic, group, consumer, info
	return p.refresh()
}

// groupRefreshed takes the groups pane's fresh list: the shown group's
// members and their idle times (a claim's default target) stay current.
func (p *pendingPane) groupRefreshed(topic string, gs []core.GroupInfo) {
	if topic != p.topic {
		return
	}
	for _, g := range gs {
		if g.Name == p.group {
			p.info = g
		}
	}
}

func (p *pendingPane) refresh() tea.Cmd {
	req, gen, ok := p.begin(p.group != "")
	if !ok {
		return nil
	}
	q := core.PendingQuery{Topic: p.topic, Group: p.group, Consumer: p.consumer, Cursor: p.pg.from, Limit: p.com.PageSize}
	return p.com.call(func(ctx context.Context, op *core.Operator) tea.Msg {
		pg, err := op.Pending(ctx, q)
		return pendingMsg{gen: gen, req: req, page: pg, err: err}
	})
}

func (p *pendingPane) rebuild() {
	p.pg.next = p.page.Next
	match := func(e core.PendingEntry) bool { return p.filter.MatchAny(e.ID, e.Consumer, e.Subject) }
	if p.filter.Query() != nil {
		match = func(e core.PendingEntry) bool { return p.qv.matched(e.ID) }
	}
	p.entries = filterRows(&p.msgList, p.page.Entries, match,
		func(e core.PendingEntry) string { return e.ID })
}

func (p *pendingPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case pendingMsg:
		if !p.answered(msg.req) {
			return nil
		}
		if msg.err != nil {
			p.err = fmt.Errorf("pending of %s/%s: %w", p.topic, p.group, msg.err)
			return nil // the pane and the refresh indicator say so
		}
		p.page = msg.page
		p.succeeded()
		if p.filter.Query() != nil {
			p.qv.rowsChanged(p.ids())
		}
		p.rebuild()
		return p.queryNext()
	case queryBatchMsg:
		fresh, status := p.qv.take(msg)
		if !fresh {
			return status
		}
		p.rebuild()
		return tea.Batch(status, p.queryNext())
	case keyMsg:
		p.list.handleNav(p.com.Keys, msg)
	}
	return nil
}

func (p *pendingPane) entryByID(id string) (core.PendingEntry, bool) {
	for _, e := range p.page.Entries {
		if e.ID == id {
			return e, true
		}
	}
	return core.PendingEntry{}, false
}

func (p *pendingPane) View(focused bool) []string {
	if ph := p.placeholder("select a group (enter in Groups), or browse a topic (b)"); ph != nil {
		return ph
	}
	st := p.com.Styles
	lines := p.table(focused, p.columns(), p.entries, func(idx int) map[string]string {
		e := p.page.Entries[idx]
		return map[string]string{
			"ID":       SanitizeString(e.ID),
			"CONSUMER": SanitizeString(e.Consumer),
			"IDLE":     durOrDash(e.Idle),
			"DLV":      intOrDash(e.Deliveries),
			"SUBJECT":  SanitizeString(e.Subject),
			"AGE":      ageOf(p.com.Now(), e.Stored),
			"SIZE":     humanBytes(uint64(max(e.Size, 0))),
		}
	}, "nothing pending")
	for len(lines) < p.h-1 {
		lines = append(lines, "")
	}
	if p.page.Note != "" {
		lines = append(lines[:p.h-1], st.Dim.Render(trunc("note: "+SanitizeString(p.page.Note), p.w)))
	}
	return lines
}

// columns leaves out what no entry has: JetStream keeps no per-message
// owner or idle time, so a column of blanks would only look like missing
// data.
func (p *pendingPane) columns() []column {
	var owner, idle, stored, dlv bool
	for _, e := range p.page.Entries {
		owner = owner || e.Consumer != ""
		idle = idle || e.Idle > 0
		stored = stored || !e.Stored.IsZero()
		dlv = dlv || e.Deliveries > 0
	}
	cols := []column{{title: "ID", width: 20}}
	if owner {
		cols = append(cols, column{title: "CONSUMER"})
	}
	if idle {
		cols = append(cols, column{title: "IDLE", width: 6, right: true})
	}
	if stored {
		// What the backend read of the message itself (JetStream).
		cols = append(cols, column{title: "SUBJECT"}, column{title: "AGE", width: 6, right: true}, column{title: "SIZE", width: 7, right: true})
	}
	if dlv || len(p.page.Entries) == 0 {
		cols = append(cols, column{title: "DLV", width: 4, right: true})
	}
	return cols
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("15:04:05")
}

// ageOf is how long ago t was ("-" when unknown).
func ageOf(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return durOrDash(now.Sub(t))
}

func durOrDash(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return core.HumanDuration(d)
}

func durOrEmpty(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return core.HumanDuration(d)
}

// intOrDash shows 0 (unknown on some backends) as "-".
func intOrDash(n int) string {
	if n == 0 {
		return "-"
	}
	return strconv.Itoa(n)
}
