package query_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
	"github.com/mqscope/mqscope/core/query"
)

func rec(data string) core.Record {
	return core.Record{Topic: "orders", Subject: "orders.eu", ID: "7", Seq: 7, Data: []byte(data), Size: len(data),
		Time:   time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC),
		Header: core.Header{"Content-Type": {"application/json"}, "X-Tag": {"a", "b"}}}
}

func match(t *testing.T, expr string, r core.Record, deliveries int) (bool, error) {
	t.Helper()
	// a generous budget: a shared test machine can be slow; the budget
	// has its own test
	q, err := query.Compile(expr, query.Options{Budget: time.Minute})
	if err != nil {
		t.Fatalf("compile %q: %v", expr, err)
	}
	return q.MatchRecord(context.Background(), decode.JSONOrText, r, deliveries)
}

func TestMatchSemantics(t *testing.T) {
	t.Parallel()
	pay := `{"amount":150,"currency":"EUR","items":[1,2],"note":null,"ok":false}`
	cases := []struct {
		expr string
		want bool
	}{
		{`.amount > 100 and .currency == "EUR"`, true},
		{`.amount > 200`, false},
		{`.note`, false},         // null: no match
		{`.ok`, false},           // false: no match
		{`.items`, true},         // any other value is truthy
		{`0`, true},              // 0 is truthy in jq
		{`""`, true},             // so is ""
		{`empty`, false},         // no output: no match
		{`.items[]`, true},       // first output decides
		{`(false, true)`, false}, // only the first output counts
		{`.missing`, false},      // a missing field is null
		{`halt`, false},          // halt: no output
		{`$meta.format == "json"`, true},
	}
	for _, c := range cases {
		got, err := match(t, c.expr, rec(pay), 0)
		if err != nil {
			t.Errorf("%s: unexpected error %v", c.expr, err)
		}
		if got != c.want {
			t.Errorf("%s on %s = %v, want %v", c.expr, pay, got, c.want)
		}
	}
}

func TestErrorsAreReportedNotMatched(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{`.amount + "x"`, `error("boom")`, `.[0]`} {
		ok, err := match(t, expr, rec(`{"amount":1}`), 0)
		if ok || err == nil {
			t.Errorf("%s: match=%v err=%v, want no match and an error", expr, ok, err)
		}
		if errors.Is(err, query.ErrBudget) {
			t.Errorf("%s: a query error reported as over budget: %v", expr, err)
		}
	}
}

func TestTextAndBinaryPayloads(t *testing.T) {
	t.Parallel()
	if ok, err := match(t, `test("hello")`, rec("hello world"), 0); !ok || err != nil {
		t.Errorf("text payload is a string: ok=%v err=%v", ok, err)
	}
	if ok, err := match(t, `$meta.format == "text"`, rec("hello world"), 0); !ok || err != nil {
		t.Errorf("format text: ok=%v err=%v", ok, err)
	}
	if ok, err := match(t, `. == null and $meta.format == "binary"`, rec("\xff\xfe\x00"), 0); !ok || err != nil {
		t.Errorf("binary payload is null with format binary: ok=%v err=%v", ok, err)
	}
}

func TestVariables(t *testing.T) {
	t.Parallel()
	r := rec(`{}`)
	for _, expr := range []string{
		`$headers["Content-Type"] == "application/json"`,
		`$headers["X-Tag"] == ["a","b"]`,
		`$headers["Nope"] == null`,
		`$meta.topic == "orders" and $meta.subject == "orders.eu" and $meta.id == "7" and $meta.seq == 7`,
		`$meta.time == "2026-12-01T03:00:00Z"`,
		`$meta.size == 2 and $meta.format == "json"`,
		`$meta.deliveries == 3`,
	} {
		if ok, err := match(t, expr, r, 3); !ok || err != nil {
			t.Errorf("%s: ok=%v err=%v", expr, ok, err)
		}
	}
	// unknown: deliveries null, subject falls back to the topic
	r.Subject = ""
	if ok, err := match(t, `$meta.deliveries == null and $meta.subject == "orders"`, r, 0); !ok || err != nil {
		t.Errorf("unknown deliveries / subject: ok=%v err=%v", ok, err)
	}
}

func TestCompileErrorsSayWhere(t *testing.T) {
	t.Parallel()
	for expr, want := range map[string]string{
		`.a > )`:        `unexpected token ")" at column 6: .a > ⟶)`,
		`.a | nosuchfn`: "nosuchfn",
		`"abc`:          "unterminated string",
		``:              "empty expression",
		`$other`:        "$other",
	} {
		_, err := query.Compile(expr)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "jq: ") {
			t.Errorf("Compile(%q) = %v, want an error naming %q", expr, err, want)
		}
	}
}

