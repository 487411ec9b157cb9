package cli_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/cli"
	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// redisFixture: a stream of n entries and a group whose consumer c1 holds
// the first `pending` of them.
func redisFixture(t *testing.T, n, pending int) (*env, *redis.Client, string, []string) {
	rdb := testbroker.Redis(t)
	stream := testbroker.Name(t, "cli")
	testbroker.CleanupRedisKeys(t, rdb, stream+"*")
	ctx := context.Background()
	var ids []string
	for i := 0; i < n; i++ {
		id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"data", fmt.Sprintf(`{"n":%d}`, i)}}).Result()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rdb.XGroupCreate(ctx, stream, "g", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if pending > 0 {
		if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{stream, ">"}, Count: int64(pending)}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return newEnv(t, "--redis", testbroker.RedisURL(t)), rdb, stream, ids
}

func xpending(t *testing.T, rdb *redis.Client, stream string) map[string]string {
	t.Helper()
	ps, err := rdb.XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: stream, Group: "g", Start: "-", End: "+", Count: 1000}).Result()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, p := range ps {
		m[p.ID] = p.Consumer
	}
	return m
}

func TestRedisReadCommands(t *testing.T) {
	e, rdb, stream, ids := redisFixture(t, 5, 3)

	// topics: table and JSON.
	row := tableRow(t, e.ok("topics"), stream)
	if row[1] != "5" {
		t.Errorf("topics table MSGS %q, want 5: %v", row[1], row)
	}
	var found bool
	for _, tr := range decode[[]cli.TopicRow](t, e.ok("topics", "--json")) {
		if tr.Name == stream {
			found = true
			if tr.Messages != 5 || tr.Groups != 1 || tr.LastID != ids[4] {
				t.Errorf("topics JSON: %+v", tr)
			}
		}
	}
	if !found {
		t.Errorf("topics JSON lacks %s", stream)
	}

	// groups: pending as XPENDING says.
	want := len(xpending(t, rdb, stream))
	if row := tableRow(t, e.ok("groups", stream), "g"); row[1] != fmt.Sprint(want) {
		t.Errorf("groups table PEND %q, XPENDING has %d", row[1], want)
	}
	gs := decode[[]cli.GroupRow](t, e.ok("groups", stream, "-o", "json"))
	if len(gs) != 1 || gs[0].Pending != int64(want) || len(gs[0].Consumers) != 1 || gs[0].Consumers[0].Name != "c1" || gs[0].Stuck == nil {
		t.Errorf("groups JSON: %+v", gs)
	}

	// pending: the ids XPENDING lists, in order; --min-idle filters.
	ps := lines[cli.PendingRow](t, e.ok("pending", stream, "g", "-o", "jsonl"))
	if len(ps) != 3 || ps[0].ID != ids[0] || ps[2].ID != ids[2] || ps[0].Consumer != "c1" || ps[0].Deliveries != 1 {
		t.Errorf("pending JSONL: %+v", ps)
	}
	if ps := decode[[]cli.PendingRow](t, e.ok("pending", stream, "g", "--min-idle", "1h", "--json")); len(ps) != 0 {
		t.Errorf("pending --min-idle 1h: %+v", ps)
	}
	if ps := lines[cli.PendingRow](t, e.ok("pending", stream, "g", "--limit", "2", "-o", "jsonl")); len(ps) != 2 {
		t.Errorf("pending --limit 2: %d rows", len(ps))
	}
	tableRow(t, e.ok("pending", stream, "g"), ids[1])

	// browse: every message once, in order; --reverse --limit 1 the newest;
	// --from an id starts there.
	envs := lines[core.Envelope](t, e.ok("browse", stream, "-o", "jsonl"))
	if len(envs) != 5 || envs[0].ID != ids[0] || envs[4].Data != `{"n":4}` || envs[4].Topic != stream {
		t.Errorf("browse: %+v", envs)
	}
	if envs := lines[core.Envelope](t, e.ok("browse", stream, "--reverse", "--limit", "1", "--json")); len(envs) != 1 || envs[0].ID != ids[4] {
		t.Errorf("browse --reverse --limit 1: %+v", envs)
	}
	if envs := lines[core.Envelope](t, e.ok("browse", stream, "--from", ids[3], "-o", "jsonl")); len(envs) != 2 || envs[0].ID != ids[3] {
		t.Errorf("browse --from %s: %+v", ids[3], envs)
	}
	if out := e.ok("browse", stream); !strings.Contains(out, ids[2]) || !strings.Contains(out, `{"n":2}`) || !strings.HasPrefix(out, "TIME") {
		t.Errorf("browse table:\n%s", out)
	}

	// get: the envelope; a missing id is an error.
	if g := decode[core.Envelope](t, e.ok("get", stream, ids[1], "-o", "json")); g.ID != ids[1] || g.Data != `{"n":1}` || g.Size != 7 {
		t.Errorf("get JSON: %+v", g)
	}
	if out := e.ok("get", stream, ids[1]); !strings.Contains(out, "ID:       "+ids[1]) || !strings.Contains(out, `{"n":1}`) {
		t.Errorf("get table:\n%s", out)
	}
	e.want(cli.ExitBroker, ids[4]+"9", "get", stream, ids[4]+"9")

	// caps: Redis can ack; every op has a row.
	cs := decode[[]cli.CapRow](t, e.ok("caps", "--json"))
	if len(cs) != len(core.AllOps) {
		t.Errorf("caps: %d rows, want %d", len(cs), len(core.AllOps))
	}
	for _, c := range cs {
		if c.Op == string(core.OpAck) && (!c.Supported || c.Command != "ack") {
			t.Errorf("caps ack: %+v", c)
		}
	}
	if row := tableRow(t, e.ok("caps", "--read-only"), "ack"); row[1] != "no" {
		t.Errorf("caps --read-only: ack row %v", row)
	}

	// contexts: the --redis context, current, password-free.
	cx := decode[[]cli.ContextRow](t, e.ok("contexts", "-o", "json"))
	if len(cx) != 1 || cx[0].Name != "redis" || !cx[0].Current || cx[0].Backend != string(core.DriverRedisStream) {
		t.Errorf("contexts: %+v", cx)
	}

	// Watching changed nothing.
	if got := len(xpending(t, rdb, stream)); got != want {
		t.Errorf("pending changed from %d to %d by read commands", want, got)
	}
}

