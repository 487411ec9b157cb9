package tui

// The `:` command line.

import (
	"errors"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
)

func (m *Model) command(line string) tea.Cmd {
	name, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case "":
		return nil
	case "q", "quit", "q!":
		return m.quit()
	case "ctx", "context":
		if arg == "" {
			m.setStatus("contexts: " + strings.Join(m.o.Contexts, ", "))
			return nil
		}
		known := len(m.o.Contexts) == 0
		for _, c := range m.o.Contexts {
			known = known || c == arg
		}
		if !known {
			m.setErr(fmt.Errorf("no context %q (have %s)", arg, strings.Join(m.o.Contexts, ", ")))
			return nil
		}
		m.tail.stop()
		m.focus = paneTopics // the new context starts where its story does
		m.closeInspector()
		m.setStatus("connecting to " + arg + "…")
		return m.connect(arg)
	case "topic":
		if t, ok := m.topics.byName(arg); ok {
			m.topics.list.selectKey(t.Name) // Topics shows where the operator is
			return m.drillTopic(t)
		}
		if arg == "" {
			m.setErr(errors.New(":topic needs a name"))
			return nil
		}
		return m.drillTopic(core.TopicInfo{Name: arg})
	case "tail":
		return dispatch(m.com, act(m.com.Keys.TailTopic, needNothing, func() tea.Cmd { return m.tailCommand(arg) }), nil)
	case "dlq":
		topic := arg
		if topic == "" {
			topic = m.groups.Topic()
		}
		if topic == "" {
			if t, ok := m.topics.selected(); ok {
				topic = t.Name
			}
		}
		if topic == "" {
			m.setErr(errors.New(":dlq needs a topic (select one or :dlq TOPIC)"))
			return nil
		}
		m.showInSlot3(m.messages)
		return m.messages.setTopic(dlqOf(m.com, topic), true)
	case "query":
		return m.savedQueryCommand(arg)
	case "save-query":
		return m.saveQueryCommand(arg)
	case "publish", "pub":
		return dispatch(m.com, opens(m.com.Keys.Publish, needNothing, func() dialog { return newPublishDialog(m.com, arg, nil, nil) }), nil)
	}
	m.setErr(fmt.Errorf("unknown command %q (ctx, topic, tail, dlq, publish, q)", name))
	return nil
}

// tailCommand runs `:tail PATTERN [FROM]`.
func (m *Model) tailCommand(arg string) tea.Cmd {
	pattern, pos, _ := strings.Cut(arg, " ")
	if pattern == "" {
		m.setErr(errors.New(":tail needs a topic or pattern (and optionally a start: last:50, -5m, all)"))
		return nil
	}
	from := core.StartNew()
	if pos = strings.TrimSpace(pos); pos != "" {
		p, err := core.ParsePosition(pos, m.com.Now())
		if err != nil {
			m.setErr(err)
			return nil
		}
		from = p
	}
	m.customTail = true
	m.focus = paneTail
	return m.tail.startFrom(pattern, from)
}

// savedQueryCommand is :query NAME (apply a saved filter to the focused
// pane) and :query (list them).
func (m *Model) savedQueryCommand(name string) tea.Cmd {
	names := m.com.queryNames()
	if name == "" {
		if len(names) == 0 {
			m.setStatus("no saved queries: [contexts.X.queries] in the config, or :save-query NAME")
			return nil
		}
		m.setStatus("saved queries: " + strings.Join(names, ", ") + " (:query NAME, or / then tab)")
		return nil
	}
	text, ok := m.com.Queries[name]
	if !ok {
		m.setErr(fmt.Errorf("no saved query %q (have %s)", name, strings.Join(names, ", ")))
		return nil
	}
	f, err := ParseFilter(text)
	if err != nil {
		m.setErr(fmt.Errorf("saved query %s: %w", name, err))
		return nil
	}
	m.setStatus("query " + name + ": " + text)
	return m.setFilter(f, true)
}

// saveQueryCommand is :save-query NAME: the focused pane's filter, kept
// for this context.
func (m *Model) saveQueryCommand(name string) tea.Cmd {
	f := m.panes[m.focus].Filter()
	switch {
	case !validQueryName(name):
		m.setErr(errors.New(":save-query needs a NAME (one word) and saves the focused pane's filter"))
		return nil
	case f.Empty():
		m.setErr(errors.New(":save-query: the focused pane has no filter to save (/ sets one)"))
		return nil
	case m.ctxName == "":
		m.setErr(errors.New(":save-query: not connected"))
		return nil
	}
	if m.com.Queries == nil {
		m.com.Queries = map[string]string{}
	}
	m.com.Queries[name] = f.Raw
	return saveQuery(m.o.QueriesFile, m.ctxName, name, f.Raw)
}
