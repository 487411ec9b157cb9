package coretest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
)

// leaveCases check that a group member that leaves while busy hands what it
// holds back to the group at once (issue 10) on every backend that stores
// messages.
func leaveCases() []testCase {
	return []testCase{
		{"LeavingMemberHandsBack", testLeavingMemberHandsBack},
	}
}

// LeaveClaimIdle is the claim idle (JetStream AckWait) of the members in
// LeaveRounds: far beyond LeaveBound, so a message a leaving member strands
// shows up as missing instead of coming back late.
const LeaveClaimIdle = 30 * time.Second

// LeaveBound is how soon after the last member left the one that stays
// must have everything, on top of the time it needs to handle the backlog.
const LeaveBound = 2 * time.Second

// LeaveResult is what LeaveRounds observed, for a backend's own test to
// check the broker's figures with its raw client.
type LeaveResult struct {
	Topic, Group string
	// Took is the time from the last member's leave until every message
	// had been handled; Backlog is how many were not handled yet when it
	// left (the stayer needs about Backlog × 2 ms for them).
	Took    time.Duration
	Backlog int
}

// LeaveRounds runs group members that come and go while busy: one member
// stays; 20 others in turn join, handle a few messages (a short pause
// each, so they always hold a batch and keep a fetch open) and leave while
// their handler is mid-message, alternately by Unsubscribe and by the
// client's Close. Every one of 1 000 messages must then be handled within
// the stayer's backlog time plus LeaveBound, far below LeaveClaimIdle.
// Manual-ack handlers ack before they return.
func LeaveRounds(t *testing.T, h Harness, batch int, manual bool) LeaveResult {
	t.Helper()
	const total, rounds, perMember = 1000, 20, 10
	const stayPause, leavePause = 2 * time.Millisecond, 500 * time.Microsecond
	pub := h.client(t, core.Config{})
	requireOp(t, pub, core.OpHistory) // a queue group of a broker that stores nothing holds nothing to hand back
	res := LeaveResult{Topic: h.topic(t), Group: "g"}
	publishAll(t, pub, res.Topic, payloads("leave", total))

	var mu sync.Mutex
	done := map[string]bool{}
	handle := func(m core.Message, pause time.Duration) error {
		time.Sleep(pause)
		if manual {
			if err := m.Ack(); err != nil {
				return err
			}
		}
		mu.Lock()
		done[string(m.Data())] = true
		mu.Unlock()
		return nil
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(done) }
	opts := []core.SubscribeOption{core.WithQueueGroup(res.Group), core.WithBatchSize(batch), core.WithClaimIdle(LeaveClaimIdle)}
	if manual {
		opts = append(opts, core.WithManualAck())
	}
	stay := h.client(t, core.Config{Consumer: "stay"})
	subscribe(t, stay, t.Context(), res.Topic, func(m core.Message) error { return handle(m, stayPause) }, opts...)
	for r := range rounds {
		c := h.client(t, core.Config{Consumer: fmt.Sprintf("leave-%d", r)})
		var handled atomic.Int32
		sub := subscribe(t, c, t.Context(), res.Topic, func(m core.Message) error {
			handled.Add(1)
			return handle(m, leavePause)
		}, opts...)
		eventually(t, msgf("member leave-%d never handled %d messages", r, perMember), func() bool { return handled.Load() >= perMember })
		var err error
		if r%2 == 0 {
			err = sub.Unsubscribe()
		} else {
			err = c.Close()
		}
		if err != nil {
			t.Fatalf("member leave-%d leaving: %v", r, err)
		}
	}
	left := time.Now()
	res.Backlog = total - count()
	bound := total*stayPause + LeaveBound
	for count() < total && time.Since(left) < bound {
		time.Sleep(5 * time.Millisecond)
	}
	res.Took = time.Since(left)
	if got := count(); got < total {
		t.Fatalf("%s: %v after the last busy member left, %d of %d messages handled: %d stranded with members that left (claim idle %v)",
			h.Driver, res.Took.Round(time.Millisecond), got, total, total-got, LeaveClaimIdle)
	}
	t.Logf("%s batch %d manual=%v: all %d handled %v after the last of %d busy members left, %d of them then unhandled (bound %v)",
		h.Driver, batch, manual, total, res.Took.Round(time.Millisecond), rounds, res.Backlog, bound)
	return res
}

func testLeavingMemberHandsBack(t *testing.T, h *Harness) {
	for _, batch := range []int{1, 10} {
		for _, manual := range []bool{false, true} {
			t.Run(fmt.Sprintf("batch%d/manual=%v", batch, manual), func(t *testing.T) {
				t.Parallel()
				res := LeaveRounds(t, *h, batch, manual)
				c := h.client(t, core.Config{})
				eventually(t, func() string {
					return fmt.Sprintf("group %s still has %d pending after every message was handled", res.Group, groupPending(t, c, res.Topic, res.Group))
				}, func() bool { return groupPending(t, c, res.Topic, res.Group) <= 0 })
			})
		}
	}
}
