package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/cli"
	"github.com/mqscope/mqscope/core"
	payload "github.com/mqscope/mqscope/core/decode"
	"github.com/mqscope/mqscope/internal/testbroker"
)

const orderJSON = `{"id":"o-1","customer":"ada","lines":[{"sku":"A-1","quantity":2}],"amount_cents":"4200","currency":"EUR","status":"STATUS_PAID"}`

// decodeConfig writes a config with one context whose decode table makes
// PREFIX.pb.* protobuf (from the committed descriptor set) and PREFIX.mp.*
// msgpack.
func decodeConfig(t *testing.T, backend, url, prefix string) (path string, set *payload.Set) {
	t.Helper()
	dir := t.TempDir()
	pb, err := os.ReadFile(filepath.Join("..", "core", "decode", "testdata", "shop.pb"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "shop.pb"), pb, 0o600); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(dir, "config.toml")
	cfg := fmt.Sprintf(`
[contexts.dec]
backend = %q
url = %q

[contexts.dec.decode]
proto_descriptor_set = "shop.pb"
"%s.pb*" = "protobuf:shop.v1.Order"
"%s.mp*" = "msgpack"
`, backend, url, prefix, prefix)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	sc, err := payload.LoadSchema(payload.SchemaSources{DescriptorSets: []string{filepath.Join(dir, "shop.pb")}})
	if err != nil {
		t.Fatal(err)
	}
	set, err = payload.NewSet([]payload.Rule{{Glob: prefix + ".pb*", Format: "protobuf:shop.v1.Order"}, {Glob: prefix + ".mp*", Format: "msgpack"}}, sc)
	if err != nil {
		t.Fatal(err)
	}
	return path, set
}

// checkDecodedEnvelopes: get/tail envelopes carry format and decoded
// beside the raw data, and pub --from replays the raw bytes.
func checkDecoded(t *testing.T, env core.Envelope, format string) {
	t.Helper()
	if env.Format != format || len(env.Decoded) == 0 {
		t.Fatalf("envelope %+v: want format %s and decoded", env, format)
	}
	var got, want any
	if err := json.Unmarshal(env.Decoded, &got); err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal([]byte(orderJSON), &want)
	if format == "msgpack" {
		// msgpack keeps the JSON as written
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("decoded %s, want %s", env.Decoded, orderJSON)
		}
		return
	}
	var c bytes.Buffer
	_ = json.Compact(&c, env.Decoded)
	if !strings.Contains(c.String(), `"customer":"ada"`) || !strings.Contains(c.String(), `"status":"STATUS_PAID"`) {
		t.Fatalf("decoded %s", env.Decoded)
	}
}

