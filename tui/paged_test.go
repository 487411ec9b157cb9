package tui

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/mqscope/mqscope/core"
)

// TestPagedText: the lines of a large text payload put back together are
// the payload; no line is wider than the pane; runes are never cut.
func TestPagedText(t *testing.T) {
	data := []byte(strings.Repeat("héllo wörld ", 30000) + "\nshort\n\n" + strings.Repeat("x", 500) + "\nend")
	p := newPagedPayload(data, 0)
	if p.binary || p.count() != 0 {
		t.Fatalf("binary %v, %d lines before a width", p.binary, p.count())
	}
	p.setWidth(100)
	var rebuilt []byte
	for i := 0; i < p.count(); i++ {
		l := p.line(i)
		if w := ansi.StringWidth(l); w > 100 {
			t.Fatalf("line %d is %d cells wide", i, w)
		}
		if !utf8.ValidString(l) {
			t.Fatalf("line %d cuts a rune: %q", i, l)
		}
		rebuilt = append(rebuilt, l...)
	}
	flat := bytes.ReplaceAll(data, []byte("\n"), nil)
	if !bytes.Equal(rebuilt, flat) {
		t.Fatalf("lines put together differ from the payload (%d vs %d bytes)", len(rebuilt), len(flat))
	}
	if got := p.line(p.count() - 1); got != "end" {
		t.Errorf("last line %q", got)
	}
}

func TestPagedHex(t *testing.T) {
	data := bytes.Repeat([]byte{0, 1, 0x1b, '[', '2', 'J', 0xff, 'a', 'b'}, 100)
	p := newPagedPayload(data, 80)
	if !p.binary {
		t.Fatal("binary payload paged as text")
	}
	want := strings.Split(strings.TrimRight(hex.Dump(data), "\n"), "\n")
	if p.count() != len(want) {
		t.Fatalf("%d lines, hex.Dump has %d", p.count(), len(want))
	}
	for i, w := range want {
		if got := p.line(i); got != w {
			t.Fatalf("line %d = %q, want %q", i, got, w)
		}
	}
}

// TestInspectorLargePayload: a 10 MB message opens paged; the end of the
// payload is reachable; hostile bytes in it are escaped.
func TestInspectorLargePayload(t *testing.T) {
	data := append(bigText(10<<20), []byte("\x1b]52;c;aGk=\x07THE-END")...)
	in := newInspector(newCommon(Options{}), core.Record{Topic: "orders", ID: "1-0", Data: data}, inspectMeta{})
	in.SetSize(120, 30)
	if in.body == nil {
		t.Fatal("a 10 MB payload was formatted in full")
	}
	first := ansi.Strip(strings.Join(in.View(), "\n"))
	if !strings.Contains(first, "text, large") || !strings.Contains(first, "lorem ipsum") {
		t.Fatalf("first screen:\n%s", first)
	}
	in.Update(keyMsg{Code: 'G', Text: "G"})
	last := strings.Join(in.View(), "\n")
	if !strings.Contains(last, `\x1b]52;c;aGk=\x07THE-END`) || strings.Contains(last, "\x1b]52") {
		t.Fatalf("last screen:\n%q", last)
	}
}

// TestTailPreviewBounded: a 10 MB message's preview is cut and says the
// size; the tail keeps no room for records it has not received.
func TestTailPreviewBounded(t *testing.T) {
	c := newCommon(Options{})
	p := newTailPane(c, 1_000_000)
	p.SetSize(120, 10)
	p.pattern = "orders"
	p.appendRecords([]core.Record{{Topic: "orders", ID: "1-0", Data: bigText(10 << 20)}})
	p.line(p.base)
	if n := len(p.previews[0]); n > previewBytes+32 {
		t.Errorf("preview of a 10 MB payload is %d bytes", n)
	}
	if !strings.HasSuffix(p.previews[0], "… (10.0M)") {
		t.Errorf("preview does not say the size: …%q", p.previews[0][len(p.previews[0])-20:])
	}
	if c := cap(p.recs); c > 1000 {
		t.Errorf("one record took room for %d (tail_buffer 1,000,000 must grow lazily)", c)
	}
}
