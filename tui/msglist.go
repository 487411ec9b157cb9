package tui

import (
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"
)

// defaultPageSize is how many pending entries or stored messages one page
// holds (Options.PageSize overrides it).
const defaultPageSize = 200

// msgList is what the pending and messages panes share: a keyed list of
// messages with marks, the filter, the load state of one topic and the
// row actions on its selection.
type msgList struct {
	com    *Common
	w, h   int
	list   listState
	filter Filter
	topic  string

	refreshState
}

// refreshState is what a polling pane knows of its refreshes: one in
// flight (single-flight), the request number a reply must match, whether
// anything loaded, and the last error with when it last worked.
type refreshState struct {
	inflight bool
	req      uint64
	loaded   bool
	err      error
	okAt     time.Time // when the last refresh succeeded
}

// RefreshErr is the error of the last refresh.
func (r *refreshState) RefreshErr() error { return r.err }

// succeeded records a refresh that worked.
func (l *msgList) succeeded() { l.loaded, l.err, l.okAt = true, nil, l.com.Now() }

// stale is the title's note when the last refresh failed.
func (l *msgList) stale() string { return staleNote(l.loaded, l.err, l.okAt) }

func (l *msgList) SetSize(w, h int) {
	l.w, l.h = w, h
	l.list.height = h - 2 // header + note line
	l.list.clamp()
}

func (l *msgList) Filter() Filter { return l.filter }

// Loading reports a first load still on its way (the spinner shows).
func (l *msgList) Loading() bool { return l.inflight && !l.loaded }

// ClearMarks drops the selection (an action on it has run).
func (l *msgList) ClearMarks() { l.list.marked = nil }

func (l *msgList) selectedIDs() []string { return l.list.selection() }

// forget drops the rows and load state, keeping size and filter; a reply
// still on its way is stale from now on.
func (l *msgList) forget() {
	*l = msgList{com: l.com, w: l.w, h: l.h, list: listState{height: l.list.height}, filter: l.filter, topic: l.topic, refreshState: refreshState{req: l.req + 1}}
}

// begin starts a request unless one is in flight or there is nothing to ask.
func (l *msgList) begin(ready bool) (req, gen uint64, ok bool) {
	if l.inflight || l.com.Op == nil || l.topic == "" || !ready {
		return 0, 0, false
	}
	l.inflight = true
	l.req++
	return l.req, l.com.Gen, true
}

// answered takes a reply: false when it is stale.
func (l *msgList) answered(req uint64) bool {
	if req != l.req {
		return false
	}
	l.inflight = false
	return true
}

// turned is called when the pager moved: the rows stay until the new page
// arrives, the cursor and marks start over.
func (l *msgList) turned() {
	l.inflight = false
	l.list.cursor, l.list.offset, l.list.marked = 0, 0, nil
}

// titleTail is the end of both panes' titles: selection and filter.
func (l *msgList) titleTail() string {
	t := ""
	if n := len(l.list.marked); n > 0 {
		t += fmt.Sprintf(" [%d selected]", n)
	}
	if !l.filter.Empty() {
		t += " /" + SanitizeString(l.filter.Raw)
	}
	return t + markNote(l.com) + l.stale()
}

// placeholder is what shows instead of rows (nil when rows show).
func (l *msgList) placeholder(hint string) []string {
	st := l.com.Styles
	switch {
	case l.topic == "":
		return []string{st.Dim.Render(hint)}
	case !l.loaded && l.err != nil:
		return []string{st.Error.Render(trunc(SanitizeString(l.err.Error()), l.w))}
	case !l.loaded:
		return []string{st.Dim.Render("loading…")}
	}
	return nil
}

