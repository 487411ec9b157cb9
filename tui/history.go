package tui

// History in the console: the sparklines of Topics and Groups, the group
// history view (h on Groups) and the trend signals, all read from the
// process's history store (core/history), which the Topics and Groups
// refreshes fill.

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/history"
)

const (
	defaultSpark = 10 * time.Minute
	sparkWidth   = 10 // cells of the TREND column
)

var (
	sparkBlocks = []rune("▁▂▃▄▅▆▇█")
	sparkASCII  = []rune("_.-=+*#@")
)

// bucket spreads samples (at, value) over width cells covering
// [now-span, now]; a cell holds the largest value that fell into it. A
// cell between two samples no further apart than twice the usual interval
// holds the earlier one's value (cells finer than the sampling); any other
// empty cell is NaN (the history does not reach back so far, or the series
// was not sampled then: a gap shows).
func bucket(at []time.Time, vals []float64, now time.Time, span time.Duration, width int) []float64 {
	out := make([]float64, width)
	for i := range out {
		out[i] = math.NaN()
	}
	if width <= 0 || span <= 0 {
		return out
	}
	start := now.Add(-span)
	cell := func(t time.Time) int {
		return min(int(float64(t.Sub(start))/float64(span)*float64(width)), width-1)
	}
	gaps := make([]time.Duration, 0, len(at))
	for i := 1; i < len(at); i++ {
		gaps = append(gaps, at[i].Sub(at[i-1]))
	}
	hold := time.Duration(0)
	if len(gaps) > 0 {
		slices.Sort(gaps)
		hold = 2 * gaps[len(gaps)/2]
	}
	for i, t := range at {
		if t.Before(start) || t.After(now) {
			continue
		}
		c := cell(t)
		if math.IsNaN(out[c]) || vals[i] > out[c] {
			out[c] = vals[i]
		}
		if i+1 < len(at) && at[i+1].Sub(t) <= hold && !math.IsNaN(vals[i]) {
			for f := c + 1; f < cell(at[i+1]) && f < width; f++ {
				if math.IsNaN(out[f]) {
					out[f] = vals[i]
				}
			}
		}
	}
	return out
}

// sparkline draws cells (NaN = no sample: a blank) scaled from 0 to their
// largest value, or to floor if that is larger (a backlog jittering
// between 0 and 1 is low, not full).
func sparkline(cells []float64, ascii bool, floor float64) string {
	levels := sparkBlocks
	if ascii {
		levels = sparkASCII
	}
	top := floor
	for _, v := range cells {
		if !math.IsNaN(v) && v > top {
			top = v
		}
	}
	var sb strings.Builder
	for _, v := range cells {
		switch {
		case math.IsNaN(v):
			sb.WriteByte(' ')
		case top <= 0 || v <= 0:
			sb.WriteRune(levels[0])
		default:
			i := int(math.Round(v / top * float64(len(levels)-1)))
			sb.WriteRune(levels[max(0, min(i, len(levels)-1))])
		}
	}
	return sb.String()
}

// chart draws cells as height rows of bars (the top row first), with the
// largest value labelled on the first row and 0 on the last.
func chart(cells []float64, height int, ascii bool, unit string) []string {
	top := 0.0
	for _, v := range cells {
		if !math.IsNaN(v) && v > top {
			top = v
		}
	}
	full, levels := '█', sparkBlocks
	if ascii {
		full, levels = '#', sparkASCII
	}
	rows := make([][]rune, height)
	for r := range rows {
		rows[r] = []rune(strings.Repeat(" ", len(cells)))
	}
	for c, v := range cells {
		if math.IsNaN(v) {
			continue
		}
		// eighths of a row, at least a sliver for a sample of 0
		n := 0
		if top > 0 {
			n = int(math.Round(v / top * float64(height*8)))
		}
		for r := range height { // r = 0 is the bottom row
			row := rows[height-1-r]
			switch e := n - r*8; {
			case e >= 8:
				row[c] = full
			case e > 0:
				row[c] = levels[e-1]
			case r == 0:
				row[c] = levels[0]
			}
		}
	}
	out := make([]string, height)
	for r := range rows {
		label := ""
		switch r {
		case 0:
			label = " " + fmtNum(top) + unit
		case height - 1:
			label = " 0"
		}
		out[r] = string(rows[r]) + label
	}
	return out
}

