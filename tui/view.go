package tui

// Layout and drawing: the header, the panes (wide or tabbed), the status
// line.

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mqscope/mqscope/core"
)

// wide reports whether all four panes fit at once.
func (m *Model) wide() bool { return m.w >= 100 && m.h >= 30 }

// bodyHeight is what is left under the header and above status + footer.
func (m *Model) bodyHeight() int {
	h := m.h - 3
	if h < 3 {
		h = 3
	}
	return h
}

func (m *Model) layout() {
	bh := m.bodyHeight()
	if m.wide() {
		lw := m.w * 2 / 5
		rw := m.w - lw
		th := bh / 2
		bt := bh - th
		m.topics.SetSize(lw-2, th-2)
		m.groups.SetSize(rw-2, th-2)
		m.pending.SetSize(lw-2, bt-2)
		m.messages.SetSize(lw-2, bt-2)
		m.tail.SetSize(rw-2, bt-2)
	} else {
		for _, p := range m.allPanes() {
			p.SetSize(m.w-2, bh-3) // a tab bar line above the pane
		}
	}
	if in := m.inspecting(); in != nil {
		in.SetSize(m.w-2, bh-2)
	}
	for _, l := range m.layers.stack {
		if l.kind == layerDiff {
			l.diff.SetSize(m.w-2, bh-2)
		}
	}
}

func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = m.com.Styles.Glyphs("mqscope · " + SanitizeString(m.ctxName))
	if m.o.Mouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	return v
}

// render is the whole screen as a string (goldens compare it).
func (m *Model) render() string {
	if m.quitting {
		return ""
	}
	lines := []string{m.headerLine()}
	body := m.body()
	lines = append(lines, body...)
	lines = append(lines, m.statusLine(), m.footerLine())
	for i, l := range lines {
		lines[i] = fit(l, m.w)
	}
	if len(lines) > m.h {
		lines = lines[:m.h]
	}
	return m.com.Styles.Glyphs(strings.Join(lines, "\n"))
}

func (m *Model) body() []string {
	st := m.com.Styles
	bh := m.bodyHeight()
	var out []string
	drawn := m.layers.drawn()
	var kind layerKind
	if drawn != nil {
		kind = drawn.kind
	}
	switch {
	case kind == layerDialog && isBoxed(drawn.dialog):
		b := drawn.dialog.(boxedDialog)
		out = strings.Split(box(st, b.Title(), b.Lines(m.w-2, bh-2), m.w, bh, true), "\n")
	case kind == layerDialog:
		d := drawn.dialog.View(m.w)
		out = strings.Split(lipgloss.Place(m.w, bh, lipgloss.Center, lipgloss.Center, d), "\n")
	case kind == layerHelp:
		out = strings.Split(box(st, "Help"+st.Dot+m.focusedTitle(), m.helpView(bh-2), m.w, bh, true), "\n")
	case kind == layerDiff:
		out = strings.Split(box(st, drawn.diff.Title(), drawn.diff.View(), m.w, bh, true), "\n")
	case kind == layerInspector:
		out = strings.Split(box(st, drawn.inspector.Title(), drawn.inspector.View(), m.w, bh, true), "\n")
	case m.wide():
		lw := m.w * 2 / 5
		rw := m.w - lw
		th := bh / 2
		bt := bh - th
		top := joinH(m.paneBox(paneTopics, lw, th), m.paneBox(paneGroups, rw, th))
		bot := joinH(m.paneBox(panePending, lw, bt), m.paneBox(paneTail, rw, bt))
		out = append(top, bot...)
	default:
		out = append([]string{m.tabBar()}, strings.Split(m.paneBoxStr(m.focus, m.w, bh-1), "\n")...)
	}
	for len(out) < bh {
		out = append(out, "")
	}
	return out[:bh]
}

func (m *Model) focusedTitle() string {
	if d := m.diffShown(); d != nil {
		return d.Title()
	}
	if m.inspecting() != nil {
		return "Inspector"
	}
	return m.panes[m.focus].Title()
}

func (m *Model) paneBoxStr(i, w, h int) string {
	return box(m.com.Styles, m.panes[i].Title(), m.panes[i].View(i == m.focus), w, h, i == m.focus)
}

func (m *Model) paneBox(i, w, h int) []string { return strings.Split(m.paneBoxStr(i, w, h), "\n") }

func joinH(a, b []string) []string {
	out := make([]string, len(a))
	for i := range a {
		out[i] = a[i]
		if i < len(b) {
			out[i] += b[i]
		}
	}
	return out
}

func (m *Model) tabBar() string {
	st := m.com.Styles
	names := []string{"1 Topics", "2 Groups", "3 Pending", "4 Tail"}
	var parts []string
	for i, n := range names {
		if i == m.focus {
			parts = append(parts, st.TitleFocus.Render("["+n+"]"))
		} else {
			parts = append(parts, st.Dim.Render(" "+n+" "))
		}
	}
	return strings.Join(parts, " ")
}

