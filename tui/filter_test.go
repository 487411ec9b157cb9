package tui

import (
	"testing"

	"github.com/mqscope/mqscope/core"
)

func TestFilter(t *testing.T) {
	rec := core.Record{Topic: "orders", ID: "17", Data: []byte(`{"id":42,"status":"paid","customer":{"country":"NL"},"items":[{"sku":"A-1"}]}`)}
	bin := core.Record{Topic: "orders", ID: "18", Data: []byte{0xff, 0x00, 'p', 'a', 'i', 'd'}}
	cases := []struct {
		expr     string
		rec, bin bool
	}{
		{"", true, true},
		{"PAID", true, true},
		{"re:st.tus", true, false},
		{"/\"id\":4[0-9]/", true, false},
		{"status=paid", true, false},
		{"status=open", false, false},
		{"id=42", true, false},
		{"customer.country=NL", true, false},
		{"items.0.sku=A-1", true, false},
		{"missing=x", false, false},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.expr)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", c.expr, err)
		}
		if got := f.MatchRecord(rec); got != c.rec {
			t.Errorf("%q on JSON record = %v, want %v", c.expr, got, c.rec)
		}
		if got := f.MatchRecord(bin); got != c.bin {
			t.Errorf("%q on binary record = %v, want %v", c.expr, got, c.bin)
		}
	}
	if _, err := ParseFilter("re:(("); err == nil {
		t.Error("bad regex accepted")
	}
	f, _ := ParseFilter("ord")
	if !f.MatchText("Orders") || f.MatchText("payments") {
		t.Error("substring row match is wrong")
	}
}
