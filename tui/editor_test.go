package tui

import (
	"os"
	"path/filepath"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// TestFlowEditorPayload: ctrl+e in the publish dialog runs $VISUAL on the
// payload (tea.ExecProcess) and the edited text is what gets published.
func TestFlowEditorPayload(t *testing.T) {
	script := filepath.Join(t.TempDir(), "ed.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '{\"edited\":true}' > \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VISUAL", script)
	cfg := redisConfig(t, false)
	cl := newClient(t, cfg)
	topic := redisTopic(t, cl, 1)

	f := startFlow(t, Options{Contexts: []string{"r"}, Initial: "r", Open: openerFor(cfg)})
	f.waitScreen("connected", "connected", topic)
	f.command("publish " + topic)
	f.waitScreen("publish dialog", "Publish", "payload")
	// the dialog starts on the payload when the topic is given
	f.tm.Send(tea.KeyPressMsg{Code: 'e', Mod: tea.ModCtrl})
	f.waitModel("edited payload in the dialog", func(m *Model) bool {
		d, ok := m.topDialog().(*formDialog)
		return ok && d.val("payload") == `{"edited":true}`
	})
	f.key("ctrl+s")
	f.waitStatus("published", "publish to "+topic+": 1/1 done")
	if last := browseLast(t, cl.Operator(), topic); string(last.Data) != `{"edited":true}` {
		t.Errorf("published %q", last.Data)
	}
}
