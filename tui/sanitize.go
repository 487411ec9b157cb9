package tui

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sanitize is the one gate every untrusted byte (payloads, headers, topic,
// group and consumer names, error texts from brokers) passes before it
// reaches the terminal. Control characters, escape sequences and invalid
// UTF-8 are shown escaped, never executed:
//
//	ESC      -> \x1b     (so "\x1b]52;c;..." shows as text, not an OSC 52)
//	BEL      -> \x07
//	CR       -> \r       (a carriage return cannot overwrite the line)
//	C1 0x9b  -> \u009b   (8-bit CSI)
//	bidi     -> \u202e   (no reordering of what follows)
//	0xff     -> \xff     (invalid UTF-8)
//
// With multiline, '\n' is kept as a line break and a tab becomes spaces;
// otherwise they are escaped as \n and \t so one record stays on one line.
func Sanitize(b []byte, multiline bool) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n' && multiline:
				sb.WriteByte('\n')
			case c == '\t' && multiline:
				sb.WriteString("    ")
			case c == '\n':
				sb.WriteString(`\n`)
			case c == '\t':
				sb.WriteString(`\t`)
			case c == '\r':
				sb.WriteString(`\r`)
			case c < 0x20 || c == 0x7f:
				sb.WriteString(`\x`)
				sb.WriteString(hex2(c))
			default:
				sb.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			sb.WriteString(`\x`)
			sb.WriteString(hex2(c))
			i++
			continue
		}
		if unsafeRune(r) {
			sb.WriteString(`\u`)
			s := strconv.FormatInt(int64(r), 16)
			for n := len(s); n < 4; n++ {
				sb.WriteByte('0')
			}
			sb.WriteString(s)
		} else {
			sb.Write(b[i : i+size])
		}
		i += size
	}
	return sb.String()
}

// SanitizeString is Sanitize for a string on one line.
func SanitizeString(s string) string { return Sanitize([]byte(s), false) }

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// unsafeRune reports runes that change how the terminal shows what follows:
// C1 controls, bidi overrides/isolates, line/paragraph separators and BOM.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	case r == 0x2028 || r == 0x2029 || r == 0xfeff:
		return true
	}
	return false
}
