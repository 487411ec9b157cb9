// Package diff compares two messages: their decoded payloads (a structural
// diff of JSON-compatible values, or a line diff of text) and their
// headers. It answers "why did this one fail and that one pass?".
//
// Everything is bounded: a structural diff keeps the first MaxChanges
// changes and counts the rest; a line diff compares at most MaxLines lines
// (MaxBytes bytes) of each side and gives up on an alignment costlier than
// MaxEdits edits, showing the differing middle as removed then added.
// Output order is stable (object keys sorted). The package is pure: no
// I/O, no terminal, no Charm import.
package diff

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind is what happened at a path.
type Kind int

const (
	Changed     Kind = iota // same type, other value
	Added                   // only in the second value
	Removed                 // only in the first value
	TypeChanged             // both there, of different JSON types
)

func (k Kind) String() string {
	switch k {
	case Added:
		return "added"
	case Removed:
		return "removed"
	case TypeChanged:
		return "type changed"
	}
	return "changed"
}

// Change is one difference between two values, at a jq-style path
// (`.order.items[2].qty`, `.["a key"]`; the root is `.`).
type Change struct {
	Path     string
	Kind     Kind
	Old, New any // Old is nil for Added, New for Removed
}

// String is the change on one line: `.a.b: 3 → 4`, `.c: added "x"`,
// `.d: number 1 → string "1"`. Values are compact JSON cut at maxValue
// runes each.
func (c Change) String() string { return c.Format(maxValue) }

// Format is String with values cut at max runes.
func (c Change) Format(max int) string {
	switch c.Kind {
	case Added:
		return c.Path + ": added " + Value(c.New, max)
	case Removed:
		return c.Path + ": removed " + Value(c.Old, max)
	case TypeChanged:
		return c.Path + ": " + TypeName(c.Old) + " " + Value(c.Old, max) + " → " + TypeName(c.New) + " " + Value(c.New, max)
	}
	return c.Path + ": " + Value(c.Old, max) + " → " + Value(c.New, max)
}

const maxValue = 80

// DefaultMaxChanges is how many changes Values keeps when asked for fewer
// than one.
const DefaultMaxChanges = 500

// Result is a structural diff: the first changes and how many more there
// are.
type Result struct {
	Changes []Change
	More    int // changes found beyond the cap
}

// Equal reports no difference at all.
func (r Result) Equal() bool { return len(r.Changes) == 0 && r.More == 0 }

// Values compares two JSON-compatible values (map[string]any, []any,
// string, float64, int, int64, uint64, *big.Int, json.Number, bool, nil).
// Object keys are visited sorted. Arrays are compared index by index
// (simple, predictable, and what jq paths name; an object inserted at the
// front shows as every later index changed and one added at the end),
// except arrays of scalars of different lengths, which are aligned (see
// scalarArrays). Numbers compare by value (1 and 1.0 are equal). At most
// max changes are kept (DefaultMaxChanges when max < 1); More counts the
// rest.
func Values(a, b any, max int) Result {
	if max < 1 {
		max = DefaultMaxChanges
	}
	c := collector{max: max}
	c.walk(nil, a, b)
	return Result{Changes: c.out, More: c.more}
}

type collector struct {
	max  int
	out  []Change
	more int
}

func (c *collector) add(path []string, k Kind, old, new any) {
	if len(c.out) >= c.max {
		c.more++
		return
	}
	c.out = append(c.out, Change{Path: joinPath(path), Kind: k, Old: old, New: new})
}

