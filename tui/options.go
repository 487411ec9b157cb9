// Package tui is the mqscope console (Bubble Tea v2). It is one user of
// core: every broker call goes through *core.Client / *core.Operator.
package tui

import (
	"context"
	"log/slog"
	"time"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
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

	ReadOnly   bool          // refuse every mutating action (core enforces it too)
	ASCII      bool          // plain-ASCII borders (--ascii, dumb TERM)
	NoColor    bool          // NO_COLOR set
	Mouse      bool          // enable mouse (off by default: keyboard first)
	TailBuffer int           // tail ring buffer size (default 10000)
	Refresh    time.Duration // polling interval of topics/groups/pending (default 2s)
	Timeout    time.Duration // per broker call (default 5s)
	PageSize   int           // pending entries / stored messages per page (default 200)
	Theme      string        // "dark" (default), "light"
	Logger     *slog.Logger  // never the terminal; main.go points it at a file
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
	// Close releases the client and anything the context started (demo
	// workloads); nil means Client.Close.
	Close func() error
	// The context's own console settings, applied while it is open; zero
	// means the console's (Options).
	Refresh    time.Duration
	Timeout    time.Duration
	TailBuffer int
	// Decoder decodes this context's payloads; nil means
	// decode.JSONOrText.
	Decoder decode.Decoder
	// Queries are the context's saved filters by name (the config's and
	// those saved from the console, LoadSavedQueries).
	Queries map[string]string
}
