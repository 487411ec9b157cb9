package tui

import (
	"image/color"
	"strings"

	"charm.land/lipgloss/v2"
)

// Styles is every style the console uses; built once by Theme and carried
// in Common. There are no package-level styles.
type Styles struct {
	Border      lipgloss.Border
	Frame       lipgloss.Style // pane border, unfocused
	FrameFocus  lipgloss.Style // pane border, focused
	Title       lipgloss.Style
	TitleFocus  lipgloss.Style
	Header      lipgloss.Style
	HeaderKey   lipgloss.Style
	Badge       lipgloss.Style // "demo"
	BadgeRO     lipgloss.Style // READ-ONLY
	StateOK     lipgloss.Style
	StateWarn   lipgloss.Style
	StateBad    lipgloss.Style
	ColHeader   lipgloss.Style
	Row         lipgloss.Style
	Cursor      lipgloss.Style // selected row of the focused pane
	CursorBlur  lipgloss.Style // selected row of an unfocused pane
	Marked      lipgloss.Style // multi-selected
	Stuck       lipgloss.Style
	Dim         lipgloss.Style
	Error       lipgloss.Style
	Info        lipgloss.Style
	HelpKey     lipgloss.Style
	HelpDesc    lipgloss.Style
	HelpOff     lipgloss.Style // disabled binding
	Dialog      lipgloss.Style
	DialogTitle lipgloss.Style
	JSONKey     lipgloss.Style

	// Glyphs: plain ASCII with --ascii or a dumb TERM.
	Sep, Dot, Tree, Mark, Up, Down, Off string
	// ASCII: every frame goes through ASCIIGlyphs before it is drawn.
	ASCII bool
}

// asciiGlyphs maps every non-ASCII glyph the console draws (truncation
// mark, markers, arrows, tree and box lines, bullets, dashes) to one ASCII
// cell, so widths stay the same. Text of messages is not touched.
var asciiGlyphs = strings.NewReplacer(
	"…", "~", "✗", "x", "✓", "v", "●", "*", "•", "*", "·", "-", "—", "-", "×", "x",
	"↑", "^", "↓", "v", "←", "<", "→", ">", "▸", ">",
	"└", "`", "│", "|", "┃", "|", "─", "-", "╭", "+", "╮", "+", "╰", "+", "╯", "+",
	"┌", "+", "┐", "+", "┘", "+", "├", "+", "┤", "+",
)

// Glyphs returns s with the console's glyphs made ASCII in ASCII mode.
func (st Styles) Glyphs(s string) string {
	if !st.ASCII {
		return s
	}
	return asciiGlyphs.Replace(s)
}

// Theme builds the styles. With noColor no colour is set at all (bold,
// reverse and faint carry the meaning); ascii swaps the borders. Colours are
// written as true colour and Bubble Tea downsamples them to the terminal's
// profile.
func Theme(name string, noColor, ascii bool) Styles {
	var (
		accent, fg, dim, warn, bad, ok, badgeBG, keyc color.Color
	)
	if name == "light" {
		accent, fg, dim = lipgloss.Color("#5a3fd6"), lipgloss.Color("#1c1c1c"), lipgloss.Color("#767676")
		warn, bad, ok = lipgloss.Color("#a15c00"), lipgloss.Color("#c0152f"), lipgloss.Color("#1a7f37")
		badgeBG, keyc = lipgloss.Color("#d7d0ff"), lipgloss.Color("#005f87")
	} else {
		accent, fg, dim = lipgloss.Color("#8f7cff"), lipgloss.Color("#dadada"), lipgloss.Color("#808080")
		warn, bad, ok = lipgloss.Color("#ffaf00"), lipgloss.Color("#ff5f5f"), lipgloss.Color("#5fd75f")
		badgeBG, keyc = lipgloss.Color("#3a2f80"), lipgloss.Color("#5fafff")
	}
	c := func(s lipgloss.Style, col color.Color) lipgloss.Style {
		if noColor {
			return s
		}
		return s.Foreground(col)
	}
	bg := func(s lipgloss.Style, col color.Color) lipgloss.Style {
		if noColor {
			return s.Reverse(true)
		}
		return s.Background(col)
	}
	n := lipgloss.NewStyle
	st := Styles{
		Border:      lipgloss.RoundedBorder(),
		Frame:       c(n(), dim),
		FrameFocus:  c(n().Bold(true), accent),
		Title:       c(n(), fg),
		TitleFocus:  c(n().Bold(true), accent),
		Header:      c(n(), fg),
		HeaderKey:   c(n().Bold(true), accent),
		Badge:       bg(c(n().Bold(true), fg), badgeBG),
		BadgeRO:     bg(c(n().Bold(true), lipgloss.Color("#000000")), warn),
		StateOK:     c(n(), ok),
		StateWarn:   c(n().Bold(true), warn),
		StateBad:    c(n().Bold(true), bad),
		ColHeader:   c(n().Bold(true), dim),
		Row:         c(n(), fg),
		Cursor:      n().Reverse(true).Bold(true),
		CursorBlur:  n().Bold(true),
		Marked:      c(n().Bold(true), keyc),
		Stuck:       c(n().Bold(true), bad),
		Dim:         c(n(), dim),
		Error:       c(n().Bold(true), bad),
		Info:        c(n(), ok),
		HelpKey:     c(n().Bold(true), keyc),
		HelpDesc:    c(n(), dim),
		HelpOff:     c(n().Strikethrough(false).Faint(true), dim),
		DialogTitle: c(n().Bold(true), accent),
		JSONKey:     c(n(), keyc),
	}
	if noColor {
		st.Frame = n()
		st.HelpOff = n().Faint(true)
		st.Dim = n().Faint(true)
	}
	st.Sep, st.Dot, st.Tree, st.Mark, st.Up, st.Down, st.Off = " │ ", " · ", " └ ", "● ", "●", "✗", "✗"
	if ascii {
		st.ASCII = true
		st.Border = lipgloss.ASCIIBorder()
		st.Sep, st.Dot, st.Tree, st.Mark, st.Up, st.Down, st.Off = " | ", " - ", " `-", "* ", "*", "x", "(x)"
	}
	st.Dialog = c(n().Border(st.Border).Padding(0, 1), accent)
	if noColor {
		st.Dialog = n().Border(st.Border).Padding(0, 1)
	}
	return st
}
