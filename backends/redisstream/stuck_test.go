package redisstream_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// Idle times are fabricated with XCLAIM … IDLE (to the entry's own owner)
// instead of waiting minutes.

// setIdle makes ids, pending for owner, idle d (their delivery count kept).
func setIdle(t testing.TB, admin *redis.Client, stream, group, owner string, d time.Duration, ids ...string) {
	t.Helper()
	args := []any{"XCLAIM", stream, group, owner, 0}
	for _, id := range ids {
		args = append(args, id)
	}
	args = append(args, "IDLE", d.Milliseconds(), "JUSTID")
	if err := admin.Do(context.Background(), args...).Err(); err != nil {
		t.Fatalf("xclaim idle %v: %v", d, err)
	}
}

// rawConsumerIdle reads a consumer's idle from XINFO CONSUMERS.
func rawConsumerIdle(t testing.TB, admin *redis.Client, stream, group, name string) time.Duration {
	t.Helper()
	cs, err := admin.XInfoConsumers(context.Background(), stream, group).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Name == name {
			return c.Idle
		}
	}
	t.Fatalf("consumer %s not in XINFO CONSUMERS %s %s: %+v", name, stream, group, cs)
	return 0
}

// groupFixture is a stream of n seeded entries with group "g" from the
// start; it returns the admin client and the ids.
func groupFixture(t *testing.T, n int) (*redis.Client, string, []string) {
	t.Helper()
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	ids := seed(t, admin, tp, n)
	if err := admin.XGroupCreate(t.Context(), tp, "g", "0").Err(); err != nil {
		t.Fatal(err)
	}
	return admin, tp, ids
}

func groupNamed(t testing.TB, op *core.Operator, stream, group string) core.GroupInfo {
	t.Helper()
	gs, err := op.Groups(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if g.Name == group {
			return g
		}
	}
	t.Fatalf("group %s not listed: %+v", group, gs)
	return core.GroupInfo{}
}

func consumerNamed(t testing.TB, g core.GroupInfo, name string) core.ConsumerInfo {
	t.Helper()
	for _, c := range g.Consumers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("consumer %s not in group %s: %+v", name, g.Name, g.Consumers)
	return core.ConsumerInfo{}
}

// The case: the dead consumer holds the lowest id, which is claimed
// to a live consumer; another entry of the dead consumer stays idle over
// the threshold. The group and the dead consumer are stuck, the live one
// is not, although the lowest pending id is fresh and the dead consumer's
// XINFO idle was just reset by an empty read.
func TestGroupsStuckByLongestIdleEntry(t *testing.T) {
	admin, tp, ids := groupFixture(t, 6)
	ctx := t.Context()
	readAs(t, admin, tp, "g", "dead", 4) // ids 0-3
	readAs(t, admin, tp, "g", "live", 2) // ids 4-5
	setIdle(t, admin, tp, "g", "dead", 75*time.Second, ids[:4]...)
	op := newClient(t, admin, core.Config{}, core.WithStuckThresholds(core.StuckThresholds{PendingIdle: time.Minute, ConsumerIdle: time.Minute})).Operator()

	if r, err := op.Claim(ctx, core.ActionRequest{Topic: tp, Group: "g", Consumer: "live", IDs: ids[:1], MinIdle: time.Minute}); err != nil || r.Done != 1 {
		t.Fatalf("claim the lowest id to live: %+v %v", r, err)
	}
	// An empty XREADGROUP by the dead consumer resets its XINFO idle.
	if err := admin.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "dead", Streams: []string{tp, ">"}, Count: 1, Block: -1}).Err(); err != redis.Nil {
		t.Fatalf("empty read by dead: %v", err)
	}

	// Raw Redis: the lowest pending id is live's and fresh; dead holds
	// entries idle over a minute while XINFO says it was just seen.
	low, _ := admin.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: tp, Group: "g", Start: "-", End: "+", Count: 1}).Result()
	if len(low) != 1 || low[0].ID != ids[0] || low[0].Consumer != "live" || low[0].Idle >= time.Minute {
		t.Fatalf("raw lowest pending: %+v", low)
	}
	old, _ := admin.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: tp, Group: "g", Idle: time.Minute, Start: "-", End: "+", Count: 10}).Result()
	if len(old) != 3 || old[0].Consumer != "dead" {
		t.Fatalf("raw XPENDING IDLE 60000: %+v", old)
	}
	if idle := rawConsumerIdle(t, admin, tp, "g", "dead"); idle >= time.Minute {
		t.Fatalf("XINFO CONSUMERS idle of dead after an empty read: %v", idle)
	}

	g := groupNamed(t, op, tp, "g")
	t.Logf("group: %+v", g)
	if len(g.Stuck) == 0 || !strings.Contains(g.Stuck[0], "idle 1m") {
		t.Errorf("group Stuck = %q, want a pending message idle 1m", g.Stuck)
	}
	if g.OldestPendingIdle < old[0].Idle || g.OldestPendingIdle > old[0].Idle+5*time.Second || g.OldestPendingLowerBound {
		t.Errorf("group OldestPendingIdle = %v (lower bound %v), raw longest idle %v", g.OldestPendingIdle, g.OldestPendingLowerBound, old[0].Idle)
	}
	if g.Extra["longest-idle-owner"] != "dead" || g.Extra["lowest-pending-id"] != ids[0] || g.Extra["lowest-pending-owner"] != "live" {
		t.Errorf("group Extra = %v", g.Extra)
	}
	dead, live := consumerNamed(t, g, "dead"), consumerNamed(t, g, "live")
	if len(dead.Stuck) == 0 || dead.Pending != 3 || dead.OldestPendingIdle < 75*time.Second || dead.Idle >= time.Minute {
		t.Errorf("dead consumer: %+v, want stuck with 3 pending idle ≥ 75s (XINFO idle reset)", dead)
	}
	if len(live.Stuck) != 0 || live.Pending != 3 || live.OldestPendingIdle >= time.Minute {
		t.Errorf("live consumer: %+v, want not stuck with 3 fresh pending", live)
	}
	if g.Consumers[0].Name != "dead" {
		t.Errorf("stuck consumer not sorted first: %+v", g.Consumers)
	}
	if got := core.DefaultClaimTarget(g, "dead"); got != "live" {
		t.Errorf("DefaultClaimTarget(owner dead) = %q, want live", got)
	}
}

