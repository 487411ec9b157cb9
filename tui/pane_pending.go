package tui

import (
	"context"
	"fmt"
	"strconv"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
)

// defaultPageSize is how many pending entries or stored messages one page
// holds (Options.PageSize overrides it).
const defaultPageSize = 200

// pendingPane shows a group's pending list, or — in browse mode — stored
// messages of a topic (the DLQ included) read without side effects.
type pendingPane struct {
	com    *Common
	w, h   int
	list   listState
	filter Filter

	browse    bool
	dlq       bool
	topic     string
	group     string
	consumer  string
	consumers []string

	page    core.PendingPage
	cursor  string // the pending page being shown ("" = first)
	pageNo  int
	entries []int // shown indices into page.Entries
	recs    []core.Record
	more    bool
	shownR  []int
	// browse paging: the page shown starts at bfrom (nil = the newest);
	// bnext is where the next (older) page starts.
	bfrom *core.Position
	bnext core.Position

	inflight bool
	req      uint64
	loaded   bool
	err      error
}

func newPendingPane(c *Common) *pendingPane { return &pendingPane{com: c} }

func (p *pendingPane) Title() string {
	var t string
	switch {
	case p.browse && p.dlq:
		t = "3 DLQ" + p.com.Styles.Dot + SanitizeString(p.topic)
	case p.browse:
		t = "3 Messages" + p.com.Styles.Dot + SanitizeString(p.topic)
	default:
		t = "3 Pending"
		if p.group != "" {
			t += p.com.Styles.Dot + SanitizeString(p.topic) + "/" + SanitizeString(p.group)
		}
		if p.consumer != "" {
			t += " @" + SanitizeString(p.consumer)
		}
	}
	if p.loaded {
		if p.browse {
			t += fmt.Sprintf(" (%d", len(p.shownR))
			if p.more {
				t += "+"
			}
			t += ")"
			if p.pageNo > 0 || p.more {
				t += fmt.Sprintf(" page %d", p.pageNo+1)
				if p.more {
					t += " ]more"
				}
			}
		} else {
			t += fmt.Sprintf(" (%d of %d)", len(p.entries), p.page.Total)
			if p.pageNo > 0 || p.page.Next != "" {
				t += fmt.Sprintf(" page %d", p.pageNo+1)
				if p.page.Next != "" {
					t += " ]more"
				}
			}
		}
	}
	if n := len(p.list.marked); n > 0 {
		t += fmt.Sprintf(" [%d selected]", n)
	}
	if !p.filter.Empty() {
		t += " /" + SanitizeString(p.filter.Raw)
	}
	return t
}

func (p *pendingPane) SetSize(w, h int) {
	p.w, p.h = w, h
	p.list.height = h - 2 // header + note line
	p.list.clamp()
}
func (p *pendingPane) Filter() Filter { return p.filter }
func (p *pendingPane) SetFilter(f Filter) {
	p.filter = f
	p.rebuild()
}

func (p *pendingPane) Actions() []action {
	k := p.com.Keys
	cur := p.list.selectedKey()
	as := []action{
		send(k.Enter, needRow, func() tea.Msg { return p.inspect(cur) }),
		act(k.Select, needNothing, func() tea.Cmd { p.list.toggleMark(); p.list.move(1); return nil }),
		act(k.SelectAll, needNothing, func() tea.Cmd { p.list.markAll(); return nil }),
	}
	if p.browse {
		kind := scopeMessages
		if p.dlq {
			kind = scopeDLQ
		}
		as = append(as, messageActions(p.com, msgScope{kind: kind, topic: p.topic}, p.selectedIDs,
			func() core.Record { r, _ := p.recordByID(cur); return r })...)
		as = append(as, p.rangeActions()...)
		return append(as, p.pageActions()...)
	}
	as = append(as, messageActions(p.com, p.scope(), p.selectedIDs, nil)...)
	as = append(as, send(k.DLQ, needTopic, func() tea.Msg { return browseTopicMsg{topic: dlqOf(p.com, p.topic), dlq: true} }))
	as = append(as, p.pageActions()...)
	return append(as, p.rangeActions()...)
}

// rangeActions act on the topic rather than on rows.
func (p *pendingPane) rangeActions() []action {
	k := p.com.Keys
	return []action{
		opens(k.ReplayRange, needTopic, func() dialog { return newReplayDialog(p.com, p.topic, nil, true) }),
		opens(k.Publish, needNothing, func() dialog { return newPublishDialog(p.com, p.topic, nil, nil) }),
	}
}

func (p *pendingPane) pageActions() []action {
	k := p.com.Keys
	return []action{act(k.NextPage, needNothing, p.nextPage), act(k.FirstPage, needNothing, p.firstPage)}
}

