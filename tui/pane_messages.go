package tui

import (
	"context"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
)

// messagesPane shows stored messages of a topic, or of a DLQ, newest
// first, read without side effects, a page at a time.
type messagesPane struct {
	msgList
	dlq   bool
	recs  []core.Record
	shown []int                // shown indices into recs
	pg    pager[core.Position] // older pages start at pg.next
}

func newMessagesPane(c *Common) *messagesPane { return &messagesPane{msgList: msgList{com: c}} }

func (p *messagesPane) Title() string {
	t := "3 Messages"
	if p.dlq {
		t = "3 DLQ"
	}
	t += p.com.Styles.Dot + SanitizeString(p.topic)
	if p.loaded {
		t += fmt.Sprintf(" (%d", len(p.shown))
		if p.pg.more() {
			t += "+"
		}
		t += ")" + p.pg.title()
	}
	return t + p.titleTail()
}

func (p *messagesPane) SetFilter(f Filter) {
	p.filter = f
	p.rebuild()
}

func (p *messagesPane) scope() msgScope {
	if p.dlq {
		return msgScope{kind: scopeDLQ, topic: p.topic}
	}
	return msgScope{kind: scopeMessages, topic: p.topic}
}

func (p *messagesPane) Actions() []action {
	cur := p.list.selectedKey()
	rec := func() core.Record { r, _ := p.recordByID(cur); return r }
	rows := messageActions(p.com, p.scope(), p.selectedIDs, rec)
	enter := func() tea.Msg { return inspectMsg{rec: rec(), meta: inspectMeta{Scope: p.scope()}} }
	next, first := pageMoves(&p.msgList, &p.pg, "browse: this is the last (oldest) page", p.refresh)
	return p.listActions(enter, rows, p.topicActions(), next, first)
}

func (p *messagesPane) has(n need) bool {
	return p.msgList.has(n, func(id string) bool { _, ok := p.recordByID(id); return ok })
}

// reset forgets everything (context switch).
func (p *messagesPane) reset() {
	p.clear()
	p.topic = ""
}

func (p *messagesPane) clear() {
	p.forget()
	p.recs, p.shown, p.pg = nil, nil, pager[core.Position]{}
}

// setTopic shows the messages stored in topic (a DLQ when dlq).
func (p *messagesPane) setTopic(topic string, dlq bool) tea.Cmd {
	p.clear()
	p.topic, p.dlq = topic, dlq
	return p.refresh()
}

func (p *messagesPane) refresh() tea.Cmd {
	req, gen, ok := p.begin(true)
	if !ok {
		return nil
	}
	topic, from := p.topic, core.StartAll()
	if p.pg.from != (core.Position{}) {
		from = p.pg.from
	}
	limit := p.com.PageSize
	return p.com.call(func(ctx context.Context, op *core.Operator) tea.Msg {
		// newest first: an operator looks at what just happened; older
		// pages follow with ]
		pg, err := op.Browse(ctx, core.BrowseQuery{Topic: topic, From: from, Reverse: true, Limit: limit})
		return browseMsg{gen: gen, req: req, page: pg, err: err}
	})
}

func (p *messagesPane) rebuild() {
	p.shown = filterRows(&p.msgList, p.recs, func(r core.Record) bool { return p.filter.MatchDecoded(p.com.Decoder, r) }, func(r core.Record) string { return r.ID })
}

func (p *messagesPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case browseMsg:
		if !p.answered(msg.req) {
			return nil
		}
		if msg.err != nil {
			// the pane says so (in place of rows, or "stale since" over
			// the last ones) and the refresh indicator lists it
			p.err = fmt.Errorf("browse %s: %w", p.topic, msg.err)
			return nil
		}
		p.recs = msg.page.Records
		p.succeeded()
		p.pg.next = core.Position{} // nowhere to continue from
		if msg.page.More {
			p.pg.next = msg.page.Next
		}
		p.rebuild()
	case keyMsg:
		p.list.handleNav(p.com.Keys, msg)
	}
	return nil
}

func (p *messagesPane) recordByID(id string) (core.Record, bool) {
	for _, r := range p.recs {
		if r.ID == id {
			return r, true
		}
	}
	return core.Record{}, false
}

func (p *messagesPane) View(focused bool) []string {
	if ph := p.placeholder("select a group (enter in Groups), or browse a topic (b)"); ph != nil {
		return ph
	}
	empty := "no messages"
	if p.err != nil {
		empty = SanitizeString(p.err.Error())
	}
	return p.table(focused, []column{
		{title: "ID", width: 16},
		{title: "TIME", width: 8},
		{title: "SIZE", width: 6, right: true},
		{title: "PAYLOAD"},
	}, p.shown, func(idx int) map[string]string {
		r := p.recs[idx]
		size := r.Size
		if size == 0 {
			size = len(r.Data)
		}
		return map[string]string{
			"ID":      SanitizeString(r.ID),
			"TIME":    clock(r.Time),
			"SIZE":    humanSize(uint64(size)),
			"PAYLOAD": decodedPreview(p.com.Decoder, r),
		}
	}, empty)
}
