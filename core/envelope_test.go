package core_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
)

func TestEnvelopeRoundTripsBytes(t *testing.T) {
	payloads := map[string][]byte{
		"text":      []byte(`{"order":1}`),
		"empty":     {},
		"binary":    {0x00, 0xff, 0xfe, 0x80, 0x01},
		"invalid":   []byte("ok\xc3\x28bad"),
		"controls":  []byte("\x1b[2J\x1b]0;pwned\x07\r\n\t\u2028<script>&"),
		"nul-utf8":  []byte("a\x00b é 日本"),
		"surrogate": []byte("\xed\xa0\x80"), // encoded surrogate: not valid UTF-8
	}
	when := time.Date(2026, 11, 30, 10, 0, 0, 123456789, time.UTC)
	for name, p := range payloads {
		t.Run(name, func(t *testing.T) {
			rec := core.Record{Topic: "orders", Subject: "orders.eu", ID: "7", Seq: 7, Time: when, Data: p, Size: len(p),
				Header: core.Header{"K": {"v1", "v2"}, "Nats-Msg-Id": {"m-1"}}}
			line, err := json.Marshal(core.EnvelopeOf(rec))
			if err != nil {
				t.Fatal(err)
			}
			var e core.Envelope
			if err := json.Unmarshal(line, &e); err != nil {
				t.Fatal(err)
			}
			back, err := e.Record()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back.Data, p) {
				t.Errorf("payload %q came back as %q (json %s)", p, back.Data, line)
			}
			if back.Topic != rec.Topic || back.Subject != rec.Subject || back.ID != rec.ID || back.Seq != rec.Seq || !back.Time.Equal(when) {
				t.Errorf("fields changed: %+v", back)
			}
			if got := back.Header["K"]; len(got) != 2 || got[1] != "v2" || back.Header.Get("Nats-Msg-Id") != "m-1" {
				t.Errorf("headers changed: %v", back.Header)
			}
			wantEnc := ""
			if name == "binary" || name == "invalid" || name == "surrogate" {
				wantEnc = core.EncodingBase64
			}
			if e.Encoding != wantEnc {
				t.Errorf("encoding %q, want %q", e.Encoding, wantEnc)
			}
		})
	}
}

func TestEnvelopeRejectsBadEncoding(t *testing.T) {
	for _, e := range []core.Envelope{{Topic: "t", Data: "!!", Encoding: core.EncodingBase64}, {Topic: "t", Data: "x", Encoding: "hex"}} {
		if _, err := e.Record(); err == nil {
			t.Errorf("%+v decoded without error", e)
		}
	}
}

func TestEnvelopeAppendJSONIsEncodingJSON(t *testing.T) {
	when := time.Date(2026, 11, 30, 10, 0, 0, 120000000, time.FixedZone("x", 3600))
	envs := []core.Envelope{
		{Topic: "t", Data: "", Size: 0},
		core.EnvelopeOf(core.Record{Topic: "o\"r<d>e&rs", Subject: "s\u2028x\u2029", ID: "1-0", Seq: 9, Time: when,
			Header: core.Header{"b": {"\x00\x1f\x7f", "é"}, "a": {}, "z\\": nil}, Data: []byte("\x1b[2J\b\f\n\r\t\"\\<>&\u2028日本"), Size: 40}),
		core.EnvelopeOf(core.Record{Topic: "bin", Data: []byte{0xff, 0, 1}, Size: 99}),
		{Topic: "bad\xffutf8", Data: "x\xc3", Deliveries: 3, Size: 2},
		{Topic: "mp", Data: "gqFh", Encoding: core.EncodingBase64, Format: "msgpack", Decoded: json.RawMessage(`{"a":"\u003c\u0026\u003e","n":[1,2.5,null]}`), Size: 3},
		{Topic: "pb", Data: "CP8=", Encoding: core.EncodingBase64, Format: "protobuf:x.Y", DecodeError: "protobuf x.Y: <bad> \x00", Size: 2},
	}
	for i := 0; i < 256; i++ {
		envs = append(envs, core.Envelope{Topic: string(rune(i)) + string([]byte{byte(i)}), Data: string([]byte{byte(i), 'a', byte(255 - i)})})
	}
	for _, e := range envs {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("AppendJSON\n got %s\nwant %s", got, want)
		}
	}
}

// BenchmarkEnvelopeJSON: AppendJSON against encoding/json on a 128-byte
// firehose message (what `mqscope tail -o jsonl` writes per message).
func BenchmarkEnvelopeJSON(b *testing.B) {
	rec := core.Record{Topic: "fire", ID: "k3JqPm2Vb8x1Lw9Zt0Yh4c", Time: time.Now(), Data: bytes.Repeat([]byte("x"), 128), Size: 128}
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(core.EnvelopeOf(rec)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("append-json", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = core.EnvelopeOf(rec).AppendJSON(buf[:0])
		}
	})
}
