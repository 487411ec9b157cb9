package tui

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
)

type topicsPane struct {
	com    *Common
	w, h   int
	list   listState
	filter Filter

	all   []core.TopicInfo
	shown []int

	refreshState
	stuck map[string]int // topic -> stuck groups (the root's stuck scan)

	// the full list backs off as it grows (see interval); between full
	// refreshes only the visible rows are read again
	sentAt, fullAt time.Time
	took           time.Duration // of the last full refresh
	every          time.Duration // the base interval, as of the last tick
	visFlight      bool
}

// Back-off of the full topic list: up to topicsPerTick topics it is read
// every tick; beyond, the interval grows with the count, and is at least
// topicsCostShare times what the last full read took, at most
// maxTopicsEvery.
const (
	topicsPerTick   = 1000
	topicsCostShare = 10
	maxTopicsEvery  = time.Minute
)

// interval is how long the full list waits between reads, for base.
func (p *topicsPane) interval(base time.Duration) time.Duration {
	d := base
	if n := len(p.all); n > topicsPerTick {
		d = base * time.Duration(n) / topicsPerTick
	}
	d = max(d, topicsCostShare*p.took)
	return max(base, min(d, maxTopicsEvery))
}

// periodic is the refresh tick: the full list when it is due, else the
// visible rows only.
func (p *topicsPane) periodic(now time.Time, every time.Duration) tea.Cmd {
	p.every = every
	if !p.loaded || now.Sub(p.fullAt) >= p.interval(every) {
		return p.refresh()
	}
	return p.refreshVisible()
}

