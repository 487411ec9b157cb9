package natsubject

import (
	"errors"
	"strings"
	"testing"

	"github.com/mqscope/mqscope/core"
)

func TestValidate(t *testing.T) {
	bad := map[string]string{
		"":          "empty subject",
		"a..b":      "empty token",
		".a":        "empty token",
		"a.":        "empty token",
		"a b":       "whitespace",
		"a\tb":      "whitespace",
		"a\x01b":    "control",
		"a\u00a0b":  "whitespace", // no-break space
		"a\u0085b":  "control",    // C1 next-line
		"a.*":       "wildcard",
		"a.>":       "wildcard",
		"a.b*":      "whole tokens",
		"orders.>x": "whole tokens",
	}
	for s, want := range bad {
		err := Validate(s, false)
		if !errors.Is(err, core.ErrInvalidTopic) || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate(%q, false) = %v; want ErrInvalidTopic mentioning %q", s, err, want)
		}
	}
	for _, s := range []string{"a.>.b", "a b.*", "a..*", "*x"} {
		if err := Validate(s, true); !errors.Is(err, core.ErrInvalidTopic) {
			t.Errorf("Validate(%q, true) = %v; want ErrInvalidTopic", s, err)
		}
	}
	for _, s := range []string{"a.*", "a.>", ">", "*.b.*", "orders.created", "ünïcode.ok"} {
		if err := Validate(s, true); err != nil {
			t.Errorf("Validate(%q, true): %v", s, err)
		}
	}
	if err := Validate("orders.created", false); err != nil {
		t.Errorf("concrete subject: %v", err)
	}
}

func TestHasWildcard(t *testing.T) {
	for s, want := range map[string]bool{"a.*": true, "a.>": true, "a.b": false, "a*b": false, ">": true} {
		if got := HasWildcard(s); got != want {
			t.Errorf("HasWildcard(%q) = %v", s, got)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := Validate("orders.eu.created.v2", false); err != nil {
			b.Fatal(err)
		}
	}
}
