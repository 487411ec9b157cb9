package coretest

import (
	"context"
	"testing"

	"github.com/mqscope/mqscope/core"
)

// settleAction is one operator action on chosen pending messages.
type settleAction struct {
	name string
	op   core.Op
	// removes: the message leaves the group's pending list (all but nak).
	removes bool
	do      func(ctx context.Context, c *core.Client, topic, group string, ids []string) (core.Result, error)
}

func settleActions() []settleAction {
	return []settleAction{
		{"Ack", core.OpAck, true, func(ctx context.Context, c *core.Client, topic, group string, ids []string) (core.Result, error) {
			return c.Operator().Ack(ctx, core.ActionRequest{Topic: topic, Group: group, IDs: ids})
		}},
		{"Nak", core.OpNak, false, func(ctx context.Context, c *core.Client, topic, group string, ids []string) (core.Result, error) {
			return c.Operator().Nak(ctx, core.ActionRequest{Topic: topic, Group: group, IDs: ids})
		}},
		{"Term", core.OpTerm, true, func(ctx context.Context, c *core.Client, topic, group string, ids []string) (core.Result, error) {
			return c.Operator().Term(ctx, core.ActionRequest{Topic: topic, Group: group, IDs: ids, Reason: "conformance"})
		}},
		{"DeadLetter", core.OpDeadLetter, true, func(ctx context.Context, c *core.Client, topic, group string, ids []string) (core.Result, error) {
			return c.Operator().MoveToDLQ(ctx, core.MoveRequest{Topic: topic, Group: group, IDs: ids, DLQ: c.DeadLetterTopic(topic), Reason: "conformance"})
		}},
	}
}

// holdRaw publishes total messages and has the broker's own client hold
// the first n in group "g" (Harness.HoldRaw). It skips by capability, or
// when the harness has no raw hook, saying so. It returns the group, the
// ids of every stored message and its state before any action.
func holdRaw(t *testing.T, h *Harness, c *core.Client, a settleAction, topic string, total, n int) (RawGroup, []string, RawState) {
	t.Helper()
	requireOp(t, c, a.op, core.OpBrowse)
	if h.HoldRaw == nil {
		t.Skipf("%s: the harness has no raw-client hook (HoldRaw) to hold messages without mqscope", c.Driver())
	}
	if a.op == core.OpDeadLetter && can(t, c, core.OpCreateDLQ) {
		if err := c.Operator().EnsureDLQ(t.Context(), c.DeadLetterTopic(topic)); err != nil {
			t.Fatalf("EnsureDLQ: %v", err)
		}
	}
	publishAll(t, c, topic, payloads("held", total))
	var all []string
	for _, r := range browseAll(t, c, topic) {
		all = append(all, r.ID)
	}
	if len(all) != total {
		t.Fatalf("stored %d messages, want %d", len(all), total)
	}
	g := h.HoldRaw(t, topic, "g", n)
	before, err := g.State(t.Context())
	if err != nil {
		t.Fatalf("raw state: %v", err)
	}
	if before.Pending != int64(n) {
		t.Fatalf("raw hold: pending %d, want %d (%+v)", before.Pending, n, before)
	}
	return g, all, before
}

