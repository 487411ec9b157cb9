package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestFlowDiffJetStream and TestFlowDiffRedis mark a stored message, diff
// another against it, and read the comparison on screen: the changed JSON
// path and header, a text payload's line diff, and the refusals (nothing
// marked, the marked message itself).
func TestFlowDiffJetStream(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	cfg := core.Config{Driver: core.DriverJetStream, NATSURL: srv.URL(), CreateStreams: true}
	diffFlow(t, cfg, shortName(t, "diffs"))
}

func TestFlowDiffRedis(t *testing.T) {
	t.Parallel()
	cfg := redisConfig(t, false)
	topic := shortName(t, "diffs")
	testbroker.CleanupRedisKeys(t, testbroker.Redis(t), topic+"*")
	diffFlow(t, cfg, topic)
}

func diffFlow(t *testing.T, cfg core.Config, topic string) {
	cl := newClient(t, cfg)
	pub := func(data string, h core.Header) {
		t.Helper()
		if err := cl.Publish(context.Background(), topic, []byte(data), core.WithHeaders(h)); err != nil {
			t.Fatalf("publish to %s: %v", topic, err)
		}
	}
	// oldest first; the console lists newest first: text2, text1, fail, pass
	pub(`{"order":{"id":"o1","items":[{"sku":"a","qty":3}]},"status":"ok"}`, core.Header{"Trace": {"t-pass"}, "Kind": {"order"}})
	pub(`{"order":{"id":"o1","items":[{"sku":"a","qty":4}]},"status":"ok","retry":true}`, core.Header{"Trace": {"t-fail"}, "Kind": {"order"}})
	pub("line one\nline two\nline three\n", nil)
	pub("line one\nline 2\nline three\n", nil)
	recs := browseAll(t, cl.Operator(), topic)
	if len(recs) != 4 {
		t.Fatalf("stored %d messages, want 4", len(recs))
	}
	pass, fail := recs[0].ID, recs[1].ID
	// all four pending in a group: the pending pane has ids only, so its
	// diff fetches both messages
	if err := holdPending(t, cl, topic, "workers", "w1", 4, time.Hour).Unsubscribe(); err != nil {
		t.Fatal(err)
	}

	f := startFlow(t, Options{Contexts: []string{"c"}, Initial: "c", Open: openerFor(cfg)})
	f.waitScreen("connected", "connected")
	f.command("topic " + topic)
	f.waitModel("groups of the topic", func(m *Model) bool { return m.focus == paneGroups && m.groups.Topic() == topic })
	f.key("b")
	f.waitModel("browsed", func(m *Model) bool {
		return m.focus == panePending && m.panes[panePending] == m.messages && len(m.messages.shown) == 4
	})

	// nothing marked yet
	f.key("=")
	f.waitStatus("= without a mark", "no message is marked")

	// mark the one that passed (the oldest: the bottom row)
	f.key("G")
	f.waitModel("cursor on the oldest", func(m *Model) bool { return m.messages.list.selectedKey() == pass })
	f.key("m")
	f.waitStatus("marked", "marked ")
	f.waitScreen("mark shown in the title and on the row", "[marked: ", "= "+pass)
	f.key("=")
	f.waitStatus("= on the marked one", "is the marked message itself")

	// the one that failed, against it
	f.key("k")
	f.waitModel("cursor on the failed one", func(m *Model) bool { return m.messages.list.selectedKey() == fail })
	f.key("=")
	s := f.waitScreen("structural diff", "Diff ", "↔", "HEADERS", "~ Trace: \"t-pass\" → \"t-fail\"",
		"PAYLOAD json ↔ json · structural", "~ .order.items[0].qty: 3 → 4", "+ .retry: added true")
	if strings.Contains(s, "Kind") || strings.Contains(s, ".status") || strings.Contains(s, ".order.id") {
		t.Fatalf("the diff lists what did not change:\n%s", s)
	}
	f.key("esc")
	f.waitModel("diff closed", func(m *Model) bool { return m.diffShown() == nil })

	// the mark stays across panes
	f.key("4")
	f.key("3")
	f.waitScreen("mark kept", "[marked: ")

	// text payloads: a line diff, from the inspector
	f.key("g")
	f.key("j")
	f.waitModel("cursor on text one", func(m *Model) bool { return m.messages.list.selectedKey() == recs[2].ID })
	f.key("m")
	f.waitStatus("marked text one", "marked ")
	f.key("g")
	f.key("enter")
	f.waitModel("inspector open", func(m *Model) bool { return m.inspecting() != nil && m.inspecting().rec.ID == recs[3].ID })
	f.key("=")
	f.waitScreen("line diff", "PAYLOAD text ↔ text · line diff", "@@ -1,3 +1,3 @@", "  line one", "- line two", "+ line 2", "  line three",
		"HEADERS", "identical")
	f.key("esc")
	f.waitModel("back in the inspector", func(m *Model) bool { return m.diffShown() == nil && m.inspecting() != nil })
	f.key("m")
	f.waitStatus("mark moved to the inspected message", "marked ")
	f.key("m")
	f.waitStatus("mark cleared", "diff mark cleared")
	f.key("esc")

	// pending entries: mark the one that passed, diff the one that failed
	f.command("topic " + topic)
	f.waitModel("groups listed", func(m *Model) bool { return m.focus == paneGroups && len(m.groups.rows) > 0 })
	f.key("enter")
	f.waitModel("pending listed", func(m *Model) bool {
		return m.panes[panePending] == m.pending && len(m.pending.entries) == 4 && m.focus == panePending
	})
	for _, id := range []string{pass, fail} {
		f.waitModel("cursor on "+id, func(m *Model) bool {
			if m.pending.list.selectedKey() == id {
				return true
			}
			m.pending.list.selectKey(id)
			return false
		})
		if id == pass {
			f.key("m")
			f.waitScreen("pending mark shown", "= "+pass)
		} else {
			f.key("=")
		}
	}
	f.waitScreen("pending diff", "~ Trace: \"t-pass\" → \"t-fail\"", "~ .order.items[0].qty: 3 → 4")
}
