package tui

import (
	"fmt"
	"strings"

	"github.com/mqscope/mqscope/core"
)

// keySection is one "Where" of the keys table.
type keySection struct {
	title string
	bs    []Binding
}

// keySections are the keys of every pane, read from the same action
// tables the console dispatches on and draws its footer and help from.
func keySections() []keySection {
	c := newCommon(Options{})
	k := c.Keys
	dlq := newMessagesPane(c)
	dlq.setTopic("t"+c.DLQSuffix, true)
	in := newInspector(c, core.Record{}, inspectMeta{})
	return []keySection{
		{"Everywhere", k.globalBindings()},
		{"Lists", []Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Back}},
		{"Topics", tableBindings(newTopicsPane(c))},
		{"Groups", tableBindings(newGroupsPane(c))},
		{"Pending", tableBindings(newPendingPane(c))},
		{"Messages", tableBindings(newMessagesPane(c))},
		{"DLQ", tableBindings(dlq)},
		{"Tail", tableBindings(newTailPane(c, 1))},
		{"Inspector", tableBindings(in)},
	}
}

// tableBindings are an actor's runnable actions (navigation it only shows
// is in the Lists section).
func tableBindings(a actor) []Binding {
	var bs []Binding
	for _, x := range a.Actions() {
		if x.runnable() {
			bs = append(bs, x.Binding)
		}
	}
	return bs
}

// KeysMarkdown is the keys table (for the README), built from the action
// tables so it cannot drift from what the console does.
func KeysMarkdown() string {
	var sb strings.Builder
	sb.WriteString("| Where | Key | Action |\n|---|---|---|\n")
	for _, s := range keySections() {
		for _, b := range s.bs {
			h := b.Help()
			desc := h.Desc
			if b.Mutating || (b.Op != "" && b.Op.Mutating()) {
				desc += " (disabled in read-only mode)"
			} else if b.Op != "" {
				desc += " (needs " + string(b.Op) + ")"
			}
			fmt.Fprintf(&sb, "| %s | `%s` | %s |\n", s.title, strings.Join(b.Keys(), "`, `"), desc)
		}
	}
	sb.WriteString("\nThe inspector also offers every action of the pane it was opened from (Pending, Messages, DLQ, Tail) on its one message.\n")
	sb.WriteString("Commands: `:ctx NAME`, `:topic NAME`, `:tail PATTERN [FROM]` (FROM: `last:50`, `-5m`, `all`, `id:…`), `:dlq [TOPIC]`, `:publish [TOPIC]`, `:query [NAME]` (apply a saved query; alone: list them), `:save-query NAME` (save the focused pane's filter for this context), `:q`.\n")
	sb.WriteString("Filters (`/`): text, `re:REGEX` or `/REGEX/`, `field=value` on JSON payloads (dotted paths), `jq:EXPR` on the tail, messages and pending panes (the decoded payload as `.`, `$headers`, `$meta`; evaluated off the UI loop with a 50ms budget a message). In the filter line `tab`/`shift+tab` cycle the context's saved queries. In Messages/DLQ, `S` searches the topic's history with the jq filter (newest first, up to 10 000 messages; `esc` stops, `esc` again leaves the results).\n")
	sb.WriteString("Dialogs: `tab` next field, `enter` next/OK, `ctrl+s` submit, `ctrl+e` payload in `$VISUAL`/`$EDITOR`, `esc` cancel; confirmations `y`/`n`.\n")
	return sb.String()
}
