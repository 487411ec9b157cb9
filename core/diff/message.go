package diff

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
)

// Report compares two messages: headers, then payloads decoded by the
// same decoder — structurally when both decoded to documents, line by
// line otherwise (a document as indented JSON, text as is, anything else
// as a hex dump).
type Report struct {
	Headers []HeaderChange
	// A and B are how each payload decoded (Format, and Err when its
	// decoder failed).
	A, B decode.Result
	// Structural says which comparison was made: Values, or Text.
	Structural bool
	Values     Result
	Text       TextResult
	// SameBytes reports byte-identical payloads.
	SameBytes bool
}

// PayloadEqual reports payloads without a difference once decoded (the
// bytes may still differ: spacing, key order, number spelling).
func (r Report) PayloadEqual() bool {
	if r.Structural {
		return r.Values.Equal()
	}
	return r.Text.Equal() && r.SameBytes
}

// Equal reports the same headers and payloads.
func (r Report) Equal() bool { return len(r.Headers) == 0 && r.PayloadEqual() }

// HexLimit bounds the hex dump a payload that is not text is compared as.
const HexLimit = 64 << 10

// Messages compares a with b, decoding both with dec.
func Messages(a, b core.Record, dec decode.Decoder) Report {
	r := Report{Headers: Headers(a.Header, b.Header), A: dec.Decode(a), B: dec.Decode(b), SameBytes: bytes.Equal(a.Data, b.Data)}
	r.Structural = r.A.Structured() && r.B.Structured()
	if r.Structural {
		r.Values = Values(r.A.Value, r.B.Value, DefaultMaxChanges)
	} else {
		r.Text = Text(PayloadText(r.A, a.Data), PayloadText(r.B, b.Data), 3)
	}
	return r
}

// PayloadText is a payload as lines to compare: a decoded document as
// indented JSON (keys sorted), text as is, anything else (binary, or a
// payload its decoder failed on) as a hex dump of its first HexLimit
// bytes.
func PayloadText(r decode.Result, data []byte) string {
	switch {
	case r.Structured():
		if b, err := json.MarshalIndent(r.Value, "", "  "); err == nil {
			return string(b)
		}
		return fmt.Sprint(r.Value)
	case r.Err == nil && r.Format == "text":
		if s, ok := r.Value.(string); ok {
			return s
		}
	}
	return hexDump(data[:min(len(data), HexLimit)])
}

// hexDump is hexdump -C without the bars around the ASCII column: 76
// columns a line, so with its diff mark it fits inside an 80-column
// terminal's border rather than wrapping.
func hexDump(data []byte) string {
	var b strings.Builder
	for off := 0; off < len(data); off += 16 {
		row := data[off:min(off+16, len(data))]
		fmt.Fprintf(&b, "%08x  ", off)
		for i := range 16 {
			switch {
			case i < len(row):
				b.WriteString(hex.EncodeToString(row[i : i+1]))
				b.WriteByte(' ')
			default:
				b.WriteString("   ")
			}
			if i == 7 {
				b.WriteByte(' ')
			}
		}
		b.WriteByte(' ')
		for _, c := range row {
			if c < 0x20 || c > 0x7e {
				c = '.'
			}
			b.WriteByte(c)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
