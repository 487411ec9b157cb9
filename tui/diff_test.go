package tui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
)

// goldenDiffA and goldenDiffB are a message that passed and one that
// failed, with a hostile header on one side.
var (
	goldenDiffA = core.Record{Topic: "orders", ID: "1764125100000-0", Time: fixedNow.Add(-time.Minute),
		Header: core.Header{"Trace": {"t-1"}, "Content-Type": {"application/json"}, "Gone": {"x"}},
		Data:   []byte(`{"id":1000,"customer":{"name":"Ann","country":"NL"},"items":[{"sku":"A-1","qty":2}],"total":12.5}`)}
	goldenDiffB = core.Record{Topic: "orders", ID: "1764125100001-0", Time: fixedNow,
		Header: core.Header{"Trace": {"t-2\x1b[31m"}, "Content-Type": {"application/json"}, "Retry\x1b]52;c;AAAA\x07": {"1"}},
		Data:   []byte(`{"id":1001,"customer":{"name":"Ann\u001b[2J","country":"NL"},"items":[{"sku":"A-1","qty":3},{"sku":"B-2","qty":1}],"total":"12.5"}`)}
)

// openTestDiff shows the comparison of a (marked) and b as = would.
func openTestDiff(m *Model, a, b core.Record) {
	m.com.Mark = &msgRef{topic: a.Topic, id: a.ID, rec: &a}
	m.layers.push(layer{kind: layerDiff, diff: &diffView{com: m.com, title: "Diff " + a.ID + " ↔ " + b.ID,
		lines: diffLines(m.com.Styles, m.com.Decoder, a, b)}})
}

func plainDiff(dec decode.Decoder, a, b core.Record) string {
	st := Theme("dark", true, false)
	return ansi.Strip(strings.Join(diffLines(st, dec, a, b), "\n"))
}

func TestDiffLinesStructural(t *testing.T) {
	got := plainDiff(decode.JSONOrText, goldenDiffA, goldenDiffB)
	for _, want := range []string{
		"- Gone: \"x\"",
		`+ Retry\x1b]52;c;AAAA\x07: "1"`,
		`~ Trace: "t-1" → "t-2\u001b[31m"`,
		"PAYLOAD json ↔ json · structural",
		`~ .customer.name: "Ann" → "Ann\u001b[2J"`,
		"~ .id: 1000 → 1001",
		"~ .items[0].qty: 2 → 3",
		`+ .items[1]: added {"qty":1,"sku":"B-2"}`,
		`~ .total: number 12.5 → string "12.5"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Content-Type") || strings.Contains(got, "country") || strings.ContainsRune(got, 0x1b) {
		t.Errorf("unchanged fields listed or a raw ESC:\n%s", got)
	}
}

func TestDiffLinesIdentical(t *testing.T) {
	b := goldenDiffA
	b.ID = "other"
	got := plainDiff(decode.JSONOrText, goldenDiffA, b)
	if strings.Count(got, "identical") != 2 {
		t.Errorf("same headers and payload, not said twice:\n%s", got)
	}
	b.Data = []byte(`{ "total": 12.50, "items":[{"qty":2,"sku":"A-1"}], "customer":{"country":"NL","name":"Ann"}, "id":1000 }`)
	if got := plainDiff(decode.JSONOrText, goldenDiffA, b); !strings.Contains(got, "the same once decoded (the bytes differ") {
		t.Errorf("reformatted JSON:\n%s", got)
	}
}

// failing is a decoder that fails on everything (a protobuf payload
// without its schema, say).
type failing struct{}

func (failing) Decode(core.Record) decode.Result {
	return decode.Result{Format: "protobuf:shop.Order", Err: errors.New("proto: cannot parse invalid wire-format data")}
}

func TestDiffLinesBinaryAndFailedDecode(t *testing.T) {
	a := core.Record{Topic: "t", ID: "1", Data: []byte{0xde, 0xad, 0xbe, 0xef, 0x00, 0x9b}}
	b := core.Record{Topic: "t", ID: "2", Data: []byte{0xde, 0xad, 0xbe, 0xee, 0x00, 0x9b}}
	got := plainDiff(decode.JSONOrText, a, b)
	for _, want := range []string{"PAYLOAD binary ↔ binary · line diff", "- 00000000  de ad be ef", "+ 00000000  de ad be ee"} {
		if !strings.Contains(got, want) {
			t.Errorf("binary: missing %q in:\n%s", want, got)
		}
	}
	got = plainDiff(failing{}, a, b)
	for _, want := range []string{"A did not decode: proto: cannot parse", "B did not decode", "- 00000000  de ad be ef"} {
		if !strings.Contains(got, want) {
			t.Errorf("failed decode: missing %q in:\n%s", want, got)
		}
	}
}

// TestDiffRefusals: = with nothing marked, or on the marked message
// itself, says so in the status line and opens nothing.
func TestDiffRefusals(t *testing.T) {
	m := viewModel(t, false)
	ref := refOf(goldenDiffA)
	m.Update(diffMsg{ref: ref})
	if !m.statusErr || !strings.Contains(m.status, "no message is marked") || m.diffShown() != nil {
		t.Fatalf("no mark: status %q", m.status)
	}
	m.com.Mark = &ref
	m.Update(diffMsg{ref: refOf(goldenDiffA)})
	if !m.statusErr || !strings.Contains(m.status, "is the marked message itself") || m.diffShown() != nil {
		t.Fatalf("itself: status %q", m.status)
	}
	// a reply for an older = is dropped
	m.diffReq = 2
	m.Update(diffReadyMsg{gen: m.com.Gen, req: 1, title: "old", lines: []string{"x"}})
	if m.diffShown() != nil {
		t.Fatal("a stale comparison opened")
	}
}

// TestDiffViewScrolls: long comparisons scroll and say where they are;
// a long line wraps rather than losing its end.
func TestDiffViewScrolls(t *testing.T) {
	m := viewModel(t, false)
	var ls []string
	for i := 0; i < 100; i++ {
		ls = append(ls, "line "+itoa(i))
	}
	ls = append(ls, strings.Repeat("x", 150)+"END")
	m.layers.push(layer{kind: layerDiff, diff: &diffView{com: m.com, title: "Diff a ↔ b", lines: ls}})
	s := ansi.Strip(screen(t, m, 80, 24))
	if !strings.Contains(s, "Diff a ↔ b (lines 1-19 of 102)") {
		t.Fatalf("title:\n%s", s)
	}
	m.Update(tea.KeyPressMsg{Code: 'G', Text: "G"})
	s = ansi.Strip(screen(t, m, 80, 24))
	if !strings.Contains(s, "END") || !strings.Contains(s, "of 102)") {
		t.Fatalf("bottom:\n%s", s)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyEscape})
	if m.diffShown() != nil {
		t.Fatal("esc did not close the comparison")
	}
}
