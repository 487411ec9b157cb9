package diff

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
)

func TestMessages(t *testing.T) {
	rec := func(data string, h core.Header) core.Record {
		return core.Record{Topic: "t", ID: "1", Data: []byte(data), Header: h}
	}
	// documents: structural
	r := Messages(rec(`{"a":1,"b":[1,2]}`, core.Header{"K": {"1"}}), rec(`{"a":2,"b":[1,2]}`, core.Header{"K": {"2"}}), decode.JSONOrText)
	if !r.Structural || len(r.Values.Changes) != 1 || r.Values.Changes[0].String() != ".a: 1 → 2" || len(r.Headers) != 1 || r.Equal() {
		t.Fatalf("json: %+v", r)
	}
	// reformatted: equal once decoded, not the same bytes
	r = Messages(rec(`{"a":1}`, nil), rec(`{ "a" : 1.0 }`, nil), decode.JSONOrText)
	if !r.Equal() || r.SameBytes {
		t.Fatalf("reformatted: %+v", r)
	}
	// document against text: a line diff of the indented document
	r = Messages(rec(`{"a":1}`, nil), rec("a: 1", nil), decode.JSONOrText)
	if r.Structural || r.Text.Equal() || r.A.Format != "json" || r.B.Format != "text" {
		t.Fatalf("json vs text: %+v", r)
	}
	got := render(r.Text)
	if !strings.Contains(got, "-  \"a\": 1\n") || !strings.Contains(got, "+a: 1\n") {
		t.Fatalf("json vs text lines:\n%s", got)
	}
	// binary: hex dumps
	r = Messages(rec("\xff\x00", nil), rec("\xff\x01", nil), decode.JSONOrText)
	if r.Structural || !strings.Contains(render(r.Text), "+00000000  ff 01") {
		t.Fatalf("binary:\n%s", render(r.Text))
	}
	// text equal but for a final newline: not Equal
	r = Messages(rec("x\n", nil), rec("x", nil), decode.JSONOrText)
	if r.Equal() || !r.Text.Equal() {
		t.Fatalf("final newline: %+v", r)
	}
	if r = Messages(rec("same", core.Header{"k": {"v"}}), rec("same", core.Header{"k": {"v"}}), decode.JSONOrText); !r.Equal() {
		t.Fatalf("identical: %+v", r)
	}
}

// A hex dump line with its diff mark ("- ", "+ ", "  ") fits the 78
// columns inside an 80-column terminal's border: wrapped, every other
// line of the dump would be two stray characters of its ASCII column.
func TestHexDumpFitsEightyColumns(t *testing.T) {
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(i * 7)
	}
	dump := PayloadText(decode.Result{Format: "binary"}, data)
	lines := strings.Split(strings.TrimRight(dump, "\n"), "\n")
	if len(lines) != 19 {
		t.Fatalf("a 300-byte dump has %d lines, want 19 (16 bytes a line):\n%s", len(lines), dump)
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString("- " + l); n > 78 {
			t.Errorf("%d columns with its mark, want at most 78: %q", n, l)
		}
	}
	if !strings.HasPrefix(lines[1], "00000010  70 77 7e") {
		t.Errorf("second line %q: want offset 00000010 then the bytes", lines[1])
	}
}