func (c *collector) walk(path []string, a, b any) {
	ta, tb := TypeName(a), TypeName(b)
	if ta != tb {
		c.add(path, TypeChanged, a, b)
		return
	}
	switch av := a.(type) {
	case map[string]any:
		bv := b.(map[string]any)
		keys := make([]string, 0, len(av)+len(bv))
		for k := range av {
			keys = append(keys, k)
		}
		for k := range bv {
			if _, ok := av[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			x, inA := av[k]
			y, inB := bv[k]
			p := append(path, keySeg(k))
			switch {
			case !inB:
				c.add(p, Removed, x, nil)
			case !inA:
				c.add(p, Added, nil, y)
			default:
				c.walk(p, x, y)
			}
		}
	case []any:
		bv := b.([]any)
		if len(av) != len(bv) && c.scalarArrays(path, av, bv) {
			return
		}
		for i := 0; i < max(len(av), len(bv)); i++ {
			p := append(path, "["+strconv.Itoa(i)+"]")
			switch {
			case i >= len(bv):
				c.add(p, Removed, av[i], nil)
			case i >= len(av):
				c.add(p, Added, nil, bv[i])
			default:
				c.walk(p, av[i], bv[i])
			}
		}
	default:
		if !scalarEqual(a, b) {
			c.add(path, Changed, a, b)
		}
	}
}

// scalarArrays compares arrays of scalars of different lengths by their
// longest common subsequence, so one value inserted at the front is one
// change, not one per index: a removed element is named by its index in
// the first array, an added one by its index in the second, and a removal
// and an addition at the same index are one change. False (nothing
// reported) when an element is not a scalar or the alignment would cost
// more than MaxEdits.
func (c *collector) scalarArrays(path []string, av, bv []any) bool {
	ka, kb := make([]string, len(av)), make([]string, len(bv))
	for i, v := range av {
		if !isScalar(v) {
			return false
		}
		ka[i] = TypeName(v) + " " + Value(v, 0)
	}
	for i, v := range bv {
		if !isScalar(v) {
			return false
		}
		kb[i] = TypeName(v) + " " + Value(v, 0)
	}
	ops, exact := align(ka, kb, MaxEdits)
	if !exact {
		return false
	}
	idx := func(i int) []string { return append(path, "["+strconv.Itoa(i)+"]") }
	i, j := 0, 0
	for n := 0; n < len(ops); n++ {
		op := ops[n].Op
		if op != Same && i == j && n+1 < len(ops) && ops[n+1].Op == Del+Ins-op {
			c.walk(idx(i), av[i], bv[j]) // replaced in place
			i, j, n = i+1, j+1, n+1
			continue
		}
		switch op {
		case Same:
			i, j = i+1, j+1
		case Del:
			c.add(idx(i), Removed, av[i], nil)
			i++
		case Ins:
			c.add(idx(j), Added, nil, bv[j])
			j++
		}
	}
	return true
}

func isScalar(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

// joinPath makes the jq path of segments (each already `.key`, `["k"]` or
// `[i]`); copying here keeps the walk's shared slice safe to reuse.
func joinPath(segs []string) string {
	if len(segs) == 0 {
		return "."
	}
	var sb strings.Builder
	for _, s := range segs {
		if strings.HasPrefix(s, "[") && sb.Len() == 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(s)
	}
	return sb.String()
}

// keySeg is `.key` for an identifier, else `["key"]` (JSON-quoted, as jq
// writes it).
func keySeg(k string) string {
	if isIdent(k) {
		return "." + k
	}
	q, _ := json.Marshal(k)
	return "[" + string(q) + "]"
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return true
}

// TypeName is the JSON type of a value: object, array, string, number,
// boolean, null (or the Go type for anything else).
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64, float32, int, int64, int32, uint64, uint32, *big.Int, json.Number:
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

func scalarEqual(a, b any) bool {
	if TypeName(a) == "number" {
		x, okx := toRat(a)
		y, oky := toRat(b)
		if okx && oky {
			return x.Cmp(y) == 0
		}
		return fmt.Sprint(a) == fmt.Sprint(b) // NaN, ±Inf: by spelling
	}
	switch a.(type) {
	case nil, string, bool:
		return a == b
	}
	return fmt.Sprintf("%#v", a) == fmt.Sprintf("%#v", b)
}

func toRat(v any) (*big.Rat, bool) {
	r := new(big.Rat)
	switch n := v.(type) {
	case float64:
		if r.SetFloat64(n) == nil {
			return nil, false
		}
		return r, true
	case float32:
		if r.SetFloat64(float64(n)) == nil {
			return nil, false
		}
		return r, true
	case int:
		return r.SetInt64(int64(n)), true
	case int64:
		return r.SetInt64(n), true
	case int32:
		return r.SetInt64(int64(n)), true
	case uint32:
		return r.SetUint64(uint64(n)), true
	case uint64:
		return r.SetUint64(n), true
	case *big.Int:
		if n == nil {
			return nil, false
		}
		return r.SetInt(n), true
	case json.Number:
		return r.SetString(string(n))
	}
	return nil, false
}

// Value is v as compact JSON, cut at max runes with "…".
func Value(v any, max int) string {
	var s string
	if b, err := json.Marshal(v); err == nil {
		s = string(b)
	} else {
		s = fmt.Sprint(v) // NaN and other values JSON cannot spell
	}
	return Cut(s, max)
}

// Cut shortens s to max runes, the last being "…".
func Cut(s string, max int) string {
	if max < 1 || utf8.RuneCountInString(s) <= max {
		return s
	}
	rs := []rune(s)
	return string(rs[:max-1]) + "…"
}

// HeaderChange is one header key whose values differ.
type HeaderChange struct {
	Key      string
	Kind     Kind // Added, Removed or Changed
	Old, New []string
}

// String is the change on one line, values JSON-quoted: `Trace: "1" →
// "2"` (changed), `Trace: "1"` (added or removed: the Kind says which).
func (h HeaderChange) String() string {
	vals := func(vs []string) string {
		q := make([]string, len(vs))
		for i, v := range vs {
			q[i] = Value(v, maxValue)
		}
		return strings.Join(q, ", ")
	}
	switch h.Kind {
	case Added:
		return h.Key + ": " + vals(h.New)
	case Removed:
		return h.Key + ": " + vals(h.Old)
	}
	return h.Key + ": " + vals(h.Old) + " → " + vals(h.New)
}

// Headers compares two header maps key by key (sorted). Values of a key
// compare as an ordered list.
func Headers(a, b map[string][]string) []HeaderChange {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []HeaderChange
	for _, k := range keys {
		x, inA := a[k]
		y, inB := b[k]
		switch {
		case !inB:
			out = append(out, HeaderChange{Key: k, Kind: Removed, Old: x})
		case !inA:
			out = append(out, HeaderChange{Key: k, Kind: Added, New: y})
		case !slices.Equal(x, y):
			out = append(out, HeaderChange{Key: k, Kind: Changed, Old: x, New: y})
		}
	}
	return out
}
