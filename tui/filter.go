package tui

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
	"github.com/mqscope/mqscope/core/query"
)

// Filter is what `/` typed: a substring (case-insensitive), a regular
// expression (`re:EXPR` or `/EXPR/`), `field=value` matched against a
// JSON payload (dotted paths: `customer.id=42`), or a jq query
// (`jq:EXPR`, see core/query). The empty filter matches everything.
//
// A jq query is never run by the Match methods (they would run it on the
// UI loop): the tail, messages and pending panes evaluate it off the loop
// (queryRun), and the other panes refuse it.
type Filter struct {
	Raw   string
	sub   string
	re    *regexp.Regexp
	field string
	value string
	q     *query.Query
}

// ParseFilter reads a filter expression.
func ParseFilter(s string) (Filter, error) {
	f := Filter{Raw: s}
	switch {
	case s == "":
	case strings.HasPrefix(s, query.Prefix):
		q, err := query.Compile(s[len(query.Prefix):])
		if err != nil {
			return Filter{}, err
		}
		f.q = q
	case strings.HasPrefix(s, "re:"):
		re, err := regexp.Compile(s[3:])
		if err != nil {
			return Filter{}, fmt.Errorf("filter %q: %w", s, err)
		}
		f.re = re
	case len(s) >= 2 && s[0] == '/' && s[len(s)-1] == '/':
		re, err := regexp.Compile(s[1 : len(s)-1])
		if err != nil {
			return Filter{}, fmt.Errorf("filter %q: %w", s, err)
		}
		f.re = re
	case isFieldFilter(s):
		k, v, _ := strings.Cut(s, "=")
		f.field, f.value = strings.TrimSpace(k), strings.TrimSpace(v)
	default:
		f.sub = strings.ToLower(s)
	}
	return f, nil
}

func isFieldFilter(s string) bool {
	k, _, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '.' || r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// Empty reports the match-everything filter.
func (f Filter) Empty() bool { return f.Raw == "" }

// Query is the filter's jq query (nil for the other kinds).
func (f Filter) Query() *query.Query { return f.q }

// MatchText matches a list row's text. A field filter matches rows
// containing its raw text.
func (f Filter) MatchText(s string) bool {
	switch {
	case f.Empty():
		return true
	case f.q != nil:
		return false // evaluated off the UI loop, never here
	case f.re != nil:
		return f.re.MatchString(s)
	case f.field != "":
		return strings.Contains(strings.ToLower(s), strings.ToLower(f.Raw))
	}
	return strings.Contains(strings.ToLower(s), f.sub)
}

// MatchAny matches when any one of the row's fields does: anchors (`^`,
// `$`) apply to each field on its own, not to a joined text with
// separators in it.
func (f Filter) MatchAny(fields ...string) bool {
	if f.Empty() {
		return true
	}
	for _, s := range fields {
		if f.MatchText(s) {
			return true
		}
	}
	return false
}

// MatchRecord matches a message as MatchDecoded does with the JSON-or-text
// decoder.
func (f Filter) MatchRecord(r core.Record) bool {
	return f.MatchDecoded(decode.JSONOrText, r)
}

// MatchDecoded matches a message: text filters look at the id, subject and
// payload, and, for a payload the decoder reads as something other than
// JSON or text (msgpack, CBOR, protobuf), at its one-line JSON too; a field
// filter at the decoded document.
func (f Filter) MatchDecoded(d decode.Decoder, r core.Record) bool {
	if f.Empty() {
		return true
	}
	if f.q != nil {
		return false // evaluated off the UI loop, never here
	}
	if f.field != "" {
		res, ok := decodeRecord(d, r, decodeLimit)
		if !ok || !res.Structured() {
			return jsonFieldEquals(r.Data, f.field, f.value)
		}
		return valueFieldEquals(res.Value, f.field, f.value)
	}
	if f.MatchText(r.ID + " " + r.Subject + " " + r.Topic + " " + string(r.Data)) {
		return true
	}
	if res, ok := decodeRecord(d, r, decodeLimit); ok && res.Structured() && res.Format != decode.FormatJSON {
		return f.MatchText(decode.CompactJSON(res.Value))
	}
	return false
}

func jsonFieldEquals(data []byte, path, want string) bool {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return false
	}
	return valueFieldEquals(v, path, want)
}

// valueFieldEquals: the value at a dotted path of a decoded document,
// written as JSON (strings bare), is want.
func valueFieldEquals(v any, path, want string) bool {
	for _, p := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[p]; !ok {
				return false
			}
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(x) {
				return false
			}
			v = x[i]
		default:
			return false
		}
	}
	switch x := v.(type) {
	case string:
		return x == want
	case nil:
		return want == "null"
	case float64, bool:
		b, _ := json.Marshal(x)
		return string(b) == want
	default:
		b, _ := json.Marshal(x)
		return string(b) == want
	}
}
