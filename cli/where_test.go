package cli_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/cli"
	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

func seqs(envs []core.Envelope) []uint64 {
	var out []uint64
	for _, e := range envs {
		out = append(out, e.Seq)
	}
	return out
}

func TestWhereJetStream(t *testing.T) {
	srv := testbroker.StartNATS(t)
	nc := srv.Connect(t)
	js, _ := jetstream.New(nc)
	name := testbroker.Name(t, "where")
	jsStream(t, js, name)
	for i := 0; i < 20; i++ {
		m := nats.NewMsg(name + ".o")
		m.Data = []byte(fmt.Sprintf(`{"n":%d,"currency":%q}`, i, map[bool]string{true: "EUR", false: "USD"}[i%2 == 0]))
		if i == 13 {
			m.Header.Set("X-Kind", "big")
		}
		if _, err := js.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, "--nats", srv.URL())

	// the query selects; stderr sums up the scan
	r := e.run("browse", name, "--where", `.n % 5 == 0 and .currency == "EUR"`, "-o", "jsonl")
	if r.code != 0 {
		t.Fatalf("browse --where: exit %d: %s", r.code, r.stderr)
	}
	if got := seqs(lines[core.Envelope](t, r.stdout)); fmt.Sprint(got) != "[1 11]" {
		t.Errorf("browse --where: seqs %v, want [1 11]", got)
	}
	if !strings.Contains(r.stderr, "examined 20, matched 2 (the end of the topic)") {
		t.Errorf("browse --where summary: %q", r.stderr)
	}
	// $headers and $meta
	if got := seqs(lines[core.Envelope](t, e.ok("browse", name, "--where", `$headers["X-Kind"] == "big"`, "-o", "jsonl"))); fmt.Sprint(got) != "[14]" {
		t.Errorf("--where on $headers: %v", got)
	}
	if got := seqs(lines[core.Envelope](t, e.ok("browse", name, "--where", `$meta.seq == 3 and $meta.subject == "`+name+`.o"`, "-o", "jsonl"))); fmt.Sprint(got) != "[3]" {
		t.Errorf("--where on $meta: %v", got)
	}
	// the scan is bounded; --limit counts matches; --reverse searches from the newest
	r = e.run("browse", name, "--where", `true`, "--scan", "7", "-o", "jsonl")
	if got := seqs(lines[core.Envelope](t, r.stdout)); len(got) != 7 || !strings.Contains(r.stderr, "examined 7, matched 7 (--scan 7 reached") {
		t.Errorf("--scan 7: %v, stderr %q", got, r.stderr)
	}
	r = e.run("browse", name, "--reverse", "--where", `.currency == "USD"`, "--limit", "2", "-o", "jsonl")
	if got := seqs(lines[core.Envelope](t, r.stdout)); fmt.Sprint(got) != "[20 18]" || !strings.Contains(r.stderr, "--limit 2 reached") {
		t.Errorf("--reverse --limit 2: %v, stderr %q", got, r.stderr)
	}
	// tail: the same expression, on what arrives
	r = e.run("tail", name+".>", "--from", "all", "--where", `.n >= 18`, "--count", "2", "-o", "jsonl")
	if got := seqs(lines[core.Envelope](t, r.stdout)); r.code != 0 || fmt.Sprint(got) != "[19 20]" {
		t.Errorf("tail --where: exit %d, %v, stderr %q", r.code, got, r.stderr)
	}

	// a bad expression is a usage error that says what and where
	e.want(cli.ExitUsage, `--where: jq: unexpected token ")" at column 6`, "browse", name, "--where", ".n > )")
	e.want(cli.ExitUsage, "--where: jq:", "tail", name, "--where", "nosuch(1)")
	e.want(cli.ExitUsage, "--where: jq: input", "browse", name, "--where", "input")
	// a query that fails on every message: nothing matches, and it is said
	r = e.run("browse", name, "--where", `.n + "x"`, "-o", "jsonl")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "jq: 20 errors: jq: cannot add") {
		t.Errorf("failing query: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	// a query over its time budget on every message: reported, not matched
	r = e.run("browse", name, "--where", `[range(1e9)] | length > 0`, "--scan", "2", "-o", "jsonl")
	if r.code != 0 || r.stdout != "" || !strings.Contains(r.stderr, "2 messages over the 50ms budget") {
		t.Errorf("bomb query: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

func TestWhereRedis(t *testing.T) {
	e, rdb, stream, ids := redisFixture(t, 10, 0)
	r := e.run("browse", stream, "--where", ".n > 6", "-o", "jsonl")
	envs := lines[core.Envelope](t, r.stdout)
	if r.code != 0 || len(envs) != 3 || envs[0].ID != ids[7] || envs[2].ID != ids[9] {
		t.Fatalf("browse --where: exit %d, %+v, stderr %q", r.code, envs, r.stderr)
	}
	if !strings.Contains(r.stderr, "examined 10, matched 3") {
		t.Errorf("summary: %q", r.stderr)
	}
	if envs := lines[core.Envelope](t, e.ok("browse", stream, "--where", `$meta.id == "`+ids[4]+`"`, "-o", "jsonl")); len(envs) != 1 || envs[0].Data != `{"n":4}` {
		t.Errorf("--where on $meta.id: %+v", envs)
	}
	r = e.run("tail", stream, "--from", "all", "--where", ".n == 2", "--count", "1", "-o", "jsonl")
	if envs := lines[core.Envelope](t, r.stdout); r.code != 0 || len(envs) != 1 || envs[0].ID != ids[2] {
		t.Errorf("tail --where: exit %d, %+v, stderr %q", r.code, envs, r.stderr)
	}
	e.want(cli.ExitUsage, "--where: jq:", "browse", stream, "--where", `"unterminated`)

	// dlq ls takes it too
	for i := 0; i < 3; i++ {
		if err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: stream + core.DefaultDLQSuffix, Values: []any{"data", fmt.Sprintf(`{"n":%d}`, i)}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	r = e.run("dlq", "ls", stream, "--where", ".n == 1", "-o", "jsonl")
	if envs := lines[core.Envelope](t, r.stdout); r.code != 0 || len(envs) != 1 || envs[0].Data != `{"n":1}` || !strings.Contains(r.stderr, "examined 3, matched 1") {
		t.Errorf("dlq ls --where: exit %d, %+v, stderr %q", r.code, envs, r.stderr)
	}
}