func fmtNum(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// topicSpark is a topic's rate over the last Spark.
func topicSpark(c *Common, topic string) string {
	now := c.Now()
	pts := c.History.Topic(c.Context, topic, now.Add(-c.Spark))
	at, vals := make([]time.Time, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		at[i], vals[i] = p.At, p.Rate
	}
	return sparkline(bucket(at, vals, now, c.Spark, sparkWidth), c.Styles.ASCII, 0)
}

// backlogFloor: a group's sparkline is scaled to at least this many
// messages.
const backlogFloor = 10

// groupSeries is a group's samples over the last d.
func groupSeries(c *Common, topic, group string, d time.Duration) []history.GroupPoint {
	return c.History.Group(c.Context, topic, group, c.Now().Add(-d))
}

// groupSpark is a group's backlog (pending + lag) over the last Spark.
func groupSpark(c *Common, topic, group string) string {
	pts := groupSeries(c, topic, group, c.Spark)
	at, vals := make([]time.Time, len(pts)), make([]float64, len(pts))
	for i, p := range pts {
		at[i], vals[i] = p.At, float64(p.Backlog())
	}
	return sparkline(bucket(at, vals, c.Now(), c.Spark, sparkWidth), c.Styles.ASCII, backlogFloor)
}

// groupSignal is a group's trend now.
func groupSignal(c *Common, topic, group string) history.Signal {
	th := c.Trends
	look := th.Lookback()
	return history.Assess(groupSeries(c, topic, group, look), c.Now(), th)
}

// ---- the group history view ----

// historyDialog shows one group's history: backlog, pending, lag and the
// in/acked rates over the last span, with the trend signal and its basis.
// It reads the store on every frame, so it follows the refreshes.
type historyDialog struct {
	com          *Common
	topic, group string
	span         time.Duration
}

// historySpans are the ranges +/- steps through.
var historySpans = []time.Duration{2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour}

func newHistoryDialog(c *Common, topic, group string) *historyDialog {
	return &historyDialog{com: c, topic: topic, group: group, span: 10 * time.Minute}
}

func (d *historyDialog) Update(msg tea.Msg) (tea.Cmd, bool) {
	k, ok := msg.(keyMsg)
	if !ok {
		return nil, false
	}
	i := 0
	for j, s := range historySpans {
		if s == d.span {
			i = j
		}
	}
	switch k.String() {
	case "+", "=":
		d.span = historySpans[min(i+1, len(historySpans)-1)]
		return nil, false
	case "-":
		d.span = historySpans[max(i-1, 0)]
		return nil, false
	}
	return nil, true // any other key closes
}

// View is the dialog form (used when no box height is known).
func (d *historyDialog) View(width int) string { return strings.Join(d.Lines(width, 24), "\n") }

// Title names the box the root draws it in.
func (d *historyDialog) Title() string {
	return "History" + d.com.Styles.Dot + SanitizeString(d.topic) + " / " + SanitizeString(d.group)
}

// Lines is the content for a box of w×h cells (inside its frame).
func (d *historyDialog) Lines(w, h int) []string {
	st := d.com.Styles
	now := d.com.Now()
	pts := groupSeries(d.com, d.topic, d.group, d.span)
	sig := groupSignal(d.com, d.topic, d.group)
	var out []string
	add := func(s string) { out = append(out, s) }

	switch sig.Kind {
	case history.SignalNone:
		add(st.Dim.Render(trunc("no trend yet: steady, or not enough samples (needs 3 over "+core.HumanDuration(max(d.com.Trends.Window, history.DefaultWindow)/4)+")", w)))
	default:
		style := st.Dim
		if sig.Kind.Alert() {
			style = st.Stuck
		}
		text := sig.Text
		if sig.Kind.Alert() {
			text = strings.ToUpper(sig.Kind.String()) + ": " + text
		}
		add(style.Render(trunc(text, w)))
		add(trunc("basis: "+sig.Basis, w))
	}
	if len(pts) == 0 {
		add("")
		add(st.Dim.Render(trunc("no samples of this group yet: they are taken on each refresh of Groups", w)))
		return out
	}
	last := pts[len(pts)-1]
	now1 := fmt.Sprintf("now: pending %d · lag %s", last.Pending, unknownIfNeg(last.Lag))
	if len(pts) >= 2 {
		in, _, ack := history.Rates(pts[len(pts)-2], last)
		now1 += " · in " + rateOrUnknown(in) + " · acked " + rateOrUnknown(ack)
	}
	add(trunc(now1, w))

	labelW := 9 // room for the top value on the right
	cw := max(10, w-labelW)
	at := make([]time.Time, len(pts))
	for i, p := range pts {
		at[i] = p.At
	}
	series := func(f func(i int) float64) []float64 {
		vals := make([]float64, len(pts))
		for i := range pts {
			vals[i] = f(i)
		}
		return bucket(at, vals, now, d.span, cw)
	}
	rate := func(which int) []float64 {
		return series(func(i int) float64 {
			if i == 0 {
				return math.NaN()
			}
			in, _, ack := history.Rates(pts[i-1], pts[i])
			v := []float64{in, ack}[which]
			if v < 0 {
				return math.NaN()
			}
			return v
		})
	}
	charts := []struct {
		title, unit string
		cells       []float64
	}{
		{"pending (delivered, not acked)", "", series(func(i int) float64 { return float64(pts[i].Pending) })},
		{"lag (not yet delivered)", "", series(func(i int) float64 {
			if pts[i].Lag < 0 {
				return math.NaN()
			}
			return float64(pts[i].Lag)
		})},
		{"in /s", "/s", rate(0)},
		{"acked /s", "/s", rate(1)},
	}
	if last.Lag < 0 {
		charts[1].title += ": unknown on this backend"
	}
	if last.Delivered < 0 {
		charts[2].title += ": unknown (no delivered counter on this backend)"
		charts[3].title += ": unknown (no delivered counter on this backend)"
	}
	// what is left after the signal lines, the axis and the hint, shared
	// by four charts of a title and rows each
	rows := min(6, max(1, (h-len(out)-2)/len(charts)-1))
	for _, c := range charts {
		add(st.ColHeader.Render(trunc(c.title, w)))
		for _, l := range chart(c.cells, rows, st.ASCII, c.unit) {
			add(trunc(l, w))
		}
	}
	left, right := "-"+core.HumanDuration(d.span), "now"
	axis := left + strings.Repeat(" ", max(1, cw-ansi.StringWidth(left)-len(right))) + right
	add(st.Dim.Render(trunc(axis, w)))
	add(st.HelpDesc.Render(trunc("+/- range ("+core.HumanDuration(d.span)+") · a sample per refresh · any other key closes", w)))
	return out
}

func rateOrUnknown(v float64) string {
	if v < 0 {
		return "?/s"
	}
	return fmtRate(v) + "/s"
}

// sampler records what a refresh read into the history store. It is built
// on the UI loop (capturing the store, the context and the clock) and used
// in the refresh's command, off it.
type sampler struct {
	store *history.Store
	ctx   string
	now   func() time.Time
}

func recorder(c *Common) sampler { return sampler{store: c.History, ctx: c.Context, now: c.Now} }

func (s sampler) groups(topic string, gs []core.GroupInfo) {
	s.store.RecordGroups(s.ctx, s.now(), topic, gs)
}

func (s sampler) topics(ts []core.TopicInfo) { s.store.RecordTopics(s.ctx, s.now(), ts) }
