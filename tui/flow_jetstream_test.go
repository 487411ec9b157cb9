package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestFlowJetStream drives the console against an embedded nats-server
// with JetStream: navigate, filter, inspect, publish, ack, move to DLQ,
// browse the DLQ and redrive.
func TestFlowJetStream(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	cfg := core.Config{Driver: core.DriverJetStream, NATSURL: srv.URL(), CreateStreams: true}
	cl := newClient(t, cfg)
	op := cl.Operator()
	topic := shortName(t, "orders")
	other := shortName(t, "payments")
	publishN(t, cl, topic, `{"n":1,"status":"paid"}`, `{"n":2,"status":"open"}`, `{"n":3,"status":"paid"}`)
	publishN(t, cl, other, `x`)
	// deliver all three to the group, then let the subscriber go: its
	// deliveries stay pending (AckWait 1s) for the operator to act on
	sub := holdPending(t, cl, topic, "billing", "b1", 3, time.Second)
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}

	f := startFlow(t, Options{Contexts: []string{"local"}, Initial: "local", Open: openerFor(cfg)})
	f.waitScreen("topics listed", "connected", topic, other)

	// filter the topics list, then drill: topic -> groups -> pending -> inspector
	f.filter(topic[len(topic)-6:])
	f.waitModel("filter applied", func(m *Model) bool { return len(m.topics.shown) == 1 })
	f.key("enter")
	f.waitScreen("groups of the topic", "2 Groups · "+topic, "billing")
	f.waitModel("tail started on the topic", func(m *Model) bool { return m.tail.tail != nil })
	// the console's own tail (an ordered consumer) is listed last, as such
	f.waitModel("own tail listed last", func(m *Model) bool {
		n := len(m.groups.groups)
		return n == 2 && isMQScopeTail(m.groups.groups[n-1]) && m.groups.groups[0].Name == "billing"
	})
	f.waitScreen("own tail named", "tail (mqscope)")
	f.waitModel("own tail is one row, without a consumer row under it", func(m *Model) bool {
		last := m.groups.rows[len(m.groups.rows)-1]
		return last.consumer < 0 && isMQScopeTail(m.groups.groups[last.g])
	})
	f.filter("billing") // the tail's own ordered consumer is listed too
	f.waitModel("groups filtered", func(m *Model) bool { return len(m.groups.rows) == 2 })
	f.key("enter")
	f.waitModel("pending loaded", func(m *Model) bool { return m.focus == panePending && len(m.pending.entries) >= 1 })
	var ackID string
	f.probe(func(m *Model) { ackID = m.pending.list.selectedKey() })
	f.key("enter")
	f.waitScreen("inspector", "Message "+ackID, `"n": `+ackID, "group", "billing")
	f.key("esc")

	// ack the selected pending message
	f.key("a")
	f.waitScreen("ack confirm", "Ack 1 message in "+topic+" / billing?")
	f.key("y")
	f.waitStatus("ack done", "ack: 1/1 done")
	if ids := pendingIDs(t, op, topic, "billing"); ids[ackID] != "" {
		t.Fatalf("after ack the broker still has %s pending: %v", ackID, ids)
	}

	// nak the next pending one (JetStream supports it): still pending after
	f.waitModel("pending refreshed after ack", func(m *Model) bool {
		_, still := m.pending.entryByID(ackID)
		return !still && len(m.pending.entries) >= 1
	})
	var nakID string
	f.probe(func(m *Model) { nakID = m.pending.list.selectedKey() })
	f.key("n")
	f.waitScreen("nak dialog", "Nak (redeliver) 1 message in "+topic+" / billing?", "redeliver after (empty: now)")
	// the empty field's example must not read as a typed delay (with
	// NO_COLOR a placeholder looks like a value)
	f.waitScreen("the delay's example marked as one", "e.g. 30s")
	f.typ("soon")
	f.key("ctrl+s")
	f.waitScreen("bad delay refused in the dialog", `delay "soon": not a duration`)
	f.key("ctrl+u")
	f.typ("1h")
	f.key("ctrl+s")
	f.waitStatus("nak done", "nak: 1/1 done")
	if ids := pendingIDs(t, op, topic, "billing"); !hasKey(ids, nakID) {
		t.Errorf("after nak %s is no longer pending (a nak is not an ack): %v", nakID, ids)
	}

	// browse the stored messages (newest first) and move the newest to the DLQ
	f.key("2")
	f.key("b")
	f.waitModel("browse loaded", func(m *Model) bool { return m.panes[panePending] == m.messages && len(m.messages.shown) == 3 })
	var moveID string
	f.probe(func(m *Model) { moveID = m.messages.list.selectedKey() })
	f.key("d")
	f.waitScreen("move dialog", "Move 1 message of "+topic+" to the DLQ", "DLQ topic")
	f.key("ctrl+s")
	f.waitStatus("move done", "move to "+topic+core.DefaultDLQSuffix+": 1/1 done")
	dlq := topic + core.DefaultDLQSuffix
	recs := browseAll(t, op, dlq)
	if len(recs) != 1 || recs[0].Header.Get(core.HeaderOriginID) != moveID {
		t.Fatalf("DLQ %s holds %d records (want 1 with origin id %s): %+v", dlq, len(recs), moveID, recs)
	}
	if _, err := op.Get(context.Background(), topic, moveID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("moved message %s still readable in %s: %v", moveID, topic, err)
	}

	// browse the DLQ and redrive it
	f.command("dlq")
	f.waitScreen("DLQ browse", "3 DLQ · "+dlq, "(1)")
	f.key("R")
	f.waitScreen("redrive confirm", "Redrive 1 message from "+dlq)
	f.key("y")
	f.waitStatus("redrive done", "redrive from "+dlq+": 1/1 done")
	if n := len(browseAll(t, op, dlq)); n != 0 {
		t.Errorf("after redrive the DLQ still holds %d", n)
	}
	if n := topicMessages(t, op, topic); n != 3 {
		t.Errorf("after redrive %s has %d messages, want 3", topic, n)
	}

	// publish from the topics pane; the tail shows it
	f.key("1")
	f.key("p")
	f.waitScreen("publish dialog", "Publish", "payload")
	f.typ(`{"n":99,"via":"console"}`)
	f.key("ctrl+s")
	f.waitStatus("publish done", "publish to "+topic+": 1/1 done")
	f.waitModel("tail shows the published message", func(m *Model) bool {
		for _, r := range m.tail.recs {
			if strings.Contains(string(r.Data), `"via":"console"`) {
				return true
			}
		}
		return false
	})
	// field filter on the tail
	f.key("4")
	f.filter("via=console")
	f.waitModel("tail filter", func(m *Model) bool { return len(m.tail.visible()) == 1 })
	if n := topicMessages(t, op, topic); n != 4 {
		t.Errorf("topic has %d messages after publish, want 4", n)
	}
}

