package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/cli"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestDiffCommand compares stored messages on JetStream and Redis: a JSON
// field and a header that changed, a text payload line by line, a message
// with itself, and a missing id.
func TestDiffCommand(t *testing.T) {
	t.Run("jetstream", func(t *testing.T) {
		srv := testbroker.StartNATS(t)
		js, _ := jetstream.New(srv.Connect(t))
		name := testbroker.Name(t, "diff")
		jsStream(t, js, name)
		pub := func(data, trace string) {
			m := nats.NewMsg(name + ".o")
			m.Data = []byte(data)
			if trace != "" {
				m.Header.Set("Trace", trace)
			}
			if _, err := js.PublishMsg(context.Background(), m); err != nil {
				t.Fatal(err)
			}
		}
		pub(`{"order":{"qty":3},"ok":true}`, "t-pass")
		pub(`{"order":{"qty":4},"ok":true}`, "t-fail")
		pub("a\nb\nc\n", "")
		pub("a\nB\nc\n", "")
		checkDiff(t, newEnv(t, "--nats", srv.URL()), name, []string{"1", "2", "3", "4"})
	})
	t.Run("redis", func(t *testing.T) {
		rdb := testbroker.Redis(t)
		stream := testbroker.Name(t, "diff")
		testbroker.CleanupRedisKeys(t, rdb, stream+"*")
		var ids []string
		for _, v := range [][]any{
			{"data", `{"order":{"qty":3},"ok":true}`, "headers", `{"Trace":["t-pass"]}`},
			{"data", `{"order":{"qty":4},"ok":true}`, "headers", `{"Trace":["t-fail"]}`},
			{"data", "a\nb\nc\n"},
			{"data", "a\nB\nc\n"},
		} {
			id, err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: stream, Values: v}).Result()
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		checkDiff(t, newEnv(t, "--redis", testbroker.RedisURL(t)), stream, ids)
	})
}

func checkDiff(t *testing.T, e *env, topic string, ids []string) {
	t.Helper()
	d := decode[cli.DiffOutput](t, e.ok("diff", topic, ids[0], ids[1], "-o", "json"))
	if d.Identical || d.Mode != "structural" || d.A.ID != ids[0] || d.B.Format != "json" ||
		len(d.Changes) != 1 || d.Changes[0].Path != ".order.qty" || d.Changes[0].Change != "changed" ||
		len(d.Headers) != 1 || d.Headers[0].Key != "Trace" || d.Headers[0].New[0] != "t-fail" {
		t.Errorf("json diff: %+v", d)
	}
	out := e.ok("diff", topic, ids[0], ids[1])
	for _, want := range []string{"~ Trace: \"t-pass\" → \"t-fail\"", "Payload (structural):", "~ .order.qty: 3 → 4"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	out = e.ok("diff", topic, ids[2], ids[3])
	if want := "Payload (line diff):\n@@ -1,3 +1,3 @@\n  a\n- b\n+ B\n  c\n"; !strings.Contains(out, want) {
		t.Errorf("text diff:\n%s\nwant:\n%s", out, want)
	}
	if d := decode[cli.DiffOutput](t, e.ok("diff", topic, ids[2], ids[2], "--json")); !d.Identical || len(d.Hunks) != 0 {
		t.Errorf("a message with itself: %+v", d)
	}
	e.want(cli.ExitBroker, "diff: get", "diff", topic, ids[0], ids[3]+"9")
}
