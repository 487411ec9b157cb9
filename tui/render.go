package tui

import (
	"sort"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// fit pads or truncates s (which may hold styles) to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-sw)
}

// trunc cuts s to at most w cells.
func trunc(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		return ansi.Truncate(s, w, "…")
	}
	return s
}

// box draws a framed pane of exactly w×h cells with the title in the top
// border. content lines beyond h-2 are dropped; each line is fitted.
func box(st Styles, title string, content []string, w, h int, focused bool) string {
	if w < 4 || h < 2 {
		return ""
	}
	b := st.Border
	frame, tstyle := st.Frame, st.Title
	if focused {
		frame, tstyle = st.FrameFocus, st.TitleFocus
	}
	inner := w - 2
	var sb strings.Builder
	t := trunc(" "+title+" ", inner-1)
	top := b.TopLeft + b.Top
	rest := inner - 1 - ansi.StringWidth(t)
	if rest < 0 {
		rest = 0
	}
	sb.WriteString(frame.Render(top) + tstyle.Render(t) + frame.Render(strings.Repeat(b.Top, rest)+b.TopRight))
	for i := 0; i < h-2; i++ {
		line := ""
		if i < len(content) {
			line = content[i]
		}
		sb.WriteByte('\n')
		sb.WriteString(frame.Render(b.Left) + fit(line, inner) + frame.Render(b.Right))
	}
	sb.WriteByte('\n')
	sb.WriteString(frame.Render(b.BottomLeft + strings.Repeat(b.Bottom, inner) + b.BottomRight))
	return sb.String()
}

// column of a table.
type column struct {
	title string
	width int // 0 = flexible (takes what is left)
	right bool
	min   int // least width of a flexible column (default 8)
	drop  int // when space is short, the highest rank is dropped first
}

// layoutColumns resolves flexible widths for a total width. When the
// columns do not fit, those with the highest drop rank go first (0 = never
// dropped); without ranks, from the right (the first column always stays).
func layoutColumns(cols []column, total int) []column {
	keep := append([]column(nil), cols...)
	need := func(cs []column) int {
		n := 0
		for i, c := range cs {
			if i > 0 {
				n++
			}
			if c.width == 0 {
				n += c.minWidth()
			} else {
				n += c.width
			}
		}
		return n
	}
	for len(keep) > 1 && need(keep) > total {
		victim, rank := -1, 0
		for i, c := range keep {
			if c.drop > rank {
				victim, rank = i, c.drop
			}
		}
		if victim < 0 {
			victim = len(keep) - 1
		}
		keep = append(keep[:victim], keep[victim+1:]...)
	}
	extra := total - need(keep)
	flex := 0
	for _, c := range keep {
		if c.width == 0 {
			flex++
		}
	}
	for i := range keep {
		if keep[i].width == 0 {
			keep[i].width = keep[i].minWidth()
			if flex > 0 && extra > 0 {
				add := extra / flex
				keep[i].width += add
				extra -= add
				flex--
			}
		}
	}
	if extra > 0 && len(keep) > 0 {
		keep[0].width += extra // widen the first column so rows fill the pane
	}
	return keep
}

func (c column) minWidth() int {
	if c.min > 0 {
		return c.min
	}
	return 8
}

// row formats cells (matched to cols by title order of the originals).
func row(cols []column, cells map[string]string) string {
	var sb strings.Builder
	for i, c := range cols {
		if i > 0 {
			sb.WriteByte(' ')
		}
		v := cells[c.title]
		if c.right {
			v = trunc(v, c.width)
			sb.WriteString(strings.Repeat(" ", c.width-ansi.StringWidth(v)) + v)
		} else {
			sb.WriteString(fit(v, c.width))
		}
	}
	return sb.String()
}

func headerRow(cols []column) string {
	cells := map[string]string{}
	for _, c := range cols {
		cells[c.title] = c.title
	}
	return row(cols, cells)
}

// listState is a cursor over keyed rows: the selection follows its key
// across refreshes, and multi-selection is by key.
type listState struct {
	cursor, offset, height int
	keys                   []string
	marked                 map[string]bool
	diffMark               string // the key marked for a diff, shown "= " (diff.go)
}

func (l *listState) selectedKey() string {
	if l.cursor >= 0 && l.cursor < len(l.keys) {
		return l.keys[l.cursor]
	}
	return ""
}

