package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mqscope/mqscope/core"
)

// TestEditorResultReachesItsDialog: an $EDITOR result goes to the dialog
// that started the editor, not to whichever dialog is on top by then, and
// is dropped once that dialog has closed.
func TestEditorResultReachesItsDialog(t *testing.T) {
	m := viewModel(t, false)
	first := newPublishDialog(m.com, "orders", nil, []byte("one")).(*formDialog)
	m.pushDialog(first)
	second := newPublishDialog(m.com, "payments", nil, []byte("two")).(*formDialog)
	m.pushDialog(second)
	if first.layer == 0 || first.layer == second.layer {
		t.Fatalf("dialog layers %d and %d", first.layer, second.layer)
	}
	m.Update(editorDoneMsg{layer: first.layer, content: "edited"})
	if got := first.val("payload"); got != "edited" {
		t.Errorf("the dialog that asked has payload %q, want edited", got)
	}
	if got := second.val("payload"); got != "two" {
		t.Errorf("the dialog on top got the other's editor result: %q", got)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEscape}) // closes second
	m.Update(tea.KeyPressMsg{Code: tea.KeyEscape}) // closes first
	if n := m.layers.count(layerDialog); n != 0 {
		t.Fatalf("%d dialogs still open", n)
	}
	m.Update(editorDoneMsg{layer: first.layer, content: "late"}) // must not panic or reopen
	if m.layers.count(layerDialog) != 0 {
		t.Error("a late editor result reopened a dialog")
	}
}

// TestInspectorOpensUnderDialog: a message fetched while a dialog is open
// opens the inspector under the dialog, which keeps the keys.
func TestInspectorOpensUnderDialog(t *testing.T) {
	m := viewModel(t, false)
	m.pushDialog(newConfirm(m.com, "Sure?", nil, nil))
	m.openInspector(core.Record{Topic: "orders", ID: "1-0"}, inspectMeta{})
	if m.topDialog() == nil {
		t.Fatal("the inspector took the dialog's place on top")
	}
	if s := ansi.Strip(screen(t, m, 100, 30)); !strings.Contains(s, "Sure?") {
		t.Errorf("the dialog is not drawn:\n%s", s)
	}
	m.Update(tea.KeyPressMsg{Code: 'n', Text: "n"}) // the dialog's key: cancel
	if m.topDialog() != nil || m.inspecting() == nil {
		t.Errorf("after the dialog closed: dialog %v, inspector %v", m.topDialog(), m.inspecting())
	}
}
