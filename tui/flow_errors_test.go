package tui

import (
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestFlowBulkErrorsViewable: a bulk ack where one message was acked by
// someone else meanwhile reports that item's error; after the action E
// shows the per-item errors in full, not only the status line.
func TestFlowBulkErrorsViewable(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	cfg := core.Config{Driver: core.DriverJetStream, NATSURL: srv.URL(), CreateStreams: true}
	cl := newClient(t, cfg)
	op := cl.Operator()
	topic := shortName(t, "bulk")
	publishN(t, cl, topic, `{"n":1}`, `{"n":2}`, `{"n":3}`)
	sub := holdPending(t, cl, topic, "billing", "b1", 3, time.Second)
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}

	f := startFlow(t, Options{Contexts: []string{"js"}, Initial: "js", Open: openerFor(cfg)})
	f.waitScreen("connected", "connected", topic)
	f.key("E")
	f.waitStatus("nothing to show yet", "no action has reported per-item errors")
	f.command("topic " + topic)
	f.waitModel("billing listed first", func(m *Model) bool {
		g, _, ok := m.groups.selected()
		return ok && g.Name == "billing"
	})
	f.key("enter")
	f.waitModel("3 pending", func(m *Model) bool { return len(m.pending.entries) == 3 })
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
