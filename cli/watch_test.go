package cli_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/cli"
)

// TestRedisGroupsWatch: a publisher adds entries all along and nobody
// consumes: every sample line shows the backlog growing with nothing acked,
// and once the stalled stretch is covered the signal says so.
func TestRedisGroupsWatch(t *testing.T) {
	e, rdb, stream, _ := redisFixture(t, 10, 3)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			_ = rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"data", "x"}}).Err()
			time.Sleep(10 * time.Millisecond)
		}
	})
	out := e.ok("groups", stream, "--watch", "--interval", "150ms", "--count", "8", "--window", "2s", "--stalled", "600ms", "-o", "jsonl")
	stop()
	wg.Wait()

	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 8 {
		t.Fatalf("%d lines, want one per sample for the one group:\n%s", len(lines), out)
	}
	var rows []cli.GroupSampleRow
	for _, l := range lines {
		var r cli.GroupSampleRow
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		rows = append(rows, r)
	}
	if rows[0].InRate != nil || rows[0].Signal != "none" || rows[0].Topic != stream || rows[0].Group != "g" {
		t.Errorf("first sample %+v: no rate yet, no signal", rows[0])
	}
	for i, r := range rows[1:] {
		prev := rows[i]
		if r.InRate == nil || *r.InRate <= 0 || r.AckRate == nil || *r.AckRate != 0 {
			t.Errorf("sample %d: in %v ack %v, want entries arriving and none acked", i+1, r.InRate, r.AckRate)
		}
		if r.Backlog <= prev.Backlog || r.Pending != 3 || !r.Time.After(prev.Time) {
			t.Errorf("sample %d: backlog %d after %d, pending %d", i+1, r.Backlog, prev.Backlog, r.Pending)
		}
	}
	last := rows[len(rows)-1]
	if last.Signal != "stalled" || !strings.HasPrefix(last.Text, "growing for ") || !strings.Contains(last.Basis, "nothing acked") {
		t.Errorf("last sample: signal %q text %q basis %q, want stalled", last.Signal, last.Text, last.Basis)
	}

	// the table, and the flags that only go with --watch
	table := e.ok("groups", stream, "--watch", "--interval", "100ms", "--count", "2")
	if !strings.HasPrefix(table, "TIME") || !strings.Contains(table, "TREND") || strings.Count(table, "\n") != 3 {
		t.Errorf("table:\n%s", table)
	}
	if r := e.run("groups", stream, "--count", "2"); r.code != cli.ExitUsage {
		t.Errorf("--count without --watch: exit %d", r.code)
	}
	if r := e.run("groups", stream, "--watch", "-o", "json"); r.code != cli.ExitUsage {
		t.Errorf("--watch -o json: exit %d", r.code)
	}

	// until interrupted: cancelling ends it with what was printed
	cctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	r := e.runCtx(cctx, "groups", stream, "--watch", "--interval", "100ms", "-o", "jsonl")
	if r.code != 0 || strings.Count(r.stdout, "\n") < 1 {
		t.Errorf("interrupted watch: exit %d, %q", r.code, r.stdout)
	}
}
