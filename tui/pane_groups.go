package tui

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/history"
)

// isMQScopeTail: mqscope's own tails are shown dimmed as "tail (mqscope)",
// last.
func isMQScopeTail(g core.GroupInfo) bool { return g.Kind == core.GroupTail }

// groupRow is a group or one of its consumers (shown under it).
type groupRow struct {
	g        int // index in groups
	consumer int // -1 for the group row
}

type groupsPane struct {
	com    *Common
	w, h   int
	list   listState
	filter Filter

	topic  string
	groups []core.GroupInfo
	rows   []groupRow
	// signals are the groups' trends (by name) as of the last refresh
	signals map[string]history.Signal

	refreshState
}

func newGroupsPane(c *Common) *groupsPane { return &groupsPane{com: c} }

func (p *groupsPane) Title() string {
	t := "2 Groups"
	if p.topic != "" {
		t += p.com.Styles.Dot + SanitizeString(p.topic)
	}
	if p.loaded {
		t += fmt.Sprintf(" (%d)", len(p.groups))
	}
	if !p.filter.Empty() {
		t += " /" + SanitizeString(p.filter.Raw)
	}
	return t + staleNote(p.loaded, p.err, p.okAt)
}

func (p *groupsPane) SetSize(w, h int) { p.w, p.h = w, h; p.list.height = h - 1; p.list.clamp() }
func (p *groupsPane) Filter() Filter   { return p.filter }
func (p *groupsPane) SetFilter(f Filter) {
	p.filter = f
	p.rebuild()
}

func (p *groupsPane) Actions() []action {
	k := p.com.Keys
	g, c, _ := p.selected()
	return []action{
		send(k.Enter, needRow, func() tea.Msg {
			if isMQScopeTail(g) {
				return statusMsg{text: "this is the console's own tail consumer: it holds nothing to act on (4 shows the tail)"}
			}
			d := drillGroupMsg{topic: p.topic, group: g.Name, info: g}
			if c != nil {
				d.consumer = c.Name
			}
			return d
		}),
		shown(k.Up), shown(k.Down),
		opens(k.History, needRow, func() dialog { return newHistoryDialog(p.com, p.topic, g.Name) }),
		opens(k.Rewind, needRow, func() dialog { return newRewindDialog(p.com, p.topic, g.Name) }),
		opens(k.DeleteGroup, needRow, func() dialog { return deleteGroupDialog(p.com, p.topic, g) }),
		act(k.DeleteConsumer, needRow, func() tea.Cmd {
			if c == nil {
				return msgCmd(statusMsg{err: fmt.Errorf("select a consumer row (under its group) to delete it")})
			}
			return msgCmd(pushDialogMsg{d: deleteConsumerDialog(p.com, p.topic, g.Name, *c)})
		}),
		send(k.Browse, needTopic, func() tea.Msg { return browseTopicMsg{topic: p.topic} }),
		send(k.DLQ, needTopic, func() tea.Msg { return browseTopicMsg{topic: dlqOf(p.com, p.topic), dlq: true} }),
		opens(k.Publish, needNothing, func() dialog { return newPublishDialog(p.com, p.topic, nil, nil) }),
	}
}

func (p *groupsPane) has(n need) bool {
	switch n {
	case needRow, needSelection:
		_, _, ok := p.selected()
		return ok
	case needTopic:
		return p.topic != ""
	}
	return true
}

// setTopic switches the pane to another topic and fetches its groups; a
// reply for the old topic is then stale.
func (p *groupsPane) setTopic(topic string) tea.Cmd {
	if topic != p.topic {
		p.groups, p.rows, p.loaded, p.err = nil, nil, false, nil
		p.list = listState{height: p.list.height}
	}
	p.topic = topic
	p.inflight = false
	return p.refresh()
}

// Topic is the topic whose groups are shown ("" before one is chosen).
func (p *groupsPane) Topic() string { return p.topic }

func (p *groupsPane) Loading() bool { return p.inflight && !p.loaded }

func (p *groupsPane) reset() {
	*p = groupsPane{com: p.com, w: p.w, h: p.h, list: listState{height: p.list.height}, filter: p.filter, refreshState: refreshState{req: p.req + 1}}
}

