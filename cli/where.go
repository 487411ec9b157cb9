package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
	"github.com/mqscope/mqscope/core/query"
)

// defaultScan is how many stored messages browse --where examines unless
// --scan says otherwise: a search of history is bounded.
const defaultScan = 10000

// where is a compiled --where: it keeps the messages the query matches and
// counts what it could not judge.
type where struct {
	q     *query.Query
	dec   decode.Decoder
	stats query.Stats
}

// whereFlags adds --where and, where history is searched, --scan.
func whereFlags(f *pflag.FlagSet, expr *string, scan *int) {
	f.StringVar(expr, "where", "", "only messages the jq expression `EXPR` matches (.: payload, $headers, $meta)")
	if scan != nil {
		f.IntVar(scan, "scan", defaultScan, "with --where: examine at most `N` stored messages (0 = no bound)")
	}
}

// compileWhere reads --where; a bad expression is a usage error (exit 2).
func (a *app) compileWhere(expr string) (*where, error) {
	if expr == "" {
		return nil, nil
	}
	q, err := query.Compile(expr)
	if err != nil {
		return nil, usageErr("--where: %w", err)
	}
	return &where{q: q, dec: a.decoder(), stats: query.Stats{Budget: q.Budget()}}, nil
}

// keep reports whether rec matches (deliveries where known, else 0).
func (w *where) keep(ctx context.Context, rec core.Record, deliveries int) bool {
	ok, err := w.q.MatchRecord(ctx, w.dec, rec, deliveries)
	w.stats.Add(ok, err)
	return ok
}

// report says on stderr what the query could not judge, if anything.
func (w *where) report(stderr io.Writer) {
	if w == nil {
		return
	}
	if p := w.stats.Problem(); p != "" {
		fmt.Fprintln(stderr, "mqscope:", p)
	}
}

// progress draws "searching 3400/10000 · 2 matches" on stderr when it is a
// terminal, at most every 100ms; Done ends the line.
type progress struct {
	w    io.Writer
	tty  bool
	last time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) show(examined, scan, matched int) {
	if !p.tty || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\rsearching %d/%d · %d matches · ctrl-c to stop ", examined, scan, matched)
}

func (p *progress) done() {
	if p.tty && !p.last.IsZero() {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
