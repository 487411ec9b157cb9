package tui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core/history"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestFlowHistory: entries arrive all along at a Redis group nobody
// consumes. Two console sessions share one history store (as mqscope serve
// shares it); Groups shows the backlog's sparkline and the stalled signal
// first, h opens the group's history with its charts, time axis and basis.
func TestFlowHistory(t *testing.T) {
	t.Parallel()
	cfg := redisConfig(t, false)
	cl := newClient(t, cfg)
	topic := redisTopic(t, cl, 3) // group "workers", 3 pending at w1
	rdb := testbroker.Redis(t)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { stop(); wg.Wait() })
	wg.Go(func() {
		for ctx.Err() == nil {
			_ = rdb.XAdd(ctx, &redis.XAddArgs{Stream: topic, Values: []any{"data", "x"}}).Err()
			time.Sleep(20 * time.Millisecond)
		}
	})

	refresh := 200 * time.Millisecond
	store := history.New(history.Config{MinGap: refresh * 3 / 4})
	o := Options{Contexts: []string{"redis"}, Initial: "redis", Open: openerFor(cfg), Refresh: refresh,
		History: store, Spark: 10 * time.Second, Trends: history.Thresholds{Window: 2 * time.Second, Stalled: time.Second}}
	f := startFlow(t, o)
	other := startFlow(t, o) // a second session on the same context and store
	for _, s := range []*flow{f, other} {
		s.waitScreen("connected", "connected", "redis_stream")
		s.command("topic " + topic)
	}
	f.waitScreen("stalled signal in Groups", "TREND", "! workers", "STALLED: growing for")
	// the sparkline has drawn blocks in the TREND column
	f.waitModel("sparkline", func(m *Model) bool {
		return strings.ContainsAny(groupSpark(m.com, topic, "workers"), "▂▃▄▅▆▇█")
	})

	// two sessions refresh every 200 ms, but the store keeps one sample
	// per ~refresh: never two closer than MinGap
	pts := store.Group("redis", topic, "workers", time.Time{})
	for i := 1; i < len(pts); i++ {
		if gap := pts[i].At.Sub(pts[i-1].At); gap < refresh*3/4 {
			t.Fatalf("samples %d and %d are %v apart: two sessions doubled the rate", i-1, i, gap)
		}
	}
	if len(pts) < 3 {
		t.Fatalf("%d samples", len(pts))
	}

	f.key("2")
	f.typ("h")
	s := f.waitScreen("history view", "History · "+topic+" / workers", "STALLED: growing for",
		"basis: backlog", "pending (delivered, not acked)", "lag (not yet delivered)", "in /s", "acked /s", "-10m", "now")
	if !strings.Contains(s, "nothing acked") {
		t.Errorf("basis missing:\n%s", s)
	}
	f.typ("-")
	f.waitScreen("shorter range", "-5m", "+/- range (5m)")
	f.key("esc")
	f.waitScreen("back to Groups", "2 Groups · "+topic)
}
