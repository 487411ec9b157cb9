package tui

import (
	"path/filepath"
	"testing"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
	"github.com/mqscope/mqscope/internal/benchcmp"
)

const benchOrder = `{"id":"o-123456","customer":"ada@example.com","lines":[{"sku":"A-1","quantity":2},{"sku":"B-7","quantity":1}],"amount_cents":"4200","currency":"EUR","status":"STATUS_PAID","placed_at":"2026-12-01T03:00:00Z","tags":{"channel":"web"}}`

// firehoseRecords is one order as JSON, protobuf and msgpack, with the
// context decoders that read each.
func firehoseRecords(b *testing.B) (*decode.Set, map[string]core.Record) {
	sc, err := decode.LoadSchema(decode.SchemaSources{DescriptorSets: []string{filepath.Join("..", "core", "decode", "testdata", "shop.pb")}})
	if err != nil {
		b.Fatal(err)
	}
	set, err := decode.NewSet([]decode.Rule{{Glob: "pb.*", Format: "protobuf:shop.v1.Order"}, {Glob: "mp.*", Format: "msgpack"}}, sc)
	if err != nil {
		b.Fatal(err)
	}
	recs := map[string]core.Record{}
	for name, topic := range map[string]string{"json": "js.orders", "protobuf": "pb.orders", "msgpack": "mp.orders"} {
		data, _, err := set.Encode(core.Record{Topic: topic}, []byte(benchOrder))
		if err != nil {
			b.Fatal(err)
		}
		recs[name] = core.Record{Topic: topic, ID: "1", Data: data, Size: len(data)}
	}
	return set, recs
}

// BenchmarkDecodeFirehose: what the tail does per arriving message, the
// one-line preview, without a decoder (raw: payloadPreview, the bytes as
// text or hex) against with the context's decoders (core: decodedPreview),
// interleaved in chunks of 2 000.
func BenchmarkDecodeFirehose(b *testing.B) {
	set, recs := firehoseRecords(b)
	for _, name := range []string{"json", "protobuf", "msgpack"} {
		rec := recs[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			benchcmp.Interleave(b, 2000, func(side, n int) {
				for range n {
					if side == benchcmp.Raw {
						_ = payloadPreview(rec.Data)
					} else {
						_ = decodedPreview(set, rec)
					}
				}
			})
		})
	}
}
