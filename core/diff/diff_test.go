package diff

import (
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"testing"
)

func parse(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

func strs(r Result) []string {
	var out []string
	for _, c := range r.Changes {
		out = append(out, c.String())
	}
	return out
}

func TestValuesEqual(t *testing.T) {
	for _, s := range []string{`null`, `1`, `"x"`, `[]`, `{}`, `{"a":[1,{"b":null}],"c":true}`} {
		if r := Values(parse(t, s), parse(t, s), 0); !r.Equal() {
			t.Errorf("%s against itself: %v", s, strs(r))
		}
	}
	// numbers compare by value, whatever Go type a decoder chose
	if r := Values(map[string]any{"n": 1, "b": big.NewInt(7)}, map[string]any{"n": 1.0, "b": 7.0}, 0); !r.Equal() {
		t.Errorf("1 vs 1.0, big 7 vs 7.0: %v", strs(r))
	}
}

func TestValuesChanges(t *testing.T) {
	a := parse(t, `{"order":{"id":"o1","items":[{"sku":"a","qty":1},{"sku":"b","qty":3}],"note":"x"},"v":1,"odd key":1}`)
	b := parse(t, `{"order":{"id":"o1","items":[{"sku":"a","qty":1},{"sku":"b","qty":4},{"sku":"c","qty":1}],"paid":true},"v":"1","odd key":2}`)
	got := strs(Values(a, b, 0))
	want := []string{
		`.["odd key"]: 1 → 2`,
		`.order.items[1].qty: 3 → 4`,
		`.order.items[2]: added {"qty":1,"sku":"c"}`,
		`.order.note: removed "x"`,
		`.order.paid: added true`,
		`.v: number 1 → string "1"`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestValuesRootAndArrays(t *testing.T) {
	cases := []struct{ a, b, want string }{
		{`1`, `2`, `.: 1 → 2`},
		{`[1]`, `{}`, `.: array [1] → object {}`},
		{`[1,2,3]`, `[1,2]`, `.[2]: removed 3`},
		{`["a","b","c"]`, `["x","a","b","c"]`, `.[0]: added "x"`},
		{`["a","b"]`, `["b"]`, `.[0]: removed "a"`},
		{`[1,2,3]`, `[1,5,3,4]`, `.[1]: 2 → 5; .[3]: added 4`},
		{`[1,2,3]`, `[1,"2",3,4]`, `.[1]: number 2 → string "2"; .[3]: added 4`},
		{`[1,2,3]`, `[1,5,3]`, `.[1]: 2 → 5`},
		{`[{"a":1},2]`, `[2]`, `.[0]: object {"a":1} → number 2; .[1]: removed 2`},
		{`null`, `{"a":1}`, `.: null null → object {"a":1}`},
		{`{"a":null}`, `{"a":0}`, `.a: null null → number 0`},
	}
	for _, c := range cases {
		got := strings.Join(strs(Values(parse(t, c.a), parse(t, c.b), 0)), "; ")
		if got != c.want {
			t.Errorf("%s vs %s: %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

func TestValuesDeepNesting(t *testing.T) {
	const depth = 2000
	a := strings.Repeat(`{"n":`, depth) + "1" + strings.Repeat("}", depth)
	b := strings.Repeat(`{"n":`, depth) + "2" + strings.Repeat("}", depth)
	r := Values(parse(t, a), parse(t, b), 0)
	if len(r.Changes) != 1 || r.Changes[0].Path != strings.Repeat(".n", depth) {
		t.Fatalf("deep change: %d changes, first path %.40q", len(r.Changes), r.Changes[0].Path)
	}
}

func TestValuesBounded(t *testing.T) {
	n := 20000
	a, b := make(map[string]any, n), make(map[string]any, n)
	for i := 0; i < n; i++ {
		a[fmt.Sprintf("k%05d", i)] = i
		b[fmt.Sprintf("k%05d", i)] = i + 1
	}
	r := Values(a, b, 100)
	if len(r.Changes) != 100 || r.More != n-100 {
		t.Fatalf("kept %d, more %d; want 100 and %d", len(r.Changes), r.More, n-100)
	}
	if r.Changes[0].Path != ".k00000" || r.Changes[99].Path != ".k00099" {
		t.Fatalf("not in key order: %s … %s", r.Changes[0].Path, r.Changes[99].Path)
	}
	// a long value is cut
	long := strings.Repeat("x", 1000)
	s := Values("a", long, 0).Changes[0].String()
	if len([]rune(s)) > 2*maxValue+20 || !strings.HasSuffix(s, "…") {
		t.Fatalf("long value not cut: %d runes", len([]rune(s)))
	}
}

func TestHeaders(t *testing.T) {
	a := map[string][]string{"Trace": {"1"}, "Kind": {"order"}, "Gone": {"x"}, "Multi": {"a", "b"}}
	b := map[string][]string{"Trace": {"2"}, "Kind": {"order"}, "New": {"y"}, "Multi": {"b", "a"}}
	got := Headers(a, b)
	want := []HeaderChange{
		{Key: "Gone", Kind: Removed, Old: []string{"x"}},
		{Key: "Multi", Kind: Changed, Old: []string{"a", "b"}, New: []string{"b", "a"}},
		{Key: "New", Kind: Added, New: []string{"y"}},
		{Key: "Trace", Kind: Changed, Old: []string{"1"}, New: []string{"2"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("headers: %+v", got)
	}
	if h := Headers(a, a); len(h) != 0 || Headers(nil, nil) != nil {
		t.Fatalf("equal headers differ: %+v", h)
	}
}

// render is a hunk list as unified diff text.
func render(r TextResult) string {
	var sb strings.Builder
	for _, h := range r.Hunks {
		sb.WriteString(h.Header() + "\n")
		for _, l := range h.Lines {
			sb.WriteString(string(l.Op) + l.Text + "\n")
		}
	}
	return sb.String()
}

func TestTextUnified(t *testing.T) {
	a := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n"
	b := "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\nl\n"
	got := render(Text(a, b, 2))
	want := "@@ -2,5 +2,5 @@\n b\n c\n-d\n+D\n e\n f\n@@ -10,2 +10,3 @@\n j\n k\n+l\n"
	if got != want {
		t.Fatalf("unified:\n%s\nwant:\n%s", got, want)
	}
	if r := Text(a, a, 3); !r.Equal() || len(r.Notes) != 0 {
		t.Fatalf("equal texts: %+v", r)
	}
	if got := render(Text("", "x", 3)); got != "@@ -0,0 +1,1 @@\n+x\n" {
		t.Fatalf("from empty: %q", got)
	}
}

// lcs is the textbook O(nm) longest common subsequence length.
func lcs(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

// checkScript: the script rebuilds both sides, and when exact it is a
// shortest one.
func checkScript(t testing.TB, a, b []string, ops []Line, exact bool) {
	t.Helper()
	var ra, rb []string
	edits := 0
	for _, o := range ops {
		if o.Op != Ins {
			ra = append(ra, o.Text)
		}
		if o.Op != Del {
			rb = append(rb, o.Text)
		}
		if o.Op != Same {
			edits++
		}
	}
	if !reflect.DeepEqual(ra, a) && !(len(ra) == 0 && len(a) == 0) {
		t.Fatalf("script does not rebuild a: %q vs %q", ra, a)
	}
	if !reflect.DeepEqual(rb, b) && !(len(rb) == 0 && len(b) == 0) {
		t.Fatalf("script does not rebuild b: %q vs %q", rb, b)
	}
	if exact && len(a)*len(b) <= 1<<16 {
		if want := len(a) + len(b) - 2*lcs(a, b); edits != want {
			t.Fatalf("%d edits, shortest is %d (a=%q b=%q)", edits, want, a, b)
		}
	}
}

func TestAlignShortest(t *testing.T) {
	words := strings.Fields("a b c a b b a c d")
	for i := 0; i < 300; i++ {
		var a, b []string
		for j := 0; j < i%13; j++ {
			a = append(a, words[(i*7+j*3)%len(words)])
		}
		for j := 0; j < i%11; j++ {
			b = append(b, words[(i*5+j*j)%len(words)])
		}
		ops, exact := align(a, b, MaxEdits)
		if !exact {
			t.Fatalf("small input not exact")
		}
		checkScript(t, a, b, ops, exact)
	}
}

func TestTextBounded(t *testing.T) {
	var sa, sb strings.Builder
	for i := 0; i < MaxLines+500; i++ {
		fmt.Fprintf(&sa, "line %d\n", i)
		fmt.Fprintf(&sb, "line %d changed\n", i)
	}
	r := Text(sa.String(), sb.String(), 3)
	if len(r.Notes) != 3 {
		t.Fatalf("notes: %q (want both sides cut and the alignment given up)", r.Notes)
	}
	n := 0
	for _, h := range r.Hunks {
		n += len(h.Lines)
	}
	if n != 2*MaxLines {
		t.Fatalf("%d lines in hunks, want %d", n, 2*MaxLines)
	}
	// one megabyte line: cut at MaxBytes
	big := strings.Repeat("y", 2*MaxBytes)
	r = Text(big, "y", 0)
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "first 1 lines of the first") {
		t.Fatalf("notes: %q", r.Notes)
	}
}

func FuzzDiff(f *testing.F) {
	f.Add([]byte(`{"a":[1,2,{"b":"c"}]}`), []byte(`{"a":[1,3]}`))
	f.Add([]byte("a\nb\nc"), []byte("a\nc\nd"))
	f.Add([]byte(`[]`), []byte(`null`))
	f.Fuzz(func(t *testing.T, x, y []byte) {
		var a, b any
		if json.Unmarshal(x, &a) == nil && json.Unmarshal(y, &b) == nil {
			r := Values(a, b, 50)
			if r.Equal() != reflect.DeepEqual(a, b) {
				t.Fatalf("Equal %v but DeepEqual %v", r.Equal(), reflect.DeepEqual(a, b))
			}
			if !Values(a, a, 50).Equal() {
				t.Fatal("a value differs from itself")
			}
			for _, c := range r.Changes {
				_ = c.String()
			}
		}
		la, lb := strings.Split(string(x), "\n"), strings.Split(string(y), "\n")
		ops, exact := align(la, lb, 20)
		checkScript(t, la, lb, ops, exact)
		_ = Text(string(x), string(y), 2)
	})
}
