// Package query runs jq expressions (github.com/itchyny/gojq) against
// messages: the console's `/jq:EXPR` filter, the command line's --where and
// browse's history search share it.
//
// A query sees the decoded payload as `.`, the headers as $headers (name →
// value, or a list when a header repeats) and the message's metadata as
// $meta (topic, subject, id, seq, time, deliveries, size, format, error).
// A message matches when the query's first output is truthy: false, null
// or no output at all is no match; an error is reported, never a match.
//
// Queries are sandboxed. They cannot read the environment ($ENV and env
// are empty), other inputs (input, inputs), files or modules (import,
// include), or write anywhere (debug, stderr and input_filename are not
// defined). Each evaluation has a time budget (the
// interpreter checks its context at every step, so `[range(1e9)]` or
// `def f: f; f` stop when it runs out), reads at most MaxInput bytes of
// payload, and only the first output is ever taken.
//
// The package never imports a Charm package.
package query

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/itchyny/gojq"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
)

// Prefix marks a query where a filter also accepts plain text (`/jq:EXPR`).
const Prefix = "jq:"

// Defaults of Options.
const (
	DefaultBudget   = 50 * time.Millisecond
	DefaultMaxInput = 1 << 20 // 1 MiB
)

// ErrBudget is the error of an evaluation that ran out of its time budget.
var ErrBudget = errors.New("over the time budget")

// ErrTooLarge is the error for a payload larger than Options.MaxInput; the
// query is not run on it.
var ErrTooLarge = errors.New("payload over the size budget")

// Options bound one evaluation.
type Options struct {
	// Budget is the wall time one message may take (DefaultBudget when 0).
	Budget time.Duration
	// MaxInput is the largest payload (bytes) a query runs on
	// (DefaultMaxInput when 0).
	MaxInput int
}

func (o Options) withDefaults() Options {
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.MaxInput <= 0 {
		o.MaxInput = DefaultMaxInput
	}
	return o
}

// Query is a compiled expression, reused for every message. It is safe
// for concurrent use.
type Query struct {
	src  string
	code *gojq.Code
	opts Options
}

// Compile parses and compiles expr. The error says what is wrong and where
// ("jq: unexpected token \")\" at column 6: .a > ⟶)").
func Compile(expr string, opts ...Options) (*Query, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if strings.TrimSpace(expr) == "" {
		return nil, errors.New("jq: empty expression")
	}
	ast, err := gojq.Parse(expr)
	if err != nil {
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			// the parser's offset is just past the offending token
			at := max(0, min(pe.Offset-len(pe.Token), len(expr)))
			return nil, fmt.Errorf("jq: %s at column %d: %s", pe.Error(), at+1, caret(expr, at))
		}
		return nil, fmt.Errorf("jq: %w", err)
	}
	if len(ast.Imports) > 0 {
		return nil, errors.New("jq: import and include are not allowed (queries cannot load modules)")
	}
	code, err := gojq.Compile(ast,
		gojq.WithVariables([]string{"$headers", "$meta"}),
		// an empty environment: $ENV and env are {}
		gojq.WithEnvironLoader(func() []string { return nil }),
		// no WithModuleLoader, no WithInputIter: modules and input(s) fail
		// at compile time
	)
	if err != nil {
		return nil, fmt.Errorf("jq: %w", err)
	}
	return &Query{src: expr, code: code, opts: o.withDefaults()}, nil
}

// caret shows the expression with a marker before byte off.
func caret(expr string, off int) string {
	return expr[:off] + "⟶" + expr[off:]
}

// String is the expression as written.
func (q *Query) String() string { return q.src }

// Budget is the time one message may take.
func (q *Query) Budget() time.Duration { return q.opts.Budget }

// Input is what a query sees of one message.
type Input struct {
	Value   any         // `.`: the decoded payload (gojq-compatible)
	Headers core.Header // $headers
	Meta    Meta        // $meta
}

// Meta is $meta. Zero fields are null (deliveries, seq and time are not
// known everywhere); subject is the topic when the message has none of its
// own.
type Meta struct {
	Topic, Subject, ID string
	Seq                uint64
	Time               time.Time
	Deliveries         int
	Size               int
	Format             string // the decoder's format ("json", "text", …)
	Error              string // why the decoder failed, if it did
	// Extra adds fields (the pending list's consumer and idle).
	Extra map[string]any
}

