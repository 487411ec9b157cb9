package redisstream_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestFaultInjectionDLQRoundTrip moves 1 000 pending messages to the DLQ
// and redrives them back while the operator's connections are killed
// (CLIENT KILL) after every chunk and at random moments in between. The
// operator retries what a call reports as failed, as a person would.
// Afterwards every message must be in the origin, the DLQ, or both: lost
// must be 0; duplicates are counted and logged.
func TestFaultInjectionDLQRoundTrip(t *testing.T) {
	t.Parallel()
	for _, v := range []struct {
		name       string
		maxRetries int
	}{{"library-recovery", -1}, {"go-redis-retries", 0}} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			faultRoundTrip(t, v.maxRetries)
		})
	}
}

func faultRoundTrip(t *testing.T, maxRetries int) {
	const n = 1000
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	dlq := tp + ".dlq"
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	pipe := admin.Pipeline()
	for i := 0; i < n; i++ {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: tp, Values: []any{"data", fmt.Sprintf("f-%04d", i)}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	admin.XGroupCreate(ctx, tp, "g", "0")
	readAs(t, admin, tp, "g", "worker", n)

	name := testbroker.Name(t, "fault")
	o, _ := redis.ParseURL(testbroker.RedisURL(t))
	o.ClientName = name
	o.MaxRetries = maxRetries // 0 = go-redis default (3 retries)
	victim := redis.NewClient(o)
	t.Cleanup(func() { victim.Close() })
	logs := &logBuffer{}
	c := newClient(t, victim, core.Config{}, core.WithLogger(slog.New(logs)))
	op := c.Operator()

	var kills atomic.Int64
	kill := func() {
		k, _ := testbroker.KillRedisClients(ctx, admin, name)
		kills.Add(int64(k))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // random kills mid-command
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(rand.IntN(3000)) * time.Microsecond):
				kill()
			}
		}
	}()
	onStep := func(done, total int) { kill() } // and one after every chunk

	// Move: retry what is still pending.
	moveCalls, moveErrs := moveUntilDrained(t, ctx, admin, op, tp, "g", dlq, n, onStep)
	dlqAfterMove := admin.XLen(ctx, dlq).Val()

	// Redrive: retry what is still in the DLQ.
	redriveCalls, redriveErrs := redriveUntilEmpty(t, ctx, admin, op, dlq, onStep)
	close(stop)
	wg.Wait()

	lost, dup, redriven, left := countCopies(ctx, admin, tp, dlq, n)
	pending, _ := admin.XPending(ctx, tp, "g").Result()
	retried := strings.Count(logs.String(), "failed; checking what landed") + strings.Count(logs.String(), "read failed; retrying")
	t.Logf("%s: %d connections killed, %d chunk steps hit by a kill and retried inside the call; move: %d calls (%d with errors), DLQ held %d after the move; redrive: %d calls (%d with errors); origin got %d redriven copies, %d left in DLQ, %d still pending; lost=%d duplicated=%d",
		map[int]string{-1: "go-redis retries off", 0: "go-redis default retries"}[maxRetries], kills.Load(), retried, moveCalls, moveErrs, dlqAfterMove,
		redriveCalls, redriveErrs, redriven, left, pending.Count, lost, dup)
	if kills.Load() == 0 {
		t.Fatal("no connection was killed: the test proved nothing")
	}
	if lost != 0 {
		t.Fatalf("%d messages lost", lost)
	}
	if pending.Count != 0 || left != 0 {
		t.Fatalf("not finished: %d pending, %d in DLQ", pending.Count, left)
	}
}

func decodeForTest(v map[string]any) (string, core.Header) {
	var h core.Header
	if s, ok := v["headers"].(string); ok {
		h = core.Header{}
		_ = jsonUnmarshal(s, &h)
	}
	d, _ := v["data"].(string)
	return d, h
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// redriveUntilEmpty redrives (with Remove) whatever is still in dlq, calling
// again while entries are left (up to 50 rounds), as an operator retrying
// after errors would. It returns how many calls were made and how many failed.
func redriveUntilEmpty(t *testing.T, ctx context.Context, rdb redis.Cmdable, op *core.Operator, dlq string, onStep func(done, total int)) (calls, errs int) {
	t.Helper()
	for attempt := 0; attempt < 50; attempt++ {
		ms, err := rdb.XRange(ctx, dlq, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			break
		}
		ids := make([]string, len(ms))
		for i, m := range ms {
			ids[i] = m.ID
		}
		calls++
		if _, err := op.Redrive(ctx, core.RedriveRequest{DLQ: dlq, IDs: ids, Remove: true, Progress: onStep}); err != nil {
			errs++
		}
	}
	return calls, errs
}

// moveUntilDrained moves group's pending entries of topic to dlq, calling
// again while entries are left (up to 50 rounds). It returns how many calls
// were made and how many failed.
func moveUntilDrained(t *testing.T, ctx context.Context, rdb redis.Cmdable, op *core.Operator, topic, group, dlq string, n int, onStep func(done, total int)) (calls, errs int) {
	t.Helper()
	for attempt := 0; attempt < 50; attempt++ {
		p, err := rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: topic, Group: group, Start: "-", End: "+", Count: int64(n)}).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 0 {
			break
		}
		ids := make([]string, len(p))
		for i, e := range p {
			ids[i] = e.ID
		}
		calls++
		if _, err := op.MoveToDLQ(ctx, core.MoveRequest{Topic: topic, Group: group, DLQ: dlq, IDs: ids, Reason: "fault test", Progress: onStep}); err != nil {
			errs++
		}
	}
	return calls, errs
}

// countCopies tallies the fault tests' payloads f-0000 … f-(n-1): copies
// redriven into topic (Mq-Redriven-From set) plus whatever is left in dlq.
// lost counts payloads with no copy, dup the copies beyond one.
func countCopies(ctx context.Context, rdb redis.Cmdable, topic, dlq string, n int) (lost, dup, redriven, left int) {
	copies := map[string]int{}
	origin, _ := rdb.XRange(ctx, topic, "-", "+").Result()
	for _, m := range origin {
		data, h := decodeForTest(m.Values)
		if h.Get(core.HeaderRedrivenFrom) != "" {
			copies[data]++
			redriven++
		}
	}
	rest, _ := rdb.XRange(ctx, dlq, "-", "+").Result()
	for _, m := range rest {
		data, _ := decodeForTest(m.Values)
		copies[data]++
	}
	for i := 0; i < n; i++ {
		k := copies[fmt.Sprintf("f-%04d", i)]
		if k == 0 {
			lost++
		}
		if k > 1 {
			dup += k - 1
		}
	}
	return lost, dup, redriven, len(rest)
}