func (p *groupsPane) refresh() tea.Cmd {
	if p.inflight || p.com.Op == nil || p.topic == "" {
		return nil
	}
	p.inflight = true
	p.req++
	req, gen, topic := p.req, p.com.Gen, p.topic
	rec := recorder(p.com)
	return p.com.call(func(ctx context.Context, op *core.Operator) tea.Msg {
		gs, err := op.Groups(ctx, topic)
		if err == nil {
			rec.groups(topic, gs)
		}
		return groupsMsg{gen: gen, req: req, groups: gs, err: err}
	})
}

func (p *groupsPane) setGroups(gs []core.GroupInfo) {
	// stuck first (core sorts so; keep it even if a backend did not), then
	// durable groups, then ephemeral consumers, then mqscope's own tails.
	p.signals = make(map[string]history.Signal, len(gs))
	for _, g := range gs {
		if !isMQScopeTail(g) {
			if sig := groupSignal(p.com, p.topic, g.Name); sig.Kind != history.SignalNone {
				p.signals[g.Name] = sig
			}
		}
	}
	rank := func(g core.GroupInfo) int {
		switch {
		case isMQScopeTail(g):
			return 3
		case len(g.Stuck) > 0, p.signals[g.Name].Kind.Alert():
			return 0
		case g.Kind == core.GroupEphemeral:
			return 2
		}
		return 1
	}
	sort.SliceStable(gs, func(i, j int) bool { return rank(gs[i]) < rank(gs[j]) })
	p.groups = gs
	p.loaded, p.err, p.okAt = true, nil, p.com.Now()
	p.rebuild()
}

func (p *groupsPane) rebuild() {
	p.rows = p.rows[:0]
	var keys []string
	for gi, g := range p.groups {
		// Each name and reason on its own, so that re:…$ anchors on a name.
		fields := append([]string{g.Name, p.signals[g.Name].Text}, g.Stuck...)
		for _, c := range g.Consumers {
			fields = append(fields, c.Name)
		}
		if !p.filter.MatchAny(fields...) {
			continue
		}
		p.rows = append(p.rows, groupRow{g: gi, consumer: -1})
		keys = append(keys, "g\x00"+g.Name)
		if isMQScopeTail(g) {
			continue // its one consumer is itself: a second row says nothing
		}
		for ci, c := range g.Consumers {
			p.rows = append(p.rows, groupRow{g: gi, consumer: ci})
			keys = append(keys, "c\x00"+g.Name+"\x00"+c.Name)
		}
	}
	p.list.setKeys(keys)
}

func (p *groupsPane) selected() (core.GroupInfo, *core.ConsumerInfo, bool) {
	if len(p.rows) == 0 || p.list.cursor >= len(p.rows) {
		return core.GroupInfo{}, nil, false
	}
	r := p.rows[p.list.cursor]
	g := p.groups[r.g]
	if r.consumer >= 0 {
		c := g.Consumers[r.consumer]
		return g, &c, true
	}
	return g, nil, true
}

func consumerNames(g core.GroupInfo) []string {
	out := make([]string, 0, len(g.Consumers))
	for _, c := range g.Consumers {
		out = append(out, c.Name)
	}
	return out
}

func (p *groupsPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case groupsMsg:
		if msg.req != p.req {
			return nil
		}
		p.inflight = false
		if msg.err != nil {
			p.err = fmt.Errorf("groups of %s: %w", p.topic, msg.err)
			return nil // the pane and the refresh indicator say so
		}
		p.setGroups(msg.groups)
	case keyMsg:
		p.list.handleNav(p.com.Keys, msg)
	}
	return nil
}

func (p *groupsPane) columns() []column {
	nameW := 8
	for _, g := range p.groups {
		if isMQScopeTail(g) {
			nameW = max(nameW, len("tail (mqscope)")+2) // its long name is in STATUS
			continue
		}
		if w := len(SanitizeString(g.Name)) + 2; w > nameW {
			nameW = w
		}
		for _, c := range g.Consumers {
			if w := len(SanitizeString(c.Name)) + 3; w > nameW {
				nameW = w
			}
		}
	}
	// the stuck reason matters more than a long name: names get a third
	nameW = clampInt(nameW, 8, (p.w-2)/3)
	cols := []column{
		{title: "NAME", width: nameW},
		{title: "PEND", width: 6, right: true},
		{title: "LAG", width: 6, right: true, drop: 2},
		{title: "OLDEST", width: 6, right: true, drop: 1},
		// the backlog's last minutes: after the ids, before the reason
		{title: "TREND", width: sparkWidth, drop: 3},
		{title: "STATUS", min: 30}, // the stuck reason: wider than the ids that drop for it
	}
	// redeliveries are counted by JetStream only: a column of "?" explains
	// nothing, so it shows when some group has the figure
	for _, g := range p.groups {
		if g.Redelivered >= 0 {
			cols = append(cols, column{title: "REDLV", width: 5, right: true, drop: 4})
			break
		}
	}
	cols = append(cols, column{title: "DELIVERED", width: 13, drop: 5}, column{title: "ACKFLOOR", width: 13, drop: 6})
	return layoutColumns(cols, p.w-2)
}

