package redisstream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/redisproc"
)

// TestMoveToDLQAtMaxmemory: a Redis at maxmemory refuses the DLQ copies. The
// move says so at once (OOM … maxmemory), leaves the pending entries
// pending, and does not retry an error that retrying cannot heal (before:
// EXECABORT retried until the deadline, reported as "context deadline
// exceeded").
func TestMoveToDLQAtMaxmemory(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := redisproc.Start(ctx, redisproc.Options{Args: []string{"--maxmemory-policy", "noeviction", "--enable-debug-command", "yes"}})
	if err != nil {
		t.Fatalf("private redis-server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	o, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(o)
	t.Cleanup(func() { _ = admin.Close() })

	ids := seed(t, admin, "s", 10)
	if err := admin.XGroupCreate(ctx, "s", "g", "0").Err(); err != nil {
		t.Fatal(err)
	}
	readAs(t, admin, "s", "g", "c1", 10)
	// Put Redis firmly over its limit (by 256 KiB, so that the bytes of a
	// reply freed in between do not bring it back under).
	// DEBUG POPULATE writes the keys inside the server: no big request sits
	// in a query buffer (freed later by the server's cron, which would bring
	// memory back under the limit in the middle of the test).
	if err := admin.Do(ctx, "DEBUG", "POPULATE", 1024, "fill", 1024).Err(); err != nil {
		t.Fatal(err)
	}
	info, err := admin.Info(ctx, "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	total := infoInt(info, "used_memory")
	if total < 1<<20 {
		t.Fatalf("used_memory %d after filling 1 MiB", total)
	}
	if err := admin.ConfigSet(ctx, "maxmemory", fmt.Sprint(total-256<<10)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.XAdd(ctx, &redis.XAddArgs{Stream: "probe", Values: []any{"k", "v"}}).Err(); err == nil || !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("a write over maxmemory: %v", err)
	}
	if err := admin.ConfigResetStat(ctx).Err(); err != nil { // a private server: count only the move's commands
		t.Fatal(err)
	}
	before := pelCounts(t, admin, "s", "g")

	c := newClient(t, admin, core.Config{})
	res, err := c.Operator().MoveToDLQ(ctx, core.MoveRequest{Topic: "s", Group: "g", IDs: ids[:3]})
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Fatalf("the move ran into its deadline: %v", err)
	}
	text := strings.Join(append(res.Errors, errString(err)), " ")
	if res.Done != 0 || res.Failed != 3 || !strings.Contains(text, "maxmemory") {
		t.Fatalf("result %+v, err %v: want 3 failed, naming maxmemory", res, err)
	}
	after := pelCounts(t, admin, "s", "g")
	if len(after) != len(before) {
		t.Errorf("pending changed: %d before, %d after", len(before), len(after))
	}
	for id, n := range before {
		if after[id] != n {
			t.Errorf("%s: delivery count %d → %d", id, n, after[id])
		}
	}
	if n, _ := admin.XLen(ctx, "s.dlq").Result(); n != 0 {
		t.Errorf("the DLQ holds %d entries after a refused move", n)
	}
	stats, _ := admin.Info(ctx, "commandstats").Result()
	if calls := cmdCalls(stats, "exec"); calls > 1 {
		t.Errorf("EXEC ran %d times: an OOM refusal was retried", calls)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// infoInt reads "name:N" from an INFO section.
func infoInt(info, name string) int64 {
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(line, name+":"); ok {
			var n int64
			fmt.Sscan(strings.TrimSpace(rest), &n)
			return n
		}
	}
	return 0
}

// cmdCalls reads calls=N of cmdstat_<name> from INFO commandstats.
func cmdCalls(info, name string) int {
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_"+name+":calls="); ok {
			n := 0
			for _, ch := range rest {
				if ch < '0' || ch > '9' {
					break
				}
				n = n*10 + int(ch-'0')
			}
			return n
		}
	}
	return 0
}
