package tui

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// decodingOpener is openerFor with a context's decoders: topics matching
// pbGlob are shop.v1.Order protobuf, mpGlob msgpack.
func decodingOpener(t *testing.T, cfg core.Config, pbGlob, mpGlob string, more ...decode.Rule) (func(context.Context, string) (*Target, error), *decode.Set) {
	t.Helper()
	sc, err := decode.LoadSchema(decode.SchemaSources{DescriptorSets: []string{filepath.Join("..", "core", "decode", "testdata", "shop.pb")}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := decode.NewSet(append([]decode.Rule{{Glob: pbGlob, Format: "protobuf:shop.v1.Order"}, {Glob: mpGlob, Format: "msgpack"}}, more...), sc)
	if err != nil {
		t.Fatal(err)
	}
	open := openerFor(cfg)
	return func(ctx context.Context, name string) (*Target, error) {
		tg, err := open(ctx, name)
		if tg != nil {
			tg.Decoder = set
		}
		return tg, err
	}, set
}

const flowOrder = `{"id":"o-7","customer":"lin","currency":"EUR","lines":[{"sku":"K-2","quantity":4}]}`

// TestFlowDecodeRoundTrip, on JetStream and Redis, for protobuf, msgpack
// and CBOR topics: publish JSON from the console (stored encoded), browse
// shows it decoded, the inspector as pretty JSON, edit & resend opens the
// JSON and, unchanged, publishes the very same bytes.
func TestFlowDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	backends := map[string]core.Config{
		"jetstream": {Driver: core.DriverJetStream, NATSURL: srv.URL(), CreateStreams: true},
		"redis":     redisConfig(t, false),
	}
	for name, cfg := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cl := newClient(t, cfg)
			op := cl.Operator()
			base := shortName(t, "dec")
			if cfg.Driver == core.DriverRedisStream {
				testbroker.CleanupRedisKeys(t, testbroker.Redis(t), base+"*")
			}
			open, set := decodingOpener(t, cfg, base+"pb*", base+"mp*", decode.Rule{Glob: base + "cb*", Format: "cbor"})
			f := startFlow(t, Options{Contexts: []string{"c"}, Initial: "c", Open: open})
			f.waitScreen("connected", "connected")
			for _, format := range []string{"protobuf:shop.v1.Order", "msgpack", "cbor"} {
				topic := base + map[string]string{"protobuf:shop.v1.Order": "pb", "msgpack": "mp", "cbor": "cb"}[format]
				want, got, err := set.Encode(core.Record{Topic: topic}, []byte(flowOrder))
				if err != nil || got != format {
					t.Fatalf("%s: %s %v", topic, got, err)
				}

				f.command("publish " + topic)
				f.waitScreen("publish dialog", "Publish")
				f.typ(flowOrder)
				f.key("ctrl+s")
				f.waitStatus("published", "publish to "+topic+": 1/1 done")
				first := browseLast(t, op, topic)
				if !bytes.Equal(first.Data, want) {
					t.Fatalf("%s: stored %x, want the %s encoding %x", topic, first.Data, format, want)
				}

				f.command("topic " + topic)
				f.key("b")
				f.waitScreen("browse shows it decoded", "["+format+"] {")
				f.key("enter")
				f.waitScreen("inspector", format+", shown as JSON", `"sku": "K-2"`)
				f.key("e")
				f.waitScreen("resend dialog with JSON", "Edit & resend", format+" as JSON")
				// the payload field may be scrolled to either end: read it
				f.waitModel("resend payload is the decoded JSON", func(m *Model) bool {
					top := m.layers.top()
					if top == nil || top.kind != layerDialog {
						return false
					}
					d, ok := top.dialog.(*formDialog)
					return ok && strings.Contains(d.val(fieldPayload), `"customer": "lin",`)
				})
				f.key("ctrl+s")
				f.waitStatus("resent", "publish to "+topic+": 1/1 done")
				f.waitModel("resent copy stored", func(*Model) bool { return browseLast(t, op, topic).ID != first.ID })
				if last := browseLast(t, op, topic); !bytes.Equal(last.Data, first.Data) {
					t.Fatalf("%s: resent %x, want the same bytes %x", topic, last.Data, first.Data)
				}
				f.key("esc")
				f.key("1")
			}
		})
	}
}

// TestFlowDecodeNATSCoreTail: msgpack published to NATS Core shows in the
// tail as one line of JSON tagged [msgpack], and the tail filter sees it.
func TestFlowDecodeNATSCoreTail(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	cfg := core.Config{Driver: core.DriverNATSCore, NATSURL: srv.URL()}
	cl := newClient(t, cfg)
	prefix := shortName(t, "mp")
	open, set := decodingOpener(t, cfg, "nothing", prefix+".*")
	f := startFlow(t, Options{Contexts: []string{"core"}, Initial: "core", Open: open})
	f.waitScreen("connected", "connected", "nats_core")
	f.command("tail " + prefix + ".>")
	f.waitModel("tail running", func(m *Model) bool { return m.tail.tail != nil })
	data, _, err := set.Encode(core.Record{Topic: prefix + ".a"}, []byte(`{"sensor":"roof","temp":21.5}`))
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := set.Encode(core.Record{Topic: prefix + ".a"}, []byte(`{"sensor":"cellar","temp":9}`))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			_ = cl.Publish(ctx, prefix+".a", data)
			_ = cl.Publish(ctx, prefix+".b", other)
			time.Sleep(50 * time.Millisecond)
		}
	}()
	f.waitScreen("decoded tail line", `[msgpack] {"sensor":"roof","temp":21.5}`, `[msgpack] {"sensor":"cellar","temp":9}`)
	f.key("4")
	f.filter("sensor=cellar")
	f.waitModel("filter sees the decoded field", func(m *Model) bool {
		v := m.render()
		return strings.Contains(v, "/sensor=cellar") && strings.Contains(v, `[msgpack] {"sensor":"cellar"`) && !strings.Contains(v, `"roof"`)
	})
}
