package tui

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// pagedPayload is a large payload shown a screen at a time: text is split
// at newlines and, for long lines, every width bytes (at a rune start);
// binary is a hex dump of 16 bytes a line. Opening it indexes line starts
// (one pass, no formatting); line formats one line when it is drawn.
type pagedPayload struct {
	data   []byte
	binary bool
	width  int
	starts []int // text: where each line starts
}

func newPagedPayload(data []byte, width int) *pagedPayload {
	head := data[:min(len(data), 64<<10)]
	p := &pagedPayload{data: data, binary: looksBinary(head, len(head) < len(data))}
	p.setWidth(width)
	return p
}

func (p *pagedPayload) kind() string {
	if p.binary {
		return "binary, large: hex, paged"
	}
	return "text, large: shown as is, paged"
}

// setWidth re-splits long text lines for a new width (none yet: nothing
// is indexed until the inspector has a size).
func (p *pagedPayload) setWidth(w int) {
	if w <= 0 {
		return
	}
	w = max(w, 16)
	if p.binary || w == p.width {
		p.width = w
		return
	}
	p.width = w
	p.starts = p.starts[:0]
	for at := 0; at < len(p.data); {
		p.starts = append(p.starts, at)
		end := len(p.data)
		if nl := bytes.IndexByte(p.data[at:min(len(p.data), at+w+1)], '\n'); nl >= 0 {
			at += nl + 1
			continue
		}
		if at+w < end {
			end = at + w
			for end > at+1 && !utf8.RuneStart(p.data[end]) {
				end--
			}
		}
		at = end
	}
}

func (p *pagedPayload) count() int {
	if p.binary {
		return (len(p.data) + 15) / 16
	}
	return len(p.starts)
}

// line formats line i only.
func (p *pagedPayload) line(i int) string {
	if p.binary {
		off := i * 16
		chunk := p.data[off:min(len(p.data), off+16)]
		var sb strings.Builder
		fmt.Fprintf(&sb, "%08x  ", off)
		for j := 0; j < 16; j++ {
			if j < len(chunk) {
				fmt.Fprintf(&sb, "%02x ", chunk[j])
			} else {
				sb.WriteString("   ")
			}
			if j == 7 {
				sb.WriteByte(' ')
			}
		}
		sb.WriteString(" |")
		for _, c := range chunk {
			if c < 0x20 || c > 0x7e {
				c = '.' // printable ASCII only, like hex.Dump
			}
			sb.WriteByte(c)
		}
		sb.WriteByte('|')
		return sb.String()
	}
	start := p.starts[i]
	end := len(p.data)
	if i+1 < len(p.starts) {
		end = p.starts[i+1]
	}
	return Sanitize(bytes.TrimSuffix(p.data[start:end], []byte("\n")), true)
}
