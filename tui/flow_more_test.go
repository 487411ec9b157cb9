package tui

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestFlowContextsAndDeadBroker: `:ctx` switches between a JetStream and a
// Redis context; when the NATS server dies the screen keeps answering and
// says so, and it recovers when the server is back.
func TestFlowContextsAndDeadBroker(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	jsCfg := core.Config{Driver: core.DriverJetStream, NATSURL: srv.URL(), CreateStreams: true}
	jsTopic := shortName(t, "evt")
	publishN(t, newClient(t, jsCfg), jsTopic, "a")
	rCfg := redisConfig(t, false)
	rcl := newClient(t, rCfg)
	rTopic := shortName(t, "jobs")
	testbroker.CleanupRedisKeys(t, testbroker.Redis(t), rTopic+"*")
	publishN(t, rcl, rTopic, "b")

	opens := map[string]func(context.Context, string) (*Target, error){"nats": openerFor(jsCfg), "redis": openerFor(rCfg)}
	f := startFlow(t, Options{Contexts: []string{"nats", "redis"}, Initial: "nats", Timeout: 2 * time.Second,
		Open: func(ctx context.Context, name string) (*Target, error) { return opens[name](ctx, name) }})
	f.waitScreen("nats context", "ctx nats", "nats_jetstream", "connected", jsTopic)

	f.command("ctx redis")
	f.waitScreen("redis context", "ctx redis", "redis_stream", "connected", rTopic)
	if s := f.screen(); strings.Contains(s, jsTopic) {
		t.Errorf("the NATS topics are still listed after switching:\n%s", s)
	}
	f.command("ctx nope")
	f.waitStatus("unknown context", `no context "nope"`)
	f.command("ctx nats")
	f.waitScreen("back to nats", "ctx nats", "nats_jetstream", "connected", jsTopic)

	srv.Shutdown()
	f.waitModel("header says the broker is not connected", func(m *Model) bool {
		return !strings.Contains(m.headerLine(), "● connected")
	})
	// the UI still answers keys while the broker is gone
	f.key("2")
	f.waitModel("focus moved while the broker is down", func(m *Model) bool { return m.focus == paneGroups })
	f.key("1")
	srv.Start()
	f.waitScreen("reconnected", "● connected")
}

// TestFlowRewindReplayResend: rewind a group, replay one message and a
// range, edit & resend, delete a consumer — on real Redis.
func TestFlowRewindReplayResend(t *testing.T) {
	t.Parallel()
	cfg := redisConfig(t, false)
	cl := newClient(t, cfg)
	op := cl.Operator()
	topic, holder := redisTopicSub(t, cl, 3)
	// w1 keeps its 3 pending entries, but nobody reads the group any more
	// (a reader would move the rewound position on at once)
	if err := holder.Unsubscribe(); err != nil {
		t.Fatal(err)
	}

	f := startFlow(t, Options{Contexts: []string{"r"}, Initial: "r", Open: openerFor(cfg)})
	f.waitScreen("connected", "connected")
	f.command("topic " + topic)
	f.waitScreen("groups", "workers", "└ w1")

	// rewind the group to the start
	f.key("w")
	f.waitScreen("rewind dialog", "Rewind group workers of "+topic)
	f.typ("all")
	f.key("enter")
	f.waitScreen("rewind confirmation", "Rewind group workers of "+topic+" to all?")
	f.key("y")
	f.waitStatus("rewind done", "rewind workers to all")
	gs, err := op.Groups(context.Background(), topic)
	if err != nil || len(gs) != 1 || gs[0].LastDelivered != "0-0" {
		t.Fatalf("after rewind: %+v %v", gs, err)
	}

	// browse, replay the newest message to the same topic
	f.key("b")
	f.waitModel("browse", func(m *Model) bool { return m.panes[panePending] == m.messages && len(m.messages.shown) == 3 })
	var newest string
	f.probe(func(m *Model) { newest = m.messages.list.selectedKey() })
	f.key("r")
	f.waitScreen("replay dialog", "Replay 1 message of "+topic)
	f.key("ctrl+s")
	f.waitStatus("replay done", "replay "+topic+": 1/1 done")
	last := browseLast(t, op, topic)
	if last.Header.Get(core.HeaderReplayedFrom) != topic+"/"+newest || !strings.Contains(string(last.Data), `"job":3`) {
		t.Fatalf("replayed copy: %+v", last)
	}

	// replay a range: the first two
	f.tm.Send(tea.KeyPressMsg{Code: 'p', Mod: tea.ModCtrl})
	f.waitScreen("range dialog", "Replay a range of "+topic)
	f.typ("all")
	f.key("tab")
	f.key("tab")
	f.tm.Send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	f.typ("2")
	f.key("ctrl+s")
	f.waitStatus("range replay done", "replay "+topic+": 2/2 done")
	if n := topicMessages(t, op, topic); n != 6 {
		t.Errorf("after replays the topic has %d messages, want 6", n)
	}

	// edit & resend the newest (the selection kept its key across refreshes)
	f.waitModel("browse refreshed", func(m *Model) bool { return len(m.messages.shown) == 6 })
	f.probe(func(m *Model) { m.messages.list.top() })
	var src core.Record
	f.probe(func(m *Model) { src, _ = m.messages.recordByID(m.messages.list.selectedKey()) })
	f.key("e")
	f.waitScreen("resend dialog", "Edit & resend "+src.ID, SanitizeString(string(src.Data)))
	f.key("ctrl+s")
	f.waitStatus("resend done", "publish to "+topic+": 1/1 done")
	if last := browseLast(t, op, topic); string(last.Data) != string(src.Data) || last.ID == src.ID {
		t.Errorf("resent copy %+v of %+v", last, src)
	}

	// a consumer holding entries is refused by the backend, with the reason
	f.key("2")
	f.probe(func(m *Model) { m.groups.list.move(1) })
	f.key("x")
	f.waitScreen("delete consumer confirm", "Delete consumer w1 of "+topic+" / workers?", "It holds")
	f.key("y")
	f.waitStatus("delete refused", "delete consumer w1: 0/1 done, 1 failed")

	// ack what w1 held (setup, not the console), then delete the consumer
	// w1 (a consumer row under its group)
	var held []string
	for id := range pendingIDs(t, op, topic, "workers") {
		held = append(held, id)
	}
	if _, err := op.Ack(context.Background(), core.ActionRequest{Topic: topic, Group: "workers", IDs: held}); err != nil {
		t.Fatal(err)
	}
	f.key("ctrl+r")
	f.waitModel("w1 holds nothing", func(m *Model) bool {
		return len(m.groups.groups) == 1 && len(m.groups.groups[0].Consumers) == 1 && m.groups.groups[0].Consumers[0].Pending == 0
	})
	f.probe(func(m *Model) { m.groups.list.top() })
	f.probe(func(m *Model) { m.groups.list.move(1) })
	f.key("x")
	f.waitScreen("delete consumer confirm", "Delete consumer w1 of "+topic+" / workers?")
	f.key("y")
	f.waitStatus("delete done", "delete consumer w1: 1/1 done")
	gs, _ = op.Groups(context.Background(), topic)
	if len(gs) != 1 || len(gs[0].Consumers) != 0 {
		t.Errorf("after delete consumer: %+v", gs)
	}

	// delete the group itself
	f.waitModel("consumer gone", func(m *Model) bool { return len(m.groups.rows) == 1 })
	f.probe(func(m *Model) { m.groups.list.top() })
	f.key("X")
	f.waitScreen("delete group confirm", "Delete group workers of "+topic+"?", "cannot be undone")
	f.key("y")
	f.waitStatus("group deleted", "delete group workers: 1/1 done")
	if gs, _ := op.Groups(context.Background(), topic); len(gs) != 0 {
		t.Errorf("after delete group: %+v", gs)
	}
	f.waitModel("groups pane empty", func(m *Model) bool { return m.groups.loaded && len(m.groups.groups) == 0 })
}

