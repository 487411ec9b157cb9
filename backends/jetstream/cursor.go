package jetstream

import (
	"context"
	"time"

	"github.com/mqscope/mqscope/core"
)

// cursorIdle is how long a forward browse's reader stays open after a page
// for the next page to continue on it. Paging to the end (mqscope browse)
// asks for the next page at once; a reader nobody resumes is closed (an
// ordered consumer deleted) after cursorIdle.
const cursorIdle = 3 * time.Second

// cursorKey names where a parked reader continues: the same stream (its
// creation time tells a recreated one apart), filter and plan, at the
// sequence the page's Next names.
type cursorKey struct {
	stream  string
	created time.Time
	filter  string
	plan    browsePlan
	seq     uint64
}

type parkedCursor struct {
	r     pageReader
	timer *time.Timer
}

func (b *Backend) takeCursor(k cursorKey) pageReader {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.cursors[k]
	if !ok {
		return nil
	}
	delete(b.cursors, k)
	p.timer.Stop()
	return p.r
}

// parkCursor keeps r for the page starting at k.seq, or closes it when the
// backend is closed or another reader waits there already.
func (b *Backend) parkCursor(k cursorKey, r pageReader) {
	b.mu.Lock()
	if _, taken := b.cursors[k]; b.closed || taken {
		b.mu.Unlock()
		r.close()
		return
	}
	p := &parkedCursor{r: r}
	p.timer = time.AfterFunc(cursorIdle, func() {
		b.mu.Lock()
		cur, ok := b.cursors[k]
		mine := ok && cur == p
		if mine {
			delete(b.cursors, k)
		}
		b.mu.Unlock()
		if mine {
			r.close()
		}
	})
	b.cursors[k] = p
	b.mu.Unlock()
}

// closeCursors closes every parked reader (Backend.Close).
func (b *Backend) closeCursors() {
	b.mu.Lock()
	ps := b.cursors
	b.cursors = map[cursorKey]*parkedCursor{}
	b.mu.Unlock()
	for _, p := range ps {
		p.timer.Stop()
		p.r.close()
	}
}

// forwardRead reads one forward page with plan (not planGets), on the
// reader the previous page left at from when there is one.
func (o *operator) forwardRead(ctx context.Context, t target, plan browsePlan, from, last uint64, limit int, cursor bool) ([]core.Record, uint64, bool, error) {
	k := cursorKey{stream: t.streamName(), created: t.stream.CachedInfo().Created, filter: t.filter, plan: plan, seq: from}
	r := o.b.takeCursor(k)
	if r == nil {
		var err error
		switch plan {
		case planDirectBatch:
			r, err = o.newDirectReader(t, from)
		default:
			r, err = o.newOrderedReader(ctx, t, from, limit)
		}
		if err != nil {
			return nil, 0, false, err
		}
	}
	recs, err := r.read(ctx, last, limit)
	next := from
	if len(recs) > 0 {
		next = recs[len(recs)-1].Seq + 1
	}
	more := len(recs) == limit && next <= last
	if err != nil || !more || !cursor || limit < orderedMinPage {
		r.close()
		return recs, next, more, err
	}
	r.prefetch(limit)
	k.seq = next
	o.b.parkCursor(k, r)
	return recs, next, more, nil
}
