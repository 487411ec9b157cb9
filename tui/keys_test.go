package tui

import (
	"flag"
	"os"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	_ "github.com/charmbracelet/x/exp/golden" // defines -update

	"github.com/mqscope/mqscope/core"
)

// TestKeysDoc keeps tui/KEYS.md equal to KeysMarkdown (regenerate with
// go test ./tui -run TestKeysDoc -update).
func TestKeysDoc(t *testing.T) {
	got := "# mqscope console keys\n\n" + KeysMarkdown()
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile("KEYS.md", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("KEYS.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("KEYS.md is stale: run go test ./tui -run TestKeysDoc -update")
	}
}

// TestActionTablesDriveHelpAndDocs: the footer, the ? help and KEYS.md
// come from the same action tables: every action of the focused pane (and
// of the inspector) is in its help and in KEYS.md, and the footer shows
// the table's actions in the table's order.
func TestActionTablesDriveHelpAndDocs(t *testing.T) {
	doc := KeysMarkdown()
	m := viewModel(t, false)
	m.Update(tea.WindowSizeMsg{Width: 400, Height: 100}) // the whole footer fits
	check := func(where string) {
		help := ansi.Strip(strings.Join(m.helpLines(), "\n"))
		footer := ansi.Strip(m.footerLine())
		pos := 0
		for _, a := range m.focusedActor().Actions() {
			h := a.Help()
			if !strings.Contains(help, h.Key) || !strings.Contains(help, h.Desc) {
				t.Errorf("%s: %q %q is in the table but not in ? help", where, h.Key, h.Desc)
			}
			if a.runnable() && !strings.Contains(doc, "`"+strings.Join(a.Keys(), "`, `")+"` | "+h.Desc) {
				t.Errorf("%s: %q %q is in the table but not in KEYS.md", where, h.Key, h.Desc)
			}
			if h.Key == "↑/k" || h.Key == "↓/j" {
				continue // the footer leaves out up/down
			}
			i := strings.Index(footer[pos:], h.Key+" "+h.Desc)
			if i < 0 {
				t.Errorf("%s: footer %q lacks %q %q after position %d", where, footer, h.Key, h.Desc, pos)
				continue
			}
			pos += i
		}
	}
	for focus := 0; focus < numPanes; focus++ {
		m.focus = focus
		check(m.panes[focus].Title())
	}
	m.openInspector(core.Record{Topic: "orders", ID: "1-0"}, inspectMeta{Scope: msgScope{kind: scopePending, topic: "orders", group: "g"}})
	check("inspector")
	for _, want := range []string{"ack", "nak", "term", "claim", "move to DLQ", "replay", "edit & resend"} {
		if !strings.Contains(ansi.Strip(m.footerLine()), want) {
			t.Errorf("the inspector on a pending message does not offer %q", want)
		}
	}
}