// TestFlowOpenRetried: a context that cannot be opened says so and is
// retried; a failed switch does not leave the old context's data up.
func TestFlowOpenRetried(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	cfg := core.Config{Driver: core.DriverJetStream, NATSURL: srv.URL(), CreateStreams: true}
	topic := shortName(t, "late")
	publishN(t, newClient(t, cfg), topic, "x")
	var attempts atomic.Int32
	open := openerFor(cfg)
	f := startFlow(t, Options{Contexts: []string{"js", "bad"}, Initial: "js", Timeout: time.Second,
		Open: func(ctx context.Context, name string) (*Target, error) {
			if name == "bad" || attempts.Add(1) == 1 {
				return nil, errors.New("dial tcp: connection refused")
			}
			return open(ctx, name)
		}})
	f.waitStatus("first attempt fails", "context js: dial tcp: connection refused (retrying every")
	f.waitScreen("retried and connected", "● connected", topic)
	f.command("ctx bad")
	f.waitStatus("switch fails", "context bad: dial tcp: connection refused")
	f.waitModel("old context's data gone", func(m *Model) bool {
		return m.target == nil && len(m.topics.all) == 0 && !strings.Contains(m.headerLine(), "● connected")
	})
}

// TestFlowBrowsePublishStartsFromTheSubject: `p` in a browsed JetStream
// stream starts from the cursor row's subject, not the stream's name
// (which the stream does not capture: publishing there failed and offered
// to create another stream).
func TestFlowBrowsePublishStartsFromTheSubject(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	cfg := core.Config{Driver: core.DriverJetStream, NATSURL: srv.URL(), CreateStreams: true}
	cl := newClient(t, cfg)
	subject := shortName(t, "shop") + ".orders.eu"
	publishN(t, cl, subject, `{"n":1}`)

	f := startFlow(t, Options{Contexts: []string{"local"}, Initial: "local", Open: openerFor(cfg)})
	f.waitScreen("connected", "connected")
	var stream string
	f.waitModel("the stream is listed", func(m *Model) bool {
		for _, ti := range m.topics.all {
			if ti.PublishSubject == subject {
				stream = ti.Name
				return true
			}
		}
		return false
	})
	if stream == subject {
		t.Fatalf("the stream is named like its subject (%s): the test shows nothing", stream)
	}
	f.tm.Send(browseTopicMsg{topic: stream})
	f.waitModel("browsing", func(m *Model) bool { return m.panes[panePending] == m.messages && len(m.messages.recs) == 1 })
	f.key("3")
	f.key("p")
	f.waitModel("publish starts from the subject", func(m *Model) bool {
		d, ok := m.topDialog().(*formDialog)
		return ok && d.val(fieldTopic) == subject
	})
}
