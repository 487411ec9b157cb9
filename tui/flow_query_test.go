package tui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestFlowQueryJetStream: `/jq:` on the tail and on browse, a failing and
// a slow query reported, and a history search with progress that esc
// stops.
func TestFlowQueryJetStream(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	cfg := core.Config{Driver: core.DriverJetStream, NATSURL: srv.URL(), CreateStreams: true}
	cl := newClient(t, cfg)
	topic := shortName(t, "orders")
	var ps []string
	for i := 0; i < 6; i++ {
		ps = append(ps, fmt.Sprintf(`{"n":%d,"currency":%q}`, i, map[bool]string{true: "EUR", false: "USD"}[i%2 == 0]))
	}
	publishN(t, cl, topic, ps...)

	f := startFlow(t, Options{Contexts: []string{"local"}, Initial: "local", Open: openerFor(cfg)})
	f.waitScreen("connected", "connected", topic)

	// the tail: a query on what is in the buffer, then on what arrives
	f.command("tail " + topic + " last:10")
	f.waitModel("tail holds the history", func(m *Model) bool { return len(m.tail.recs) == 6 })
	f.refilter(`jq:.n > 3 and .currency == "EUR"`)
	f.waitModel("jq filter on the tail", func(m *Model) bool { return len(m.tail.visible()) == 1 })
	f.waitScreen("the match shows", `"n":4`, `/jq:.n > 3 and .currency == "EUR"`)
	if s := f.screen(); strings.Contains(s, `"n":2`) {
		t.Errorf("a message the query rejects shows:\n%s", s)
	}
	publishN(t, cl, topic, `{"n":10,"currency":"EUR"}`, `{"n":11,"currency":"USD"}`)
	f.waitModel("arrivals judged", func(m *Model) bool { return len(m.tail.recs) == 8 && len(m.tail.visible()) == 2 })
	f.refilter(`jq:$meta.seq == 2 and $meta.subject == "` + topic + `"`)
	f.waitModel("$meta on the tail", func(m *Model) bool { return len(m.tail.visible()) == 1 && m.tail.recs[m.tail.visible()[0]].Seq == 2 })

	// a failing query: reported, nothing matches, the console keeps going
	f.refilter(`jq:.n + "x"`)
	f.waitStatus("errors reported", `jq: 8 errors: jq: cannot add`)
	f.waitScreen("title counts them", "[jq: 8 not judged, E]")
	f.waitModel("nothing matches", func(m *Model) bool { return len(m.tail.visible()) == 0 })
	// a bomb: each message over the budget, reported, and the UI answers
	// meanwhile (every probe is a round trip through the event loop)
	f.refilter(`jq:[range(1e9)] | length > 0`)
	f.waitStatus("budget reported", "messages over the 50ms budget")
	f.waitModel("nothing matches", func(m *Model) bool { return len(m.tail.visible()) == 0 })
	f.key("esc")
	f.waitModel("filter cleared", func(m *Model) bool { return len(m.tail.visible()) == 8 })

	// browse: the same filter on a page of stored messages
	f.tm.Send(browseTopicMsg{topic: topic})
	f.waitModel("browsing", func(m *Model) bool { return m.panes[panePending] == m.messages && len(m.messages.recs) == 8 })
	f.key("3")
	f.refilter(`jq:.currency == "USD"`)
	f.waitModel("jq on browse", func(m *Model) bool { return len(m.messages.shown) == 4 })
	// refreshes keep the verdicts
	f.waitModel("still filtered after a refresh", func(m *Model) bool {
		return m.messages.okAt.After(m.com.Now().Add(-200*1e6)) && len(m.messages.shown) == 4
	})

	// the history search: S with the filter; the outcome on the status line
	f.key("S")
	f.waitStatus("search done", "search: 4 matches in 8 examined (the oldest message reached)")
	f.waitModel("the search's rows", func(m *Model) bool { return len(m.messages.shown) == 4 && m.messages.search != nil })
	f.key("esc")
	f.waitModel("left the search", func(m *Model) bool { return m.messages.search == nil })
	f.waitModel("browsing again", func(m *Model) bool { return len(m.messages.recs) == 8 && len(m.messages.shown) == 4 })

	// a slow search shows progress and esc stops it with what it found
	f.refilter(`jq:if .n == 10 then true else ([range(1e9)] | length > 0) end`)
	f.key("S")
	f.waitStatus("progress", "searching 0/10 000 · 0 matches · esc to stop")
	f.key("esc")
	f.waitStatus("stopped", "examined (stopped)")
	f.waitModel("stopped", func(m *Model) bool { return m.messages.search != nil && !m.messages.search.running })
}