func (p *groupsPane) View(focused bool) []string {
	st := p.com.Styles
	switch {
	case p.topic == "":
		return []string{st.Dim.Render("select a topic (enter in Topics)")}
	case !p.loaded && p.err != nil:
		return []string{st.Error.Render(trunc(SanitizeString(p.err.Error()), p.w))}
	case !p.loaded:
		return []string{st.Dim.Render("loading…")}
	}
	cols := p.columns()
	lines := []string{st.ColHeader.Render(fit("  "+headerRow(cols), p.w))}
	if len(p.rows) == 0 {
		return append(lines, st.Dim.Render("no groups"))
	}
	rows := make([]string, len(p.rows))
	stuck := make([]bool, len(p.rows))
	for i, r := range p.rows {
		if !p.list.visible(i) {
			continue
		}
		g := p.groups[r.g]
		if r.consumer < 0 {
			status := "ok"
			name := SanitizeString(g.Name)
			if g.Kind == core.GroupEphemeral {
				status = "ephemeral"
			}
			if isMQScopeTail(g) {
				name, status = "tail (mqscope)", "watch only, "+g.Name
			}
			trend := ""
			if !isMQScopeTail(g) {
				trend = groupSpark(p.com, p.topic, g.Name)
			}
			sig := p.signals[g.Name]
			switch {
			case len(g.Stuck) > 0:
				status = "STUCK: " + strings.Join(g.Stuck, "; ")
				name = "! " + name
				stuck[i] = true
			case sig.Kind.Alert():
				status = strings.ToUpper(sig.Kind.String()) + ": " + sig.Text + p.com.Styles.Dot + sig.Basis
				name = "! " + name
				stuck[i] = true
			case sig.Kind == history.SignalDraining:
				status = sig.Text + p.com.Styles.Dot + sig.Basis
			}
			rows[i] = row(cols, map[string]string{
				"TREND":     trend,
				"NAME":      name,
				"PEND":      strconv.FormatInt(g.Pending, 10),
				"LAG":       unknownIfNeg(g.Lag),
				"OLDEST":    lowerBound(g.OldestPendingLowerBound) + durOrDash(g.OldestPendingIdle),
				"STATUS":    SanitizeString(status),
				"REDLV":     unknownIfNeg(g.Redelivered),
				"DELIVERED": SanitizeString(g.LastDelivered),
				"ACKFLOOR":  SanitizeString(g.AckFloor),
			})
			continue
		}
		c := g.Consumers[r.consumer]
		// "seen" is the member's last read (any read, even an empty one,
		// resets it); OLDEST is how long its own oldest pending entry has
		// waited, which is what says whether it is stuck.
		status := "seen " + core.HumanDuration(c.Idle) + " ago"
		if len(c.Stuck) > 0 {
			status = "STUCK: " + strings.Join(c.Stuck, "; ")
			stuck[i] = true
		}
		oldest := ""
		if c.Pending > 0 && c.OldestPendingIdle > 0 {
			oldest = lowerBound(c.OldestPendingLowerBound) + durOrDash(c.OldestPendingIdle)
		}
		rows[i] = row(cols, map[string]string{
			"NAME":   p.com.Styles.Tree + SanitizeString(c.Name),
			"PEND":   strconv.FormatInt(c.Pending, 10),
			"OLDEST": oldest,
			"STATUS": SanitizeString(status),
		})
	}
	return append(lines, p.list.renderRows(st, rows, p.w, focused, func(i int) *lipglossStyle {
		if stuck[i] {
			return &st.Stuck
		}
		if g := p.groups[p.rows[i].g]; p.rows[i].consumer >= 0 || g.Kind == core.GroupEphemeral || isMQScopeTail(g) {
			return &st.Dim
		}
		return nil
	})...)
}

func unknownIfNeg(n int64) string {
	if n < 0 {
		return "?"
	}
	return strconv.FormatInt(n, 10)
}

// lowerBound marks a figure the backend measured on part of a list.
func lowerBound(partial bool) string {
	if partial {
		return "≥"
	}
	return ""
}