// setKeys replaces the rows, keeping the cursor on the same key when it is
// still there, and dropping marks of rows that went away.
func (l *listState) setKeys(keys []string) {
	prev := l.selectedKey()
	l.keys = keys
	if prev != "" {
		for i, k := range keys {
			if k == prev {
				l.cursor = i
				break
			}
		}
	}
	if len(l.marked) > 0 {
		have := make(map[string]bool, len(keys))
		for _, k := range keys {
			have[k] = true
		}
		for k := range l.marked {
			if !have[k] {
				delete(l.marked, k)
			}
		}
	}
	l.clamp()
}

func (l *listState) clamp() {
	if l.cursor >= len(l.keys) {
		l.cursor = len(l.keys) - 1
	}
	if l.cursor < 0 {
		l.cursor = 0
	}
	h := l.height
	if h < 1 {
		h = 1
	}
	if l.cursor < l.offset {
		l.offset = l.cursor
	}
	if l.cursor >= l.offset+h {
		l.offset = l.cursor - h + 1
	}
	if max := len(l.keys) - h; l.offset > max {
		l.offset = max
	}
	if l.offset < 0 {
		l.offset = 0
	}
}

// selectKey moves the cursor to the row with key k, if it is shown.
func (l *listState) selectKey(k string) bool {
	for i, key := range l.keys {
		if key == k {
			l.cursor = i
			l.clamp()
			return true
		}
	}
	return false
}

func (l *listState) move(d int) { l.cursor += d; l.clamp() }
func (l *listState) top()       { l.cursor = 0; l.clamp() }
func (l *listState) bottom()    { l.cursor = len(l.keys) - 1; l.clamp() }
func (l *listState) page(d int) {
	h := l.height
	if h < 1 {
		h = 1
	}
	l.move(d * h)
}

func (l *listState) toggleMark() {
	k := l.selectedKey()
	if k == "" {
		return
	}
	if l.marked == nil {
		l.marked = map[string]bool{}
	}
	if l.marked[k] {
		delete(l.marked, k)
	} else {
		l.marked[k] = true
	}
}

func (l *listState) markAll() {
	if l.marked == nil {
		l.marked = map[string]bool{}
	}
	if len(l.marked) == len(l.keys) {
		l.marked = map[string]bool{}
		return
	}
	for _, k := range l.keys {
		l.marked[k] = true
	}
}

// selection is the marked keys in row order, or the cursor's key.
func (l *listState) selection() []string {
	var out []string
	for _, k := range l.keys {
		if l.marked[k] {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		if k := l.selectedKey(); k != "" {
			out = []string{k}
		}
	}
	return out
}

// handleNav applies a navigation key; it reports whether it was one.
func (l *listState) handleNav(k KeyMap, msg keyMsg) bool {
	switch {
	case matches(msg, k.Up):
		l.move(-1)
	case matches(msg, k.Down):
		l.move(1)
	case matches(msg, k.PageUp):
		l.page(-1)
	case matches(msg, k.PageDown):
		l.page(1)
	case matches(msg, k.Top):
		l.top()
	case matches(msg, k.Bottom):
		l.bottom()
	default:
		return false
	}
	return true
}

// visible reports whether row i is on screen: panes format only those.
func (l *listState) visible(i int) bool { return i >= l.offset && i < l.offset+l.height }

// renderRows styles the visible rows: cursor, marks. rows holds formatted
// text only for the visible indices.
func (l *listState) renderRows(st Styles, rows []string, width int, focused bool, styleOf func(i int) *lipglossStyle) []string {
	// a terminal a few rows high leaves a pane no room for rows
	out := make([]string, 0, max(l.height, 0))
	end := l.offset + l.height
	if end > len(rows) {
		end = len(rows)
	}
	if end > len(l.keys) {
		end = len(l.keys) // rows and keys out of step must not panic
	}
	for i := l.offset; i < end; i++ {
		mark := "  "
		if l.marked[l.keys[i]] {
			mark = st.Mark
		} else if l.diffMark != "" && l.keys[i] == l.diffMark {
			mark = "= " // marked for a diff
		} else if i == l.cursor && !focused {
			mark = "> " // where the selection is, in a pane without focus
		}
		line := fit(mark+rows[i], width)
		switch {
		case i == l.cursor && focused:
			line = st.Cursor.Render(line)
		case i == l.cursor:
			line = st.CursorBlur.Render(line)
		case l.marked[l.keys[i]]:
			line = st.Marked.Render(line)
		default:
			if s := styleOf(i); s != nil {
				line = s.Render(line)
			}
		}
		out = append(out, line)
	}
	return out
}

func sortStrings(s []string) { sort.Strings(s) }
