package tui

import (
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
)

// pane is the shape every pane has (STYLE.md pattern 2).
type pane interface {
	Title() string
	Update(msg tea.Msg) tea.Cmd
	View(focused bool) []string // content lines, without the frame
	SetSize(w, h int)           // content size
	actor                       // its actions table (keys, footer, help)
	SetFilter(f Filter)
	Filter() Filter
	refresh() tea.Cmd // polls its data (single-flight); nil when idle
	reset()           // forgets everything (context switch)
	Loading() bool    // a first load is on its way (the spinner shows)
	// RefreshErr is the error of the pane's last refresh (nil when it
	// succeeded): the header's refresh indicator and E list it, the status
	// line never shows it (an action's outcome stays there).
	RefreshErr() error
}

// staleNote marks the title of a pane whose last refresh failed while it
// still shows the rows of an earlier one.
func staleNote(loaded bool, err error, okAt time.Time) string {
	if !loaded || err == nil {
		return ""
	}
	return " stale since " + clock(okAt)
}

// Replies of broker calls. gen is the connection generation, req the
// pane's request id: anything not current is dropped.
type (
	connectedMsg struct {
		gen    uint64
		target *Target
		caps   core.Capabilities
		info   core.ServerInfo
		err    error
		name   string
	}
	serverInfoMsg struct {
		gen  uint64
		info core.ServerInfo
		err  error
	}
	topicsMsg struct {
		gen, req uint64
		topics   []core.TopicInfo
		err      error
	}
	groupsMsg struct {
		gen, req uint64
		groups   []core.GroupInfo
		err      error
	}
	pendingMsg struct {
		gen, req uint64
		page     core.PendingPage
		err      error
	}
	browseMsg struct {
		gen, req uint64
		page     core.BrowsePage
		err      error
	}
	recordMsg struct {
		gen  uint64
		req  uint64
		rec  core.Record
		meta inspectMeta
		err  error
	}
	tailStartedMsg struct {
		gen, req uint64
		pattern  string
		tail     *core.Tail
		err      error
	}
	actionDoneMsg struct {
		gen  uint64
		job  *job
		res  core.Result
		err  error
		next func(err error) dialog // follow-up for ErrNoStream / ErrNeedsConfirmation
	}
	savedMsg struct {
		path string
		n    int
		err  error
	}
	editorDoneMsg struct {
		layer   int
		content string
		err     error
	}
	tickMsg    struct{}
	refreshMsg struct{ gen uint64 }
)

// Requests from panes to the root model.
type (
	drillTopicMsg struct{ topic core.TopicInfo }
	drillGroupMsg struct {
		topic, group, consumer string
		info                   core.GroupInfo
	}
	inspectMsg struct {
		rec  core.Record
		meta inspectMeta
	}
	fetchInspectMsg struct {
		topic, id string
		meta      inspectMeta
	}
	browseTopicMsg struct {
		topic string
		dlq   bool
	}
	tailPatternMsg struct{ pattern string }
	pushDialogMsg  struct{ d dialog }
	focusMsg       struct{ pane int }
	// refreshNowMsg asks every pane for fresh data (after an action).
	refreshNowMsg struct{}
)

// inspectMeta is what the inspector knows besides the record: where the
// message sits (which decides its actions) and, when pending, its state.
type inspectMeta struct {
	Scope      msgScope
	Owner      string
	Deliveries int
	Idle       string
}