// table is the column header and the visible rows; cells gives the cells
// of the item at index idx (of the pane's own slice), empty shows when
// there are no rows.
func (l *msgList) table(focused bool, cols []column, shown []int, cells func(idx int) map[string]string, empty string) []string {
	st := l.com.Styles
	cols = layoutColumns(cols, l.w-2)
	lines := []string{st.ColHeader.Render(fit("  "+headerRow(cols), l.w))}
	if len(shown) == 0 {
		return append(lines, st.Dim.Render(trunc(empty, l.w)))
	}
	rows := make([]string, len(shown))
	for i, idx := range shown {
		if l.list.visible(i) {
			rows[i] = row(cols, cells(idx))
		}
	}
	l.list.diffMark = markedHere(l.com, l.topic)
	return append(lines, l.list.renderRows(st, rows, l.w, focused, func(int) *lipglossStyle { return nil })...)
}

// filterRows is the indices of the items that match; the list follows
// them by key.
func filterRows[T any](l *msgList, items []T, match func(T) bool, key func(T) string) []int {
	var shown []int
	var keys []string
	for i, it := range items {
		if match(it) {
			shown = append(shown, i)
			keys = append(keys, key(it))
		}
	}
	l.list.setKeys(keys)
	return shown
}

// pageMoves are ] and [ over pager g; last is what ] says on the last page.
func pageMoves[C comparable](l *msgList, g *pager[C], last string, refresh func() tea.Cmd) (next, first func() tea.Cmd) {
	next = func() tea.Cmd {
		if !g.forward() {
			return msgCmd(statusMsg{text: last})
		}
		l.turned()
		return refresh()
	}
	first = func() tea.Cmd {
		g.first()
		l.turned()
		return refresh()
	}
	return next, first
}

// listActions open, select and page; rows and extra go between.
func (l *msgList) listActions(enter func() tea.Msg, rows, extra []action, next, first func() tea.Cmd) []action {
	k := l.com.Keys
	as := []action{
		send(k.Enter, needRow, enter),
		act(k.Select, needNothing, func() tea.Cmd { l.list.toggleMark(); l.list.move(1); return nil }),
		act(k.SelectAll, needNothing, func() tea.Cmd { l.list.markAll(); return nil }),
	}
	as = append(as, rows...)
	as = append(as, extra...)
	return append(as, act(k.NextPage, needNothing, next), act(k.FirstPage, needNothing, first))
}

// topicActions act on the topic rather than on rows. rowSubject (may be
// nil) is the cursor row's subject: publish starts from it, since a
// JetStream stream's name is not a subject it captures (publishing to
// "ORDERS" fails, then offers to create another stream for it).
func (l *msgList) topicActions(rowSubject func() string) []action {
	k := l.com.Keys
	publishTo := func() string {
		if rowSubject != nil {
			if s := rowSubject(); s != "" {
				return s
			}
		}
		return l.topic
	}
	return []action{
		opens(k.ReplayRange, needTopic, func() dialog { return newReplayDialog(l.com, l.topic, nil, true) }),
		opens(k.Publish, needNothing, func() dialog { return newPublishDialog(l.com, publishTo(), nil, nil) }),
	}
}

// has answers for the selection and the topic; rowOK for the cursor row.
func (l *msgList) has(n need, rowOK func(id string) bool) bool {
	switch n {
	case needSelection:
		return len(l.selectedIDs()) > 0
	case needRow:
		return rowOK(l.list.selectedKey())
	case needTopic:
		return l.topic != ""
	}
	return true
}

// pager walks pages by the cursor the broker hands back: from is where the
// page shown starts (the zero value: the first page), next where the
// following one does (the zero value: there is none).
type pager[C comparable] struct {
	from, next C
	no         int
}

func (g *pager[C]) more() bool {
	var zero C
	return g.next != zero
}

// forward moves to the next page; false when this is the last.
func (g *pager[C]) forward() bool {
	if !g.more() {
		return false
	}
	g.from, g.no = g.next, g.no+1
	return true
}

func (g *pager[C]) first() {
	var zero C
	g.from, g.no = zero, 0
}

// title is " page N ]more" once there is more than one page.
func (g *pager[C]) title() string {
	if g.no == 0 && !g.more() {
		return ""
	}
	t := fmt.Sprintf(" page %d", g.no+1)
	if g.more() {
		t += " ]more"
	}
	return t
}