// A consumer holding more than the scan reads: the figure is a lower bound
// and says so; an entry beyond the scan is not seen (the price of a
// bounded refresh).
func TestGroupsIdleScanIsBounded(t *testing.T) {
	admin, tp, ids := groupFixture(t, 1100)
	readAs(t, admin, tp, "g", "big", 1100)
	setIdle(t, admin, tp, "g", "big", 10*time.Minute, ids[1050])
	setIdle(t, admin, tp, "g", "big", 2*time.Minute, ids[500])
	op := newClient(t, admin, core.Config{}).Operator()
	g := groupNamed(t, op, tp, "g")
	big := consumerNamed(t, g, "big")
	if !g.OldestPendingLowerBound || !big.OldestPendingLowerBound || !strings.Contains(g.Extra["idle-scan"], "first 1000") {
		t.Fatalf("group %+v: want a lower bound saying the first 1000 were read", g)
	}
	if g.OldestPendingIdle < 2*time.Minute || g.OldestPendingIdle >= 10*time.Minute || big.OldestPendingIdle != g.OldestPendingIdle {
		t.Fatalf("OldestPendingIdle group %v consumer %v: want the 2m entry inside the scan, not the 10m one beyond it", g.OldestPendingIdle, big.OldestPendingIdle)
	}
	if len(g.Stuck) == 0 || !strings.Contains(g.Stuck[0], "≥ 2m") {
		t.Fatalf("group Stuck = %q, want a lower-bound reason", g.Stuck)
	}
}

