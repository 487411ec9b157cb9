package diff

import (
	"fmt"
	"slices"
	"strings"
)

// Bounds of a line diff.
const (
	// MaxLines is how many lines of each side are compared.
	MaxLines = 5000
	// MaxBytes is how many bytes of each side are compared.
	MaxBytes = 512 << 10
	// MaxEdits is the costliest alignment searched (Myers' D); beyond it
	// the differing middle shows as all removed, then all added.
	MaxEdits = 1000
)

// Op is a line's part in a line diff: ' ' in both, '-' only in the first
// text, '+' only in the second.
type Op byte

const (
	Same Op = ' '
	Del  Op = '-'
	Ins  Op = '+'
)

// Line is one line of a hunk.
type Line struct {
	Op   Op
	Text string
}

// Hunk is a run of changes with its context, unified-diff style; starts
// are 1-based line numbers.
type Hunk struct {
	OldStart, OldLen int
	NewStart, NewLen int
	Lines            []Line
}

// Header is the hunk's `@@ -a,b +c,d @@` line.
func (h Hunk) Header() string {
	return fmt.Sprintf("@@ -%d,%d +%d,%d @@", h.OldStart, h.OldLen, h.NewStart, h.NewLen)
}

// TextResult is a line diff.
type TextResult struct {
	Hunks []Hunk
	// Notes say what was bounded: inputs cut to MaxLines/MaxBytes, or an
	// alignment given up at MaxEdits.
	Notes []string
}

// Equal reports that the compared lines are the same.
func (r TextResult) Equal() bool { return len(r.Hunks) == 0 }

// Text is a unified line diff of a and b with context lines of context
// around each change (3 when negative).
func Text(a, b string, context int) TextResult {
	if context < 0 {
		context = 3
	}
	var res TextResult
	la := splitBounded(a, "first", &res.Notes)
	lb := splitBounded(b, "second", &res.Notes)
	ops, exact := align(la, lb, MaxEdits)
	if !exact {
		res.Notes = append(res.Notes, fmt.Sprintf("more than %d lines differ: the differing part shows as removed, then added", MaxEdits))
	}
	res.Hunks = hunks(ops, context)
	return res
}

// splitBounded splits s into lines, keeping at most MaxBytes and MaxLines.
func splitBounded(s, which string, notes *[]string) []string {
	cut := false
	if len(s) > MaxBytes {
		s = s[:MaxBytes]
		cut = true
	}
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	ls := strings.Split(s, "\n")
	if len(ls) > MaxLines {
		ls = ls[:MaxLines]
		cut = true
	} else if cut && len(ls) > 1 {
		ls = ls[:len(ls)-1] // the last line was cut in the middle
	}
	if cut {
		*notes = append(*notes, fmt.Sprintf("compared the first %d lines of the %s text only", len(ls), which))
	}
	return ls
}

// align is the edit script from a to b: common prefix and suffix, then
// Myers' O(ND) on the middle, up to maxD edits (exact false beyond: the
// middle is replaced whole).
func align(a, b []string, maxD int) (ops []Line, exact bool) {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	for _, l := range a[:pre] {
		ops = append(ops, Line{Same, l})
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	mid, exact := myers(ma, mb, maxD)
	if !exact {
		mid = mid[:0]
		for _, l := range ma {
			mid = append(mid, Line{Del, l})
		}
		for _, l := range mb {
			mid = append(mid, Line{Ins, l})
		}
	}
	ops = append(ops, mid...)
	for _, l := range a[len(a)-suf:] {
		ops = append(ops, Line{Same, l})
	}
	return ops, exact
}

// myers is the shortest edit script from a to b (Myers 1986), or false
// when it needs more than maxD edits.
func myers(a, b []string, maxD int) ([]Line, bool) {
	n, m := len(a), len(b)
	if n == 0 && m == 0 {
		return nil, true
	}
	maxD = min(maxD, n+m)
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	var trace [][]int // trace[d]: v over k in [-d, d] before step d
	for d := 0; d <= maxD; d++ {
		trace = append(trace, append([]int(nil), v[off-d:off+d+1]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(a, b, trace, d), true
			}
		}
	}
	return nil, false
}

func backtrack(a, b []string, trace [][]int, d int) []Line {
	var rev []Line
	x, y := len(a), len(b)
	for ; d > 0; d-- {
		prev := trace[d] // k in [-d, d] at index k+d
		at := func(k int) int { return prev[k+d] }
		k := x - y
		var pk int
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			pk = k + 1 // came down: an insertion
		} else {
			pk = k - 1 // came right: a deletion
		}
		px := at(pk)
		py := px - pk
		sx, sy := px+1, py // just after the edit
		if pk == k+1 {
			sx, sy = px, py+1
		}
		for x > sx && y > sy { // the snake that followed it
			rev = append(rev, Line{Same, a[x-1]})
			x--
			y--
		}
		if pk == k+1 {
			rev = append(rev, Line{Ins, b[py]})
		} else {
			rev = append(rev, Line{Del, a[px]})
		}
		x, y = px, py
	}
	for x > 0 && y > 0 {
		rev = append(rev, Line{Same, a[x-1]})
		x--
		y--
	}
	slices.Reverse(rev)
	return rev
}

// hunks groups an edit script into unified hunks with context lines.
func hunks(ops []Line, context int) []Hunk {
	var out []Hunk
	// positions (1-based) of each op in a and b
	oa, ob := make([]int, len(ops)), make([]int, len(ops))
	ia, ib := 1, 1
	for i, o := range ops {
		oa[i], ob[i] = ia, ib
		if o.Op != Ins {
			ia++
		}
		if o.Op != Del {
			ib++
		}
	}
	i := 0
	for i < len(ops) {
		if ops[i].Op == Same {
			i++
			continue
		}
		start := max(0, i-context)
		end := i // exclusive; extend while changes are within 2*context
		for j := i; j < len(ops); j++ {
			if ops[j].Op != Same {
				end = j + 1
			} else if j-end >= 2*context {
				break
			}
		}
		stop := min(len(ops), end+context)
		h := Hunk{OldStart: oa[start], NewStart: ob[start], Lines: append([]Line(nil), ops[start:stop]...)}
		for _, l := range h.Lines {
			if l.Op != Ins {
				h.OldLen++
			}
			if l.Op != Del {
				h.NewLen++
			}
		}
		if h.OldLen == 0 {
			h.OldStart-- // unified diff: an empty range starts before
		}
		if h.NewLen == 0 {
			h.NewStart--
		}
		out = append(out, h)
		i = stop
	}
	return out
}
