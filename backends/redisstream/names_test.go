package redisstream_test

import (
	"context"
	"testing"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestActionsUseTheExactName: groups and consumers whose names differ only
// by an escape sequence stay apart; every action takes the name byte for
// byte (Redis names are binary-safe, so nothing is ever refused or rewritten).
func TestActionsUseTheExactName(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	ctx := context.Background()
	s := topic(t, admin)
	ids := seed(t, admin, s, 6)
	esc, twin := "g-clr\x1b[2J", "g-clr_[2J"
	for _, g := range []string{esc, twin} {
		if err := admin.XGroupCreate(ctx, s, g, "0").Err(); err != nil {
			t.Fatal(err)
		}
	}
	readAs(t, admin, s, esc, "c_]8;;x_", 3)
	if err := admin.XGroupCreateConsumer(ctx, s, esc, "c\x1b]8;;x\x07").Err(); err != nil {
		t.Fatal(err)
	}
	readAs(t, admin, s, twin, "c", 3)
	c := newClient(t, admin, core.Config{})
	op := c.Operator()

	if _, err := op.Ack(ctx, core.ActionRequest{Topic: s, Group: esc, IDs: ids[:1]}); err != nil {
		t.Fatal(err)
	}
	if n := len(pelCounts(t, admin, s, esc)); n != 2 {
		t.Errorf("%q holds %d pending after acking one of 3", esc, n)
	}
	if n := len(pelCounts(t, admin, s, twin)); n != 3 {
		t.Errorf("the twin %q holds %d pending, want its 3", twin, n)
	}
	if err := op.DeleteConsumer(ctx, s, esc, "c\x1b]8;;x\x07"); err != nil {
		t.Fatal(err)
	}
	cs, err := admin.XInfoConsumers(ctx, s, esc).Result()
	if err != nil || len(cs) != 1 || cs[0].Name != "c_]8;;x_" {
		t.Errorf("consumers of %q after deleting the escaped one: %+v %v", esc, cs, err)
	}
	if err := op.DeleteGroup(ctx, s, esc); err != nil {
		t.Fatal(err)
	}
	gs, err := admin.XInfoGroups(ctx, s).Result()
	if err != nil || len(gs) != 1 || gs[0].Name != twin || gs[0].Pending != 3 {
		t.Errorf("groups after deleting %q: %+v %v; want only the twin with its 3 pending", esc, gs, err)
	}
}