// TestFlowQueryRedis: `/jq:` on a Redis tail and browse, with $meta.id.
func TestFlowQueryRedis(t *testing.T) {
	t.Parallel()
	cfg := redisConfig(t, false)
	cl := newClient(t, cfg)
	topic := shortName(t, "jobs")
	rdb := testbroker.Redis(t)
	testbroker.CleanupRedisKeys(t, rdb, topic+"*")
	var ids []string
	for i := 1; i <= 5; i++ {
		id, err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: topic, Values: []any{"data", fmt.Sprintf(`{"job":%d}`, i)}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	// a saved query from the config
	open := func(ctx context.Context, name string) (*Target, error) {
		tg, err := openerFor(cfg)(ctx, name)
		if tg != nil {
			tg.Queries = map[string]string{"late": "jq:.job >= 4", "first": "jq:.job == 1"}
		}
		return tg, err
	}
	qfile := filepath.Join(t.TempDir(), "queries.json")
	f := startFlow(t, Options{Contexts: []string{"redis"}, Initial: "redis", Open: open, QueriesFile: qfile})
	f.waitScreen("connected", "connected", "redis_stream")
	f.command("tail " + topic + " last:10")
	f.waitModel("tail holds the history", func(m *Model) bool { return len(m.tail.recs) == 5 })
	// / then tab: the saved queries in name order, applied as they come
	f.key("/")
	f.waitModel("filter line open", func(m *Model) bool { return m.mode == inputFilter })
	f.key("tab")
	f.waitModel("first saved query", func(m *Model) bool { return m.input.Value() == "jq:.job == 1" && len(m.tail.visible()) == 1 })
	f.key("tab")
	f.waitModel("next saved query", func(m *Model) bool { return m.input.Value() == "jq:.job >= 4" })
	f.key("enter")
	f.waitModel("jq on the tail", func(m *Model) bool { return len(m.tail.visible()) == 2 })
	// :save-query keeps the pane's filter for this context
	f.refilter(`jq:.job == 3`)
	f.command("save-query three")
	f.waitStatus("saved", "saved query three")
	if qs, err := LoadSavedQueries(qfile, "redis"); err != nil || qs["three"] != "jq:.job == 3" {
		t.Errorf("saved queries file: %v %v", qs, err)
	}
	f.command("query late")
	f.waitModel(":query applies", func(m *Model) bool { return m.tail.filter.Raw == "jq:.job >= 4" && len(m.tail.visible()) == 2 })
	f.tm.Send(browseTopicMsg{topic: topic})
	f.waitModel("browsing", func(m *Model) bool { return len(m.messages.recs) == 5 })
	f.key("3")
	f.refilter(`jq:$meta.id == "` + ids[1] + `"`)
	f.waitModel("$meta.id on browse", func(m *Model) bool {
		return len(m.messages.shown) == 1 && m.messages.recs[m.messages.shown[0]].ID == ids[1]
	})

	// pending: each entry's message is read and judged, with the entry's
	// consumer and deliveries in $meta
	jobs := redisTopic(t, cl, 4)
	f.command("topic " + jobs)
	f.waitScreen("groups", "2 Groups · "+jobs, "workers")
	f.key("enter")
	f.waitModel("pending loaded", func(m *Model) bool { return m.panes[panePending] == m.pending && len(m.pending.entries) == 4 })
	f.refilter(`jq:.job >= 3 and $meta.consumer == "w1" and $meta.deliveries >= 1`)
	f.waitModel("jq on pending", func(m *Model) bool { return len(m.pending.entries) == 2 })

	// the topics pane takes no query, and says so
	f.key("1")
	f.refilter(`jq:.a`)
	f.waitStatus("refused", "jq queries filter messages")
}

// refilter replaces the focused pane's filter (`/` opens with the current
// one in the line).
func (f *flow) refilter(expr string) {
	f.key("/")
	f.waitModel("filter line open", func(m *Model) bool { return m.mode == inputFilter })
	f.key("ctrl+u")
	f.typ(expr)
	f.key("enter")
}

// TestFlowBadFilterKeepsThePrevious: the filter line applies what parses as
// it is typed; an expression refused on enter goes back to the filter the
// pane had, never to the last prefix that parsed (`jq:.n ` of `jq:.n >`,
// which matches everything while the title claims a filter).
func TestFlowBadFilterKeepsThePrevious(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	cfg := core.Config{Driver: core.DriverJetStream, NATSURL: srv.URL(), CreateStreams: true}
	cl := newClient(t, cfg)
	topic := shortName(t, "orders")
	publishN(t, cl, topic, `{"n":1}`, `{"n":2}`, `{"n":4}`, `{"n":5}`)

	f := startFlow(t, Options{Contexts: []string{"local"}, Initial: "local", Open: openerFor(cfg)})
	f.waitScreen("connected", "connected", topic)
	f.command("tail " + topic + " last:10")
	f.waitModel("tail holds the history", func(m *Model) bool { return len(m.tail.recs) == 4 })
	f.refilter(`jq:.n > 3`)
	f.waitModel("jq filter on the tail", func(m *Model) bool { return len(m.tail.visible()) == 2 })

	f.refilter(`jq:.n >`)
	f.waitStatus("refused with where", "unexpected EOF")
	f.waitModel("the previous filter is back", func(m *Model) bool {
		return m.tail.Filter().Raw == `jq:.n > 3` && len(m.tail.visible()) == 2
	})
	f.waitScreen("the title names it", `/jq:.n > 3`)

	// from no filter, a refused one leaves none
	f.key("esc")
	f.waitModel("no filter", func(m *Model) bool { return m.tail.Filter().Empty() })
	f.refilter(`re:(a`)
	f.waitModel("still none", func(m *Model) bool { return m.tail.Filter().Empty() && len(m.tail.visible()) == 4 })
}
