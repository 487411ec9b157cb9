package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

type keyMsg = tea.KeyPressMsg

type lipglossStyle = lipgloss.Style

func matches(msg keyMsg, b Binding) bool { return key.Matches(msg, b.Binding) }
