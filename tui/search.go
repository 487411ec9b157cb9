package tui

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/query"
)

// Bounds of a history search: how many stored messages it examines, how
// many matches it keeps, how many it reads per call.
const (
	searchScan     = 10000
	searchMaxFound = 1000
	searchPage     = 500
)

// search is the messages pane's scan of stored history with its jq
// filter, newest first: read-only (Browse), bounded, stoppable with esc.
// Its matches replace the pane's rows until esc leaves them.
type search struct {
	q        *query.Query
	req      uint64
	cancel   context.CancelFunc
	running  bool
	from     core.Position // where the next page starts
	more     bool          // there is a next page
	rest     []core.Record // the last page's records not yet judged
	examined int
	scan     int
	found    []core.Record
	stats    query.Stats
	end      string // why it ended, once it has
}

// searchProgressMsg asks the root to show a running search's progress as
// it is when the message arrives (a line computed earlier could land after
// the search ended and say it still runs).
type searchProgressMsg struct{}

// searchPageMsg is one page of a search: the matches among examined
// stored messages.
type searchPageMsg struct {
	gen      uint64
	req      uint64
	found    []core.Record
	examined int
	read     int           // records the page read (0: no page read this time)
	rest     []core.Record // read, not yet judged
	stats    query.Stats
	next     core.Position
	more     bool
	err      error
}

// progress is the status line while it runs, and its outcome after.
func (s *search) progress() string {
	if s.running {
		return fmt.Sprintf("searching %s/%s · %s · esc to stop", groupDigits(s.examined), groupDigits(s.scan), matchCount(len(s.found)))
	}
	return fmt.Sprintf("search: %s in %s examined (%s) · esc to leave", matchCount(len(s.found)), groupDigits(s.examined), s.end)
}

// groupDigits writes 3400 as "3 400".
func groupDigits(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}

// startSearch scans history with the jq filter.
func (p *messagesPane) startSearch() tea.Cmd {
	q := p.filter.Query()
	if q == nil {
		return msgCmd(statusMsg{err: fmt.Errorf("search: set a jq filter first (/ then jq:EXPR), then S searches history with it")})
	}
	if p.topic == "" {
		return nil
	}
	p.stopSearch()
	req := uint64(1)
	if p.search != nil {
		req = p.search.req + 1
	}
	p.search = &search{q: q, req: req, running: true, from: core.StartAll(), more: true, scan: searchScan, stats: query.Stats{Budget: q.Budget()}}
	p.recs = nil
	p.qv.reset()
	p.inflight, p.loaded = false, true
	p.req++ // a browse on its way is stale: the rows are the search's now
	p.rebuild()
	return tea.Batch(msgCmd(searchProgressMsg{}), p.searchNext())
}

// searchSlice bounds one command of a search, so progress shows (and esc
// lands) even when every message takes the whole query budget.
const searchSlice = 250 * time.Millisecond

// searchNext judges what is left of the page read last, or reads the next
// page, off the UI loop; it returns within about searchSlice of judging.
func (p *messagesPane) searchNext() tea.Cmd {
	s := p.search
	op := p.com.Op
	if op == nil {
		return nil
	}
	ctx, cancel := context.WithCancel(p.com.Ctx)
	s.cancel = cancel
	topic, from, req, gen, dec, q := p.topic, s.from, s.req, p.com.Gen, p.com.Decoder, s.q
	rest, more := s.rest, s.more
	limit := min(searchPage, s.scan-s.examined)
	timeout := p.com.Timeout
	return func() tea.Msg {
		defer cancel()
		msg := searchPageMsg{gen: gen, req: req, next: from, more: more, stats: query.Stats{Budget: q.Budget()}}
		if len(rest) == 0 {
			cctx, ccancel := context.WithTimeout(ctx, timeout)
			pg, err := op.Browse(cctx, core.BrowseQuery{Topic: topic, From: from, Reverse: true, Limit: limit})
			ccancel()
			if err != nil {
				msg.err = err
				return msg
			}
			rest, msg.next, msg.more = pg.Records, pg.Next, pg.More
			msg.read = len(pg.Records)
		}
		start := time.Now()
		for len(rest) > 0 && ctx.Err() == nil && time.Since(start) < searchSlice {
			r := rest[0]
			rest = rest[1:]
			msg.examined++
			ok, err := q.MatchRecord(ctx, dec, r, 0)
			msg.stats.Add(ok, err)
			if ok {
				msg.found = append(msg.found, r)
			}
		}
		msg.rest = rest
		return msg
	}
}

func (p *messagesPane) searchPage(msg searchPageMsg) tea.Cmd {
	s := p.search
	if s == nil || msg.req != s.req || !s.running {
		return nil
	}
	s.cancel = nil
	if msg.err != nil {
		s.running, s.end = false, "failed: "+msg.err.Error()
		return msgCmd(statusMsg{err: fmt.Errorf("search %s: %w", p.topic, msg.err)})
	}
	s.examined += msg.examined
	s.rest, s.from, s.more = msg.rest, msg.next, msg.more
	s.stats.Merge(msg.stats)
	for _, r := range msg.found {
		if len(s.found) < searchMaxFound {
			s.found = append(s.found, r)
			p.qv.set(r.ID, true)
		}
	}
	p.recs = s.found
	p.rebuild()
	switch {
	case len(s.found) >= searchMaxFound:
		s.end = fmt.Sprintf("stopped at %d matches: narrow the query", searchMaxFound)
	case s.examined >= s.scan:
		s.end = "scan limit reached"
	case len(s.rest) > 0:
		return tea.Batch(msgCmd(searchProgressMsg{}), p.searchNext())
	case !s.more || msg.read == 0 && msg.examined == 0 || s.from.Kind == core.PosNew:
		s.end = "the oldest message reached"
	default:
		return tea.Batch(msgCmd(searchProgressMsg{}), p.searchNext())
	}
	s.running = false
	return p.searchStatus()
}

// searchStatus is the outcome line, and the query's problems if any.
func (p *messagesPane) searchStatus() tea.Cmd {
	s := p.search
	if pr := s.stats.Problem(); pr != "" {
		return msgCmd(statusMsg{err: fmt.Errorf("%s; %s", s.progress(), pr)})
	}
	return msgCmd(statusMsg{text: s.progress()})
}

// searching reports a search running.
func (p *messagesPane) searching() bool { return p.search != nil && p.search.running }

// stopSearch ends a running search, keeping what it found.
func (p *messagesPane) stopSearch() tea.Cmd {
	s := p.search
	if s == nil || !s.running {
		return nil
	}
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	s.running, s.end = false, "stopped"
	s.req++
	return p.searchStatus()
}

// leaveSearch drops the search's rows and browses again.
func (p *messagesPane) leaveSearch() tea.Cmd {
	p.stopSearch()
	p.search = nil
	p.recs = nil
	p.qv.reset()
	p.rebuild()
	return tea.Batch(msgCmd(statusMsg{text: "search left: browsing " + p.topic}), p.refresh())
}

func matchCount(n int) string {
	if n == 1 {
		return "1 match"
	}
	return fmt.Sprintf("%d matches", n)
}
