package decode

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/mqscope/mqscope/core"
)

// Every decoder takes any bytes: an error or a value, never a panic, and a
// value is always one the JSON writer (and so gojq) can take.
func fuzzDecoder(f *testing.F, format string, schema *Schema, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0x00})
	set, err := NewSet([]Rule{{Glob: "*", Format: format}}, schema)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := set.Decode(core.Record{Topic: "t", Data: b, Size: len(b)})
		if r.Err != nil {
			if r.Value != nil {
				t.Fatalf("error %v with a value", r.Err)
			}
			return
		}
		checkValue(t, r.Value)
		if _, err := json.Marshal(r.Value); err != nil {
			t.Fatalf("value not writable as JSON: %v", err)
		}
	})
}

// checkValue fails on a type gojq does not take.
func checkValue(t *testing.T, v any) {
	switch x := v.(type) {
	case nil, bool, string, float64, int:
	case []any:
		for _, e := range x {
			checkValue(t, e)
		}
	case map[string]any:
		for _, e := range x {
			checkValue(t, e)
		}
	default:
		if _, ok := v.(interface{ Sign() int }); !ok { // *big.Int
			t.Fatalf("value of type %T", v)
		}
	}
}

func FuzzAuto(f *testing.F) {
	mp, _ := msgpack.Marshal(map[string]any{"a": []any{1, "x", 2.5}})
	cb, _ := cbor.Marshal(map[string]any{"a": []any{1, "x", 2.5}})
	fuzzDecoder(f, FormatAuto, nil, []byte(`{"a":[1,"x"]}`), mp, cb, []byte("text"))
}

func FuzzJSON(f *testing.F) {
	fuzzDecoder(f, FormatJSON, nil, []byte(`{"a":[1,"x",1e400,-0,18446744073709551616]}`))
}

func FuzzMsgpack(f *testing.F) {
	mp, _ := msgpack.Marshal(map[string]any{"a": []any{1, "x", 2.5, []byte{1}, nil, uint64(1 << 63)}})
	fuzzDecoder(f, FormatMsgpack, nil, mp, []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, []byte{0xd6, 0xff, 0, 0, 0, 1})
}

func FuzzCBOR(f *testing.F) {
	cb, _ := cbor.Marshal(map[any]any{"a": []any{1, "x", 2.5, []byte{1}}, 7: true})
	fuzzDecoder(f, FormatCBOR, nil, cb, []byte{0xc1, 0x1a, 0, 0, 0, 1}, []byte{0xd9, 0xd9, 0xf7, 0xa0})
}

func FuzzProtobuf(f *testing.F) {
	sc, err := LoadSchema(SchemaSources{ProtoFiles: []string{filepath.Join("testdata", "shop.proto")}})
	if err != nil {
		f.Fatal(err)
	}
	set, _ := NewSet([]Rule{{Glob: "*", Format: "protobuf:shop.v1.Order"}}, sc)
	b, _, err := set.Encode(core.Record{Topic: "t"}, []byte(orderJSON))
	if err != nil {
		f.Fatal(err)
	}
	fuzzDecoder(f, "protobuf:shop.v1.Order", sc, b)
}

// FuzzProtobufValue: the direct protobuf-to-value path gives what
// protojson's text parsed back gives.
func FuzzProtobufValue(f *testing.F) {
	sc, err := LoadSchema(SchemaSources{ProtoFiles: []string{filepath.Join("testdata", "shop.proto")}})
	if err != nil {
		f.Fatal(err)
	}
	set, _ := NewSet([]Rule{{Glob: "*", Format: "protobuf:shop.v1.Order"}}, sc)
	b, _, err := set.Encode(core.Record{Topic: "t"}, []byte(orderJSON))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	c := set.rules[0].codec.proto
	f.Fuzz(func(t *testing.T, b []byte) {
		direct, err1 := c.decode(b)
		viaJSON, err2 := c.decodeViaJSON(b)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("errors differ: %v / %v", err1, err2)
		}
		if err1 == nil && !reflect.DeepEqual(direct, viaJSON) {
			t.Fatalf("direct %s\nprotojson %s", CompactJSON(direct), CompactJSON(viaJSON))
		}
	})
}

func FuzzProtobufSchemaless(f *testing.F) {
	fuzzDecoder(f, FormatProtobuf, nil, []byte{0x08, 0x96, 0x01, 0x12, 0x03, 'a', 'b', 'c', 0x1a, 0x02, 0x08, 0x01, 0x0b, 0x08, 0x01, 0x0c})
}
