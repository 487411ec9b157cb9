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
	// a jq filter's verdicts by record id (evaluated off the UI loop)
	qv queryVerdicts
	// search: a history search's rows show instead of a page (nil: none)
	search *search
}

func newMessagesPane(c *Common) *messagesPane {
	return &messagesPane{msgList: msgList{com: c}, qv: queryVerdicts{queryRun: queryRun{to: queryToMessages}}}
}

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
	t += p.titleTail()
	if p.search != nil {
		t += " [" + p.search.progress() + "]"
	} else if p.filter.Query() != nil {
		t += p.qv.note(p.qv.unjudged(p.ids()))
	}
	return t
}

func (p *messagesPane) SetFilter(f Filter) {
	if p.search != nil {
		// the search was for the old filter; the next refresh browses
		p.stopSearch()
		p.search, p.recs = nil, nil
	}
	p.filter = f
	p.qv.reset()
	p.rebuild()
}

func (p *messagesPane) ids() []string {
	ids := make([]string, len(p.recs))
	for i, r := range p.recs {
		ids[i] = r.ID
	}
	return ids
}

// queryNext evaluates the jq filter on the rows it has not judged.
func (p *messagesPane) queryNext() tea.Cmd {
	q := p.filter.Query()
	return p.qv.next(p.com, q, p.ids(), matchRecordFunc(p.com, q, p.recs))
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
	extra := append(p.topicActions(func() string { return rec().Subject }), act(p.com.Keys.Search, needTopic, p.startSearch))
	as := p.listActions(enter, rows, extra, next, first)
	return append(as, diffActions(p.com, func() (msgRef, bool) {
		r, ok := p.recordByID(cur)
		return refOf(r), ok
	})...)
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
	p.qv.reset()
	p.stopSearch()
	p.search = nil
}

// setTopic shows the messages stored in topic (a DLQ when dlq).
func (p *messagesPane) setTopic(topic string, dlq bool) tea.Cmd {
	p.clear()
	p.topic, p.dlq = topic, dlq
	return p.refresh()
}

func (p *messagesPane) refresh() tea.Cmd {
	req, gen, ok := p.begin(p.search == nil) // a search's rows stay until esc
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
	match := func(r core.Record) bool { return p.filter.MatchDecoded(p.com.Decoder, r) }
	if p.filter.Query() != nil {
		match = func(r core.Record) bool { return p.qv.matched(r.ID) }
	}
	p.shown = filterRows(&p.msgList, p.recs, match, func(r core.Record) string { return r.ID })
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
		if p.filter.Query() != nil {
			p.qv.rowsChanged(p.ids())
		}
		p.rebuild()
		return p.queryNext()
	case searchPageMsg:
		return p.searchPage(msg)
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
	switch {
	case p.err != nil:
		empty = SanitizeString(p.err.Error())
	case p.searching():
		empty = "searching…"
	case p.search == nil && p.filter.Query() != nil && p.qv.unjudged(p.ids()) > 0:
		empty = "jq: evaluating…"
	case p.search != nil:
		empty = "the search found nothing · esc goes back to browsing"
	case len(p.recs) > 0:
		empty = "nothing matches the filter · esc clears it"
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
