package tui

import (
	"sort"
	"strings"
	"testing"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// pageThrough reads every page of the browse/DLQ view with ] and returns
// the ids seen, in screen order; it checks the page numbers in the title
// and that ] on the last page says so instead of going on.
func pageThrough(t *testing.T, f *flow, pageSize, total int) []string {
	t.Helper()
	var ids []string
	pages := (total + pageSize - 1) / pageSize
	for pg := 1; pg <= pages; pg++ {
		want := pageSize
		if pg == pages {
			want = total - pageSize*(pages-1)
		}
		f.waitModel("page "+itoa(pg), func(m *Model) bool {
			return m.messages.loaded && !m.messages.inflight && m.messages.pg.no == pg-1 && len(m.messages.shown) == want
		})
		var title string
		f.probe(func(m *Model) {
			ids = append(ids, m.messages.list.keys...)
			title = m.messages.Title()
		})
		if !strings.Contains(title, "page "+itoa(pg)) || strings.Contains(title, "]more") == (pg == pages) {
			t.Errorf("page %d of %d: title %q", pg, pages, title)
		}
		f.key("]")
	}
	f.waitStatus("] on the last page", "this is the last (oldest) page")
	// [ goes back to the newest page
	f.key("[")
	f.waitModel("first page again", func(m *Model) bool {
		return m.messages.pg.no == 0 && m.messages.loaded && len(m.messages.list.keys) > 0 && m.messages.list.keys[0] == ids[0]
	})
	return ids
}

func checkAllSeen(t *testing.T, got []string, stored []core.Record) {
	t.Helper()
	want := make([]string, len(stored))
	for i, r := range stored {
		want[i] = r.ID
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Errorf("id %s shown on two pages", id)
		}
		seen[id] = true
	}
	sort.Strings(want)
	g := append([]string(nil), got...)
	sort.Strings(g)
	if strings.Join(g, ",") != strings.Join(want, ",") {
		t.Errorf("pages showed %v, the broker stores %v", got, want)
	}
}

// TestFlowBrowsePagingRedisDLQ: a DLQ holding more than a page is read to
// its oldest message with ], newest first.
func TestFlowBrowsePagingRedisDLQ(t *testing.T) {
	t.Parallel()
	cfg := redisConfig(t, false)
	cl := newClient(t, cfg)
	topic := shortName(t, "paged")
	dlq := topic + core.DefaultDLQSuffix
	testbroker.CleanupRedisKeys(t, testbroker.Redis(t), topic+"*")
	for i := 1; i <= 7; i++ {
		publishN(t, cl, dlq, `{"dead":`+itoa(i)+`}`)
	}
	f := startFlow(t, Options{Contexts: []string{"redis"}, Initial: "redis", Open: openerFor(cfg), PageSize: 3})
	f.waitScreen("connected", "connected", dlq)
	f.command("dlq " + topic)
	f.waitScreen("DLQ view", "3 DLQ · "+dlq)
	ids := pageThrough(t, f, 3, 7)
	stored := browseAll(t, cl.Operator(), dlq)
	checkAllSeen(t, ids, stored)
	if len(ids) == 7 && ids[0] != stored[6].ID {
		t.Errorf("first page does not start with the newest (%s): %v", stored[6].ID, ids)
	}
}

// TestFlowBrowsePagingJetStream: browsing a stream with b pages the same way.
func TestFlowBrowsePagingJetStream(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	cfg := core.Config{Driver: core.DriverJetStream, NATSURL: srv.URL(), CreateStreams: true}
	cl := newClient(t, cfg)
	topic := shortName(t, "paged")
	for i := 1; i <= 5; i++ {
		publishN(t, cl, topic, `{"n":`+itoa(i)+`}`)
	}
	f := startFlow(t, Options{Contexts: []string{"js"}, Initial: "js", Open: openerFor(cfg), PageSize: 2})
	f.waitScreen("connected", "connected", topic)
	f.command("topic " + topic)
	f.key("b")
	f.waitScreen("browse view", "3 Messages · "+topic)
	ids := pageThrough(t, f, 2, 5)
	checkAllSeen(t, ids, browseAll(t, cl.Operator(), topic))
}
