package tui

// Keys at the root: the dialog stack, the filter/command line, help, the
// inspector, global navigation, then the focused pane.

import (
	"fmt"

	tea "charm.land/bubbletea/v2"
)

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	// 1. the top overlay sees keys first: a dialog, the filter / command
	// line, or the full help (navigation keys scroll it, any other key
	// closes it)
	switch t := m.layers.top(); m.layers.topKind() {
	case layerDialog:
		if msg.String() == "ctrl+c" {
			m.layers.remove(layerDialog)
			return nil
		}
		return m.layers.updateDialog(t, msg)
	case layerInput:
		return m.inputKey(msg)
	case layerHelp:
		m.helpKey(msg)
		return nil
	case layerDiff:
		if msg.String() == "ctrl+c" {
			return m.quit()
		}
		if matches(msg, m.com.Keys.Help) {
			m.openHelp()
		} else if t.diff.key(msg) {
			m.layers.remove(layerDiff)
		}
		return nil
	}
	k := m.com.Keys
	switch {
	case msg.String() == "ctrl+c":
		return m.quit()
	case matches(msg, k.Help):
		m.openHelp()
		return nil
	case matches(msg, k.Command):
		return m.startInput(inputCommand, "")
	case matches(msg, k.LastErrors):
		// from anywhere (the inspector too): what went wrong, in full
		m.showErrors()
		return nil
	case matches(msg, k.Filter) && m.inspecting() == nil:
		return m.startInput(inputFilter, m.panes[m.focus].Filter().Raw)
	}
	// 4. the inspector
	if in := m.inspecting(); in != nil {
		if matches(msg, k.Back) || matches(msg, k.Quit) {
			m.closeInspector()
			return nil
		}
		return pressKey(m.com, in, msg)
	}
	// 5. global navigation
	for i, b := range [numPanes]Binding{k.Pane1, k.Pane2, k.Pane3, k.Pane4} {
		if matches(msg, b) {
			m.focus = i
			return nil
		}
	}
	switch {
	case matches(msg, k.Quit):
		return m.quit()
	case matches(msg, k.NextPane):
		m.focus = (m.focus + 1) % numPanes
		return nil
	case matches(msg, k.PrevPane):
		m.focus = (m.focus + numPanes - 1) % numPanes
		return nil
	case matches(msg, k.Refresh):
		m.setStatus("refreshing…")
		return m.refreshAll()
	case matches(msg, k.Back) && m.messages.searching():
		return m.messages.stopSearch() // wherever the focus is: the status line said esc
	case matches(msg, k.Back) && m.focus == panePending && m.panes[m.focus] == m.messages && m.messages.search != nil:
		return m.messages.leaveSearch()
	case matches(msg, k.Back):
		if f := m.panes[m.focus].Filter(); !f.Empty() {
			m.panes[m.focus].SetFilter(Filter{})
			return nil
		}
		if m.focus > paneTopics && m.focus != paneTail {
			m.focus--
		}
		return nil
	}
	// 6. the focused pane: its actions, else its own keys (navigation)
	return pressKey(m.com, m.panes[m.focus], msg)
}

func (m *Model) quit() tea.Cmd {
	m.quitting = true
	m.tail.stop()
	return tea.Quit
}

func (m *Model) startInput(mode inputMode, value string) tea.Cmd {
	m.layers.remove(layerInput)
	m.layers.push(layer{kind: layerInput})
	m.mode = mode
	m.input.Reset()
	m.input.Prompt = "/"
	m.input.Placeholder = "text, re:REGEX, /REGEX/, field=value or jq:EXPR"
	if mode == inputFilter && len(m.com.Queries) > 0 {
		m.input.Placeholder += " · tab: saved queries"
	}
	if mode == inputCommand {
		m.input.Prompt = ":"
		m.input.Placeholder = "ctx NAME | topic NAME | tail PATTERN [last:N|-5m] | dlq | publish | q"
	}
	if mode == inputFilter {
		m.filterBefore = m.panes[m.focus].Filter()
	}
	m.input.SetValue(value)
	m.input.SetWidth(m.w - 4)
	return m.input.Focus()
}

func (m *Model) inputKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc", "ctrl+c":
		m.closeInput()
		return nil
	case "tab", "shift+tab":
		if m.mode != inputFilter {
			break
		}
		name, text, ok := m.com.nextSavedQuery(m.input.Value(), msg.String() == "shift+tab")
		if !ok {
			m.setStatus("no saved queries: [contexts.X.queries] in the config, or :save-query NAME")
			return nil
		}
		m.input.SetValue(text)
		m.input.CursorEnd()
		m.setStatus("saved query " + name + " (tab: next, enter: apply)")
		if f, err := ParseFilter(text); err == nil {
			return m.setFilter(f, false)
		}
		return nil
	case "enter":
		v := m.input.Value()
		mode := m.mode
		m.closeInput()
		if mode == inputFilter {
			f, err := ParseFilter(v)
			if err != nil {
				cmd := m.setFilter(m.filterBefore, false)
				m.setErr(err)
				return cmd
			}
			return m.setFilter(f, true)
		}
		return m.command(v)
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	if m.mode == inputFilter {
		// filter as you type when the expression is complete
		if f, err := ParseFilter(m.input.Value()); err == nil {
			cmd = tea.Batch(cmd, m.setFilter(f, false))
		}
	}
	return cmd
}

// setFilter applies f to the focused pane; a jq query starts evaluating
// off the UI loop, and only the message panes take one (say tells why
// another pane does not, when the operator pressed enter).
func (m *Model) setFilter(f Filter, say bool) tea.Cmd {
	p := m.panes[m.focus]
	qp, ok := p.(queryPane)
	if f.Query() != nil && !ok {
		if say {
			m.setErr(fmt.Errorf("jq queries filter messages (the tail, messages and pending panes); here use text, re:REGEX or field=value"))
		}
		return nil
	}
	p.SetFilter(f)
	if ok {
		return qp.queryNext()
	}
	return nil
}

// command runs a `:` command.

func (m *Model) closeInput() {
	m.layers.remove(layerInput)
	m.mode = inputNone
	m.input.Blur()
}

// showErrors opens what E shows: the last error in full (the status line
// may cut it), the per-item errors of the last action that had any, the
// refreshes failing now, and the context's notice.
func (m *Model) showErrors() {
	var ss []errSection
	if m.lastErr != "" {
		ss = append(ss, errSection{title: "Last error", items: []string{m.lastErr}})
	}
	if len(m.lastErrs) > 0 {
		ss = append(ss, errSection{title: "Errors of " + m.lastErrsLabel, items: m.lastErrs, numbered: true})
	}
	if ps := m.refreshProblems(); len(ps) > 0 {
		ss = append(ss, errSection{title: "Refresh failing (the panes show their last data)", items: ps})
	}
	if m.notice != "" {
		ss = append(ss, errSection{title: "Notice of " + m.ctxName, items: []string{m.notice}})
	}
	if len(ss) == 0 {
		m.setStatus("nothing to show: no error, no action has reported per-item errors, every refresh works")
		return
	}
	m.pushDialog(newReportDialog(m.com, ss))
}