// testActOnOneOnly: a group holds 4 of 6 messages, delivered by the
// broker's own client; the operator acks / naks / terms / dead-letters one
// of them. Read back with the raw client, every other message's delivery
// count, the group's delivered position and its undelivered count are
// unchanged, its pending count drops by exactly the one message (nak: does
// not drop), and the chosen message is gone from pending (nak: still
// pending, not delivered again by the action).
func testActOnOneOnly(t *testing.T, h *Harness) {
	forEachSettle(t, h, 6, 4, func(t *testing.T, a settleAction, c *core.Client, topic string, g RawGroup, _ []string, before RawState) {
		x := g.IDs[1]
		res, err := a.do(t.Context(), c, topic, "g", []string{x})
		if err != nil {
			t.Fatalf("%s %s: %v", a.name, x, err)
		}
		if res.Done != 1 || res.Failed != 0 || res.Skipped != 0 {
			t.Errorf("%s %s: result %+v, want 1 done", a.name, x, res)
		}
		after, err := g.State(t.Context())
		if err != nil {
			t.Fatalf("raw state: %v", err)
		}
		want := before
		if a.removes {
			want.Pending--
		}
		if after != want {
			t.Errorf("%s of %s changed more than that message:\nbefore: %+v\nafter:  %+v\nwant:   %+v", a.name, x, before, after, want)
		}
		d, err := g.Deliveries(t.Context())
		if err != nil {
			t.Fatalf("raw deliveries: %v", err)
		}
		for _, id := range g.IDs {
			n, pending := d[id]
			switch {
			case id == x && a.removes:
				if pending {
					t.Errorf("%s: %s is still pending (delivered %d times)", a.name, id, n)
				}
			case !pending:
				t.Errorf("%s of %s: %s is no longer pending (raw deliveries %v)", a.name, x, id, d)
			case n != 1:
				t.Errorf("%s of %s: %s was delivered %d times, want 1 (raw deliveries %v)", a.name, x, id, n, d)
			}
		}
		if a.op == core.OpDeadLetter {
			recs := browseAll(t, c, c.DeadLetterTopic(topic))
			if len(recs) != 1 || recs[0].Header.Get(core.HeaderOriginID) != x {
				t.Fatalf("DLQ holds %d records (%+v), want the copy of %s", len(recs), recs, x)
			}
			if n := recs[0].Header.Get(core.HeaderDeliveries); n != "" && n != "1" {
				t.Errorf("DLQ copy says %s: %s after one delivery", core.HeaderDeliveries, n)
			}
		}
	})
}

// testActOnNotPending: acting on a message the group does not hold (acked
// already, in order or out of order, or never delivered) reports it
// skipped, not done, and changes nothing.
func testActOnNotPending(t *testing.T, h *Harness) {
	forEachSettle(t, h, 5, 3, func(t *testing.T, a settleAction, c *core.Client, topic string, g RawGroup, all []string, _ RawState) {
		// The first held message acked (JetStream's ack floor moves past
		// it) and the third (out of order: the floor stays below it).
		acked := []string{g.IDs[0], g.IDs[2]}
		if res, err := c.Operator().Ack(t.Context(), core.ActionRequest{Topic: topic, Group: "g", IDs: acked}); err != nil || res.Done != 2 {
			t.Fatalf("Ack %v: %+v %v", acked, res, err)
		}
		before, err := g.State(t.Context())
		if err != nil {
			t.Fatalf("raw state: %v", err)
		}
		notPending := []string{g.IDs[0], all[4]} // acked; never delivered
		if a.op != core.OpDeadLetter {
			// Acked out of order: not for a dead-letter move, which on
			// JetStream has copied the message by the time it can tell.
			notPending = append(notPending, g.IDs[2])
		}
		res, err := a.do(t.Context(), c, topic, "g", notPending)
		if err != nil {
			t.Fatalf("%s %v: %v", a.name, notPending, err)
		}
		if res.Done != 0 || res.Skipped != len(notPending) {
			t.Errorf("%s of not-pending %v: result %+v, want %d skipped and none done", a.name, notPending, res, len(notPending))
		}
		after, err := g.State(t.Context())
		if err != nil {
			t.Fatalf("raw state: %v", err)
		}
		if after != before {
			t.Errorf("%s of not-pending %v changed the group:\nbefore: %+v\nafter:  %+v", a.name, notPending, before, after)
		}
		if a.op == core.OpDeadLetter {
			if recs := browseAll(t, c, c.DeadLetterTopic(topic)); len(recs) != 0 {
				t.Errorf("DLQ holds %d copies of messages that were not pending", len(recs))
			}
		}
	})
}

// forEachSettle runs fn in a parallel subtest per action, on a fresh
// topic with total messages of which the first n are held (holdRaw).
func forEachSettle(t *testing.T, h *Harness, total, n int, fn func(t *testing.T, a settleAction, c *core.Client, topic string, g RawGroup, all []string, before RawState)) {
	for _, a := range settleActions() {
		t.Run(a.name, func(t *testing.T) {
			t.Parallel()
			c := h.client(t, core.Config{})
			topic := h.topic(t)
			g, all, before := holdRaw(t, h, c, a, topic, total, n)
			fn(t, a, c, topic, g, all, before)
		})
	}
}
