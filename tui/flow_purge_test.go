package tui

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// purgeFlow selects topic in the Topics pane, opens the purge dialog,
// checks what it states, refuses a wrong name, then purges with the right
// one and checks the broker.
func purgeFlow(t *testing.T, f *flow, op *core.Operator, topic string, n int) {
	t.Helper()
	f.waitScreen("topic listed", topic)
	f.filter(topic)
	f.waitModel("topic selected", func(m *Model) bool {
		tp, ok := m.topics.selected()
		return ok && tp.Name == topic && tp.Messages == uint64(n)
	})
	f.key("P")
	f.waitScreen("purge dialog states topic and count",
		"Purge "+topic+" ("+plural(n, "message")+")?",
		"This deletes all "+plural(n, "message")+" stored in "+topic, purgeConfirmLabel)

	// a wrong name purges nothing, and the dialog stays open saying why
	f.typ(topic[:len(topic)-1])
	f.key("enter")
	f.waitScreen("wrong name refused", "is not the topic name: nothing purged")
	if got := topicMessages(t, op, topic); got != uint64(n) {
		t.Fatalf("a wrong confirmation purged: %d messages left of %d", got, n)
	}
	f.tm.Send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}) // clear the field
	f.typ(topic)
	f.key("enter")
	f.waitStatus("purged", "purge "+topic+": "+itoa(n)+"/"+itoa(n)+" done")
	if got := topicMessages(t, op, topic); got != 0 {
		t.Errorf("after purge %s still has %d messages", topic, got)
	}
	f.waitModel("topics refreshed", func(m *Model) bool {
		tp, ok := m.topics.byName(topic)
		return ok && tp.Messages == 0
	})
	// esc cancels without purging
	publishN(t, op0(f), topic, "again")
	f.key("P")
	f.waitScreen("purge dialog again", "Purge "+topic)
	f.key("esc")
	f.waitStatus("cancelled", "cancelled")
	if got := topicMessages(t, op, topic); got != 1 {
		t.Errorf("a cancelled purge changed %s: %d messages, want 1", topic, got)
	}
}

// op0 is the client the test publishes with.
func op0(f *flow) *core.Client { return f.pub }

func TestFlowPurgeRedis(t *testing.T) {
	t.Parallel()
	cfg := redisConfig(t, false)
	cl := newClient(t, cfg)
	topic := shortName(t, "purge")
	testbroker.CleanupRedisKeys(t, testbroker.Redis(t), topic+"*")
	publishN(t, cl, topic, "1", "2", "3", "4", "5")
	f := startFlow(t, Options{Contexts: []string{"redis"}, Initial: "redis", Open: openerFor(cfg)})
	f.pub = cl
	f.waitScreen("connected", "connected", "redis_stream")
	purgeFlow(t, f, cl.Operator(), topic, 5)

	// read-only: shown disabled, pressing it says why, no dialog
	ro := startFlow(t, Options{Contexts: []string{"ro"}, Initial: "ro", Open: openerFor(redisConfig(t, true)), ReadOnly: true})
	ro.waitScreen("read-only connected", "connected", topic, "P purge topic✗")
	ro.filter(topic)
	ro.key("P")
	ro.waitStatus("purge refused", "purge topic is disabled: read-only mode")
	ro.probe(func(m *Model) {
		if m.layers.count(layerDialog) != 0 {
			t.Error("a purge dialog opened in read-only mode")
		}
	})
}

func TestFlowPurgeJetStream(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	cfg := core.Config{Driver: core.DriverJetStream, NATSURL: srv.URL(), CreateStreams: true}
	cl := newClient(t, cfg)
	topic := shortName(t, "purge")
	publishN(t, cl, topic, "1", "2", "3")
	f := startFlow(t, Options{Contexts: []string{"js"}, Initial: "js", Open: openerFor(cfg)})
	f.pub = cl
	f.waitScreen("connected", "connected", "jetstream")
	purgeFlow(t, f, cl.Operator(), topic, 3)
}
