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