// refreshVisible reads the visible rows' topics again, one call each.
func (p *topicsPane) refreshVisible() tea.Cmd {
	if p.inflight || p.visFlight || p.com.Op == nil {
		return nil
	}
	var names []string
	for i, idx := range p.shown {
		if p.list.visible(i) {
			names = append(names, p.all[idx].Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	p.visFlight = true
	req, gen := p.req, p.com.Gen
	rec := recorder(p.com)
	return p.com.call(func(ctx context.Context, op *core.Operator) tea.Msg {
		var ts []core.TopicInfo
		for _, n := range names {
			t, err := op.Topic(ctx, n)
			if err != nil {
				continue // gone, or the backend cannot say: the row keeps its figures
			}
			ts = append(ts, t)
		}
		rec.topics(ts)
		return topicsVisibleMsg{gen: gen, req: req, topics: ts}
	})
}

// topicsVisibleMsg: the visible rows read again (req: the full list they
// belong to; a newer full list drops them).
type topicsVisibleMsg struct {
	gen, req uint64
	topics   []core.TopicInfo
}

func newTopicsPane(c *Common) *topicsPane { return &topicsPane{com: c} }

func (p *topicsPane) Title() string {
	t := "1 Topics"
	if p.loaded {
		t += fmt.Sprintf(" (%d)", len(p.shown))
	}
	if d := p.interval(p.every); p.every > 0 && d > p.every {
		t += " list every " + d.Round(time.Second).String() // backed off: many topics
	}
	if !p.filter.Empty() {
		t += " /" + SanitizeString(p.filter.Raw)
	}
	return t + staleNote(p.loaded, p.err, p.okAt)
}

func (p *topicsPane) SetSize(w, h int) {
	p.w, p.h = w, h
	p.list.height = h - 1 // the column header
	if h >= 6 {
		p.list.height-- // the selected topic's detail line
	}
	p.list.clamp()
}
func (p *topicsPane) Filter() Filter { return p.filter }
func (p *topicsPane) SetFilter(f Filter) {
	p.filter = f
	p.rebuild()
}

func (p *topicsPane) Actions() []action {
	k := p.com.Keys
	t, _ := p.selected()
	return []action{
		send(k.Enter, needRow, func() tea.Msg { return drillTopicMsg{topic: t} }),
		shown(k.Up), shown(k.Down),
		opens(k.Publish, needNothing, func() dialog { return newPublishDialog(p.com, publishTopic(t), nil, nil) }),
		send(k.TailTopic, needRow, func() tea.Msg { return tailPatternMsg{pattern: tailPattern(t)} }),
		send(k.Browse, needRow, func() tea.Msg { return browseTopicMsg{topic: t.Name} }),
		send(k.DLQ, needRow, func() tea.Msg { return browseTopicMsg{topic: dlqOf(p.com, t.Name), dlq: true} }),
		opens(k.Purge, needRow, func() dialog { return newPurgeDialog(p.com, t) }),
	}
}

func (p *topicsPane) has(n need) bool {
	_, ok := p.selected()
	return n == needNothing || ok
}

func (p *topicsPane) Loading() bool { return p.inflight && !p.loaded }

// reset forgets everything (context switch).
func (p *topicsPane) reset() {
	*p = topicsPane{com: p.com, w: p.w, h: p.h, list: listState{height: p.list.height}, filter: p.filter, refreshState: refreshState{req: p.req + 1}}
}

// connectFailed shows why there are no topics: the context did not open.
func (p *topicsPane) connectFailed(err error) {
	if !p.loaded {
		p.err = err
	}
}

func (p *topicsPane) refresh() tea.Cmd {
	if p.inflight || p.com.Op == nil {
		return nil
	}
	p.inflight = true
	p.req++
	p.sentAt = p.com.Now()
	req, gen := p.req, p.com.Gen
	rec := recorder(p.com)
	visible := map[string]bool{}
	for i, idx := range p.shown {
		if p.list.visible(i) {
			visible[p.all[idx].Name] = true
		}
	}
	return p.com.call(func(ctx context.Context, op *core.Operator) tea.Msg {
		ts, err := op.Topics(ctx)
		if err == nil {
			rec.topics(sampledTopics(ts, visible))
		}
		return topicsMsg{gen: gen, req: req, topics: ts, err: err}
	})
}

func (p *topicsPane) setTopics(ts []core.TopicInfo) {
	p.all = ts
	p.loaded, p.err, p.okAt = true, nil, p.com.Now()
	p.rebuild()
}

func (p *topicsPane) rebuild() {
	p.shown = p.shown[:0]
	keys := make([]string, 0, len(p.all))
	for i, t := range p.all {
		if !p.filter.MatchAny(append([]string{t.Name}, t.Subjects...)...) {
			continue
		}
		p.shown = append(p.shown, i)
		keys = append(keys, t.Name)
	}
	p.list.setKeys(keys)
}

func (p *topicsPane) selected() (core.TopicInfo, bool) {
	if p.list.cursor < len(p.shown) && len(p.shown) > 0 {
		return p.all[p.shown[p.list.cursor]], true
	}
	return core.TopicInfo{}, false
}

// byName finds a topic (for `:topic NAME`).
func (p *topicsPane) byName(name string) (core.TopicInfo, bool) {
	for _, t := range p.all {
		if t.Name == name {
			return t, true
		}
		for _, s := range t.Subjects {
			if s == name {
				return t, true
			}
		}
	}
	return core.TopicInfo{}, false
}

func (p *topicsPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case topicsMsg:
		if msg.req != p.req {
			return nil // stale: a newer request is on its way
		}
		p.inflight = false
		if msg.err != nil {
			p.err = fmt.Errorf("topics: %w", msg.err)
			return nil // the pane and the refresh indicator say so
		}
		p.fullAt = p.com.Now()
		p.took = p.fullAt.Sub(p.sentAt)
		p.setTopics(msg.topics)
	case topicsVisibleMsg:
		p.visFlight = false
		if msg.req != p.req || p.inflight {
			return nil // a newer full list is here or on its way
		}
		byName := make(map[string]core.TopicInfo, len(msg.topics))
		for _, t := range msg.topics {
			byName[t.Name] = t
		}
		for i, t := range p.all {
			if u, ok := byName[t.Name]; ok {
				u.Subjects = t.Subjects // what the list matched the filter on
				p.all[i] = u
			}
		}
	case keyMsg:
		p.list.handleNav(p.com.Keys, msg)
	}
	return nil
}

func dlqOf(c *Common, topic string) string { return core.DLQName(topic, c.DLQSuffix) }

// publishTopic is where a message for topic t goes.
func publishTopic(t core.TopicInfo) string { return t.PublishSubject }

// tailPattern is what to follow for topic t.
func tailPattern(t core.TopicInfo) string { return t.TailPattern }

func (p *topicsPane) columns() []column {
	nameW := 4
	for _, i := range p.shown {
		w := len(SanitizeString(p.all[i].Name))
		if p.stuck[p.all[i].Name] > 0 {
			w += 2 // "! "
		}
		if w > nameW {
			nameW = w
		}
	}
	// the name matters most: it takes the room it needs up to what MSGS and
	// RATE/s leave; BYTES, GRPS, LAST and SUBJECTS drop first
	nameW = clampInt(nameW, 8, p.w-2-17)
	return layoutColumns([]column{
		{title: "NAME", width: nameW},
		{title: "MSGS", width: 8, right: true},
		{title: "RATE/s", width: 7, right: true},
		{title: "BYTES", width: 7, right: true, drop: 2},
		{title: "GRPS", width: 4, right: true, drop: 1},
		{title: "TREND", width: sparkWidth, drop: 3}, // the rate's last minutes
		{title: "LAST", width: 5, right: true, drop: 4},
		{title: "SUBJECTS", drop: 5},
	}, p.w-2)
}

func (p *topicsPane) View(focused bool) []string {
	st := p.com.Styles
	if !p.loaded {
		if p.err != nil {
			return []string{st.Error.Render(trunc(SanitizeString(p.err.Error()), p.w))}
		}
		return []string{st.Dim.Render("loading…")}
	}
	cols := p.columns()
	lines := []string{st.ColHeader.Render(fit("  "+headerRow(cols), p.w))}
	if len(p.shown) == 0 {
		return append(lines, st.Dim.Render("no topics"))
	}
	now := p.com.Now()
	rows := make([]string, len(p.shown))
	for i, idx := range p.shown {
		if !p.list.visible(i) {
			continue
		}
		t := p.all[idx]
		last := "-"
		if !t.LastTime.IsZero() {
			last = core.HumanDuration(now.Sub(t.LastTime))
		}
		name := SanitizeString(t.Name)
		if p.stuck[t.Name] > 0 {
			name = "! " + name
		}
		rows[i] = row(cols, map[string]string{
			"NAME":     name,
			"MSGS":     strconv.FormatUint(t.Messages, 10),
			"RATE/s":   fmtRate(t.Rate),
			"BYTES":    humanBytes(t.Bytes),
			"GRPS":     strconv.Itoa(t.Groups),
			"TREND":    topicSpark(p.com, t.Name),
			"LAST":     last,
			"SUBJECTS": SanitizeString(strings.Join(t.Subjects, ",")),
		})
	}
	lines = append(lines, p.list.renderRows(st, rows, p.w, focused, func(i int) *lipglossStyle {
		if p.stuck[p.all[p.shown[i]].Name] > 0 {
			return &st.Stuck
		}
		return nil
	})...)
	// the selected topic's details on the last line, when there is room
	if t, ok := p.selected(); ok && p.h >= 6 && len(lines) < p.h {
		for len(lines) < p.h-1 {
			lines = append(lines, "")
		}
		lines = append(lines, st.Dim.Render(trunc(topicDetail(t), p.w)))
	}
	return lines
}

// topicDetail is one line about a topic: its id range and backend details.
func topicDetail(t core.TopicInfo) string {
	parts := []string{SanitizeString(t.Name) + ":"}
	if t.FirstID != "" || t.LastID != "" {
		parts = append(parts, "ids "+SanitizeString(t.FirstID)+".."+SanitizeString(t.LastID))
	}
	keys := make([]string, 0, len(t.Extra))
	for k := range t.Extra {
		keys = append(keys, k)
	}
	sortStrings(keys)
	for _, k := range keys {
		parts = append(parts, SanitizeString(k)+"="+SanitizeString(t.Extra[k]))
	}
	return strings.Join(parts, " ")
}

func fmtRate(r float64) string {
	switch {
	case r == 0:
		return "0"
	case r < 10:
		return strconv.FormatFloat(r, 'f', 1, 64)
	default:
		return strconv.FormatFloat(r, 'f', 0, 64)
	}
}

func humanBytes(b uint64) string {
	if b == 0 {
		return "-"
	}
	return humanSize(b)
}

// humanSize is a size in at most 6 cells: 512B, 10.0K, 1.0M, 2.5G
// (1023.9K would be 7: it shows as 1.0M).
func humanSize(b uint64) string {
	if b < 1000 {
		return strconv.FormatUint(b, 10) + "B"
	}
	v := float64(b) / 1024
	for _, unit := range []string{"K", "M", "G", "T"} {
		if v < 999.95 || unit == "T" {
			return strconv.FormatFloat(v, 'f', 1, 64) + unit
		}
		v /= 1024
	}
	return ""
}

func clampInt(v, lo, hi int) int {
	if v > hi {
		v = hi
	}
	if v < lo {
		v = lo
	}
	return v
}

// topicsSampleAll: up to this many topics, a full refresh samples them all
// into the history; beyond, only the rows on screen (the history keeps a
// bounded number of series, and thousands of topics would churn it).
const topicsSampleAll = 200

func sampledTopics(ts []core.TopicInfo, visible map[string]bool) []core.TopicInfo {
	if len(ts) <= topicsSampleAll {
		return ts
	}
	out := make([]core.TopicInfo, 0, len(visible))
	for _, t := range ts {
		if visible[t.Name] {
			out = append(out, t)
		}
	}
	return out
}
