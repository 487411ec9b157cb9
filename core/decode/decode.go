// Package decode turns a stored or tailed payload into a value people can
// read, filter, query and diff: JSON, protobuf, msgpack, CBOR or text.
//
// This file is the seam the console, the command line, queries and diff
// share; the decoders themselves live beside it. It never imports a Charm
// package.
package decode

import (
	"unicode/utf8"

	"github.com/mqscope/mqscope/core"
)

// Result is one decoded payload.
type Result struct {
	// Format names what decoded it: "json", "msgpack", "cbor",
	// "protobuf:<full message name>", "protobuf" (schema-less), "text" or
	// "binary".
	Format string
	// Value is the payload as a JSON-compatible Go value, as gojq takes it:
	// map[string]any, []any, string, float64, int, *big.Int, bool or nil.
	// For "text" it is the string; for "binary" it is nil.
	Value any
	// Err is why the chosen decoder failed (the caller shows it beside the
	// hex); Value is then nil.
	Err error
}

// Structured reports whether Value is a decoded document (not plain text or
// bytes).
func (r Result) Structured() bool {
	return r.Err == nil && r.Format != "text" && r.Format != "binary"
}

// Decoder decodes one record's payload. Implementations are safe for
// concurrent use.
type Decoder interface {
	Decode(rec core.Record) Result
}

// JSONOrText is the decoder used when nothing else is set: JSON when the
// payload parses as JSON, else text when it is UTF-8, else binary.
var JSONOrText Decoder = jsonOrText{}

type jsonOrText struct{}

func (jsonOrText) Decode(rec core.Record) Result {
	if v, ok := parseJSON(rec.Data); ok {
		return Result{Format: "json", Value: v}
	}
	if utf8.Valid(rec.Data) {
		return Result{Format: "text", Value: string(rec.Data)}
	}
	return Result{Format: "binary"}
}
