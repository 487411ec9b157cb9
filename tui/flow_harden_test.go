package tui

import (
	"context"
	"testing"

	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestFlowPublishFailureKeepsDialog: a publish Redis refuses (the key
// holds a string, XADD answers WRONGTYPE) brings the same dialog back with
// the typed payload and the error; fixing the topic then publishes it.
func TestFlowPublishFailureKeepsDialog(t *testing.T) {
	t.Parallel()
	cfg := redisConfig(t, false)
	rdb := testbroker.Redis(t)
	bad := shortName(t, "str")
	good := bad + "-ok"
	testbroker.CleanupRedisKeys(t, rdb, bad+"*")
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
