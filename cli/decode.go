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

// envelope is rec's envelope with format and decoded (decode.Envelope).
func envelope(d *decode.Set, rec core.Record) core.Envelope {
	return decode.Envelope(d, rec)
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