func TestJetStreamPubEncodesAndTailDecodes(t *testing.T) {
	srv := testbroker.StartNATS(t)
	nc := srv.Connect(t)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	name := testbroker.Name(t, "dec")
	jsStream(t, js, name)
	cfg, set := decodeConfig(t, "nats_jetstream", srv.URL(), name)
	e := newEnv(t, "--config", cfg, "--context", "dec")

	e.ok("pub", name+".pb.eu", orderJSON)
	e.ok("pub", name+".mp.eu", orderJSON)
	e.ok("pub", name+".plain", orderJSON)
	e.ok("pub", name+".plain", orderJSON, "--encode", "cbor")
	stream, _ := js.Stream(ctx, name)
	wantPB, _, err := set.Encode(core.Record{Topic: name + ".pb.eu"}, []byte(orderJSON))
	if err != nil {
		t.Fatal(err)
	}
	wantMP, _, _ := set.Encode(core.Record{Topic: name + ".mp.eu"}, []byte(orderJSON))
	wantCBOR, _ := set.EncodeAs("cbor", []byte(orderJSON))
	for seq, want := range map[uint64][]byte{1: wantPB, 2: wantMP, 3: []byte(orderJSON), 4: wantCBOR} {
		m, err := stream.GetMsg(ctx, seq) // raw, not through mqscope
		if err != nil || !bytes.Equal(m.Data, want) {
			t.Fatalf("seq %d: %x (%v), want %x", seq, m.Data, err, want)
		}
	}

	checkDecoded(t, decode[core.Envelope](t, e.ok("get", name, "1", "-o", "json")), "protobuf:shop.v1.Order")
	checkDecoded(t, decode[core.Envelope](t, e.ok("get", name, "2", "-o", "json")), "msgpack")
	if env := decode[core.Envelope](t, e.ok("get", name, "3", "-o", "json")); env.Format != "" || env.Decoded != nil {
		t.Errorf("JSON payload got a decoded field: %+v", env)
	}
	if env := decode[core.Envelope](t, e.ok("get", name, "4", "-o", "json")); env.Format != "cbor" {
		t.Errorf("auto did not find CBOR: %+v", env)
	}
	if out := e.ok("get", name, "1"); !strings.Contains(out, `[protobuf:shop.v1.Order] {"amount_cents":"4200"`) {
		t.Errorf("get table:\n%s", out)
	}

	// --where queries see the decoded payloads: all four match (without
	// the decoders only the JSON one would).
	if envs := lines[core.Envelope](t, e.ok("browse", name, "--where", `.customer == "ada" and .currency == "EUR"`, "-o", "jsonl")); len(envs) != 4 {
		t.Errorf("--where on decoded payloads matched %d, want 4", len(envs))
	}

	// tail → file → pub --from: the decoded field is ignored, the bytes kept.
	dst := testbroker.Name(t, "dst")
	jsStream(t, js, dst)
	file := recordTail(t, e, []string{"tail", name, "--from", "all"}, 4, func() {})
	envs := lines[core.Envelope](t, string(mustRead(t, file)))
	checkDecoded(t, envs[0], "protobuf:shop.v1.Order")
	checkDecoded(t, envs[1], "msgpack")
	e.ok("pub", "--from", file, "--to", dst+".out")
	out, _ := js.Stream(ctx, dst)
	for seq, want := range map[uint64][]byte{1: wantPB, 2: wantMP, 3: []byte(orderJSON), 4: wantCBOR} {
		m, err := out.GetMsg(ctx, seq)
		if err != nil || !bytes.Equal(m.Data, want) {
			t.Fatalf("replayed seq %d: %x (%v), want %x", seq, m.Data, err, want)
		}
	}

	// Bad input says why, and nothing is published.
	e.want(2, "not valid JSON", "pub", name+".mp.x", "not json")
	e.want(2, `unknown format "yaml"`, "pub", name+".x", "{}", "--encode", "yaml")
	e.want(2, "shop.v1.Order", "pub", name+".pb.x", `{"nope":1}`)
	if info, _ := stream.Info(ctx); info.State.Msgs != 4 {
		t.Errorf("stream has %d messages after refused publishes", info.State.Msgs)
	}
}

func TestRedisPubEncodesAndGetDecodes(t *testing.T) {
	rdb := testbroker.Redis(t)
	name := testbroker.Name(t, "dec")
	testbroker.CleanupRedisKeys(t, rdb, name+"*")
	cfg, set := decodeConfig(t, "redis_stream", testbroker.RedisURL(t), name)
	e := newEnv(t, "--config", cfg, "--context", "dec")
	e.ok("pub", name+".pb", orderJSON)
	row := decode[cli.PubRow](t, e.ok("pub", name+".mp", orderJSON, "-o", "json"))
	if row.Format != "msgpack" {
		t.Errorf("pub row: %+v", row)
	}
	ctx := context.Background()
	for topic, format := range map[string]string{name + ".pb": "protobuf:shop.v1.Order", name + ".mp": "msgpack"} {
		got, err := rdb.XRange(ctx, topic, "-", "+").Result() // raw read
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: %v %v", topic, got, err)
		}
		want, _, _ := set.Encode(core.Record{Topic: topic}, []byte(orderJSON))
		if d, _ := got[0].Values["data"].(string); d != string(want) {
			t.Fatalf("%s: stored %x, want %x", topic, d, want)
		}
		checkDecoded(t, decode[core.Envelope](t, e.ok("get", topic, got[0].ID, "-o", "json")), format)
	}
}