func (p *pendingPane) scope() msgScope {
	return msgScope{kind: scopePending, topic: p.topic, group: p.group, consumers: p.consumers}
}

func (p *pendingPane) has(n need) bool {
	switch n {
	case needSelection:
		return len(p.selectedIDs()) > 0
	case needRow:
		cur := p.list.selectedKey()
		if p.browse {
			_, ok := p.recordByID(cur)
			return ok
		}
		return cur != ""
	case needTopic:
		return p.topic != ""
	}
	return true
}

// inspect is the request to open the row with key id in the inspector.
func (p *pendingPane) inspect(id string) tea.Msg {
	if p.browse {
		r, _ := p.recordByID(id)
		kind := scopeMessages
		if p.dlq {
			kind = scopeDLQ
		}
		return inspectMsg{rec: r, meta: inspectMeta{Scope: msgScope{kind: kind, topic: p.topic}}}
	}
	e, _ := p.entryByID(id)
	return fetchInspectMsg{topic: p.topic, id: id, meta: inspectMeta{Scope: p.scope(),
		Owner: e.Consumer, Deliveries: e.Deliveries, Idle: durOrEmpty(e.Idle)}}
}

func (p *pendingPane) reset() {
	*p = pendingPane{com: p.com, w: p.w, h: p.h, list: listState{height: p.list.height}, filter: p.filter, req: p.req + 1}
}

func (p *pendingPane) clearData() {
	p.page, p.recs, p.entries, p.shownR, p.more = core.PendingPage{}, nil, nil, nil, false
	p.cursor, p.pageNo = "", 0
	p.bfrom, p.bnext = nil, core.Position{}
	p.loaded, p.err, p.inflight = false, nil, false
	p.list = listState{height: p.list.height}
}

func (p *pendingPane) setGroup(topic, group, consumer string, consumers []string) tea.Cmd {
	p.clearData()
	p.browse, p.dlq = false, false
	p.topic, p.group, p.consumer, p.consumers = topic, group, consumer, consumers
	return p.refresh()
}

func (p *pendingPane) setBrowse(topic string, dlq bool) tea.Cmd {
	p.clearData()
	p.browse, p.dlq = true, dlq
	p.topic, p.group, p.consumer = topic, "", ""
	return p.refresh()
}

func (p *pendingPane) refresh() tea.Cmd {
	if p.inflight || p.com.Op == nil || p.topic == "" || (!p.browse && p.group == "") {
		return nil
	}
	p.inflight = true
	p.req++
	req, gen := p.req, p.com.Gen
	if p.browse {
		topic, from := p.topic, core.StartAll()
		if p.bfrom != nil {
			from = *p.bfrom
		}
		limit := p.com.PageSize
		return p.com.call(func(ctx context.Context, op *core.Operator) tea.Msg {
			// newest first: an operator looks at what just happened; older
			// pages follow with ]
			pg, err := op.Browse(ctx, core.BrowseQuery{Topic: topic, From: from, Reverse: true, Limit: limit})
			return browseMsg{gen: gen, req: req, page: pg, err: err}
		})
	}
	q := core.PendingQuery{Topic: p.topic, Group: p.group, Consumer: p.consumer, Cursor: p.cursor, Limit: p.com.PageSize}
	return p.com.call(func(ctx context.Context, op *core.Operator) tea.Msg {
		pg, err := op.Pending(ctx, q)
		return pendingMsg{gen: gen, req: req, page: pg, err: err}
	})
}

func (p *pendingPane) rebuild() {
	var keys []string
	if p.browse {
		p.shownR = p.shownR[:0]
		for i, r := range p.recs {
			if p.filter.MatchRecord(r) {
				p.shownR = append(p.shownR, i)
				keys = append(keys, r.ID)
			}
		}
	} else {
		p.entries = p.entries[:0]
		for i, e := range p.page.Entries {
			if p.filter.MatchText(e.ID + " " + e.Consumer) {
				p.entries = append(p.entries, i)
				keys = append(keys, e.ID)
			}
		}
	}
	p.list.setKeys(keys)
}

func (p *pendingPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case pendingMsg:
		if msg.req != p.req {
			return nil
		}
		p.inflight = false
		if msg.err != nil {
			p.err = msg.err
			return msgCmd(statusMsg{err: fmt.Errorf("pending of %s/%s: %w", p.topic, p.group, msg.err)})
		}
		p.page, p.loaded, p.err = msg.page, true, nil
		p.rebuild()
	case browseMsg:
		if msg.req != p.req {
			return nil
		}
		p.inflight = false
		if msg.err != nil {
			p.err = msg.err
			p.loaded = true
			p.recs = nil
			p.rebuild()
			return msgCmd(statusMsg{err: fmt.Errorf("browse %s: %w", p.topic, msg.err)})
		}
		p.recs, p.more, p.loaded, p.err = msg.page.Records, msg.page.More, true, nil
		p.bnext = msg.page.Next
		if p.bnext == (core.Position{}) {
			p.more = false // nowhere to continue from
		}
		p.rebuild()
	case keyMsg:
		p.list.handleNav(p.com.Keys, msg)
	}
	return nil
}

