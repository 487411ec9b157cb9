package jetstream_test

import (
	"context"
	"fmt"
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