func TestSandbox(t *testing.T) {
	t.Setenv("MQSCOPE_SECRET_FOR_TEST", "s3cret")
	// the environment is empty
	for _, expr := range []string{`$ENV | length == 0`, `env == {}`, `$ENV.MQSCOPE_SECRET_FOR_TEST == null`} {
		if ok, err := match(t, expr, rec(`{}`), 0); !ok || err != nil {
			t.Errorf("%s: ok=%v err=%v (the environment must be empty)", expr, ok, err)
		}
	}
	// input, modules, debug output: refused at compile time
	for expr, want := range map[string]string{
		`input`:                         "input",
		`[inputs]`:                      "input",
		`import "x" as x; .`:            "import",
		`include "x"; .`:                "include",
		`import "/etc/passwd" as $p; .`: "import",
		`debug`:                         "debug",
		`stderr`:                        "stderr",
		`input_filename`:                "input_filename",
	} {
		_, err := query.Compile(expr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Compile(%q) = %v, want refused naming %q", expr, err, want)
		}
	}
}

func TestTimeBudgetStopsBombs(t *testing.T) {
	t.Parallel()
	for _, expr := range []string{
		`[range(1e9)] | length > 0`,
		`last(range(1e12))`,
		`def f: f; f`,
		`[limit(1e9; repeat(1))] | length`,
		`until(false; .)`,
		`[range(1e5)] | combinations | length`,
	} {
		q, err := query.Compile(expr, query.Options{Budget: 20 * time.Millisecond})
		if err != nil {
			t.Fatalf("compile %q: %v", expr, err)
		}
		start := time.Now()
		ok, err := q.MatchRecord(context.Background(), decode.JSONOrText, rec(`[1]`), 0)
		// a generous upper bound: the point is that it stops at all
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s ran %s", expr, d)
		}
		if ok || !errors.Is(err, query.ErrBudget) {
			t.Errorf("%s: ok=%v err=%v, want over budget", expr, ok, err)
		}
	}
}

func TestSizeBudget(t *testing.T) {
	t.Parallel()
	q, err := query.Compile(`true`, query.Options{MaxInput: 10})
	if err != nil {
		t.Fatal(err)
	}
	ok, err := q.MatchRecord(context.Background(), nil, rec(`{"a":"0123456789"}`), 0)
	if ok || !errors.Is(err, query.ErrTooLarge) {
		t.Errorf("payload over MaxInput: ok=%v err=%v", ok, err)
	}
	if ok, err := q.MatchRecord(context.Background(), nil, rec(`{}`), 0); !ok || err != nil {
		t.Errorf("small payload: ok=%v err=%v", ok, err)
	}
}

func TestOnlyTheFirstOutputIsTaken(t *testing.T) {
	t.Parallel()
	// an endless generator matches at once: the first output decides and
	// the rest is never produced
	q, err := query.Compile(`repeat(1)`, query.Options{Budget: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := q.MatchRecord(context.Background(), nil, rec(`{}`), 0); !ok || err != nil {
		t.Errorf("repeat(1): ok=%v err=%v", ok, err)
	}
}

func TestReuseAcrossMessagesAndGoroutines(t *testing.T) {
	t.Parallel()
	q, err := query.Compile(`.n % 2 == 0`, query.Options{Budget: time.Minute}) // a shared machine is slow
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				ok, err := q.MatchRecord(context.Background(), nil, rec(`{"n":`+itoa(i)+`}`), 0)
				if err != nil || ok != (i%2 == 0) {
					errs <- fmt.Errorf("verdict for %d: ok=%v err=%v", i, ok, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestStatsReport(t *testing.T) {
	t.Parallel()
	s := query.Stats{Budget: 50 * time.Millisecond}
	s.Add(true, nil)
	s.Add(false, nil)
	for i := 0; i < 3; i++ {
		s.Add(false, query.ErrBudget)
	}
	s.Add(false, errors.New("jq: cannot add"))
	s.Add(false, errors.New("jq: second"))
	want := "jq: 3 messages over the 50ms budget, 2 errors: jq: cannot add (counted as not matching)"
	if got := s.Problem(); got != want {
		t.Errorf("Problem() = %q, want %q", got, want)
	}
	if s.Matched != 1 || s.Evaluated != 7 {
		t.Errorf("counts: %+v", s)
	}
	if (query.Stats{Evaluated: 3, Matched: 1}).Problem() != "" {
		t.Error("no problem must give an empty line")
	}
}
