package decode

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/mqscope/mqscope/core"
)

var update = flag.Bool("update", false, "regenerate testdata/shop.pb")

const orderJSON = `{"id":"o-1","customer":"ada","lines":[{"sku":"A-1","quantity":2},{"sku":"B-7","quantity":1}],"amount_cents":"4200","currency":"EUR","status":"STATUS_PAID","placed_at":"2026-12-01T03:00:00Z","tags":{"channel":"web"}}`

func protoSchema(t testing.TB) *Schema {
	t.Helper()
	s, err := LoadSchema(SchemaSources{ProtoFiles: []string{filepath.Join("testdata", "shop.proto")}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// descriptorSet builds what `protoc --include_imports --descriptor_set_out`
// writes for testdata/shop.proto.
func descriptorSet(t *testing.T) []byte {
	t.Helper()
	s := protoSchema(t)
	var fds descriptorpb.FileDescriptorSet
	fd, err := s.files.FindFileByPath("shop.proto")
	if err != nil {
		t.Fatal(err)
	}
	var add func(fd protoreflect.FileDescriptor)
	seen := map[string]bool{}
	add = func(fd protoreflect.FileDescriptor) {
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		for i := 0; i < fd.Imports().Len(); i++ {
			add(fd.Imports().Get(i).FileDescriptor)
		}
		fds.File = append(fds.File, protodesc.ToFileDescriptorProto(fd))
	}
	add(fd)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&fds)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDescriptorSetIsCurrent(t *testing.T) {
	want := descriptorSet(t)
	path := filepath.Join("testdata", "shop.pb")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./core/decode -run TestDescriptorSet -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("testdata/shop.pb is stale: run go test ./core/decode -run TestDescriptorSet -update")
	}
}

func TestProtobufFromDescriptorSetAndProtoFiles(t *testing.T) {
	fromPB, err := LoadSchema(SchemaSources{DescriptorSets: []string{filepath.Join("testdata", "shop.pb")}})
	if err != nil {
		t.Fatal(err)
	}
	for name, sc := range map[string]*Schema{"descriptor set": fromPB, "proto files": protoSchema(t)} {
		t.Run(name, func(t *testing.T) {
			set, err := NewSet([]Rule{{Glob: "orders.*", Format: "protobuf:shop.v1.Order"}}, sc)
			if err != nil {
				t.Fatal(err)
			}
			rec := core.Record{Topic: "ORDERS", Subject: "orders.eu"}
			b, format, err := set.Encode(rec, []byte(orderJSON))
			if err != nil || format != "protobuf:shop.v1.Order" {
				t.Fatalf("encode: %q %v", format, err)
			}
			rec.Data, rec.Size = b, len(b)
			r := set.Decode(rec)
			if r.Err != nil || r.Format != "protobuf:shop.v1.Order" {
				t.Fatalf("decode: %+v", r)
			}
			want, _ := parseJSON([]byte(orderJSON))
			if !reflect.DeepEqual(r.Value, want) {
				t.Fatalf("decoded\n%s\nwant\n%s", CompactJSON(r.Value), CompactJSON(want))
			}
			// Re-encoding the decoded value gives the same bytes.
			again, _, err := set.EncodeValue(rec, r.Value)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("re-encoded %x (%v), want %x", again, err, b)
			}
			// Another topic is not protobuf.
			if f := set.FormatFor(core.Record{Topic: "other"}); f != FormatAuto {
				t.Fatalf("other topic: %s", f)
			}
		})
	}
}

func TestProtobufBadPayloadIsAnError(t *testing.T) {
	set, err := NewSet([]Rule{{Glob: "*", Format: "protobuf:shop.v1.Order"}}, protoSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	r := set.Decode(core.Record{Topic: "x", Data: []byte{0x0a, 0xff}, Size: 2})
	if r.Err == nil || r.Value != nil {
		t.Fatalf("want an error, got %+v", r)
	}
	r = set.Decode(core.Record{Topic: "x", Data: []byte{0x0a}, Size: 10})
	if r.Err == nil || !strings.Contains(r.Err.Error(), "truncated") {
		t.Fatalf("truncated payload: %+v", r)
	}
}

func TestSchemalessProtobuf(t *testing.T) {
	set, _ := NewSet([]Rule{{Glob: "orders.*", Format: "protobuf:shop.v1.Order"}}, protoSchema(t))
	b, _, err := set.Encode(core.Record{Topic: "orders.x"}, []byte(orderJSON))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := NewSet([]Rule{{Glob: "orders.*", Format: "protobuf"}}, nil)
	r := plain.Decode(core.Record{Topic: "orders.x", Data: b, Size: len(b)})
	if r.Err != nil || r.Format != "protobuf" {
		t.Fatalf("%+v", r)
	}
	got := CompactJSON(r.Value)
	// Field 3 is repeated (an array of nested messages), 4 a varint, 7 a
	// nested Timestamp, 8 a map entry {1: key, 2: value}.
	for _, want := range []string{`"1":"o-1"`, `"3":[{"1":"A-1","2":2},{"1":"B-7","2":1}]`, `"4":4200`, `"6":2`, `"7":{"1":`, `"8":{"1":"channel","2":"web"}`} {
		if !strings.Contains(got, want) {
			t.Errorf("schema-less %s lacks %s", got, want)
		}
	}
	if _, _, err := plain.Encode(core.Record{Topic: "orders.x"}, []byte(`{}`)); err == nil {
		t.Error("schema-less protobuf encoded")
	}
}

func TestAutoDetects(t *testing.T) {
	mp, _ := msgpack.Marshal(map[string]any{"id": 7, "ok": true, "tags": []string{"a", "b"}})
	cb, _ := cbor.Marshal(map[string]any{"id": 7, "ok": true})
	cases := []struct {
		name   string
		data   []byte
		format string
	}{
		{"json", []byte(`{"a":1}`), FormatJSON},
		{"json number", []byte(`42`), FormatJSON},
		{"msgpack", mp, FormatMsgpack},
		{"cbor", cb, FormatCBOR},
		{"text", []byte("hello world"), FormatText},
		{"one letter is not a msgpack int", []byte("a"), FormatText},
		{"utf-8 text", []byte("grüße"), FormatText},
		{"binary", []byte{0xff, 0x00, 0xfe}, FormatBinary},
		{"msgpack followed by junk", append(append([]byte(nil), mp...), 0x00), FormatBinary},
		{"empty", nil, FormatText},
	}
	var set *Set
	for _, c := range cases {
		r := set.Decode(core.Record{Topic: "t", Data: c.data, Size: len(c.data)})
		if r.Format != c.format || r.Err != nil {
			t.Errorf("%s: got %s (%v), want %s", c.name, r.Format, r.Err, c.format)
		}
	}
	r := set.Decode(core.Record{Data: mp, Size: len(mp)})
	want := map[string]any{"id": 7, "ok": true, "tags": []any{"a", "b"}}
	if !reflect.DeepEqual(r.Value, want) {
		t.Fatalf("msgpack value %#v", r.Value)
	}
}

func TestMsgpackAndCBORRoundTrip(t *testing.T) {
	const doc = `{"b":[1,2.5,"x",null,true],"a":{"n":-3,"big":18446744073709551615}}`
	for _, format := range []string{FormatMsgpack, FormatCBOR} {
		set, err := NewSet([]Rule{{Glob: "t.*", Format: format}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := core.Record{Topic: "t.1"}
		b, f, err := set.Encode(rec, []byte(doc))
		if err != nil || f != format {
			t.Fatalf("%s: encode %v", format, err)
		}
		rec.Data, rec.Size = b, len(b)
		r := set.Decode(rec)
		want, _ := parseJSON([]byte(doc))
		if r.Err != nil || !reflect.DeepEqual(r.Value, want) {
			t.Fatalf("%s: decoded %s (%v), want %s", format, CompactJSON(r.Value), r.Err, CompactJSON(want))
		}
		again, _, _ := set.EncodeValue(rec, r.Value)
		if !bytes.Equal(again, b) {
			t.Fatalf("%s: re-encoded %x, want %x", format, again, b)
		}
		// Auto finds the same thing, and edit-and-resend under auto keeps it.
		auto := (*Set)(nil)
		if got := auto.Decode(core.Record{Data: b, Size: len(b)}).Format; got != format {
			t.Fatalf("auto saw %s as %s", format, got)
		}
		if _, f, _ := auto.Encode(core.Record{Data: b, Size: len(b)}, []byte(`{"x":1}`)); f != format {
			t.Fatalf("auto re-encoded %s as %s", format, f)
		}
	}
}

func TestContentTypeChoosesTheDecoder(t *testing.T) {
	set, err := NewSet([]Rule{{Glob: "fixed.*", Format: "text"}}, protoSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	for ct, want := range map[string]string{
		"application/json":                                 FormatJSON,
		"application/msgpack":                              FormatMsgpack,
		"application/x-msgpack":                            FormatMsgpack,
		"application/cbor":                                 FormatCBOR,
		"text/plain; charset=utf-8":                        FormatText,
		"application/x-protobuf; messageType=shop.v1.Line": "protobuf:shop.v1.Line",
		"application/protobuf; proto=shop.v1.Order":        "protobuf:shop.v1.Order",
		"application/x-protobuf; messageType=no.Such":      FormatProtobuf,
		"application/octet-stream":                         FormatAuto,
	} {
		rec := core.Record{Topic: "t", Header: core.Header{"content-type": {ct}}}
		if got := set.FormatFor(rec); got != want {
			t.Errorf("%s: %s, want %s", ct, got, want)
		}
	}
	// A configured rule wins over the header.
	if got := set.FormatFor(core.Record{Topic: "fixed.1", Header: core.Header{"Content-Type": {"application/json"}}}); got != FormatText {
		t.Errorf("rule lost to header: %s", got)
	}
}

func TestNewSetSaysWhatIsWrong(t *testing.T) {
	sc := protoSchema(t)
	for _, c := range []struct {
		rule Rule
		want string
	}{
		{Rule{"a[b", "json"}, "closing"},
		{Rule{"", "json"}, "empty glob"},
		{Rule{"a", "yaml"}, `unknown format "yaml"`},
		{Rule{"a", "protobuf:"}, "needs a message type"},
		{Rule{"a", "protobuf:shop.v1.Nope"}, "not in the schema; known: shop.v1.Line, shop.v1.Order"},
		{Rule{"a", "protobuf:shop.v1.Status"}, "not a message type"},
	} {
		_, err := NewSet([]Rule{c.rule}, sc)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.rule, err, c.want)
		}
	}
	if _, err := NewSet([]Rule{{"a", "protobuf:x.Y"}}, nil); err == nil || !strings.Contains(err.Error(), "no schema") {
		t.Errorf("no schema: %v", err)
	}
}

func TestGlobs(t *testing.T) {
	for _, c := range []struct {
		glob, topic string
		match       bool
	}{
		{"orders.*", "orders.eu.paid", true},
		{"orders.*", "orders", false},
		{"*", "anything:at:all", true},
		{"q?", "q1", true},
		{"q[12]", "q3", false},
		{"q[!12]", "q3", true},
		{`a\*`, "a*", true},
		{`a\*`, "ab", false},
	} {
		re, err := compileGlob(c.glob)
		if err != nil || re.MatchString(c.topic) != c.match {
			t.Errorf("%q ~ %q: %v (%v)", c.glob, c.topic, !c.match, err)
		}
	}
}

func TestHostilePayloadsStayBounded(t *testing.T) {
	deep := bytes.Repeat([]byte{0x91}, 100000) // msgpack: [[[[…
	if _, err := decodeMsgpack(deep); err == nil {
		t.Error("msgpack nested 100000 deep decoded")
	}
	huge, _ := hex.DecodeString("dfffffffff") // msgpack: a map of 2^32-1 pairs
	if _, err := decodeMsgpack(huge); err == nil {
		t.Error("msgpack map claiming 4G pairs decoded")
	}
	if _, err := decodeCBOR(bytes.Repeat([]byte{0x81}, 100000)); err == nil {
		t.Error("cbor nested 100000 deep decoded")
	}
	if _, err := decodeCBOR([]byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); err == nil {
		t.Error("cbor array claiming 2^64 elements decoded")
	}
	if _, err := decodeProtoWire(bytes.Repeat([]byte{0x0b}, 10000)); err == nil { // start groups
		t.Error("protobuf groups nested 10000 deep decoded")
	}
	// None of these is auto-detected as anything but binary.
	for _, b := range [][]byte{deep, huge} {
		if f := decodeAuto(b).Format; f != FormatBinary {
			t.Errorf("auto: %s", f)
		}
	}
}

func TestReadsAsRaw(t *testing.T) {
	set, _ := NewSet([]Rule{{Glob: "t.*", Format: "text"}, {Glob: "j.*", Format: "json"}}, nil)
	mp, _ := msgpack.Marshal(map[string]any{"a": 1})
	for _, c := range []struct {
		rec  core.Record
		want bool
	}{
		{core.Record{Topic: "x", Data: []byte(`{"a":1}`)}, true},
		{core.Record{Topic: "x", Data: mp}, false},
		{core.Record{Topic: "t.1", Data: mp}, true},
		{core.Record{Topic: "j.1", Data: []byte(`{"a":1}`)}, false},
	} {
		if got := set.ReadsAsRaw(c.rec); got != c.want {
			t.Errorf("%s %q: %v", c.rec.Topic, c.rec.Data, got)
		}
		// the claim it rests on: auto never finds msgpack or CBOR in text
		if isText(c.rec.Data) {
			if f := decodeAuto(c.rec.Data).Format; f == FormatMsgpack || f == FormatCBOR {
				t.Errorf("auto read UTF-8 %q as %s", c.rec.Data, f)
			}
		}
	}
}

func TestNonFiniteFloatsAreText(t *testing.T) {
	mp, _ := msgpack.Marshal(map[string]any{"nan": math.NaN(), "inf": math.Inf(-1), "f32": float32(0.5)})
	v, err := decodeMsgpack(mp)
	if err != nil {
		t.Fatal(err)
	}
	if got := CompactJSON(v); got != `{"f32":0.5,"inf":"-Infinity","nan":"NaN"}` {
		t.Fatalf("%s", got)
	}
	if v, _ := parseJSON([]byte(`[1e400]`)); CompactJSON(v) != `["Infinity"]` {
		t.Fatalf("%s", CompactJSON(v))
	}
}

// Envelope adds format and decoded for binary formats only, and the
// envelope still round-trips the bytes (Record ignores decoded).
func TestEnvelopeDecodedRoundTrips(t *testing.T) {
	set, _ := NewSet([]Rule{{Glob: "pb.*", Format: "protobuf:shop.v1.Order"}}, protoSchema(t))
	pb, _, _ := set.Encode(core.Record{Topic: "pb.1"}, []byte(orderJSON))
	mp, _ := msgpack.Marshal(map[string]any{"a": 1})
	for _, c := range []struct {
		rec     core.Record
		format  string
		decoded bool
	}{
		{core.Record{Topic: "pb.1", Data: pb, Size: len(pb)}, "protobuf:shop.v1.Order", true},
		{core.Record{Topic: "x", Data: mp, Size: len(mp)}, "msgpack", true},
		{core.Record{Topic: "x", Data: []byte(`{"a":1}`), Size: 7}, "", false},
		{core.Record{Topic: "pb.1", Data: []byte{0x0a, 0xff}, Size: 2}, "protobuf:shop.v1.Order", false},
		{core.Record{Topic: "x", Data: mp[:2], Size: len(mp)}, "", false}, // truncated
	} {
		e := Envelope(set, c.rec)
		if e.Format != c.format || (len(e.Decoded) > 0) != c.decoded {
			t.Errorf("%x: format %q decoded %s error %q", c.rec.Data, e.Format, e.Decoded, e.DecodeError)
		}
		var back core.Envelope
		if err := json.Unmarshal(e.AppendJSON(nil), &back); err != nil {
			t.Fatal(err)
		}
		rec, err := back.Record()
		if err != nil || !bytes.Equal(rec.Data, c.rec.Data) {
			t.Errorf("%x: round trip gave %x (%v)", c.rec.Data, rec.Data, err)
		}
	}
}
