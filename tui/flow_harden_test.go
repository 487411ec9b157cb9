package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// rawRedis is a test's Redis config, a raw client for setup and checks,
// and a unique name whose keys (name*) are deleted afterwards.
func rawRedis(t *testing.T, prefix string) (core.Config, *redis.Client, string) {
	t.Helper()
	rdb := testbroker.Redis(t)
	name := shortName(t, prefix)
	testbroker.CleanupRedisKeys(t, rdb, name+"*")
	return redisConfig(t, false), rdb, name
}

// TestFlowPublishFailureKeepsDialog: a publish Redis refuses (the key
// holds a string, XADD answers WRONGTYPE) brings the same dialog back with
// the typed payload and the error; fixing the topic then publishes it.
func TestFlowPublishFailureKeepsDialog(t *testing.T) {
	t.Parallel()
	cfg, rdb, bad := rawRedis(t, "str")
	good := bad + "-ok"
	if err := rdb.Set(context.Background(), bad, "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}

	f := startFlow(t, Options{Contexts: []string{"redis"}, Initial: "redis", Open: openerFor(cfg)})
	f.waitScreen("connected", "connected", "redis_stream")
	f.key("p")
	f.waitScreen("publish dialog", "Publish", "payload")
	// a topic selected in the Topics pane (the shared Redis has others)
	// prefills the topic: start from the topic field, emptied
	f.probe(func(m *Model) { m.topDialog().(*formDialog).setFocus(0) })
	f.key("ctrl+u")
	f.typ(bad)
	f.key("tab")
	f.key("tab")
	f.typ(`{"typed":"by hand"}`)
	f.key("ctrl+s")
	f.waitScreen("the dialog is back with the error", "publish failed", "WRONGTYPE", `{"typed":"by hand"}`)
	var topicShown, payload string
	f.probe(func(m *Model) {
		if d, ok := m.topDialog().(*formDialog); ok {
			topicShown, payload = d.val(fieldTopic), d.val(fieldPayload)
		}
	})
	if topicShown != bad || payload != `{"typed":"by hand"}` {
		t.Fatalf("reopened dialog holds topic %q payload %q", topicShown, payload)
	}
	if n, err := rdb.Exists(context.Background(), good).Result(); err != nil || n != 0 {
		t.Fatalf("exists %s: %d %v", good, n, err)
	}

	// fix the topic and send the kept payload
	f.key("shift+tab")
	f.key("shift+tab")
	f.typ("-ok")
	f.key("ctrl+s")
	f.waitStatus("published", "publish to "+good)
	msgs, err := rdb.XRange(context.Background(), good, "-", "+").Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("XRANGE %s: %v %v", good, msgs, err)
	}
	if got := msgs[0].Values["data"]; got != `{"typed":"by hand"}` {
		t.Fatalf("XRANGE %s: data %q, want the payload typed before the failure", good, got)
	}
}

