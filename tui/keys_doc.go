package tui

import (
	"fmt"
	"strings"
)

// KeysMarkdown is the keys table (for the README), built from
// DefaultKeyMap so it cannot drift from what the console does.
func KeysMarkdown() string {
	k := DefaultKeyMap()
	sections := []struct {
		title string
		bs    []Binding
	}{
		{"Everywhere", k.globalBindings()},
		{"Lists", []Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Enter, k.Back, k.Select, k.SelectAll}},
		{"Topics", []Binding{k.Publish, k.TailTopic, k.Browse, k.DLQ, k.Purge}},
		{"Groups", []Binding{k.Rewind, k.DeleteGroup, k.DeleteConsumer}},
		{"Pending / messages / DLQ", []Binding{k.Ack, k.Nak, k.Term, k.Claim, k.MoveDLQ, k.Replay, k.ReplayRange, k.Redrive, k.EditResend, k.NextPage, k.FirstPage}},
		{"Tail", []Binding{k.TailPause, k.TailFollow, k.TailWrap, k.TailTime, k.TailClear, k.TailSave}},
		{"Inspector", []Binding{k.CopyPayload, k.CopyID, k.EditResend}},
	}
	var sb strings.Builder
	sb.WriteString("| Where | Key | Action |\n|---|---|---|\n")
	for _, s := range sections {
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
	sb.WriteString("\nCommands: `:ctx NAME`, `:topic NAME`, `:tail PATTERN [FROM]` (FROM: `last:50`, `-5m`, `all`, `id:…`), `:dlq [TOPIC]`, `:publish [TOPIC]`, `:q`.\n")
	sb.WriteString("Filters (`/`): text, `re:REGEX` or `/REGEX/`, `field=value` on JSON payloads (dotted paths).\n")
	sb.WriteString("Dialogs: `tab` next field, `enter` next/OK, `ctrl+s` submit, `ctrl+e` payload in `$VISUAL`/`$EDITOR`, `esc` cancel; confirmations `y`/`n`.\n")
	return sb.String()
}
