package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

func redisConfig(t *testing.T, readOnly bool) core.Config {
	return core.Config{Driver: core.DriverRedisStream, RedisURL: testbroker.RedisURL(t), ReadOnly: readOnly}
}

// redisTopic makes a stream with n messages, all pending at group
// "workers" consumer "w1", and cleans it (and its DLQ) up afterwards.
func redisTopic(t *testing.T, cl *core.Client, n int) string {
	topic, _ := redisTopicSub(t, cl, n)
	return topic
}

func redisTopicSub(t *testing.T, cl *core.Client, n int) (string, core.Subscription) {
	t.Helper()
	topic := shortName(t, "jobs")
	rdb := testbroker.Redis(t)
	testbroker.CleanupRedisKeys(t, rdb, topic+"*")
	var ps []string
	for i := 1; i <= n; i++ {
		ps = append(ps, `{"job":`+itoa(i)+`,"kind":"resize"}`)
	}
	publishN(t, cl, topic, ps...)
	sub := holdPending(t, cl, topic, "workers", "w1", n, time.Hour)
	return topic, sub
}

// TestFlowRedis drives the console against real Redis: command mode,
// navigate, filter, inspect, claim, ack, move to DLQ, browse the DLQ,
// redrive.
func TestFlowRedis(t *testing.T) {
	t.Parallel()
	cfg := redisConfig(t, false)
	cl := newClient(t, cfg)
	op := cl.Operator()
	topic := redisTopic(t, cl, 4)
	// two more members: w2 long idle, w3 recently active; w1 (the owner,
	// still polling) is the most active of all and must not be the default
	rdb := testbroker.Redis(t)
	for _, c := range []string{"w2", "w3"} {
		if err := rdb.XGroupCreateConsumer(context.Background(), topic, "workers", c).Err(); err != nil {
			t.Fatalf("create consumer %s: %v", c, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	f := startFlow(t, Options{Contexts: []string{"redis"}, Initial: "redis", Open: openerFor(cfg)})
	f.waitScreen("connected", "connected", "redis_stream")
	f.command("topic " + topic)
	f.waitScreen("groups", "2 Groups · "+topic, "workers", "└ w1")
	f.key("enter")
	f.waitModel("pending loaded", func(m *Model) bool { return len(m.pending.entries) == 4 })
	var ids []string
	f.probe(func(m *Model) { ids = append(ids, m.pending.list.keys...) })

	// filter the pending list by id, then clear it with esc
	f.filter(ids[2])
	f.waitModel("pending filtered", func(m *Model) bool { return len(m.pending.entries) == 1 })
	f.key("esc")
	f.waitModel("filter cleared", func(m *Model) bool { return len(m.pending.entries) == 4 })

	// the selection stayed on the filtered row; inspect the first
	f.waitModel("selection kept by key", func(m *Model) bool { return m.pending.list.selectedKey() == ids[2] })
	f.key("g")
	f.key("enter")
	f.waitScreen("inspector", "Message "+ids[0], `"job": 1`, "owner", "w1", "deliveries")
	f.key("esc")

	// claim the first two to w2
	f.key("space")
	f.key("space")
	f.waitModel("two selected", func(m *Model) bool { return len(m.pending.list.marked) == 2 })
	f.key("c")
	f.waitScreen("claim dialog", "Claim 2 messages of "+topic+" / workers to consumer", "held by: w1")
	f.probe(func(m *Model) {
		d, _ := m.topDialog().(*formDialog)
		if d == nil {
			t.Fatal("the claim dialog is not a form")
		}
		if got := d.val(fieldConsumer); got != "w3" {
			t.Errorf("claim target defaults to %q, want w3 (most recently active, not the owner w1)", got)
		}
		if got := d.val(fieldMinIdle); got != "1m" {
			t.Errorf("min idle defaults to %q, want the stuck threshold 1m", got)
		}
	})
	f.tm.Send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}) // clear the prefilled consumer
	f.typ("w2")
	f.key("tab")
	f.tm.Send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}) // these are fresh: no min idle
	f.key("ctrl+s")
	f.waitStatus("claim done", "claim to w2: 2/2 done")
	owners := pendingIDs(t, op, topic, "workers")
	if owners[ids[0]] != "w2" || owners[ids[1]] != "w2" || owners[ids[2]] != "w1" {
		t.Fatalf("after claim the owners are %v", owners)
	}

	// ack the third (cursor: move to it)
	f.waitModel("pending refreshed", func(m *Model) bool { return len(m.pending.list.marked) == 0 })
	f.probe(func(m *Model) {
		for i, k := range m.pending.list.keys {
			if k == ids[2] {
				m.pending.list.cursor = i
			}
		}
	})
	f.key("a")
	f.waitScreen("ack confirm", "Ack 1 message in "+topic+" / workers?", ids[2])
	f.key("y")
	f.waitStatus("ack done", "ack: 1/1 done")
	if owners := pendingIDs(t, op, topic, "workers"); owners[ids[2]] != "" || len(owners) != 3 {
		t.Fatalf("after ack pending is %v", owners)
	}

	// move the fourth to the DLQ with a reason
	f.waitModel("ack refreshed", func(m *Model) bool { return len(m.pending.entries) == 3 })
	f.probe(func(m *Model) {
		for i, k := range m.pending.list.keys {
			if k == ids[3] {
				m.pending.list.cursor = i
			}
		}
	})
	// nak says what it does on Redis (it touches the owner); cancelled
	f.key("n")
	f.waitScreen("nak confirm", "Nak (redeliver) 1 message in "+topic+" / workers?", "nak here: XCLAIM to the same owner", "just active")
	f.key("esc")
	f.waitStatus("nak cancelled", "cancelled")
	f.key("d")
	f.waitScreen("move dialog", "Move 1 message of "+topic+" / workers to the DLQ")
	f.key("tab") // to the reason
	f.tm.Send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	f.typ("bad payload")
	f.key("enter") // enter on the last field submits
	dlq := topic + core.DefaultDLQSuffix
	f.waitStatus("move done", "move to "+dlq+": 1/1 done")
	recs := browseAll(t, op, dlq)
	if len(recs) != 1 || recs[0].Header.Get(core.HeaderOriginID) != ids[3] ||
		recs[0].Header.Get(core.HeaderReason) != "bad payload" || recs[0].Header.Get(core.HeaderOriginGroup) != "workers" {
		t.Fatalf("DLQ holds %+v", recs)
	}
	if owners := pendingIDs(t, op, topic, "workers"); owners[ids[3]] != "" {
		t.Fatalf("moved message still pending: %v", owners)
	}

	// :tail with a start position shows what is already stored
	f.command("tail " + topic + " last:2")
	f.waitModel("tail from last:2", func(m *Model) bool { return m.tail.tail != nil && len(m.tail.recs) == 2 })

	// browse the DLQ, inspect the dead letter, redrive it
	f.command("dlq")
	f.waitModel("DLQ browse", func(m *Model) bool { return m.messages.dlq && len(m.messages.shown) == 1 })
	f.key("enter")
	f.waitScreen("DLQ inspector", "Mq-Origin-Id: "+ids[3], "Mq-Reason: bad payload")
	f.key("esc")
	before := topicMessages(t, op, topic)
	f.key("R")
	f.waitScreen("redrive confirm", "Redrive 1 message from "+dlq)
	f.key("y")
	f.waitStatus("redrive done", "redrive from "+dlq+": 1/1 done")
	if n := len(browseAll(t, op, dlq)); n != 0 {
		t.Errorf("DLQ holds %d after redrive", n)
	}
	if after := topicMessages(t, op, topic); after != before+1 {
		t.Errorf("origin has %d messages after redrive, want %d", after, before+1)
	}
	last := browseLast(t, op, topic)
	if last.Header.Get(core.HeaderRedrivenFrom) == "" || !strings.Contains(string(last.Data), `"job":4`) {
		t.Errorf("redriven message is %+v", last)
	}
}