func TestRedisMutatingCommands(t *testing.T) {
	e, rdb, stream, ids := redisFixture(t, 6, 6)
	ctx := context.Background()

	// Without a terminal and without --yes: refused, nothing changes.
	e.want(cli.ExitRefused, "pass --yes", "ack", stream, "g", ids[0])
	// On a terminal: asked with the count; "no" refuses.
	e.terminal = true
	e.want(cli.ExitRefused, "not confirmed", "ack", stream, "g", ids[0], ids[1])
	if len(e.asked) != 1 || !strings.Contains(e.asked[0], "ack 2 messages of "+stream+" group g") {
		t.Errorf("asked %q", e.asked)
	}
	// Read-only (flag): refused even with --yes, and audited as refused.
	r := e.want(cli.ExitRefused, "read-only", "ack", stream, "g", ids[0], "--yes", "--read-only")
	if n := strings.Count(r.stderr, "ack "+stream+" group g"); n != 1 {
		t.Errorf("the refusal names the action %d times, want once: %q", n, r.stderr)
	}
	if len(xpending(t, rdb, stream)) != 6 {
		t.Fatalf("a refused ack changed the pending list")
	}
	if !strings.Contains(e.auditLog(), "refused in read-only mode") {
		t.Errorf("the refusal is not audited:\n%s", e.auditLog())
	}

	// "yes" on the terminal acks.
	e.answer = true
	e.ok("ack", stream, "g", ids[0])
	e.terminal = false
	// ids from stdin, JSON result.
	e.stdin = ids[1] + "\n" + ids[2] + "\n"
	res := decode[cli.ResultRow](t, e.ok("ack", stream, "g", "-", "--yes", "-o", "json"))
	e.stdin = ""
	// Nothing on stdin: nothing to do, not a failure.
	e.want(cli.ExitOK, "nothing to do", "ack", stream, "g", "-", "--yes")
	if res.Done != 2 || res.Requested != 2 || res.Op != "ack" {
		t.Errorf("ack from stdin: %+v", res)
	}
	p := xpending(t, rdb, stream)
	for _, id := range ids[:3] {
		if _, ok := p[id]; ok {
			t.Errorf("%s still pending after ack (XPENDING)", id)
		}
	}
	if !strings.Contains(e.auditLog(), "op=ack") {
		t.Errorf("ack not audited:\n%s", e.auditLog())
	}

	// claim to c2.
	if out := e.ok("claim", stream, "g", ids[3], "--to", "c2", "--yes"); !strings.Contains(out, "1 of 1 done") {
		t.Errorf("claim table: %q", out)
	}
	if c := xpending(t, rdb, stream)[ids[3]]; c != "c2" {
		t.Errorf("after claim XPENDING says %s holds %s", c, ids[3])
	}
	if audit := e.auditLog(); !strings.Contains(audit, "op=claim") || !strings.Contains(audit, "-> c2") {
		t.Errorf("the claim's audit line does not name the consumer it claimed to:\n%s", audit)
	}

	// dlq move: a copy in the DLQ with origin headers, gone from pending.
	e.ok("dlq", "move", stream, "g", ids[4], "--yes", "--reason", "poison")
	if n, _ := rdb.XLen(ctx, stream+".dlq").Result(); n != 1 {
		t.Fatalf("DLQ stream has %d entries, want 1", n)
	}
	if _, ok := xpending(t, rdb, stream)[ids[4]]; ok {
		t.Errorf("%s still pending after dlq move", ids[4])
	}
	dl := lines[core.Envelope](t, e.ok("dlq", "ls", stream, "-o", "jsonl"))
	if len(dl) != 1 || dl[0].Headers.Get(core.HeaderOriginID) != ids[4] || dl[0].Headers.Get(core.HeaderReason) != "poison" || dl[0].Data != `{"n":4}` {
		t.Errorf("dlq ls: %+v", dl)
	}
	// redrive --all: back in the stream, DLQ empty.
	e.ok("dlq", "redrive", stream, "--all", "--yes")
	if n, _ := rdb.XLen(ctx, stream+".dlq").Result(); n != 0 {
		t.Errorf("DLQ has %d entries after redrive", n)
	}
	if n, _ := rdb.XLen(ctx, stream).Result(); n != 7 {
		t.Errorf("stream has %d entries after redrive, want 7", n)
	}

	// replay of one id: a copy at the end.
	e.ok("replay", stream, ids[0], "--yes")
	last, _ := rdb.XRevRangeN(ctx, stream, "+", "-", 1).Result()
	if len(last) != 1 || last[0].Values["data"] != `{"n":0}` {
		t.Errorf("replayed copy: %+v", last)
	}

	// delete consumer: refused while it holds messages; then the group.
	e.want(cli.ExitBroker, "holds 1 pending", "delete", "consumer", stream, "g", "c2", "--yes")
	e.ok("ack", stream, "g", ids[3], "--yes")
	e.ok("delete", "consumer", stream, "g", "c2", "--yes")
	cs, _ := rdb.XInfoConsumers(ctx, stream, "g").Result()
	for _, c := range cs {
		if c.Name == "c2" {
			t.Errorf("consumer c2 still in XINFO CONSUMERS")
		}
	}
	e.ok("delete", "group", stream, "g", "--yes")
	if gs, _ := rdb.XInfoGroups(ctx, stream).Result(); len(gs) != 0 {
		t.Errorf("XINFO GROUPS after delete group: %+v", gs)
	}

	// delete messages: the chosen ids go (XRANGE), one not stored is skipped.
	before, _ := rdb.XLen(ctx, stream).Result()
	out := e.ok("delete", "messages", stream, ids[0], "0-1", "--yes", "-o", "json")
	if r := decode[cli.ResultRow](t, out); r.Done != 1 || r.Skipped != 1 || len(r.Errors) != 1 {
		t.Errorf("delete messages: %s", out)
	}
	if n, _ := rdb.XLen(ctx, stream).Result(); n != before-1 {
		t.Errorf("XLEN after deleting one: %d, was %d", n, before)
	}
	if left, _ := rdb.XRange(ctx, stream, ids[0], ids[0]).Result(); len(left) != 0 {
		t.Errorf("%s still stored: %+v", ids[0], left)
	}

	// purge: asked with the count, then empty.
	e.terminal, e.answer, e.asked = true, true, nil
	e.ok("purge", stream)
	if len(e.asked) != 1 || !strings.Contains(e.asked[0], "purge 7 messages of "+stream) {
		t.Errorf("purge asked %q", e.asked)
	}
	if n, _ := rdb.XLen(ctx, stream).Result(); n != 0 {
		t.Errorf("XLEN after purge %d", n)
	}
}

