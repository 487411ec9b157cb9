// Package natsubject holds the NATS subject rules both NATS backends apply
// (natscore and jetstream), so a subject is valid or not the same way on
// either.
package natsubject

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mqscope/mqscope/core"
)

// Validate checks s against NATS subject rules: non-empty tokens separated
// by single dots, no whitespace or control characters (ASCII or Unicode),
// and the wildcards "*" (one token) and ">" (the rest; last token only) as
// whole tokens and only where wildcard is true (subscribing, tailing).
// Errors wrap core.ErrInvalidTopic and say what is wrong. It runs on every
// publish: one pass, no allocation on success.
func Validate(s string, wildcard bool) error {
	if s == "" {
		return fmt.Errorf("%w: empty subject", core.ErrInvalidTopic)
	}
	start, pos, wild := 0, 1, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ' || c == 0x7f:
			return fmt.Errorf("%w: subject %q contains whitespace or a control character %q at byte %d", core.ErrInvalidTopic, s, rune(c), i)
		case c >= 0x80:
			if r, _ := utf8.DecodeRuneInString(s[i:]); unicode.IsSpace(r) || unicode.IsControl(r) {
				return fmt.Errorf("%w: subject %q contains whitespace or a control character %q at byte %d", core.ErrInvalidTopic, s, r, i)
			}
		case c == '*' || c == '>':
			wild = true
		case c == '.':
			if err := checkToken(s, start, i, pos, wild, wildcard); err != nil {
				return err
			}
			start, pos, wild = i+1, pos+1, false
		}
	}
	return checkToken(s, start, len(s), pos, wild, wildcard)
}

func checkToken(s string, start, end, pos int, wild, wildcard bool) error {
	if start == end {
		return fmt.Errorf("%w: subject %q has an empty token at position %d (leading, trailing or double dot)", core.ErrInvalidTopic, s, pos)
	}
	if !wild {
		return nil
	}
	tok := s[start:end]
	if tok != "*" && tok != ">" {
		return fmt.Errorf("%w: subject %q: token %q mixes a wildcard with other characters (\"*\" and \">\" must be whole tokens)", core.ErrInvalidTopic, s, tok)
	}
	if !wildcard {
		return fmt.Errorf("%w: subject %q contains the wildcard %q; publishing needs a concrete subject (wildcards are for subscribing and tailing)", core.ErrInvalidTopic, s, tok)
	}
	if tok == ">" && end != len(s) {
		return fmt.Errorf("%w: subject %q: the wildcard > must be the last token", core.ErrInvalidTopic, s)
	}
	return nil
}

// HasWildcard reports whether subject has a "*" or ">" token.
func HasWildcard(subject string) bool {
	for tok := range strings.SplitSeq(subject, ".") {
		if tok == "*" || tok == ">" {
			return true
		}
	}
	return false
}