func (m *Model) headerLine() string {
	st := m.com.Styles
	parts := []string{st.HeaderKey.Render("mqscope")}
	ctx := m.ctxName
	if ctx == "" {
		ctx = "-"
	}
	parts = append(parts, "ctx "+st.Header.Render(SanitizeString(ctx)), m.stateText())
	backend := string(m.com.Caps.Driver)
	if backend == "" && m.com.Op != nil {
		backend = string(m.com.Op.Driver())
	}
	ver := m.info.Version
	if ver == "" {
		ver = m.com.Caps.ServerVersion
	}
	addr := m.serverAddress()
	// the problem badges are never cut: they sit right with demo and
	// READ-ONLY; on a narrow screen the address is cut, then the version goes
	badges := m.problemBadges()
	if m.target != nil && m.target.Demo {
		badges = append(badges, st.Badge.Render(" demo "))
	}
	if m.com.ReadOnly {
		badges = append(badges, st.BadgeRO.Render(" READ-ONLY "))
	}
	b := strings.Join(badges, " ")
	room := m.w
	if b != "" {
		room -= ansi.StringWidth(b) + 1
	}
	// the address may be cut (it comes last); the backend stays whole
	if backend != "" {
		named := append(parts, SanitizeString(strings.TrimSpace(backend+" "+ver)))
		if ver != "" && ansi.StringWidth(strings.Join(named, st.Sep)) > room {
			named = append(parts, SanitizeString(backend))
		}
		parts = named
	}
	if addr != "" {
		parts = append(parts, st.Dim.Render(SanitizeString(addr)))
	}
	line := strings.Join(parts, st.Sep)
	if b != "" {
		line = fit(line, room) + " " + b
	}
	return line
}

// problemBadges are the header's indicators of where to look: stuck groups
// across the context (Topics marks where, "! name") and refreshes failing
// (their own indicator: the status line keeps the last action's outcome).
func (m *Model) problemBadges() []string {
	st := m.com.Styles
	var out []string
	if n := m.stuckGroups(); n > 0 {
		what := fmt.Sprintf("%d stuck", n)
		if m.stuckSkipped > 0 {
			what = "≥" + what // only the first stuckScanCap topics with groups were scanned
		}
		out = append(out, st.StateBad.Render(what))
	}
	if n := len(m.refreshProblems()); n > 0 {
		what := "refresh failing"
		if n > 1 {
			what = fmt.Sprintf("%d refreshes failing", n)
		}
		out = append(out, st.StateBad.Render("! "+what+" (E)"))
	}
	return out
}

func (m *Model) stateText() string {
	st := m.com.Styles
	switch {
	case m.connecting:
		return st.StateWarn.Render(m.spin() + " connecting")
	case m.target == nil:
		return st.StateBad.Render(st.Down + " down")
	}
	switch m.info.State {
	case core.ConnConnected:
		return st.StateOK.Render(st.Up + " connected")
	case core.ConnReconnecting:
		return st.StateWarn.Render(m.spin() + " reconnecting")
	default:
		return st.StateBad.Render(st.Down + " " + m.info.State.String())
	}
}

var spinFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (m *Model) spin() string {
	if m.o.ASCII || m.com.Styles.ASCII {
		return string(`|/-\`[(m.ticks/3)%4])
	}
	return spinFrames[(m.ticks/3)%len(spinFrames)]
}

func (m *Model) busy() bool {
	if m.connecting || len(m.jobs) > 0 {
		return true
	}
	for _, p := range m.panes {
		if p.Loading() {
			return true
		}
	}
	return false
}

func (m *Model) statusLine() string {
	st := m.com.Styles
	if m.mode != inputNone {
		return m.input.View()
	}
	var left string
	if m.busy() {
		left = m.spin() + " "
	}
	for _, j := range m.jobs {
		if t := j.total.Load(); t > 1 {
			left += fmt.Sprintf("%s %d/%d  ", SanitizeString(j.label), j.done.Load(), t)
		}
	}
	if m.statusErr {
		left += st.Error.Render(m.status)
	} else {
		left += st.Info.Render(m.status)
	}
	return left
}

// serverAddress is the server the client is connected to now: a NATS
// client moves to another server of its list (or cluster) when one stops,
// so the last ServerInfo says where it is; Redis stays where it was
// dialled. Both are redacted by the backends and config.
func (m *Model) serverAddress() string {
	if m.target == nil {
		return ""
	}
	if m.info.Address != "" && m.info.State == core.ConnConnected && m.com.Op != nil && m.com.Op.Driver() != core.DriverRedisStream {
		return m.info.Address
	}
	return m.target.Address
}

// boxedDialog is a dialog drawn over the whole body in a box, like help,
// because it needs the height (the group history view).
type boxedDialog interface {
	dialog
	Title() string
	Lines(w, h int) []string
}

func isBoxed(d dialog) bool { _, ok := d.(boxedDialog); return ok }