func (p *pendingPane) selectedIDs() []string { return p.list.selection() }

func (p *pendingPane) recordByID(id string) (core.Record, bool) {
	for _, r := range p.recs {
		if r.ID == id {
			return r, true
		}
	}
	return core.Record{}, false
}

func (p *pendingPane) entryByID(id string) (core.PendingEntry, bool) {
	for _, e := range p.page.Entries {
		if e.ID == id {
			return e, true
		}
	}
	return core.PendingEntry{}, false
}

func (p *pendingPane) nextPage() tea.Cmd {
	if p.browse {
		if !p.more {
			return msgCmd(statusMsg{text: "browse: this is the last (oldest) page"})
		}
		next := p.bnext
		p.bfrom = &next
	} else {
		if p.page.Next == "" {
			return msgCmd(statusMsg{text: "pending: this is the last page"})
		}
		p.cursor = p.page.Next
	}
	return p.turnPage(p.pageNo + 1)
}

func (p *pendingPane) firstPage() tea.Cmd {
	p.bfrom, p.cursor = nil, ""
	return p.turnPage(0)
}

// turnPage asks for page n; the rows stay until it arrives.
func (p *pendingPane) turnPage(n int) tea.Cmd {
	p.pageNo = n
	p.inflight = false
	p.list.cursor, p.list.offset, p.list.marked = 0, 0, nil
	return p.refresh()
}

func (p *pendingPane) View(focused bool) []string {
	st := p.com.Styles
	switch {
	case p.topic == "":
		return []string{st.Dim.Render("select a group (enter in Groups), or browse a topic (b)")}
	case !p.loaded && p.err != nil:
		return []string{st.Error.Render(trunc(SanitizeString(p.err.Error()), p.w))}
	case !p.loaded:
		return []string{st.Dim.Render("loading…")}
	}
	if p.browse {
		return p.viewRecords(focused)
	}
	cols := layoutColumns([]column{
		{title: "ID", width: 20},
		{title: "CONSUMER"},
		{title: "IDLE", width: 6, right: true},
		{title: "DLV", width: 4, right: true},
	}, p.w-2)
	lines := []string{st.ColHeader.Render(fit("  "+headerRow(cols), p.w))}
	rows := make([]string, len(p.entries))
	for i, idx := range p.entries {
		if !p.list.visible(i) {
			continue
		}
		e := p.page.Entries[idx]
		rows[i] = row(cols, map[string]string{
			"ID":       SanitizeString(e.ID),
			"CONSUMER": SanitizeString(e.Consumer),
			"IDLE":     durOrDash(e.Idle),
			"DLV":      intOrDash(e.Deliveries),
		})
	}
	body := p.list.renderRows(st, rows, p.w, focused, func(int) *lipglossStyle { return nil })
	if len(rows) == 0 {
		body = []string{st.Dim.Render("nothing pending")}
	}
	lines = append(lines, body...)
	for len(lines) < p.h-1 {
		lines = append(lines, "")
	}
	if p.page.Note != "" {
		lines = append(lines[:p.h-1], st.Dim.Render(trunc("note: "+SanitizeString(p.page.Note), p.w)))
	}
	return lines
}

func (p *pendingPane) viewRecords(focused bool) []string {
	st := p.com.Styles
	cols := layoutColumns([]column{
		{title: "ID", width: 16},
		{title: "TIME", width: 8},
		{title: "SIZE", width: 6, right: true},
		{title: "PAYLOAD"},
	}, p.w-2)
	lines := []string{st.ColHeader.Render(fit("  "+headerRow(cols), p.w))}
	rows := make([]string, len(p.shownR))
	for i, idx := range p.shownR {
		if !p.list.visible(i) {
			continue
		}
		r := p.recs[idx]
		size := r.Size
		if size == 0 {
			size = len(r.Data)
		}
		rows[i] = row(cols, map[string]string{
			"ID":      SanitizeString(r.ID),
			"TIME":    clock(r.Time),
			"SIZE":    strconv.Itoa(size),
			"PAYLOAD": payloadPreview(r.Data),
		})
	}
	body := p.list.renderRows(st, rows, p.w, focused, func(int) *lipglossStyle { return nil })
	if len(rows) == 0 {
		msg := "no messages"
		if p.err != nil {
			msg = SanitizeString(p.err.Error())
		}
		body = []string{st.Dim.Render(trunc(msg, p.w))}
	}
	return append(lines, body...)
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("15:04:05")
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
