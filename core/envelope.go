package core

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"
)

// EncodingBase64 is Envelope.Encoding for a payload that is not valid UTF-8.
const EncodingBase64 = "base64"

// Envelope is the one JSON shape of a message everywhere mqscope writes or
// reads one: the command line's tail, browse and get, the console's save to
// .jsonl and copy as JSON, and pub --from. It round-trips byte for byte:
// Data is the payload as text when it is valid UTF-8, else base64 with
// Encoding "base64".
type Envelope struct {
	Topic   string `json:"topic"`
	Subject string `json:"subject,omitempty"`
	ID      string `json:"id,omitempty"`
	Seq     uint64 `json:"seq,omitempty"`
	// Time is when the broker stored (or the tail saw) the message.
	Time    time.Time `json:"time,omitzero"`
	Headers Header    `json:"headers,omitempty"`
	// Deliveries is how often the message was delivered, where known.
	Deliveries int    `json:"deliveries,omitempty"`
	Data       string `json:"data"`
	Encoding   string `json:"encoding,omitempty"`
	// Format, Decoded and DecodeError are for readers only (pub --from
	// ignores them): the format the context's decoder read the payload as
	// when that is not the raw text itself (msgpack, cbor, protobuf…), the
	// payload decoded, as compact JSON, or why decoding failed.
	Format      string          `json:"format,omitempty"`
	Decoded     json.RawMessage `json:"decoded,omitempty"`
	DecodeError string          `json:"decode_error,omitempty"`
	// Size is the payload's full size; it differs from the length of Data
	// only when the payload was truncated for display (Truncated is set).
	Size      int  `json:"size"`
	Truncated bool `json:"truncated,omitempty"`
}

// EnvelopeOf is rec as an Envelope.
func EnvelopeOf(rec Record) Envelope {
	e := Envelope{Topic: rec.Topic, Subject: rec.Subject, ID: rec.ID, Seq: rec.Seq, Time: rec.Time,
		Size: len(rec.Data)}
	if rec.Size > len(rec.Data) {
		e.Size, e.Truncated = rec.Size, true
	}
	if len(rec.Header) > 0 {
		e.Headers = rec.Header.Clone()
	}
	if utf8.Valid(rec.Data) {
		e.Data = string(rec.Data)
	} else {
		e.Data, e.Encoding = base64.StdEncoding.EncodeToString(rec.Data), EncodingBase64
	}
	return e
}

// Payload decodes Data.
func (e Envelope) Payload() ([]byte, error) {
	switch e.Encoding {
	case "":
		return []byte(e.Data), nil
	case EncodingBase64:
		b, err := base64.StdEncoding.DecodeString(e.Data)
		if err != nil {
			return nil, fmt.Errorf("message %s/%s: base64 data: %w", e.Topic, e.ID, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("message %s/%s: unknown encoding %q (want \"\" or %q)", e.Topic, e.ID, e.Encoding, EncodingBase64)
}

// Record is the envelope as a Record (Deliveries has no place there).
func (e Envelope) Record() (Record, error) {
	data, err := e.Payload()
	if err != nil {
		return Record{}, err
	}
	rec := Record{Topic: e.Topic, Subject: e.Subject, ID: e.ID, Seq: e.Seq, Time: e.Time, Data: data, Size: len(data)}
	if e.Truncated && e.Size > len(data) {
		rec.Size = e.Size
	}
	if len(e.Headers) > 0 {
		rec.Header = e.Headers.Clone()
	}
	return rec, nil
}
