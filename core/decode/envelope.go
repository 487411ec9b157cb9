package decode

import "github.com/mqscope/mqscope/core"

// Envelope is core.EnvelopeOf(rec) with, when d reads the payload as
// something other than its raw text (msgpack, CBOR, protobuf), the format
// and the decoded document as compact JSON, or the error when its decoder
// rejects it. Readers get the document; pub --from ignores it and replays
// data byte for byte. A truncated record is not decoded.
func Envelope(d Decoder, rec core.Record) core.Envelope {
	e := core.EnvelopeOf(rec)
	if e.Truncated || d == nil {
		return e
	}
	// JSON or text under auto is already in data: skip the parse (a JSON
	// firehose costs nothing more).
	if r, ok := d.(interface{ ReadsAsRaw(core.Record) bool }); ok && r.ReadsAsRaw(rec) {
		return e
	}
	res := d.Decode(rec)
	switch {
	case res.Err != nil:
		e.Format, e.DecodeError = res.Format, res.Err.Error()
	case res.Structured() && res.Format != FormatJSON:
		e.Format, e.Decoded = res.Format, []byte(CompactJSON(res.Value))
	}
	return e
}
