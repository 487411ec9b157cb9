package redisstream_test

import (
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core/coretest"
)

// TestLeavingMemberHandsBack runs the conformance scenario (busy members
// leave by Unsubscribe and Close, batch 1 and 10, auto and manual ack) and
// reads the group back with the raw client: XPENDING is empty once
// everything was handled; when something was stranded it names the
// consumers holding it and their idle times.
func TestLeavingMemberHandsBack(t *testing.T) {
	t.Parallel()
	h := coretest.Redis(t)
	admin := rclient(t, "leave-admin")
	for _, batch := range []int{1, 10} {
		for _, manual := range []bool{false, true} {
			t.Run(fmt.Sprintf("batch%d/manual=%v", batch, manual), func(t *testing.T) {
				t.Parallel()
				res := coretest.LeaveRounds(t, h, batch, manual)
				ctx := t.Context()
				if res.Stranded > 0 {
					p, err := admin.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: res.Topic, Group: res.Group, Start: "-", End: "+", Count: 100}).Result()
					if err != nil {
						t.Fatalf("raw XPENDING %s %s: %v", res.Topic, res.Group, err)
					}
					for _, e := range p {
						t.Logf("stranded: %s at %s idle %v deliveries %d", e.ID, e.Consumer, e.Idle, e.RetryCount)
					}
					return
				}
				var pending int64
				eventually(t, func() string {
					return fmt.Sprintf("XPENDING %s %s: %d entries, want 0", res.Topic, res.Group, pending)
				}, func() bool {
					p, err := admin.XPending(ctx, res.Topic, res.Group).Result()
					if err != nil {
						t.Fatalf("raw XPENDING %s %s: %v", res.Topic, res.Group, err)
					}
					pending = p.Count
					return pending == 0
				})
			})
		}
	}
}