// TestFlowJetStreamNoDLQStream: without CreateStreams no stream captures
// the DLQ subject; the console says so, offers to create one, and moves.
func TestFlowJetStreamNoDLQStream(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	setup := core.Config{Driver: core.DriverJetStream, NATSURL: srv.URL(), CreateStreams: true}
	cl := newClient(t, setup)
	topic := shortName(t, "audit")
	publishN(t, cl, topic, `{"a":1}`, `{"a":2}`)
	console := setup
	console.CreateStreams = false

	f := startFlow(t, Options{Contexts: []string{"js"}, Initial: "js", Open: openerFor(console)})
	f.waitScreen("connected", "connected", topic)
	f.command("topic " + topic)
	f.key("b")
	f.waitModel("browse", func(m *Model) bool { return len(m.messages.shown) == 2 })
	f.key("d")
	f.waitScreen("move dialog", "Move 1 message of "+topic+" to the DLQ")
	f.key("ctrl+s")
	dlq := topic + core.DefaultDLQSuffix
	f.waitScreen("offer to create the DLQ", "No stream stores "+dlq, "Create storage for "+dlq)
	f.key("y")
	f.waitStatus("created and moved", "create DLQ "+dlq+" and move: 1/1 done")
	if n := topicMessages(t, cl.Operator(), dlq); n != 1 {
		t.Errorf("DLQ has %d messages, want 1", n)
	}

	// Publishing to a subject no stream stores: the same offer, then the
	// message is published into the new stream.
	fresh := topic + ".fresh"
	f.key("1")
	f.key("p")
	f.waitScreen("publish dialog", "Publish", "payload")
	f.key("shift+tab")
	f.key("shift+tab")
	f.key("ctrl+u")
	f.typ(fresh)
	f.key("tab")
	f.key("tab")
	f.typ(`{"fresh":1}`)
	f.key("ctrl+s")
	f.waitScreen("offer to create a stream", "No stream stores "+fresh, "Create a file stream capturing "+fresh)
	f.key("y")
	f.waitStatus("created and published", "create a stream for "+fresh+" and publish: 1/1 done")
	if n := topicMessages(t, cl.Operator(), fresh); n != 1 {
		t.Errorf("%s has %d messages after create-and-publish, want 1", fresh, n)
	}

	// :tail follows a subject; new messages arrive in the pane
	f.command("tail " + topic)
	f.waitModel("tail running", func(m *Model) bool { return m.focus == paneTail && m.tail.tail != nil })
	publishN(t, cl, topic, `{"a":3,"tail":"yes"}`)
	f.waitScreen("tail shows it", `{"a":3,"tail":"yes"}`)
}
