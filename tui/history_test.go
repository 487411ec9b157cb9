package tui

import (
	"math"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mqscope/mqscope/core"
)

// seedHistory fills the view fixture's history: ten minutes of samples
// every 10 s before fixedNow. orders' rate swings; shipping's backlog grows
// with nothing acked (stalled); billing drained to 0; audit (added by the
// groups_history golden) is draining.
func seedHistory(c *Common) {
	c.Context = "prod-eu"
	for i := 0; i <= 60; i++ {
		at := fixedNow.Add(-10*time.Minute + time.Duration(i)*10*time.Second)
		c.History.RecordTopics(c.Context, at, []core.TopicInfo{
			{Name: "orders", Messages: uint64(18000 + i), Rate: 30 + 15*math.Sin(float64(i)/6)},
			{Name: "payments", Messages: 920, Rate: float64(i / 20)},
		})
		c.History.RecordGroups(c.Context, at, "orders", []core.GroupInfo{
			{Name: "shipping", Pending: 42, Lag: int64(600 + 10*i), LastDelivered: "1764125100000-0", Extra: map[string]string{"entries-read": "5000"}},
			{Name: "billing", Pending: int64(max(0, 30-i)), Lag: int64(max(0, 600-20*i)), Extra: map[string]string{"entries-read": itoa(9000 + 20*i)}},
			{Name: "audit", Pending: 10, Lag: int64(3000 - 40*i), Extra: map[string]string{"entries-read": itoa(100 + 40*i)}},
		})
	}
}

func TestSparkline(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	if got := sparkline([]float64{nan, 0, 1, 2, 4, 8}, false, 0); got != " ▁▂▃▅█" {
		t.Fatalf("blocks %q", got)
	}
	if got := sparkline([]float64{nan, 0, 1, 2, 4, 8}, true, 0); got != " _.-+@" {
		t.Fatalf("ascii %q", got)
	}
	if got := sparkline([]float64{0, 0, nan}, false, 0); got != "▁▁ " {
		t.Fatalf("all zero %q", got)
	}
	// a backlog jittering 0–1 stays low under a floor of 10
	if got := sparkline([]float64{0, 1, 0, 1}, false, 10); got != "▁▂▁▂" {
		t.Fatalf("floor %q", got)
	}
}

func TestBucketKeepsTheLargestPerCell(t *testing.T) {
	t.Parallel()
	now := fixedNow
	at := []time.Time{now.Add(-9 * time.Minute), now.Add(-8*time.Minute - 30*time.Second), now.Add(-time.Second), now.Add(-time.Hour)}
	cells := bucket(at, []float64{5, 7, 3, 99}, now, 10*time.Minute, 10)
	if cells[1] != 7 || cells[9] != 3 || !math.IsNaN(cells[0]) || !math.IsNaN(cells[5]) {
		t.Fatalf("cells %v", cells)
	}
}

func TestChartRowsAndLabels(t *testing.T) {
	t.Parallel()
	rows := chart([]float64{0, 2, 4, 8, math.NaN()}, 2, false, "/s")
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	if rows[0] != "   █  8/s" || rows[1] != "▁▄██  0" {
		t.Fatalf("rows %q", rows)
	}
}

func TestGroupsShowTrendAndSignals(t *testing.T) {
	m := viewModel(t, false)
	gs := append(m.groups.groups, core.GroupInfo{Topic: "orders", Name: "audit", Pending: 10, Lag: 600, Redelivered: -1})
	m.groups.setGroups(gs)
	m.focus = paneGroups
	out := ansi.Strip(screen(t, m, 160, 48))
	for _, want := range []string{"TREND", "draining, empty in ~3m", "▁▁▁▃▃▃▆▆▆█"} {
		if !strings.Contains(out, want) {
			t.Errorf("groups at 160x48 lack %q:\n%s", want, out)
		}
	}
	// shipping is stuck anyway; its trend is stalled: it sorts first
	if m.groups.groups[0].Name != "shipping" {
		t.Errorf("first group %q, want the stuck/stalled shipping", m.groups.groups[0].Name)
	}
	if sig := m.groups.signals["shipping"]; sig.Text != "growing for 5m while ack rate is 0" {
		t.Errorf("shipping signal %q", sig.Text)
	}
	if sig := m.groups.signals["audit"]; sig.Basis != "-4.0/s over last 2m (in 0.0/s, acked 4.0/s)" {
		t.Errorf("audit basis %q", sig.Basis)
	}
}

// pressAndRun sends a key and feeds the message of the command it returns
// back (an action that opens a dialog answers with pushDialogMsg).
func pressAndRun(m *Model, k tea.KeyPressMsg) {
	_, cmd := m.Update(k)
	if cmd != nil {
		if msg := cmd(); msg != nil {
			m.Update(msg)
		}
	}
}
