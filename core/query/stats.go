package query

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Stats counts what a query did over many messages, for the one line that
// reports a slow or failing query ("jq: 3 messages over the 50ms budget,
// 1 error: …").
type Stats struct {
	Evaluated  int
	Matched    int
	OverBudget int
	TooLarge   int
	Errors     int
	// FirstErr is the first query error seen (not budget or size).
	FirstErr string
	Budget   time.Duration
}

// Add counts one evaluation's outcome.
func (s *Stats) Add(ok bool, err error) {
	s.Evaluated++
	switch {
	case err == nil:
		if ok {
			s.Matched++
		}
	case errors.Is(err, ErrBudget):
		s.OverBudget++
	case errors.Is(err, ErrTooLarge):
		s.TooLarge++
	default:
		s.Errors++
		if s.FirstErr == "" {
			s.FirstErr = err.Error()
		}
	}
}

// Merge adds o's counts to s.
func (s *Stats) Merge(o Stats) {
	s.Evaluated += o.Evaluated
	s.Matched += o.Matched
	s.OverBudget += o.OverBudget
	s.TooLarge += o.TooLarge
	s.Errors += o.Errors
	if s.FirstErr == "" {
		s.FirstErr = o.FirstErr
	}
	if s.Budget == 0 {
		s.Budget = o.Budget
	}
}

// Problems counts the messages a query could not judge.
func (s Stats) Problems() int { return s.OverBudget + s.TooLarge + s.Errors }

// Problem is the report line, "" when every message was judged.
func (s Stats) Problem() string {
	if s.Problems() == 0 {
		return ""
	}
	var parts []string
	if s.OverBudget > 0 {
		b := s.Budget
		if b == 0 {
			b = DefaultBudget
		}
		parts = append(parts, fmt.Sprintf("%s over the %s budget", plural(s.OverBudget, "message"), b))
	}
	if s.TooLarge > 0 {
		parts = append(parts, fmt.Sprintf("%s too large to query", plural(s.TooLarge, "message")))
	}
	if s.Errors > 0 {
		parts = append(parts, fmt.Sprintf("%s: %s", plural(s.Errors, "error"), s.FirstErr))
	}
	return "jq: " + strings.Join(parts, ", ") + " (counted as not matching)"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
