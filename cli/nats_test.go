package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/cli"
	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// hostile payloads: binary, invalid UTF-8, terminal escapes, JSON-looking
// text, empty.
var hostile = [][]byte{
	{0x00, 0x01, 0xff, 0xfe, 0x80},
	[]byte("ok\xc3\x28bad"),
	[]byte("\x1b[2J\x1b]0;pwned\x07\r\n\t\u2028<b>&\"quote\""),
	[]byte(`{"data":"x","encoding":"base64"}`),
	{},
	bytes.Repeat([]byte("é日"), 2000),
}

func jsStream(t *testing.T, js jetstream.JetStream, name string) {
	t.Helper()
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: name, Subjects: []string{name + ".>"}}); err != nil {
		t.Fatal(err)
	}
}

func TestJetStreamCommands(t *testing.T) {
	srv := testbroker.StartNATS(t)
	nc := srv.Connect(t)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	name := testbroker.Name(t, "cli")
	jsStream(t, js, name)
	for i := 0; i < 4; i++ {
		if _, err := js.Publish(ctx, name+".o", []byte(fmt.Sprintf("m%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := js.CreateConsumer(ctx, name, jetstream.ConsumerConfig{Durable: "g", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	b, err := cons.Fetch(2, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for range b.Messages() {
	}
	e := newEnv(t, "--nats", srv.URL())

	if row := tableRow(t, e.ok("topics"), name); row[1] != "4" {
		t.Errorf("topics table: %v", row)
	}
	gs := decode[[]cli.GroupRow](t, e.ok("groups", name, "--json"))
	if len(gs) != 1 || gs[0].Name != "g" || gs[0].Pending != 2 || gs[0].Lag != 2 {
		t.Errorf("groups JSON: %+v", gs)
	}
	ps := lines[cli.PendingRow](t, e.ok("pending", name, "g", "-o", "jsonl"))
	if len(ps) != 2 || ps[0].ID != "1" || ps[1].ID != "2" {
		t.Fatalf("pending: %+v", ps)
	}
	// JetStream knows no per-message idle time or delivery count: the table
	// says "-", not "0ms" and "0"
	if row := tableRow(t, e.ok("pending", name, "g"), "2"); len(row) < 4 || row[2] != "-" || row[3] != "-" {
		t.Errorf("pending table row for seq 2: %q, want idle and deliveries shown unknown (-)", row)
	}
	if g := decode[core.Envelope](t, e.ok("get", name, "3", "--json")); g.Seq != 3 || g.Data != "m2" || g.Subject != name+".o" {
		t.Errorf("get: %+v", g)
	}
	if envs := lines[core.Envelope](t, e.ok("browse", name, "--from", "3", "-o", "jsonl")); len(envs) != 2 || envs[0].Seq != 3 {
		t.Errorf("browse --from 3: %+v", envs)
	}

	e.want(cli.ExitRefused, "pass --yes", "ack", name, "g", "1")
	// A message a live fetch holds is acked by its stream sequence, within
	// its AckWait, and nothing else moves (raw ConsumerInfo).
	e.ok("ack", name, "g", "1", "--yes")
	if ci, err := js.Consumer(ctx, name, "g"); err != nil {
		t.Fatal(err)
	} else if info, err := ci.Info(ctx); err != nil || info.NumAckPending != 1 || info.Delivered.Stream != 2 || info.NumPending != 2 {
		t.Errorf("after acking seq 1 as g: %+v %v; want 1 ack pending, delivered 2, 2 not yet delivered", info, err)
	}
	// Acking it again is skipped (at the ack floor): said, not counted done.
	if out := e.ok("ack", name, "g", "1", "--yes", "-o", "json"); !strings.Contains(out, `"skipped": 1`) {
		t.Errorf("acking seq 1 again: %s", out)
	}
	// With the ack wait over, too.
	cons2, err := js.CreateConsumer(ctx, name, jetstream.ConsumerConfig{Durable: "g2", AckPolicy: jetstream.AckExplicitPolicy, AckWait: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	b2, err := cons2.Fetch(2, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for range b2.Messages() {
	}
	time.Sleep(400 * time.Millisecond)
	e.ok("ack", name, "g2", "1", "--yes")
	ci, err := cons2.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ci.AckFloor.Stream < 1 {
		t.Errorf("after ack of sequence 1 ConsumerInfo AckFloor = %d", ci.AckFloor.Stream)
	}
	// a nak's delay is in its audit line: "redeliver now" and "in an hour"
	// are different actions
	e.ok("nak", name, "g2", "2", "--delay", "1h", "--yes")
	if audit := e.auditLog(); !strings.Contains(audit, "op=nak") || !strings.Contains(audit, "delay 1h0m0s") {
		t.Errorf("the nak's audit line does not say its delay:\n%s", audit)
	}
	// pub says what the broker stored; the same --msg-id again is reported
	// a duplicate, not stored (and the stream holds one more, not two).
	first := decode[cli.PubRow](t, e.ok("pub", name+".o", "x", "--msg-id", "dup-1", "-o", "json"))
	again := decode[cli.PubRow](t, e.ok("pub", name+".o", "x", "--msg-id", "dup-1", "-o", "json"))
	if first.Seq != 5 || !strings.Contains(first.Result, "stored as seq 5") || again.Duplicates != 1 || !strings.Contains(again.Result, "duplicate of seq 5") {
		t.Errorf("pub with a message id twice: %+v then %+v", first, again)
	}
	if info, err := js.Stream(ctx, name); err != nil || info.CachedInfo().State.Msgs != 5 {
		t.Errorf("stream after a duplicate publish: %v", err)
	}
	// An unsupported op is refused with the backend's reason (exit 3).
	cs := decode[[]cli.CapRow](t, e.ok("caps", "-o", "json"))
	for _, c := range cs {
		if c.Op == string(core.OpClaim) && !c.Supported {
			e.want(cli.ExitRefused, c.Reason, "claim", name, "g", "2", "--to", "x", "--yes")
		}
	}
}

// recordAndReplay records the messages of pattern with `tail -o jsonl`
// while publish runs, replays the recording into target with
// `pub --from`, and returns the file.
func recordTail(t *testing.T, e *env, tailArgs []string, n int, publish func()) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "rec.jsonl")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan result, 1)
	go func() { done <- e.runCtx(ctx, append(tailArgs, "--count", fmt.Sprint(n), "-o", "jsonl")...) }()
	publish()
	r := <-done
	if r.code != 0 {
		t.Fatalf("tail: exit %d, stderr %q", r.code, r.stderr)
	}
	if err := os.WriteFile(file, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestJetStreamTailPubRoundTrip(t *testing.T) {
	srv := testbroker.StartNATS(t)
	nc := srv.Connect(t)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	src, dst := testbroker.Name(t, "src"), testbroker.Name(t, "dst")
	jsStream(t, js, src)
	jsStream(t, js, dst)
	e := newEnv(t, "--nats", srv.URL())
	file := recordTail(t, e, []string{"tail", src, "--from", "all"}, len(hostile), func() {
		for i, p := range hostile {
			m := &nats.Msg{Subject: src + ".in", Data: p, Header: nats.Header{"K": {fmt.Sprint(i), "second"}}}
			if _, err := js.PublishMsg(ctx, m); err != nil {
				t.Error(err)
			}
		}
	})
	e.ok("pub", "--from", file, "--to", dst+".out")
	stream, err := js.Stream(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range hostile {
		m, err := stream.GetMsg(ctx, uint64(i+1)) // raw read, not through mqscope
		if err != nil {
			t.Fatalf("message %d in %s: %v", i, dst, err)
		}
		if !bytes.Equal(m.Data, p) {
			t.Errorf("message %d: replayed %q, published %q", i, m.Data, p)
		}
		if got := m.Header.Values("K"); len(got) != 2 || got[0] != fmt.Sprint(i) {
			t.Errorf("message %d: headers %v", i, m.Header)
		}
	}
}

func TestNATSCoreTailPubRoundTrip(t *testing.T) {
	srv := testbroker.StartNATS(t)
	nc := srv.Connect(t)
	src, dst := testbroker.Name(t, "src"), testbroker.Name(t, "dst")
	e := newEnv(t, "--nats", srv.URL(), "--context", "nats-core")
	subs := srv.Server().NumSubscriptions()
	file := recordTail(t, e, []string{"tail", src + ".>"}, len(hostile), func() {
		deadline := time.Now().Add(10 * time.Second)
		for srv.Server().NumSubscriptions() <= subs && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond) // until the tail's subscription is on the server
		}
		for i, p := range hostile {
			if err := nc.PublishMsg(&nats.Msg{Subject: src + ".in", Data: p, Header: nats.Header{"K": {fmt.Sprint(i)}}}); err != nil {
				t.Error(err)
			}
		}
		_ = nc.Flush()
	})
	sub, err := nc.SubscribeSync(dst)
	if err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	e.ok("pub", "--from", file, "--to", dst)
	for i, p := range hostile {
		m, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(m.Data, p) || m.Header.Get("K") != fmt.Sprint(i) {
			t.Errorf("message %d: replayed %q %v, published %q", i, m.Data, m.Header, p)
		}
	}
}

func TestRedisTailPubRoundTrip(t *testing.T) {
	rdb := testbroker.Redis(t)
	src, dst := testbroker.Name(t, "src"), testbroker.Name(t, "dst")
	testbroker.CleanupRedisKeys(t, rdb, src)
	testbroker.CleanupRedisKeys(t, rdb, dst)
	ctx := context.Background()
	e := newEnv(t, "--redis", testbroker.RedisURL(t))
	file := recordTail(t, e, []string{"tail", src, "--from", "all"}, len(hostile), func() {
		for _, p := range hostile {
			if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: src, Values: []any{"data", p}}).Err(); err != nil {
				t.Error(err)
			}
		}
	})
	e.ok("pub", "--from", file, "--to", dst, "--rate", "1000/s")
	got, err := rdb.XRange(ctx, dst, "-", "+").Result() // raw read
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(hostile) {
		t.Fatalf("%s has %d entries, want %d", dst, len(got), len(hostile))
	}
	for i, p := range hostile {
		if d, _ := got[i].Values["data"].(string); d != string(p) {
			t.Errorf("entry %d: replayed %q, published %q", i, d, p)
		}
	}
	if strings.Count(string(mustRead(t, file)), "\n") != len(hostile) {
		t.Errorf("the recording is not one line per message")
	}
}

func mustRead(t *testing.T, f string) []byte {
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// blockingWriter holds the first write until released: a reader that
// falls behind.
type blockingWriter struct {
	release chan struct{}
	buf     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	return w.buf.Write(p)
}

func TestTailSaysWhatItLost(t *testing.T) {
	srv := testbroker.StartNATS(t)
	nc := srv.Connect(t)
	subject := testbroker.Name(t, "lossy")
	e := newEnv(t, "--nats", srv.URL(), "--context", "nats-core")
	w := &blockingWriter{release: make(chan struct{})}
	var errb bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	subs := srv.Server().NumSubscriptions()
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, append(e.base, "tail", subject, "--buffer", "16", "-o", "jsonl"), cli.Options{
			Stdin: strings.NewReader(""), Stdout: w, Stderr: &errb, Terminal: func() bool { return false }})
	}()
	for srv.Server().NumSubscriptions() <= subs {
		time.Sleep(5 * time.Millisecond)
	}
	const sent = 2000
	for i := 0; i < sent; i++ {
		if err := nc.Publish(subject, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the server deliver all of them into the tail
	close(w.release)
	time.Sleep(100 * time.Millisecond)
	cancel()
	if code := <-done; code != cli.ExitPartial {
		t.Errorf("exit %d, want %d (lost messages); stderr %q", code, cli.ExitPartial, errb.String())
	}
	var lost int
	for _, l := range strings.Split(errb.String(), "\n") {
		var n int
		if i := strings.Index(l, "lost "); i >= 0 && strings.Contains(l, "did not keep up") {
			if _, err := fmt.Sscanf(l[i:], "lost %d messages", &n); err == nil {
				lost += n
			}
		}
	}
	got := strings.Count(w.buf.String(), "\n")
	if lost == 0 || got+lost != sent {
		t.Errorf("printed %d and reported %d lost, sent %d; stderr %q", got, lost, sent, errb.String())
	}
}

func TestCompletionFromTheBroker(t *testing.T) {
	e, _, stream, _ := redisFixture(t, 1, 0)
	if out := e.ok("__complete", "groups", ""); !strings.Contains(out, stream) {
		t.Errorf("topic completion lacks %s:\n%s", stream, out)
	}
	if out := e.ok("__complete", "pending", stream, ""); !strings.HasPrefix(out, "g\n") {
		t.Errorf("group completion: %q", out)
	}
	if out := e.ok("__complete", "--context", ""); !strings.Contains(out, "redis") {
		t.Errorf("context completion: %q", out)
	}
	for _, sh := range []string{"bash", "zsh", "fish"} {
		if out := e.ok("completion", sh); !strings.Contains(out, "mqscope") {
			t.Errorf("completion %s: %q", sh, out[:min(len(out), 200)])
		}
	}
}
