package jetstream_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/coretest"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestLeavingMemberHandsBack runs the conformance scenario (busy members
// leave by Unsubscribe and Close, batch 1 and 10, auto and manual ack) and
// reads the consumer back with the raw client: num_ack_pending and
// num_pending are both 0 once everything was handled. Before issue 10's fix
// 2–3 (batch 1) and 9–10 (batch 10) messages stayed in num_ack_pending
// until AckWait, and the scenario failed.
func TestLeavingMemberHandsBack(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t)
	h := coretest.NATSAt(t, core.DriverJetStream, n.URL())
	_, js := rawJS(t, n)
	for _, batch := range []int{1, 10} {
		for _, manual := range []bool{false, true} {
			t.Run(fmt.Sprintf("batch%d/manual=%v", batch, manual), func(t *testing.T) {
				t.Parallel()
				res := coretest.LeaveRounds(t, h, batch, manual)
				ctx := t.Context()
				stream, err := js.StreamNameBySubject(ctx, res.Topic)
				if err != nil {
					t.Fatal(err)
				}
				var ackPending int
				var pending uint64
				eventually(t, 5*time.Second, func() string {
					return fmt.Sprintf("consumer %s on %s: num_ack_pending=%d num_pending=%d, want 0 and 0", res.Group, stream, ackPending, pending)
				}, func() bool {
					cons, err := js.Consumer(context.WithoutCancel(ctx), stream, res.Group)
					if err != nil {
						t.Fatalf("raw consumer info of %s on %s: %v", res.Group, stream, err)
					}
					info := cons.CachedInfo()
					ackPending, pending = info.NumAckPending, info.NumPending
					return ackPending == 0 && pending == 0
				})
			})
		}
	}
}

// TestHandBackAfterPullDropped: a group member that leaves with a batch in
// hand NAKs it only after asking for the consumer's info, which makes the
// server drop the member's pull request (its inbox has no interest once
// unsubscribed). nats-server before 2.10.16 (Debian's 2.9) takes a NAKed
// message off its redelivery queue for such a dead request and, when no
// other member has a request open, drops the redelivery until AckWait (2.9
// also delivers the last new message again); LeavingMemberHandsBack against that
// server (make test-nats-system) stranded one or two messages in three runs
// of four. The embedded server puts such a redelivery back, so nothing is
// lost here either way: this test watches the order on the wire instead
// (one subscription on $JS.>, so what the member sent arrives in order).
func TestHandBackAfterPullDropped(t *testing.T) {
	t.Parallel()
	const batch = 10
	n := testbroker.StartNATS(t)
	mon, js := rawJS(t, n)
	ctx := t.Context()
	topic := testbroker.Name(t, "handback")
	pub := newClient(t, n, core.Config{CreateStreams: true})
	for i := range batch {
		if err := pub.Publish(ctx, topic, fmt.Appendf(nil, "held-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	stream, err := js.StreamNameBySubject(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := mon.SubscribeSync("$JS.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := mon.Flush(); err != nil {
		t.Fatal(err)
	}

	a := newClient(t, n, core.Config{Consumer: "a"})
	started, release := make(chan struct{}), make(chan struct{})
	var once, releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free)
	subA, err := a.Subscribe(ctx, topic, func(m core.Message) error {
		once.Do(func() { close(started) })
		<-release
		return nil
	}, core.WithQueueGroup("g"), core.WithBatchSize(batch), core.WithClaimIdle(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	<-started

	// The member's traffic for consumer g, in the order the server saw it.
	var seen []string
	pull, info := "$JS.API.CONSUMER.MSG.NEXT."+stream+".g", "$JS.API.CONSUMER.INFO."+stream+".g"
	ack := "$JS.ACK." + stream + ".g."
	read := func(wait time.Duration) bool {
		m, err := wire.NextMsg(wait)
		if err != nil {
			return false
		}
		switch {
		case m.Subject == pull:
			seen = append(seen, "pull")
		case m.Subject == info:
			seen = append(seen, "info")
		case strings.HasPrefix(m.Subject, ack) && strings.HasPrefix(string(m.Data), "-NAK"):
			seen = append(seen, "nak")
		}
		return true
	}
	// a has the batch and opens its next pull (its puller looks every
	// second), which nothing fills: it is still open when a leaves.
	pulls := func() int { return strings.Count(strings.Join(seen, " "), "pull") }
	for deadline := time.Now().Add(10 * time.Second); pulls() < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("a never opened a second pull after taking the batch: %v", seen)
		}
		read(time.Second)
	}
	go func() { time.Sleep(100 * time.Millisecond); free() }() // a's handler finishes while a leaves
	if err := subA.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if err := mon.Flush(); err != nil { // what a sent before Unsubscribe returned is with mon
		t.Fatal(err)
	}
	for read(100 * time.Millisecond) {
	}
	lastPull, firstNak, naks := -1, -1, 0
	for i, k := range seen {
		switch k {
		case "pull":
			lastPull = i
		case "nak":
			naks++
			if firstNak < 0 {
				firstNak = i
			}
		}
	}
	if naks == 0 {
		t.Fatalf("a left with %d messages unhandled but NAKed none: %v", batch-1, seen)
	}
	if firstNak < lastPull {
		t.Fatalf("a NAKed before its last pull: %v", seen)
	}
	if !slices.Contains(seen[lastPull:firstNak], "info") {
		t.Fatalf("a handed %d messages back (NAK) with its last pull request still registered (no consumer info between its last pull and its first NAK): %v", naks, seen)
	}
	t.Logf("a's traffic for g: %v", seen)
}
