// Package tui is the mqscope console (Bubble Tea v2). It is one user of
// core: every broker call goes through *core.Client / *core.Operator.
package tui

import (
	"context"
	"log/slog"
	"time"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
	"github.com/mqscope/mqscope/core/history"
)

// Options is everything main.go hands the console.
type Options struct {
	// Contexts names the contexts `:ctx NAME` can switch to, in display order.
	Contexts []string
	// Initial is the context opened at start.
	Initial string
	// Open connects a context. The console calls it off the UI loop and owns
	// the returned client until it switches away (then it calls Close).
	Open func(ctx context.Context, name string) (*Target, error)

	ReadOnly bool // refuse every mutating action (core enforces it too)
	// ReadOnlyReason is why, where it is more than the flag (mqscope serve:
	// "your key's role is viewer"); "" means "read-only mode".
	ReadOnlyReason string
	ASCII          bool          // plain-ASCII borders (--ascii, dumb TERM)
	NoColor        bool          // NO_COLOR set
	Mouse          bool          // enable mouse (off by default: keyboard first)
	TailBuffer     int           // tail ring buffer size (default 10000)
	Refresh        time.Duration // polling interval of topics/groups/pending (default 2s)
	Timeout        time.Duration // per broker call (default 5s)
	PageSize       int           // pending entries / stored messages per page (default 200)
	Theme          string        // "dark" (default), "light"
	Logger         *slog.Logger  // never the terminal; main.go points it at a file

	// History keeps the samples of every context's refreshes for the
	// sparklines, the group history view and the trend signals. One store
	// per process, shared by every console session (mqscope serve): it is
	// keyed by context name and drops a sample closer than its MinGap to
	// the previous one. nil: the console makes its own, in memory.
	History *history.Store
	// Trends are the signal thresholds (a context's own override them).
	Trends history.Thresholds
	// Spark is how far back the sparklines reach (default 10m).
	Spark time.Duration
	// QueriesFile is where :save-query keeps queries ("" = nowhere).
	QueriesFile string
}

// Target is one connected context.
type Target struct {
	Name    string
	Client  *core.Client
	Address string // shown in the header
	Demo    bool   // the header says "demo"
	// Notice says what opening the context did that the operator did not
	// ask for (a JetStream URL opened as NATS Core); shown on connect.
	Notice string
	// Operator, when set, is the view of Client the console acts through
	// (a shared client's per-session view: its own audit attrs and
	// read-only flag); nil means Client.Operator().
	Operator *core.Operator
	// Close releases the client and anything the context started (demo
	// workloads); nil means Client.Close. For a shared client it only
	// releases this console's reference.
	Close func() error
	// The context's own console settings, applied while it is open; zero
	// means the console's (Options).
	Refresh    time.Duration
	Timeout    time.Duration
	TailBuffer int
	// Decoder decodes this context's payloads; nil means
	// decode.JSONOrText.
	Decoder decode.Decoder
	// Trends are this context's signal thresholds; zero fields mean the
	// console's (Options.Trends).
	Trends history.Thresholds
	// Queries are the context's saved filters by name (the config's and
	// those saved from the console, LoadSavedQueries).
	Queries map[string]string
}

// operator is the view the console acts through.
func (t *Target) operator() *core.Operator {
	if t.Operator != nil {
		return t.Operator
	}
	return t.Client.Operator()
}
