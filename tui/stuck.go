package tui

// The stuck scan: which topics have a stuck group, for the Topics marks and
// the header count, so the first frame already says where to look.

import (
	"context"

	tea "charm.land/bubbletea/v2"
)

// Listing the groups of every topic is one or more broker calls per topic
// (on Redis XINFO GROUPS, XINFO CONSUMERS and an XPENDING scan per group);
// with thousands of streams, doing it on every 2 s refresh would be the
// console's heaviest load on the broker. So the scan looks only at topics
// that have groups, at most stuckScanCap of them per scan, and at most once
// per stuckScanEvery refreshes.
const (
	stuckScanCap   = 50
	stuckScanEvery = 5 // refresh intervals between scans
)

type stuckScanMsg struct {
	gen     uint64
	stuck   map[string]int // topic -> stuck groups
	skipped int            // topics with groups left out by the cap
	err     error
}

// maybeScanStuck starts a scan when none runs and the last one is old
// enough; called after each successful topics refresh.
func (m *Model) maybeScanStuck() tea.Cmd {
	every := m.o.Refresh
	if m.target != nil && m.target.Refresh > 0 {
		every = m.target.Refresh
	}
	now := m.com.Now()
	if m.stuckFlight || m.com.Op == nil || (!m.stuckAt.IsZero() && now.Sub(m.stuckAt) < stuckScanEvery*every) {
		return nil
	}
	var topics []string
	skipped := 0
	for _, t := range m.topics.all {
		if t.Groups <= 0 {
			continue
		}
		if len(topics) == stuckScanCap {
			skipped++
			continue
		}
		topics = append(topics, t.Name)
	}
	m.stuckFlight, m.stuckAt = true, now
	gen := m.com.Gen
	op, base, timeout := m.com.Op, m.com.Ctx, m.com.Timeout
	rec := recorder(m.com) // the scan samples every topic's groups, not only the one shown
	return func() tea.Msg {
		out := stuckScanMsg{gen: gen, stuck: map[string]int{}, skipped: skipped}
		for _, t := range topics {
			ctx, cancel := context.WithTimeout(base, timeout)
			gs, err := op.Groups(ctx, t)
			cancel()
			if err != nil {
				out.err = err // the marks of this scan are partial; the next one retries
				continue
			}
			rec.groups(t, gs)
			for _, g := range gs {
				if len(g.Stuck) > 0 && !isMQScopeTail(g) {
					out.stuck[t]++
				}
			}
		}
		return out
	}
}

func (m *Model) stuckScanned(msg stuckScanMsg) {
	m.stuckFlight = false
	if msg.err != nil {
		m.com.Logger.Debug("stuck scan", "err", msg.err)
	}
	m.topics.stuck, m.stuckSkipped = msg.stuck, msg.skipped
}

// stuckGroups is the header's count of stuck groups across the context.
func (m *Model) stuckGroups() int {
	n := 0
	for _, c := range m.topics.stuck {
		n += c
	}
	return n
}
