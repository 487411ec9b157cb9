package tui

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
	"github.com/mqscope/mqscope/core/history"
)

// Common is what every pane and dialog shares: styles, keys, the operator
// of the connected context and what it can do. Panes hold a pointer, so a
// context switch is seen by all of them at once.
type Common struct {
	Styles   Styles
	Keys     KeyMap
	Logger   *slog.Logger
	ReadOnly bool
	// Op is the operator of the connected context (nil while connecting).
	Op        *core.Operator
	Caps      core.Capabilities
	DLQSuffix string
	// Gen counts connections; replies of an older connection are dropped.
	Gen     uint64
	Timeout time.Duration
	// PageSize is how many pending entries or stored messages a page holds.
	PageSize int
	// Ctx is the program's context; every broker call derives from it.
	Ctx context.Context
	// Now is the clock (fixed in tests so views are deterministic).
	Now func() time.Time
	// Decoder decodes payloads of the connected context for display,
	// filters, queries and diff (decode.JSONOrText unless the context sets
	// one).
	Decoder decode.Decoder
	// ReadOnlyWhy says why the console is read-only where it is more than
	// the flag (mqscope serve: the key's role); "" means "read-only mode".
	ReadOnlyWhy string
	// Mark is the message marked for a diff (m), nil when none; it stays
	// across panes, a context switch drops it (diff.go).
	Mark *msgRef
	// Context is the name of the connected context: the key of its
	// samples in History.
	Context string
	// History is the process's sample store (shared by sessions); Trends
	// the thresholds of the connected context; Spark how far back the
	// sparklines reach.
	History *history.Store
	Trends  history.Thresholds
	Spark   time.Duration
	// Queries are the context's saved filters by name (config and console).
	Queries map[string]string
}

func newCommon(o Options) *Common {
	l := o.Logger
	if l == nil {
		l = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	t := o.Timeout
	if t <= 0 {
		t = 5 * time.Second
	}
	ps := o.PageSize
	if ps <= 0 {
		ps = defaultPageSize
	}
	hist := o.History
	if hist == nil {
		refresh := o.Refresh
		if refresh <= 0 {
			refresh = 2 * time.Second
		}
		hist = history.New(history.Config{MinGap: refresh * 3 / 4})
	}
	spark := o.Spark
	if spark <= 0 {
		spark = defaultSpark
	}
	return &Common{
		PageSize:    ps,
		Styles:      Theme(o.Theme, o.NoColor, o.ASCII),
		Keys:        DefaultKeyMap(),
		Logger:      l,
		ReadOnly:    o.ReadOnly,
		DLQSuffix:   core.DefaultDLQSuffix,
		Timeout:     t,
		Ctx:         context.Background(),
		Now:         time.Now,
		Decoder:     decode.JSONOrText,
		ReadOnlyWhy: o.ReadOnlyReason,
		Context:     o.Initial,
		History:     hist,
		Trends:      o.Trends,
		Spark:       spark,
	}
}

// call builds a tea.Cmd running fn off the UI loop with the configured
// timeout. It captures the operator and generation now, so a reply that
// arrives after a context switch is recognisably stale.
func (c *Common) call(fn func(ctx context.Context, op *core.Operator) tea.Msg) tea.Cmd {
	op, base, timeout := c.Op, c.Ctx, c.Timeout
	if op == nil {
		return func() tea.Msg { return statusMsg{err: fmt.Errorf("not connected")} }
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, timeout)
		defer cancel()
		return fn(ctx, op)
	}
}

// statusMsg puts a line in the status bar.
type statusMsg struct {
	text string
	err  error
}

func msgCmd(m tea.Msg) tea.Cmd { return func() tea.Msg { return m } }

func (c *Common) readOnlyWhy() string {
	if c.ReadOnlyWhy != "" {
		return c.ReadOnlyWhy
	}
	return "read-only mode"
}
