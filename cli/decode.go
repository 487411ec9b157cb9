package cli

import (
	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
)

// decoder is the connected context's payload decoders ([contexts.NAME.decode],
// else Content-Type headers and auto).
func (a *app) decoder() *decode.Set {
	if a.cfg != nil {
		if x, ok := a.cfg.Lookup(a.ctxName); ok {
			return x.Decoder()
		}
	}
	return &decode.Set{}
}

// envelope is rec's envelope with, when the payload decodes to something
// other than its raw text (msgpack, CBOR, protobuf), the format and the
// decoded document, or the error when its configured decoder rejects it.
func envelope(d *decode.Set, rec core.Record) core.Envelope {
	e := core.EnvelopeOf(rec)
	if e.Truncated {
		return e
	}
	// Auto reads valid UTF-8 as JSON or text, both already in data: skip
	// the parse (a JSON firehose costs nothing more).
	if d.ReadsAsRaw(rec) {
		return e
	}
	res := d.Decode(rec)
	switch {
	case res.Err != nil:
		e.Format, e.DecodeError = res.Format, res.Err.Error()
	case res.Structured() && res.Format != decode.FormatJSON:
		e.Format, e.Decoded = res.Format, []byte(decode.CompactJSON(res.Value))
	}
	return e
}

// decodedCell is the payload for a table: one line of decoded JSON tagged
// with its format, else the raw payload as payloadCell shows it.
func decodedCell(d *decode.Set, rec core.Record, max int) string {
	e := envelope(d, rec)
	if len(e.Decoded) > 0 {
		s := cell("[" + e.Format + "] " + string(e.Decoded))
		if r := []rune(s); len(r) > max {
			s = string(r[:max-1]) + "…"
		}
		return s
	}
	if e.DecodeError != "" {
		return cell("["+e.Format+": "+e.DecodeError+"] ") + payloadCell(rec.Data, max)
	}
	return payloadCell(rec.Data, max)
}
