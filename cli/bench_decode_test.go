package cli

import (
	"path/filepath"
	"testing"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
	"github.com/mqscope/mqscope/internal/benchcmp"
)

// BenchmarkDecodeEnvelope: what `mqscope tail -o jsonl` writes per message,
// without a decoder (raw: the envelope of the bytes) against with the
// context's decoders (core: the envelope with format and decoded),
// interleaved in chunks of 2 000.
func BenchmarkDecodeEnvelope(b *testing.B) {
	const order = `{"id":"o-123456","customer":"ada@example.com","lines":[{"sku":"A-1","quantity":2},{"sku":"B-7","quantity":1}],"amount_cents":"4200","currency":"EUR","status":"STATUS_PAID","placed_at":"2026-12-01T03:00:00Z","tags":{"channel":"web"}}`
	sc, err := decode.LoadSchema(decode.SchemaSources{DescriptorSets: []string{filepath.Join("..", "core", "decode", "testdata", "shop.pb")}})
	if err != nil {
		b.Fatal(err)
	}
	set, err := decode.NewSet([]decode.Rule{{Glob: "pb.*", Format: "protobuf:shop.v1.Order"}, {Glob: "mp.*", Format: "msgpack"}}, sc)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, topic string }{{"json", "js.orders"}, {"protobuf", "pb.orders"}, {"msgpack", "mp.orders"}} {
		data, _, err := set.Encode(core.Record{Topic: c.topic}, []byte(order))
		if err != nil {
			b.Fatal(err)
		}
		rec := core.Record{Topic: c.topic, ID: "1", Data: data, Size: len(data)}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			benchcmp.Interleave(b, 2000, func(side, n int) {
				for range n {
					if side == benchcmp.Raw {
						buf = core.EnvelopeOf(rec).AppendJSON(buf[:0])
					} else {
						buf = envelope(set, rec).AppendJSON(buf[:0])
					}
				}
			})
		})
	}
}