func TestRedisReadOnlyContext(t *testing.T) {
	e, rdb, stream, ids := redisFixture(t, 2, 2)
	t.Setenv("MQSCOPE_READ_ONLY", "1")
	e.want(cli.ExitRefused, "read-only", "ack", stream, "g", ids[0], "--yes")
	e.want(cli.ExitRefused, "read-only", "pub", stream, "x")
	if len(xpending(t, rdb, stream)) != 2 {
		t.Errorf("read-only context acked")
	}
}

func TestRedisPubNakTermRewindReplayFollow(t *testing.T) {
	e, rdb, stream, ids := redisFixture(t, 3, 3)
	ctx := context.Background()

	// pub: an argument with headers (table), stdin (JSON).
	if out := e.ok("pub", stream, `{"n":"x"}`, "-H", "trace=abc", "-H", "trace=def", "--msg-id", "m-1"); !strings.Contains(out, "published 9 bytes to "+stream) {
		t.Errorf("pub table: %q", out)
	}
	e.stdin = "from\x00stdin"
	if r := decode[cli.PubRow](t, e.ok("pub", stream, "-", "-o", "json")); r.Published != 1 || r.Topic != stream {
		t.Errorf("pub JSON: %+v", r)
	}
	e.stdin = ""
	got, _ := rdb.XRevRangeN(ctx, stream, "+", "-", 2).Result() // raw
	if len(got) != 2 || got[0].Values["data"] != "from\x00stdin" || got[1].Values["data"] != `{"n":"x"}` ||
		!strings.Contains(fmt.Sprint(got[1].Values["headers"]), `"trace":["abc","def"]`) || !strings.Contains(fmt.Sprint(got[1].Values["headers"]), "m-1") {
		t.Errorf("published entries: %+v", got)
	}
	e.want(cli.ExitUsage, "key=value", "pub", stream, "x", "-H", "novalue")

	// nak with a delay: Redis cannot, and says so; nothing changes.
	before := xpending(t, rdb, stream)
	e.want(cli.ExitRefused, "no delayed redelivery", "nak", stream, "g", ids[0], "--delay", "30s", "--yes")
	if after := xpending(t, rdb, stream); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a refused nak changed the pending list: %v → %v", before, after)
	}
	e.want(cli.ExitUsage, "invalid argument", "nak", stream, "g", ids[0], "--delay", "soon", "--yes")
	// nak: the entry stays pending (Redis: XCLAIM with a long idle).
	if r := decode[cli.ResultRow](t, e.ok("nak", stream, "g", ids[0], "--yes", "--json")); r.Done != 1 {
		t.Errorf("nak: %+v", r)
	}
	if _, ok := xpending(t, rdb, stream)[ids[0]]; !ok {
		t.Errorf("nak removed %s from the pending list", ids[0])
	}
	// term: on Redis an ack.
	if out := e.ok("term", stream, "g", ids[1], "--yes"); !strings.Contains(out, "term "+stream+" group g: 1 of 1 done") {
		t.Errorf("term table: %q", out)
	}
	if _, ok := xpending(t, rdb, stream)[ids[1]]; ok {
		t.Errorf("term left %s pending", ids[1])
	}

	// rewind to the first id: the group's next read starts there.
	e.ok("rewind", stream, "g", "--to", ids[0], "--yes")
	next, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c9", Streams: []string{stream, ">"}, Count: 1}).Result()
	if err != nil || len(next) != 1 || len(next[0].Messages) != 1 || next[0].Messages[0].ID != ids[0] {
		t.Errorf("after rewind the group reads %+v (%v), want %s", next, err, ids[0])
	}
	e.want(cli.ExitUsage, "--to ID|SEQ|TIME is required", "rewind", stream, "g")

	// replay a range into another topic.
	r := decode[cli.ResultRow](t, e.ok("replay", stream, "--from", ids[0], "--to", ids[1], "--target", stream+".copy", "--yes", "-o", "json"))
	if r.Done != 2 {
		t.Errorf("replay range: %+v", r)
	}
	if n, _ := rdb.XLen(ctx, stream+".copy").Result(); n != 2 {
		t.Errorf("replay target has %d entries", n)
	}

	// browse --follow: prints what is stored, then what comes.
	done := make(chan result, 1)
	fctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	go func() { done <- e.runCtx(fctx, "browse", stream+".copy", "--follow", "--limit", "3", "-o", "jsonl") }()
	time.Sleep(300 * time.Millisecond)
	if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream + ".copy", Values: []any{"data", "late"}}).Err(); err != nil {
		t.Fatal(err)
	}
	res := <-done
	envs := lines[core.Envelope](t, res.stdout)
	if res.code != 0 || len(envs) != 3 || envs[2].Data != "late" {
		t.Errorf("browse --follow: exit %d, %+v, stderr %q", res.code, envs, res.stderr)
	}
}

func TestRedisTailTableAndContextsTable(t *testing.T) {
	e, _, stream, ids := redisFixture(t, 2, 0)
	out := e.ok("tail", stream, "--from", "all", "--count", "2")
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "TIME") || !strings.Contains(rows[1], ids[0]) || !strings.Contains(rows[2], `{"n":1}`) {
		t.Errorf("tail table:\n%s", out)
	}
	if row := tableRow(t, e.ok("contexts"), "redis"); row[1] != string(core.DriverRedisStream) || row[4] != "*" {
		t.Errorf("contexts table row %v", row)
	}
	// A payload with terminal escapes is escaped in a table, kept in JSON.
	e.ok("pub", stream, "\x1b]0;pwned\x07")
	out = e.ok("browse", stream, "--reverse", "--limit", "1")
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `\x1b]0;pwned\a`) {
		t.Errorf("browse table did not escape control characters: %q", out)
	}
	if envs := lines[core.Envelope](t, e.ok("browse", stream, "--reverse", "--limit", "1", "-o", "jsonl")); envs[0].Data != "\x1b]0;pwned\x07" {
		t.Errorf("browse JSON changed the payload: %q", envs[0].Data)
	}
}