// RecordInput decodes rec with dec (decode.JSONOrText when nil) into an
// Input; deliveries is the delivery count where the caller knows it.
func RecordInput(dec decode.Decoder, rec core.Record, deliveries int) Input {
	if dec == nil {
		dec = decode.JSONOrText
	}
	size := rec.Size
	if size < len(rec.Data) {
		size = len(rec.Data)
	}
	in := Input{Headers: rec.Header, Meta: Meta{Topic: rec.Topic, Subject: rec.Subject, ID: rec.ID, Seq: rec.Seq,
		Time: rec.Time, Deliveries: deliveries, Size: size}}
	res := dec.Decode(rec)
	in.Value, in.Meta.Format = res.Value, res.Format
	if res.Err != nil {
		in.Meta.Error = res.Err.Error()
	}
	return in
}

// MatchRecord decodes rec and matches it (the size budget is checked
// before decoding, so a huge payload costs nothing).
func (q *Query) MatchRecord(ctx context.Context, dec decode.Decoder, rec core.Record, deliveries int) (bool, error) {
	return q.MatchRecordWith(ctx, dec, rec, deliveries, nil)
}

// MatchRecordWith is MatchRecord with extra fields in $meta (the pending
// list adds consumer and idle_ms).
func (q *Query) MatchRecordWith(ctx context.Context, dec decode.Decoder, rec core.Record, deliveries int, extra map[string]any) (bool, error) {
	if len(rec.Data) > q.opts.MaxInput {
		return false, fmt.Errorf("%w (%d bytes, limit %d)", ErrTooLarge, len(rec.Data), q.opts.MaxInput)
	}
	in := RecordInput(dec, rec, deliveries)
	in.Meta.Extra = extra
	return q.Match(ctx, in)
}

// Match runs the query on in within the time budget and reports whether
// its first output is truthy. An error is ErrBudget (wrapped) when time ran
// out, else the query's own error; either way the message does not match.
func (q *Query) Match(ctx context.Context, in Input) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, q.opts.Budget)
	defer cancel()
	it := q.code.RunWithContext(ctx, in.Value, headersVar(in.Headers), in.Meta.value())
	v, ok := it.Next()
	if !ok {
		return false, nil
	}
	if err, isErr := v.(error); isErr {
		if errors.Is(err, context.DeadlineExceeded) {
			return false, fmt.Errorf("%w (%s)", ErrBudget, q.opts.Budget)
		}
		if errors.Is(err, context.Canceled) {
			return false, err
		}
		var he *gojq.HaltError
		if errors.As(err, &he) && he.Value() == nil {
			return false, nil // halt: stop without output
		}
		return false, fmt.Errorf("jq: %w", err)
	}
	return truthy(v), nil
}

func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	}
	return true
}

func headersVar(h core.Header) map[string]any {
	m := make(map[string]any, len(h))
	for k, vs := range h {
		switch len(vs) {
		case 0:
			m[k] = nil
		case 1:
			m[k] = vs[0]
		default:
			l := make([]any, len(vs))
			for i, v := range vs {
				l[i] = v
			}
			m[k] = l
		}
	}
	return m
}

func (m Meta) value() map[string]any {
	v := map[string]any{
		"topic":      m.Topic,
		"subject":    orNil(cmp.Or(m.Subject, m.Topic)),
		"id":         orNil(m.ID),
		"seq":        nil,
		"time":       nil,
		"deliveries": nil,
		"size":       m.Size,
		"format":     orNil(m.Format),
		"error":      orNil(m.Error),
	}
	if m.Seq > 0 {
		if m.Seq <= math.MaxInt {
			v["seq"] = int(m.Seq)
		} else {
			v["seq"] = float64(m.Seq)
		}
	}
	if !m.Time.IsZero() {
		v["time"] = m.Time.UTC().Format(time.RFC3339Nano)
	}
	if m.Deliveries > 0 {
		v["deliveries"] = m.Deliveries
	}
	for k, x := range m.Extra {
		v[k] = x
	}
	return v
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}
