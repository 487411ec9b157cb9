package core

import (
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends e as JSON, byte for byte what json.Marshal(e) writes,
// without reflection: a command-line tail writes one per message.
func (e Envelope) AppendJSON(b []byte) []byte {
	b = append(b, `{"topic":`...)
	b = appendJSONString(b, e.Topic)
	if e.Subject != "" {
		b = append(b, `,"subject":`...)
		b = appendJSONString(b, e.Subject)
	}
	if e.ID != "" {
		b = append(b, `,"id":`...)
		b = appendJSONString(b, e.ID)
	}
	if e.Seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, e.Seq, 10)
	}
	if !e.Time.IsZero() {
		b = append(b, `,"time":"`...)
		b = e.Time.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if len(e.Headers) > 0 {
		b = append(b, `,"headers":{`...)
		keys := make([]string, 0, len(e.Headers))
		for k := range e.Headers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			if e.Headers[k] == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, '[')
			for j, v := range e.Headers[k] {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendJSONString(b, v)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	if e.Deliveries != 0 {
		b = append(b, `,"deliveries":`...)
		b = strconv.AppendInt(b, int64(e.Deliveries), 10)
	}
	b = append(b, `,"data":`...)
	b = appendJSONString(b, e.Data)
	if e.Encoding != "" {
		b = append(b, `,"encoding":`...)
		b = appendJSONString(b, e.Encoding)
	}
	if e.Format != "" {
		b = append(b, `,"format":`...)
		b = appendJSONString(b, e.Format)
	}
	if len(e.Decoded) > 0 {
		// Decoded is compact JSON already (decode.CompactJSON); json.Marshal
		// would compact and HTML-escape it, which that has done.
		b = append(b, `,"decoded":`...)
		b = append(b, e.Decoded...)
	}
	if e.DecodeError != "" {
		b = append(b, `,"decode_error":`...)
		b = appendJSONString(b, e.DecodeError)
	}
	b = append(b, `,"size":`...)
	b = strconv.AppendInt(b, int64(e.Size), 10)
	if e.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does (HTML-safe escaping,
// U+2028/U+2029 escaped, invalid UTF-8 as U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
