package cli

import (
	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
)

// decoder is the context's payload decoders ([contexts.NAME.decode], else
// Content-Type headers and auto), for output, pub and --where queries: the
// connected context, or before connecting the one that will be.
func (a *app) decoder() *decode.Set {
	cfg, err := a.load()
	if err != nil {
		return &decode.Set{}
	}
	name := a.ctxName
	if name == "" {
		name = cfg.Initial
	}
	if x, ok := cfg.Lookup(name); ok {
		return x.Decoder()
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
