package tui

import (
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
)

// TestFlowBulkErrorsViewable: a bulk ack where one message was acked by
// someone else meanwhile reports that item's error; after the action E
// shows the per-item errors in full, not only the status line.
func TestFlowBulkErrorsViewable(t *testing.T) {
	t.Parallel()
	_, cl, topic, f := jetStreamPendingFlow(t, "bulk", 3, 10*time.Second)
	op := cl.Operator()
	f.key("E")
	f.waitStatus("nothing to show yet", "no action has reported per-item errors")
	f.tm.Send(tea.KeyPressMsg{Code: 'a', Mod: tea.ModCtrl}) // select all
	f.waitModel("3 selected", func(m *Model) bool { return len(m.pending.list.marked) == 3 })
	f.key("a")
	f.waitScreen("ack confirm", "Ack 3 messages in "+topic+" / billing?")
	// meanwhile someone else acks the first one
	if r, err := op.Ack(context.Background(), core.ActionRequest{Topic: topic, Group: "billing", IDs: []string{"1"}}); err != nil || r.Done != 1 {
		t.Fatalf("external ack: %+v %v", r, err)
	}
	f.key("y")
	f.waitStatus("ack done with an item error", "E shows 1 error")
	f.key("E")
	f.waitScreen("errors dialog", "Errors of ack: 2/3 done, 1 skipped", "1. sequence 1 is not pending: it is at or below consumer")
	f.key("esc")
	f.waitModel("dialog closed", func(m *Model) bool { return m.layers.count(layerDialog) == 0 })
	if ids := pendingIDs(t, op, topic, "billing"); len(ids) != 0 {
		t.Errorf("still pending after the bulk ack: %v", ids)
	}
}
