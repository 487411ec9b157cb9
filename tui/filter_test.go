package tui

import (
	"strings"
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

// TestTopicsFilterAnchors: `re:…$` and `re:^…` apply to the topic's name
// and to each subject, not to a joined text with a trailing separator.
func TestTopicsFilterAnchors(t *testing.T) {
	p := newTopicsPane(newCommon(Options{}))
	p.SetSize(80, 20)
	p.setTopics([]core.TopicInfo{
		{Name: "orders"},
		{Name: "orders-dlq"},
		{Name: "ORDERS", Subjects: []string{"orders.created", "orders.paid"}},
	})
	for expr, want := range map[string][]string{
		"re:orders$":      {"orders"},
		"re:^orders-dlq$": {"orders-dlq"},
		"re:\\.paid$":     {"ORDERS"},
		"orders":          {"orders", "orders-dlq", "ORDERS"},
	} {
		f, err := ParseFilter(expr)
		if err != nil {
			t.Fatal(err)
		}
		p.SetFilter(f)
		var got []string
		for _, i := range p.shown {
			got = append(got, p.all[i].Name)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("filter %q shows %q, want %q", expr, got, want)
		}
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[uint64]string{
		0: "0B", 999: "999B", 1000: "1.0K", 10 << 10: "10.0K", 1 << 20: "1.0M",
		1048575: "1.0M", 10 * 1 << 20: "10.0M", 10263 * 1024: "10.0M", 5 << 30: "5.0G",
	} {
		got := humanSize(n)
		if got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
		if len(got) > 6 {
			t.Errorf("humanSize(%d) = %q is wider than the SIZE column", n, got)
		}
	}
}

// TestGroupsFilterAnchors: re:…$ anchors on a group's or consumer's name in
// Groups, as in Topics.
func TestGroupsFilterAnchors(t *testing.T) {
	m := viewModel(t, false)
	m.groups.setGroups([]core.GroupInfo{
		{Topic: "orders", Name: "billing", Consumers: []core.ConsumerInfo{{Name: "billing-1"}}},
		{Topic: "orders", Name: "billing-retry", Consumers: []core.ConsumerInfo{{Name: "w"}}},
	})
	for expr, want := range map[string]string{"re:billing$": "billing", "re:^w$": "billing-retry", "re:-1$": "billing"} {
		f, err := ParseFilter(expr)
		if err != nil {
			t.Fatal(err)
		}
		m.groups.SetFilter(f)
		var got []string
		for _, r := range m.groups.rows {
			if r.consumer < 0 {
				got = append(got, m.groups.groups[r.g].Name)
			}
		}
		if strings.Join(got, ",") != want {
			t.Errorf("filter %q shows groups %q, want %q", expr, got, want)
		}
	}
}
