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

func (p *pendingPane) Bindings() []Binding {
	k := p.com.Keys
	if p.browse {
		b := []Binding{k.Enter, k.Select, k.SelectAll, k.Replay, k.ReplayRange, k.EditResend, k.Publish}
		if p.dlq {
			b = append(b, k.Redrive)
		} else {
			b = append(b, k.MoveDLQ)
		}
		return append(b, k.NextPage, k.FirstPage)
	}
	return []Binding{k.Enter, k.Select, k.SelectAll, k.Ack, k.Nak, k.Term, k.Claim, k.MoveDLQ, k.Replay, k.DLQ, k.NextPage, k.FirstPage}
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
		return p.key(msg)
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

func (p *pendingPane) key(msg keyMsg) tea.Cmd {
	k := p.com.Keys
	if p.list.handleNav(k, msg) {
		return nil
	}
	ids := p.selectedIDs()
	cur := p.list.selectedKey()
	guard := func(b Binding) (bool, tea.Cmd) {
		ok, cmd := p.com.guard(b)
		if ok && len(ids) == 0 {
			return false, msgCmd(statusMsg{err: fmt.Errorf("%s: nothing selected", b.Help().Desc)})
		}
		return ok, cmd
	}
	switch {
	case matches(msg, k.NextPage) && p.browse:
		if !p.more {
			return msgCmd(statusMsg{text: "browse: this is the last (oldest) page"})
		}
		next := p.bnext
		p.bfrom, p.pageNo = &next, p.pageNo+1
		p.inflight = false
		p.list.cursor, p.list.offset, p.list.marked = 0, 0, nil // the rows stay until the page arrives
		return p.refresh()
	case matches(msg, k.FirstPage) && p.browse:
		p.bfrom, p.pageNo = nil, 0
		p.inflight = false
		p.list.cursor, p.list.offset, p.list.marked = 0, 0, nil // the rows stay until the page arrives
		return p.refresh()
	case matches(msg, k.NextPage) && !p.browse:
		if p.page.Next == "" {
			return msgCmd(statusMsg{text: "pending: this is the last page"})
		}
		p.cursor, p.pageNo = p.page.Next, p.pageNo+1
		p.inflight = false
		p.list.cursor, p.list.offset, p.list.marked = 0, 0, nil // the rows stay until the page arrives
		return p.refresh()
	case matches(msg, k.FirstPage) && !p.browse:
		p.cursor, p.pageNo = "", 0
		p.inflight = false
		p.list.cursor, p.list.offset, p.list.marked = 0, 0, nil // the rows stay until the page arrives
		return p.refresh()
	case matches(msg, k.Select):
		p.list.toggleMark()
		p.list.move(1)
	case matches(msg, k.SelectAll):
		p.list.markAll()
	case matches(msg, k.Enter):
		if cur == "" {
			return nil
		}
		if p.browse {
			r, _ := p.recordByID(cur)
			return msgCmd(inspectMsg{rec: r, meta: inspectMeta{DLQ: p.dlq}})
		}
		e, _ := p.entryByID(cur)
		return msgCmd(fetchInspectMsg{topic: p.topic, id: cur, meta: inspectMeta{
			Group: p.group, Owner: e.Consumer, Deliveries: e.Deliveries, Idle: durOrEmpty(e.Idle), Pending: true}})
	case matches(msg, k.Ack) && !p.browse:
		if ok, cmd := guard(k.Ack); !ok {
			return cmd
		}
		return msgCmd(pushDialogMsg{d: ackDialog(p.com, core.OpAck, p.topic, p.group, ids)})
	case matches(msg, k.Nak) && !p.browse:
		if ok, cmd := guard(k.Nak); !ok {
			return cmd
		}
		return msgCmd(pushDialogMsg{d: ackDialog(p.com, core.OpNak, p.topic, p.group, ids)})
	case matches(msg, k.Term) && !p.browse:
		if ok, cmd := guard(k.Term); !ok {
			return cmd
		}
		return msgCmd(pushDialogMsg{d: ackDialog(p.com, core.OpTerm, p.topic, p.group, ids)})
	case matches(msg, k.Claim) && !p.browse:
		if ok, cmd := guard(k.Claim); !ok {
			return cmd
		}
		return msgCmd(pushDialogMsg{d: newClaimDialog(p.com, p.topic, p.group, ids, p.consumers)})
	case matches(msg, k.MoveDLQ) && !p.dlq:
		if ok, cmd := guard(k.MoveDLQ); !ok {
			return cmd
		}
		return msgCmd(pushDialogMsg{d: newMoveDialog(p.com, p.topic, p.group, ids)})
	case matches(msg, k.Redrive) && p.dlq:
		if ok, cmd := guard(k.Redrive); !ok {
			return cmd
		}
		return msgCmd(pushDialogMsg{d: redriveDialog(p.com, p.topic, ids)})
	case matches(msg, k.Replay):
		if ok, cmd := guard(k.Replay); !ok {
			return cmd
		}
		return msgCmd(pushDialogMsg{d: newReplayDialog(p.com, p.topic, ids, false)})
	case matches(msg, k.ReplayRange):
		if ok, cmd := p.com.guard(k.ReplayRange); !ok {
			return cmd
		}
		return msgCmd(pushDialogMsg{d: newReplayDialog(p.com, p.topic, nil, true)})
	case matches(msg, k.EditResend) && p.browse:
		if ok, cmd := p.com.guard(k.EditResend); !ok {
			return cmd
		}
		if r, ok := p.recordByID(cur); ok {
			return msgCmd(pushDialogMsg{d: resendDialog(p.com, r)})
		}
	case matches(msg, k.Publish):
		if ok, cmd := p.com.guard(k.Publish); !ok {
			return cmd
		}
		return msgCmd(pushDialogMsg{d: newPublishDialog(p.com, p.topic, nil, nil)})
	case matches(msg, k.DLQ) && !p.browse:
		if ok, cmd := p.com.guard(k.DLQ); !ok {
			return cmd
		}
		return msgCmd(browseTopicMsg{topic: dlqOf(p.com, p.topic), dlq: true})
	}
	return nil
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
