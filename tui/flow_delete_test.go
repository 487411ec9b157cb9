package tui

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestFlowDeleteMessagesRedis: browse a topic, select one message, D
// says what it will do, enter deletes exactly it (read back with XRANGE);
// read-only shows D disabled.
func TestFlowDeleteMessagesRedis(t *testing.T) {
	t.Parallel()
	cfg := redisConfig(t, false)
	cl := newClient(t, cfg)
	topic := shortName(t, "del")
	rdb := testbroker.Redis(t)
	testbroker.CleanupRedisKeys(t, rdb, topic+"*")
	publishN(t, cl, topic, "keep-1", "gone", "keep-2")
	f := startFlow(t, Options{Contexts: []string{"redis"}, Initial: "redis", Open: openerFor(cfg)})
	f.pub = cl
	f.waitScreen("connected", "connected", "redis_stream")
	f.waitScreen("topic listed", topic)
	f.filter(topic)
	f.waitModel("topic selected", func(m *Model) bool { tp, ok := m.topics.selected(); return ok && tp.Name == topic })
	f.key("b")
	f.waitModel("browsing", func(m *Model) bool { return len(m.messages.shown) == 3 })
	f.key("j")
	f.waitModel("second message selected", func(m *Model) bool { return m.messages.list.selectedKey() == m.messages.recs[m.messages.shown[1]].ID })
	f.key("D")
	f.waitScreen("delete dialog says what it does", "Delete 1 stored message from "+topic+"?", "deleted from the broker for good")
	f.key("enter")
	f.waitStatus("deleted", "delete from "+topic+": 1/1 done")
	left, err := rdb.XRange(context.Background(), topic, "-", "+").Result()
	if err != nil || len(left) != 2 || payload(left[0]) != "keep-1" || payload(left[1]) != "keep-2" {
		t.Fatalf("XRANGE after deleting the middle message: %v %v", left, err)
	}

	ro := startFlow(t, Options{Contexts: []string{"ro"}, Initial: "ro", Open: openerFor(redisConfig(t, true)), ReadOnly: true})
	ro.waitScreen("read-only connected", "connected", topic)
	ro.filter(topic)
	ro.key("b")
	ro.waitScreen("read-only browse footer", "D delete messages✗")
}

func payload(m redis.XMessage) string { s, _ := m.Values["data"].(string); return s }
