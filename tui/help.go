package tui

// The footer (short help) and the `?` full help.

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// focusedActor is what gets action keys: the inspector when open, else
// the focused pane.
func (m *Model) focusedActor() actor {
	if d := m.diffShown(); d != nil {
		return d
	}
	if in := m.inspecting(); in != nil {
		return in
	}
	return m.panes[m.focus]
}

func (m *Model) focusedBindings() []Binding { return bindingsOf(m.focusedActor().Actions()) }

// footerLine is the short help of the focused pane; disabled actions stay
// visible, marked, so the operator knows they exist.
func (m *Model) footerLine() string {
	st := m.com.Styles
	var parts []string
	width := 0
	add := func(b Binding) bool {
		h := b.Help()
		ok, _ := b.Available(m.com)
		var s string
		if ok {
			s = st.HelpKey.Render(h.Key) + " " + st.HelpDesc.Render(h.Desc)
		} else {
			s = st.HelpOff.Render(h.Key + " " + h.Desc + st.Off)
		}
		w := ansi.StringWidth(s) + 2
		if width+w > m.w-8 {
			return false
		}
		parts = append(parts, s)
		width += w
		return true
	}
	for _, b := range m.focusedBindings() {
		if b.Help().Key == "↑/k" || b.Help().Key == "↓/j" {
			continue
		}
		if !add(b) {
			break
		}
	}
	parts = append(parts, st.HelpKey.Render("?")+" "+st.HelpDesc.Render("help"))
	return strings.Join(parts, "  ")
}

func (m *Model) helpLines() []string {
	st := m.com.Styles
	var ls []string
	sec := func(title string, bs []Binding) {
		ls = append(ls, st.ColHeader.Render(title))
		for _, b := range bs {
			h := b.Help()
			ok, reason := b.Available(m.com)
			if !ok {
				// The whole reason, wrapped: a cut one hides what to do.
				for i, l := range wrapLines(fmt.Sprintf("%-7s %s — disabled: %s", h.Key, h.Desc, SanitizeString(reason)), max(m.w-6, 40)) {
					ls = append(ls, "  "+strings.Repeat(" ", min(i, 1)*8)+st.HelpOff.Render(l))
				}
				continue
			}
			ls = append(ls, "  "+st.HelpKey.Render(fmt.Sprintf("%-7s", h.Key))+" "+h.Desc)
			if reason != "" && b.Op.Mutating() {
				// What the action does on this backend (nak on Redis touches the owner).
				for _, l := range wrapLines(SanitizeString(reason), max(m.w-16, 40)) {
					ls = append(ls, st.Dim.Render("          "+l))
				}
			}
		}
	}
	sec(m.focusedTitle(), m.focusedBindings())
	k := m.com.Keys
	sec("Moving", []Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Back})
	sec("Everywhere", k.globalBindings())
	ls = append(ls, "", st.ColHeader.Render("Commands"),
		st.Dim.Render("  :ctx NAME  :topic NAME  :dlq [TOPIC]  :publish [TOPIC]  :q"),
		st.Dim.Render("  :tail PATTERN [FROM]   FROM: last:50, -5m, all, id:ID"),
		st.Dim.Render("  :query [NAME]  :save-query NAME   saved filters of this context"),
		st.Dim.Render("Filter (/)"),
		st.Dim.Render("  text  re:REGEX  /REGEX/  field=value (JSON payloads, dotted paths)"),
		st.Dim.Render("  jq:EXPR   . payload, $headers, $meta; tail, messages, pending"),
		st.Dim.Render("  tab / S-tab cycles saved queries; S in Messages searches history"),
		"", st.Dim.Render("j/k pgup/pgdn g/G scroll this help; any other key closes it"))
	return ls
}

// helpView is the window of help lines that fits in h rows. When the help
// is longer, the last row says where the window is and how to move it, so
// every binding stays reachable on a small terminal (80×24).
func (m *Model) helpView(h int) []string {
	ls := m.helpLines()
	if h < 2 || len(ls) <= h {
		m.helpOff = 0
		return ls
	}
	rows := h - 1 // the position line
	m.helpOff = clampInt(m.helpOff, 0, len(ls)-rows)
	out := append([]string(nil), ls[m.helpOff:m.helpOff+rows]...)
	more := ""
	switch {
	case m.helpOff == 0:
		more = " - more below (j/pgdn)"
	case m.helpOff+rows >= len(ls):
		more = " - end (k/pgup for more above)"
	default:
		more = " - more above and below (j/k)"
	}
	pos := fmt.Sprintf("lines %d-%d of %d%s", m.helpOff+1, m.helpOff+rows, len(ls), more)
	return append(out, m.com.Styles.HelpKey.Render(pos))
}

// helpKey scrolls the help with navigation keys; any other key closes it.
func (m *Model) helpKey(msg tea.KeyPressMsg) {
	k := m.com.Keys
	page := m.bodyHeight() - 3
	if page < 1 {
		page = 1
	}
	switch {
	case matches(msg, k.Down):
		m.helpOff++
	case matches(msg, k.Up):
		m.helpOff--
	case matches(msg, k.PageDown), msg.String() == "space":
		m.helpOff += page
	case matches(msg, k.PageUp):
		m.helpOff -= page
	case matches(msg, k.Top):
		m.helpOff = 0
	case matches(msg, k.Bottom):
		m.helpOff = 1 << 20 // clamped when drawn
	default:
		m.layers.remove(layerHelp)
		return
	}
	if m.helpOff < 0 {
		m.helpOff = 0
	}
	if n := len(m.helpLines()); m.helpOff > n {
		m.helpOff = n
	}
}

// wrapLines wraps sanitised text at width columns, on spaces where it can.
func wrapLines(s string, width int) []string {
	return strings.Split(ansi.Wrap(s, width, " "), "\n")
}
