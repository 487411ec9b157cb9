package coretest

import (
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
)

// stuckCases check stuck detection and the claim defaults built on it
// (issue 7) on every backend that lists groups.
func stuckCases() []testCase {
	return []testCase{
		{"StuckThresholdsAndClaimTarget", testStuckThresholdsAndClaimTarget},
	}
}

// A group holding messages nobody processes is stuck under thresholds
// below their idle time and not under thresholds above it; a consumer row
// is stuck only when it holds messages, judged by its own pending idle
// where the backend reports it; the default claim target is never the
// owner.
func testStuckThresholdsAndClaimTarget(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpGroups, core.OpHistory)
	topic := h.topic(t)
	holdPending(t, h, c, topic, "g", 2) // idle at least holdClaimIdle

	low := core.StuckThresholds{PendingIdle: holdClaimIdle / 2, ConsumerIdle: holdClaimIdle / 2}
	lowC := h.client(t, core.Config{}, core.WithStuckThresholds(low))
	if got := lowC.Operator().StuckThresholds(); got != low {
		t.Errorf("StuckThresholds() = %+v, want %+v", got, low)
	}
	g, ok := findGroup(t, lowC, topic, "g")
	if !ok || g.Pending != 2 || len(g.Stuck) == 0 {
		t.Fatalf("group g under %+v: %+v (found %v), want 2 pending and stuck", low, g, ok)
	}
	if g.OldestPendingIdle < holdClaimIdle {
		t.Errorf("OldestPendingIdle = %v, want ≥ %v (the messages were held that long)", g.OldestPendingIdle, holdClaimIdle)
	}
	holders := 0
	for _, cons := range g.Consumers {
		if cons.Pending > 0 {
			holders++
		}
		switch {
		case cons.Pending == 0 && len(cons.Stuck) > 0:
			t.Errorf("consumer %s holds nothing but is stuck: %q", cons.Name, cons.Stuck)
		case cons.Pending > 0 && len(cons.Stuck) == 0:
			t.Errorf("consumer %s holds %d pending idle ≥ %v but is not stuck under %+v: %+v", cons.Name, cons.Pending, holdClaimIdle, low, cons)
		case cons.OldestPendingIdle > 0 && cons.OldestPendingIdle < holdClaimIdle:
			t.Errorf("consumer %s OldestPendingIdle = %v, want ≥ %v", cons.Name, cons.OldestPendingIdle, holdClaimIdle)
		}
		if got := core.DefaultClaimTarget(g, cons.Name); got == cons.Name {
			t.Errorf("DefaultClaimTarget(owner %s) returned the owner", cons.Name)
		}
	}
	if holders == 0 {
		t.Errorf("no consumer row holds the group's pending messages: %+v", g.Consumers)
	}

	high := core.StuckThresholds{PendingIdle: time.Hour, ConsumerIdle: time.Hour}
	g, _ = findGroup(t, h.client(t, core.Config{}, core.WithStuckThresholds(high)), topic, "g")
	if len(g.Stuck) != 0 {
		t.Errorf("group g stuck under %+v: %q", high, g.Stuck)
	}
	for _, cons := range g.Consumers {
		if len(cons.Stuck) != 0 {
			t.Errorf("consumer %s stuck under %+v: %q", cons.Name, high, cons.Stuck)
		}
	}
}