func browseLast(t *testing.T, op *core.Operator, topic string) core.Record {
	t.Helper()
	pg, err := op.Browse(context.Background(), core.BrowseQuery{Topic: topic, Reverse: true, Limit: 1})
	if err != nil || len(pg.Records) != 1 {
		t.Fatalf("browse last of %s: %v (%d records)", topic, err, len(pg.Records))
	}
	return pg.Records[0]
}

// TestFlowReadOnly: in read-only mode the actions are shown disabled with
// the reason, pressing them opens no dialog, and the broker is unchanged.
func TestFlowReadOnly(t *testing.T) {
	t.Parallel()
	cfg := redisConfig(t, false)
	cl := newClient(t, cfg)
	topic := redisTopic(t, cl, 2)
	roCfg := redisConfig(t, true)

	f := startFlow(t, Options{Contexts: []string{"ro"}, Initial: "ro", Open: openerFor(roCfg), ReadOnly: true})
	f.waitScreen("read-only badge", "READ-ONLY", "connected", topic)
	f.key("p")
	f.waitStatus("publish refused", "publish is disabled: read-only mode")
	f.command("publish " + topic)
	f.waitStatus("publish command refused", "publish is disabled: read-only mode")
	f.command("topic " + topic)
	f.waitScreen("groups", "workers")
	f.key("enter")
	f.waitModel("pending loaded", func(m *Model) bool { return len(m.pending.entries) == 2 })
	s := f.screen()
	for _, want := range []string{"a ack✗", "c claim✗", "d move to DLQ✗"} {
		if !strings.Contains(s, want) {
			t.Errorf("footer does not show %q disabled:\n%s", want, s)
		}
	}
	for _, k := range []string{"a", "c", "d", "r"} {
		f.key(k)
		f.waitStatus("refused "+k, "disabled: read-only mode")
		f.probe(func(m *Model) {
			if m.layers.count(layerDialog) != 0 {
				t.Errorf("key %s opened a dialog in read-only mode", k)
			}
		})
	}
	f.key("?")
	f.waitScreen("help says why", "ack — disabled: read-only mode")
	f.key("esc")
	if owners := pendingIDs(t, cl.Operator(), topic, "workers"); len(owners) != 2 {
		t.Errorf("pending changed in read-only mode: %v", owners)
	}
	// core refuses too, whatever the UI does
	var err error
	f.probe(func(m *Model) {
		_, err = m.com.Op.Ack(context.Background(), core.ActionRequest{Topic: topic, Group: "workers", IDs: []string{"0-1"}})
	})
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Errorf("core ack in read-only mode: %v", err)
	}
}