// TestFlowRewindShowsEffect: an untouched rewind field is refused (it used
// to rewind to "new", skipping every unread message); a position shows
// what the rewind does — messages delivered again or skipped, counted
// from the group's position — before anything changes. On real Redis,
// the group's position is read back with XINFO GROUPS.
func TestFlowRewindShowsEffect(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, rdb, topic := rawRedis(t, "rw")
	var ids []string
	for i := 0; i < 10; i++ {
		id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: topic, Values: []any{"data", itoa(i)}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rdb.XGroupCreate(ctx, topic, "workers", "0").Err(); err != nil {
		t.Fatal(err)
	}
	// the group has had 6 of the 10: last delivered ids[5], lag 4
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "workers", Consumer: "w1", Streams: []string{topic, ">"}, Count: 6}).Err(); err != nil {
		t.Fatal(err)
	}
	lastDelivered := func() string {
		t.Helper()
		gs, err := rdb.XInfoGroups(ctx, topic).Result()
		if err != nil || len(gs) != 1 {
			t.Fatalf("XINFO GROUPS %s: %v %v", topic, gs, err)
		}
		return gs[0].LastDeliveredID
	}

	f := startFlow(t, Options{Contexts: []string{"r"}, Initial: "r", Open: openerFor(cfg)})
	f.waitScreen("connected", "connected")
	f.command("topic " + topic)
	f.waitScreen("groups", "workers", "└ w1")
	open := func() {
		f.key("w")
		f.waitScreen("rewind dialog", "Rewind group workers of "+topic)
	}
	confirm := func(pos string, want ...string) {
		t.Helper()
		f.typ(pos)
		f.key("enter")
		f.waitScreen("rewind to "+pos+" explained", append([]string{"Rewind group workers of " + topic + " to "}, want...)...)
	}

	// untouched: refused, nothing changes
	open()
	f.key("enter")
	f.waitScreen("empty refused", "a position is required")
	if got := lastDelivered(); got != ids[5] {
		t.Fatalf("an empty rewind moved the group to %s", got)
	}

	// new: the 4 unread messages would be skipped; cancel
	f.typ("new")
	f.key("enter")
	f.waitScreen("new explained", "4 messages not yet delivered will be SKIPPED")
	f.key("n")
	f.waitStatus("cancelled", "cancelled")
	if got := lastDelivered(); got != ids[5] {
		t.Fatalf("a cancelled rewind moved the group to %s", got)
	}

	// id of the 5th: 6 messages from it on, 4 unread: 2 delivered again
	open()
	confirm("id:"+ids[4], "2 messages it already had will be DELIVERED AGAIN", "message "+ids[4])
	f.key("esc")
	f.waitStatus("cancelled", "cancelled")

	// the 9th: 2 from it on, 4 unread: 2 skipped
	open()
	confirm("id:"+ids[8], "2 messages not yet delivered will be SKIPPED")
	f.key("esc")

	// all: 10 from the start, 6 delivered again; confirmed, it happens
	open()
	confirm("all", "6 messages it already had will be DELIVERED AGAIN", "last delivered "+ids[5]+", 4 messages not yet delivered")
	f.key("y")
	f.waitStatus("rewound", "rewind workers to all")
	f.probe(func(m *Model) {
		if m.statusErr {
			t.Errorf("the rewind failed: %s", m.status)
		}
	})
	if got := lastDelivered(); got != "0-0" {
		t.Fatalf("after rewind to all: last delivered %s, want 0-0", got)
	}
}

// TestTopicsBackOff: over topicsPerTick topics the full list is read less
// often (and never more often than 10× what it took); between full reads
// only the visible rows are read again, on real Redis, and their counts
// move.
func TestTopicsBackOff(t *testing.T) {
	for _, c := range []struct {
		n    int
		took time.Duration
		want time.Duration
	}{
		{10, 0, 2 * time.Second}, {1000, 0, 2 * time.Second}, {5000, 0, 10 * time.Second},
		{50000, 0, time.Minute}, {10, 3 * time.Second, 30 * time.Second}, {10, time.Hour, time.Minute},
	} {
		p := &topicsPane{all: make([]core.TopicInfo, c.n), took: c.took}
		if got := p.interval(2 * time.Second); got != c.want {
			t.Errorf("%d topics, last read %s: every %s, want %s", c.n, c.took, got, c.want)
		}
	}

	ctx := context.Background()
	cfg, rdb, topic := rawRedis(t, "bo")
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: topic, Values: []any{"data", "1"}})
	cl := newClient(t, cfg)
	c := newCommon(Options{})
	c.Op = cl.Operator()
	now := time.Now()
	c.Now = func() time.Time { return now }
	p := newTopicsPane(c)
	p.SetSize(100, 20)
	// the real topic first, then 2000 more (4 s between full reads at 2 s)
	all := []core.TopicInfo{{Name: topic, Messages: 1}}
	for i := 0; i < 2000; i++ {
		all = append(all, core.TopicInfo{Name: topic + "~" + itoa(i)})
	}
	p.setTopics(all)
	p.fullAt = now

	rdb.XAdd(ctx, &redis.XAddArgs{Stream: topic, Values: []any{"data", "2"}})
	now = now.Add(3 * time.Second)
	cmd := p.periodic(now, 2*time.Second)
	if cmd == nil || p.inflight || !p.visFlight {
		t.Fatalf("3 s after a full read of 2001 topics: inflight %v visible %v, want the visible rows only", p.inflight, p.visFlight)
	}
	msg, ok := cmd().(topicsVisibleMsg)
	if !ok || len(msg.topics) != 1 || msg.topics[0].Name != topic {
		t.Fatalf("visible refresh read %+v, want the one real visible topic", msg)
	}
	p.Update(msg)
	if got := p.all[0].Messages; got != 2 {
		t.Fatalf("visible row has %d messages after its refresh, want 2 (XLEN)", got)
	}
	if !strings.Contains(p.Title(), "list every 4s") {
		t.Errorf("title %q does not say the list is backed off", p.Title())
	}
	now = now.Add(2 * time.Second)
	if p.periodic(now, 2*time.Second) == nil || !p.inflight {
		t.Fatal("5 s after the last full read of 2001 topics: no full read")
	}
}