// Nak has no clean form on Redis: XCLAIM … IDLE to the owner is the only
// way to set an entry's idle, and Redis counts it as the owner's activity.
// Nak says so, leaves entries that are already idle long enough (and so
// their owner) alone, and mqscope still marks the dead owner stuck.
func TestNakOwnerIdle(t *testing.T) {
	admin, tp, ids := groupFixture(t, 3)
	ctx := t.Context()
	readAs(t, admin, tp, "g", "dead", 3)
	setIdle(t, admin, tp, "g", "dead", 48*time.Hour, ids[1])
	time.Sleep(1100 * time.Millisecond) // let dead's XINFO idle grow past 1s
	op := newClient(t, admin, core.Config{}, core.WithStuckThresholds(core.StuckThresholds{PendingIdle: time.Hour, ConsumerIdle: time.Hour})).Operator()
	if _, why := op.Capabilities(ctx).Can(core.OpNak); !strings.Contains(why, "just active") {
		t.Errorf("nak reason does not say what it does to the owner: %q", why)
	}

	before := rawConsumerIdle(t, admin, tp, "g", "dead")
	r, err := op.Nak(ctx, core.ActionRequest{Topic: tp, Group: "g", IDs: ids[1:2]})
	if err != nil || r.Done != 1 || !strings.Contains(r.Detail, "left alone") || strings.Contains(r.Detail, "just active") {
		t.Fatalf("nak of an entry idle 48h: %+v %v", r, err)
	}
	if after := rawConsumerIdle(t, admin, tp, "g", "dead"); after < before {
		t.Fatalf("nak of an entry already idle 48h reset the owner's XINFO idle: %v -> %v", before, after)
	}
	p, _ := admin.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: tp, Group: "g", Start: ids[1], End: ids[1], Count: 1}).Result()
	if len(p) != 1 || p[0].Idle < 48*time.Hour || p[0].Consumer != "dead" {
		t.Fatalf("entry idle 48h after nak: %+v", p)
	}

	r, err = op.Nak(ctx, core.ActionRequest{Topic: tp, Group: "g", IDs: ids[:1]})
	if err != nil || r.Done != 1 || !strings.Contains(r.Detail, "dead as just active") {
		t.Fatalf("nak of a fresh entry: %+v %v", r, err)
	}
	// The documented cost: Redis now reports the owner as just seen.
	if after := rawConsumerIdle(t, admin, tp, "g", "dead"); after >= before {
		t.Fatalf("XINFO idle of the owner after nak: %v (before %v); the documented reset did not happen", after, before)
	}
	p, _ = admin.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: tp, Group: "g", Start: ids[0], End: ids[0], Count: 1}).Result()
	if len(p) != 1 || p[0].Idle < 24*time.Hour || p[0].Consumer != "dead" || p[0].RetryCount != 1 {
		t.Fatalf("naked entry: %+v", p)
	}
	// mqscope judges the owner by its entries, so it is still marked.
	dead := consumerNamed(t, groupNamed(t, op, tp, "g"), "dead")
	if len(dead.Stuck) == 0 || dead.OldestPendingIdle < 48*time.Hour || dead.Idle >= before {
		t.Fatalf("dead consumer after nak: %+v", dead)
	}
}

func TestDefaultClaimTargetAndThresholds(t *testing.T) {
	admin, tp, ids := groupFixture(t, 6)
	ctx := t.Context()
	admin.XGroupCreate(ctx, tp, "alone", "0")
	readAs(t, admin, tp, "alone", "owner", 1)
	readAs(t, admin, tp, "g", "owner", 2)
	readAs(t, admin, tp, "g", "a", 1)
	time.Sleep(20 * time.Millisecond)
	readAs(t, admin, tp, "g", "b", 1) // b is the most recently active

	th := core.StuckThresholds{PendingIdle: 90 * time.Second, ConsumerIdle: 10 * time.Minute}
	op := newClient(t, admin, core.Config{}, core.WithStuckThresholds(th)).Operator()
	if got := op.StuckThresholds(); got != th {
		t.Errorf("StuckThresholds() = %+v, want %+v", got, th)
	}
	if got := newClient(t, admin, core.Config{}).Operator().StuckThresholds(); got.PendingIdle != time.Minute || got.ConsumerIdle != 5*time.Minute {
		t.Errorf("default StuckThresholds() = %+v, want 1m / 5m", got)
	}

	g := groupNamed(t, op, tp, "g")
	for owner, want := range map[string]string{"owner": "b", "b": "a", "a": "b", "": "b"} {
		if got := core.DefaultClaimTarget(g, owner); got != want {
			t.Errorf("DefaultClaimTarget(owner %q) = %q, want %q (consumers %+v)", owner, got, want, g.Consumers)
		}
	}
	if got := core.DefaultClaimTarget(groupNamed(t, op, tp, "alone"), "owner"); got != "" {
		t.Errorf("DefaultClaimTarget with only the owner = %q, want \"\"", got)
	}
	// b holds an entry idle past the threshold: still the most recently
	// seen (the XCLAIM touched it), but stuck, so a is preferred.
	setIdle(t, admin, tp, "g", "b", time.Hour, ids[3])
	g = groupNamed(t, op, tp, "g")
	if got := core.DefaultClaimTarget(g, "owner"); got != "a" {
		t.Errorf("DefaultClaimTarget with b stuck = %q, want a (consumers %+v)", got, g.Consumers)
	}
}
