package redisstream

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestOldServerFallbacks runs the Redis < 6.2 paths (no XAUTOCLAIM, no
// XPENDING IDLE, no lag) against the real server by overriding the
// detected version. Not parallel: the override is package-wide while New
// runs.
func TestOldServerFallbacks(t *testing.T) {
	admin := testbroker.Redis(t)
	tp := testbroker.Name(t, "old")
	testbroker.CleanupRedisKeys(t, admin, tp+"*")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	v := "6.0.16"
	versionOverride.Store(&v)
	cfg := core.Config{Driver: core.DriverRedisStream, Consumer: "alive"}
	c, err := core.New(&cfg, core.WithRedisConnector(admin))
	versionOverride.Store(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	caps := c.Operator().Capabilities(ctx)
	if ok, why := caps.Can(core.OpPending); !ok || !strings.Contains(why, "< 6.2") {
		t.Fatalf("pending capability on 6.0: %v %q", ok, why)
	}
	if _, why := caps.Can(core.OpGroups); !strings.Contains(why, "no lag") {
		t.Fatalf("groups capability on 6.0: %q", why)
	}

	admin.XGroupCreateMkStream(ctx, tp, "g", "$")
	for i := 0; i < 5; i++ {
		admin.XAdd(ctx, &redis.XAddArgs{Stream: tp, Values: []any{"data", fmt.Sprint(i)}})
	}
	admin.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "dead", Streams: []string{tp, ">"}, Count: 5})

	gs, err := c.Operator().Groups(ctx, tp)
	if err != nil || len(gs) != 1 || gs[0].Lag != -1 {
		t.Fatalf("groups on 6.0: %+v %v", gs, err)
	}
	time.Sleep(20 * time.Millisecond)
	p, err := c.Operator().Pending(ctx, core.PendingQuery{Topic: tp, Group: "g", MinIdle: 10 * time.Millisecond, Limit: 3})
	if err != nil || len(p.Entries) != 3 || p.Next == "" || !strings.Contains(p.Note, "per page") && !strings.Contains(p.Note, "each page") {
		t.Fatalf("pending on 6.0: %+v %v", p, err)
	}

	// XPENDING + XCLAIM rescue of the dead consumer's entries, with counts,
	// paging through the pending list (batch 1 → pages of 10).
	var mu sync.Mutex
	got := map[string]int{}
	sub, err := c.Subscribe(ctx, tp, func(m core.Message) error {
		mu.Lock()
		got[string(m.Data())] = m.Deliveries()
		mu.Unlock()
		return nil
	}, core.WithQueueGroup("g"), core.WithClaimIdle(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rescued %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for k, n := range got {
		if n != 2 {
			t.Errorf("%s: Deliveries()=%d, want 2", k, n)
		}
	}
}

// On 6.2 the sweep is XPENDING IDLE + XCLAIM, and a pending entry whose
// message was trimmed is acked.
func TestRedis62TrimmedEntryFallback(t *testing.T) {
	admin := testbroker.Redis(t)
	tp := testbroker.Name(t, "old62")
	testbroker.CleanupRedisKeys(t, admin, tp+"*")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v := "6.2.14"
	versionOverride.Store(&v)
	cfg := core.Config{Driver: core.DriverRedisStream, Consumer: "alive"}
	c, err := core.New(&cfg, core.WithRedisConnector(admin))
	versionOverride.Store(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, why := c.Operator().Capabilities(ctx).Can(core.OpClaim); !strings.Contains(why, "XPENDING IDLE + XCLAIM") {
		t.Fatalf("claim capability on 6.2: %q", why)
	}
	admin.XGroupCreateMkStream(ctx, tp, "g", "$")
	for i := 0; i < 4; i++ {
		admin.XAdd(ctx, &redis.XAddArgs{Stream: tp, Values: []any{"data", fmt.Sprint(i)}})
	}
	admin.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "dead", Streams: []string{tp, ">"}, Count: 4})
	ms, _ := admin.XRange(ctx, tp, "-", "+").Result()
	admin.XDel(ctx, tp, ms[0].ID, ms[1].ID) // two of the dead consumer's messages are gone
	var mu sync.Mutex
	got := map[string]int{}
	sub, err := c.Subscribe(ctx, tp, func(m core.Message) error {
		mu.Lock()
		got[string(m.Data())] = m.Deliveries()
		mu.Unlock()
		return nil
	}, core.WithQueueGroup("g"), core.WithClaimIdle(150*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	deadline := time.Now().Add(15 * time.Second)
	for {
		p, _ := admin.XPending(ctx, tp, "g").Result()
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 2 && p != nil && p.Count == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %v, pending %+v", got, p)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if got["2"] != 2 || got["3"] != 2 {
		t.Fatalf("rescued %v, want 2 and 3 with Deliveries 2", got)
	}
}

func TestIDHelpers(t *testing.T) {
	cases := map[string]string{"5-3": "5-2", "5-0": "4-18446744073709551615", "0-0": "0-0", "7": "6-18446744073709551615"}
	for in, want := range cases {
		if got := prevID(in); got != want {
			t.Errorf("prevID(%s) = %s, want %s", in, got, want)
		}
	}
	if nextID("4-18446744073709551615") != "5-0" || nextID("5-2") != "5-3" {
		t.Error("nextID")
	}
	if compareID("10-0", "9-5") != 1 || compareID("1-1", "1-1") != 0 {
		t.Error("compareID")
	}
	if v := parseVersion("# Server\r\nredis_version:6.2.14\r\n"); !v.hasAutoClaim() || v.hasLag() {
		t.Errorf("parseVersion 6.2.14: %+v", v)
	}
}
