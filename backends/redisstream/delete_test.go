package redisstream_test

import (
	"context"
	"testing"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestDeleteMessagesRaw: XDEL of the chosen ids only, read back with XRANGE;
// a group holding a deleted entry as pending keeps its id (XPENDING).
func TestDeleteMessagesRaw(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	ctx := context.Background()
	s := topic(t, admin)
	ids := seed(t, admin, s, 4)
	if err := admin.XGroupCreate(ctx, s, "g", "0").Err(); err != nil {
		t.Fatal(err)
	}
	readAs(t, admin, s, "g", "c", 2)
	c := newClient(t, admin, core.Config{})
	res, err := c.Operator().DeleteMessages(ctx, core.DeleteRequest{Topic: s, IDs: []string{ids[0], ids[2], "1-1"}})
	if err != nil || res.Done != 2 || res.Skipped != 1 {
		t.Fatalf("delete: %+v %v; want 2 done, 1 skipped", res, err)
	}
	left, err := admin.XRange(ctx, s, "-", "+").Result()
	if err != nil || len(left) != 2 || left[0].ID != ids[1] || left[1].ID != ids[3] {
		t.Fatalf("XRANGE after delete: %v %v", left, err)
	}
	if pel := pelCounts(t, admin, s, "g"); len(pel) != 2 {
		t.Errorf("XPENDING after delete: %v; the group keeps both ids it held", pel)
	}
}
