package coretest

import (
	"errors"
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
		{"HandBackTime", testHandBackTime},
		{"LostMemberBound", testLostMemberBound},
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
	// Stranded is how many were still not handled at the bound (the case
	// has failed).
	Stranded int
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
		// Errorf, not Fatalf: a backend's test reads the broker's figures
		// on what was stranded.
		res.Stranded = total - got
		t.Errorf("%s: %v after the last busy member left, %d of %d messages handled: %d stranded with members that left (claim idle %v)",
			h.Driver, res.Took.Round(time.Millisecond), got, total, total-got, LeaveClaimIdle)
		return res
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
				if res.Stranded > 0 {
					return // they come back only after the claim idle
				}
				c := h.client(t, core.Config{})
				eventually(t, func() string {
					return fmt.Sprintf("group %s still has %d pending after every message was handled", res.Group, groupPending(t, c, res.Topic, res.Group))
				}, func() bool { return groupPending(t, c, res.Topic, res.Group) <= 0 })
			})
		}
	}
}

// testHandBackTime: a member holds a full batch (its handler busy on the
// first message) and leaves; the member that stays gets the other nine
// within LeaveBound of the leave returning, with a claim idle of 30 s. The
// message in the handler is settled by it, so each is handled once.
func testHandBackTime(t *testing.T, h *Harness) {
	const batch = 10
	pub := h.client(t, core.Config{})
	requireOp(t, pub, core.OpHistory)
	topic := h.topic(t)
	opts := []core.SubscribeOption{core.WithQueueGroup("g"), core.WithBatchSize(batch), core.WithClaimIdle(LeaveClaimIdle)}
	publishAll(t, pub, topic, payloads("held", batch)) // first, so a's first fetch takes them all
	a := h.client(t, core.Config{Consumer: "a"})
	var sa, sb sink
	busy := newGate(t)
	t.Cleanup(busy.release)
	started := make(chan struct{})
	var once sync.Once
	subA := subscribe(t, a, t.Context(), topic, func(m core.Message) error {
		sa.add(m, "a")
		once.Do(func() { close(started) })
		busy.wait()
		return nil
	}, opts...)
	<-started
	time.Sleep(300 * time.Millisecond) // the rest of the batch reaches a
	b := h.client(t, core.Config{Consumer: "b"})
	subscribe(t, b, t.Context(), topic, sb.handler("b"), opts...)
	time.Sleep(300 * time.Millisecond)
	if n := sb.len(); n > 0 {
		t.Fatalf("%s: b got %d while a held its batch (a fetched fewer than %d, so nothing tests the hand-back)", h.Driver, n, batch)
	}
	go func() { time.Sleep(100 * time.Millisecond); busy.release() }() // a's handler finishes while a leaves
	if err := subA.Unsubscribe(); err != nil {
		t.Fatalf("a: Unsubscribe: %v", err)
	}
	left := time.Now()
	for sa.len()+sb.len() < batch && time.Since(left) < LeaveBound {
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(left)
	if sa.len()+sb.len() < batch {
		t.Fatalf("%s: %v after a left, a handled %d and b %d of %d: the rest stayed with a (claim idle %v)",
			h.Driver, took.Round(time.Millisecond), sa.len(), sb.len(), batch, LeaveClaimIdle)
	}
	t.Logf("%s: b had the %d messages a held but did not handle %v after a's Unsubscribe returned", h.Driver, sb.len(), took.Round(time.Millisecond))
	time.Sleep(quiet) // a second delivery would show up here
	counts := sa.counts()
	for k, n := range sb.counts() {
		counts[k] += n
	}
	exactlyOnce(t, "group g", counts, payloads("held", batch))
}

// testLostMemberBound: a member whose connection is lost (a crash) cannot
// hand anything back; what it held (a full batch, one in its handler)
// reaches the rest of the group once the claim idle (JetStream AckWait) has
// passed since delivery, plus at most one sweep interval on Redis
// (ClaimIdle/4, at most 1 s): within ClaimIdle + 1 s of the loss.
func testLostMemberBound(t *testing.T, h *Harness) {
	const batch, claimIdle = 10, 2 * time.Second
	pub := h.client(t, core.Config{})
	requireOp(t, pub, core.OpHistory)
	if h.Connect == nil {
		t.Skipf("%s: the harness cannot open a connection to lose (Harness.Connect is nil)", h.Driver)
	}
	topic := h.topic(t)
	opts := []core.SubscribeOption{core.WithQueueGroup("g"), core.WithBatchSize(batch), core.WithClaimIdle(claimIdle)}
	publishAll(t, pub, topic, payloads("lost", batch))
	conn := h.Connect(t)
	a := h.client(t, core.Config{Consumer: "a"}, conn.Option)
	hang := newGate(t)
	started := make(chan struct{})
	var once sync.Once
	subscribe(t, a, t.Context(), topic, func(m core.Message) error {
		once.Do(func() { close(started) })
		hang.wait()
		return errors.New("member a lost its connection")
	}, opts...)
	t.Cleanup(hang.release) // before the Unsubscribe cleanup, which waits for the handler
	<-started
	var sb sink
	subscribe(t, h.client(t, core.Config{Consumer: "b"}), t.Context(), topic, sb.handler("b"), opts...)
	time.Sleep(200 * time.Millisecond)
	if n := sb.len(); n > 0 {
		t.Fatalf("%s: b got %d while a held its batch", h.Driver, n)
	}
	conn.Close()
	lost := time.Now()
	bound := claimIdle + time.Second
	for sb.len() < batch && time.Since(lost) < bound {
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(lost)
	if sb.len() < batch {
		t.Fatalf("%s: %v after a's connection was lost, b had %d of the %d messages a held (claim idle %v)", h.Driver, took.Round(time.Millisecond), sb.len(), batch, claimIdle)
	}
	t.Logf("%s: b had all %d messages a held %v after a's connection was lost (claim idle %v)", h.Driver, batch, took.Round(time.Millisecond), claimIdle)
}
