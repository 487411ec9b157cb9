package tui

import (
	"context"
	"errors"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/query"
)

// queryBatchMax bounds one batch of a jq filter: answers come back a
// batch at a time, so matches show while a slow query works through a
// full tail buffer.
const queryBatchMax = 500

// Where a batch's answer goes.
const (
	queryToTail = iota
	queryToMessages
	queryToPending
)

// queryBatchMsg is one batch of jq verdicts: ok[i] is the item at from+i
// (the pane's own indexing).
type queryBatchMsg struct {
	gen   uint64
	to    int
	req   uint64
	from  int
	ok    []bool
	stats query.Stats
}

// queryRun is a pane's jq filter at work. A query never runs in Update: a
// pane hands batches to a tea.Cmd, one at a time and in order, and a new
// filter (or a cleared pane) cancels the batch in flight and drops its
// answer.
type queryRun struct {
	to     int
	req    uint64
	busy   bool
	cancel context.CancelFunc
	stats  query.Stats
	// said is how many problems the status line has told of
	said int
}

// reset forgets the run: a batch in flight is cancelled and its answer
// will be stale.
func (r *queryRun) reset() {
	r.restart()
	r.stats, r.said = query.Stats{}, 0
}

// restart cancels the batch in flight (its items may be gone), keeping
// the counts.
func (r *queryRun) restart() {
	if r.cancel != nil {
		r.cancel()
		r.cancel = nil
	}
	r.req++
	r.busy = false
}

// start evaluates n items off the UI loop; eval judges item i.
func (r *queryRun) start(c *Common, q *query.Query, from, n int, eval func(ctx context.Context, i int) (bool, error)) tea.Cmd {
	ctx, cancel := context.WithCancel(c.Ctx)
	r.busy, r.cancel = true, cancel
	gen, to, req, budget := c.Gen, r.to, r.req, q.Budget()
	return func() tea.Msg {
		defer cancel()
		st := query.Stats{Budget: budget}
		ok := make([]bool, 0, n)
		for i := 0; i < n && ctx.Err() == nil; i++ {
			v, err := eval(ctx, i)
			ok = append(ok, v)
			st.Add(v, err)
		}
		return queryBatchMsg{gen: gen, to: to, req: req, from: from, ok: ok, stats: st}
	}
}

// done takes a batch's answer: fresh is false when it is stale; status
// says new problems on the status line.
func (r *queryRun) done(msg queryBatchMsg) (fresh bool, status tea.Cmd) {
	if msg.req != r.req {
		return false, nil
	}
	r.busy, r.cancel = false, nil
	r.stats.Merge(msg.stats)
	if p := r.stats.Problems(); p > r.said {
		r.said = p
		status = msgCmd(statusMsg{err: errors.New(r.stats.Problem())})
	}
	return true, status
}

// note is the title's word on the run: what is still being evaluated and
// what could not be judged.
func (r *queryRun) note(todo int) string {
	s := ""
	if todo > 0 {
		s = fmt.Sprintf(" [jq: %d to evaluate]", todo)
	}
	if p := r.stats.Problems(); p > 0 {
		s += fmt.Sprintf(" [jq: %d not judged, E]", p)
	}
	return s
}

// matchRecordFunc is eval for records: decode with the context's decoder
// (off the UI loop), then match.
func matchRecordFunc(c *Common, q *query.Query, recs []core.Record) func(ctx context.Context, i int) (bool, error) {
	dec := c.Decoder
	return func(ctx context.Context, i int) (bool, error) {
		return q.MatchRecord(ctx, dec, recs[i], 0)
	}
}

// queryPane is a pane whose filter may be a jq query: queryNext starts its
// next batch, if one is due.
type queryPane interface {
	queryNext() tea.Cmd
}

// queryVerdicts is queryRun for a list whose rows come and go with its
// refreshes (messages, pending): verdicts are kept by id, so a refresh
// only evaluates the rows that are new.
type queryVerdicts struct {
	queryRun
	judged map[string]bool
	batch  []string // the ids of the batch on its way
}

func (v *queryVerdicts) reset() {
	v.queryRun.reset()
	v.judged = nil
}

// matched is the verdict on id (false until judged).
func (v *queryVerdicts) matched(id string) bool { return v.judged[id] }

// unjudged counts the ids without a verdict.
func (v *queryVerdicts) unjudged(ids []string) int {
	n := 0
	for _, id := range ids {
		if _, ok := v.judged[id]; !ok {
			n++
		}
	}
	return n
}

// rowsChanged keeps the verdicts of the ids still listed and cancels the
// batch on its way (its rows may be gone).
func (v *queryVerdicts) rowsChanged(ids []string) {
	keep := map[string]bool{}
	for _, id := range ids {
		if ok, seen := v.judged[id]; seen {
			keep[id] = ok
		}
	}
	v.judged = keep
	v.restart()
}

// next evaluates up to queryBatchMax unjudged rows off the UI loop; eval
// judges row i of ids (it runs off the loop: it must not read the pane).
func (v *queryVerdicts) next(c *Common, q *query.Query, ids []string, eval func(ctx context.Context, i int) (bool, error)) tea.Cmd {
	if q == nil || v.busy {
		return nil
	}
	var pick []int
	v.batch = v.batch[:0]
	for i, id := range ids {
		if _, ok := v.judged[id]; !ok && len(pick) < queryBatchMax {
			pick = append(pick, i)
			v.batch = append(v.batch, id)
		}
	}
	if len(pick) == 0 {
		return nil
	}
	return v.start(c, q, 0, len(pick), func(ctx context.Context, i int) (bool, error) { return eval(ctx, pick[i]) })
}

// take records a batch's answer; fresh is false when it was stale.
func (v *queryVerdicts) take(msg queryBatchMsg) (fresh bool, status tea.Cmd) {
	fresh, status = v.done(msg)
	if !fresh {
		return false, status
	}
	if v.judged == nil {
		v.judged = map[string]bool{}
	}
	for i, ok := range msg.ok {
		v.judged[v.batch[i]] = ok
	}
	return true, status
}

// set records a verdict found elsewhere (a search's matches).
func (v *queryVerdicts) set(id string, ok bool) {
	if v.judged == nil {
		v.judged = map[string]bool{}
	}
	v.judged[id] = ok
}
