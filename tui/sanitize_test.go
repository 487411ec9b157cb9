package tui

import (
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/charmbracelet/x/ansi"

	"github.com/mqscope/mqscope/core"
)

type (
	Record = core.Record
	Header = core.Header
)

func ansiStrip(s string) string { return ansi.Strip(s) }

func TestSanitizeHostile(t *testing.T) {
	cases := []struct {
		name      string
		in        string
		multiline bool
		want      string
	}{
		{"plain", "hello, wörld ✓", false, "hello, wörld ✓"},
		{"csi clear screen", "a\x1b[2Jb", false, `a\x1b[2Jb`},
		{"osc 52 clipboard write", "\x1b]52;c;ZXZpbA==\x07", false, `\x1b]52;c;ZXZpbA==\x07`},
		{"osc 8 hyperlink st", "\x1b]8;;http://x\x1b\\y", false, `\x1b]8;;http://x\x1b\y`},
		{"carriage return overwrite", "ok\rFAKE", false, `ok\rFAKE`},
		{"bell", "ding\a", false, `ding\x07`},
		{"c1 csi 0x9b (utf8)", "x\u009b31my", false, `x\u009b31my`},
		{"c1 nel", "\u0085", false, `\u0085`},
		{"raw 8-bit csi (invalid utf8)", "x\x9b31m", false, `x\x9b31m`},
		{"invalid utf8", "\xff\xfe", false, `\xff\xfe`},
		{"truncated utf8", "ab\xe2\x82", false, `ab\xe2\x82`},
		{"nul and del", "\x00\x7f", false, `\x00\x7f`},
		{"bidi override", "abc\u202edcba", false, `abc\u202edcba`},
		{"newline escaped on one line", "a\nb\tc", false, `a\nb\tc`},
		{"newline kept multiline", "a\nb\tc", true, "a\nb    c"},
		{"cr escaped multiline", "a\r\nb", true, "a\\r\nb"},
		{"esc escaped multiline", "{\"k\":\"\x1b[31m\"}", true, `{"k":"\x1b[31m"}`},
	}
	for _, c := range cases {
		got := Sanitize([]byte(c.in), c.multiline)
		if got != c.want {
			t.Errorf("%s: Sanitize(%q, %v) = %q, want %q", c.name, c.in, c.multiline, got, c.want)
		}
		for _, r := range got {
			if (r < 0x20 && !(c.multiline && r == '\n')) || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
				t.Errorf("%s: output %q still holds control %U", c.name, got, r)
			}
		}
		if strings.ContainsRune(got, 0xfffd) {
			t.Errorf("%s: output %q has a replacement char; want escapes", c.name, got)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	f.Add([]byte("\x1b]52;c;AAAA\x07"), false)
	f.Add([]byte("\xc2\x9b2J"), true)
	f.Fuzz(func(t *testing.T, b []byte, ml bool) {
		for _, r := range Sanitize(b, ml) {
			if (r < 0x20 && !(ml && r == '\n')) || r == 0x7f || unsafeRune(r) {
				t.Fatalf("control %U survived in %q", r, b)
			}
		}
	})
}

// TestDialogsNeverShowRawControls: a resend of a hostile message shows
// its topic, headers and payload escaped (text inputs render as is).
func TestDialogsNeverShowRawControls(t *testing.T) {
	c := newCommon(Options{})
	d := resendDialog(c, Record{Topic: "t\x1b[2J", ID: "1\x07", Header: Header{"K": {"v\x1b]52;c;QQ==\x07"}}, Data: []byte("\x9b31mX")})
	out := d.View(100)
	plain := ansiStrip(out)
	for _, raw := range []string{"\x1b[2J", "\x1b]52", "\x07", "\x9b", "\u009b"} {
		if strings.Contains(out, raw) {
			t.Errorf("raw %q in the dialog: %q", raw, out)
		}
	}
	if !strings.Contains(plain, `\x1b]52;c;QQ==\x07`) {
		t.Errorf("the header is not shown escaped: %q", plain)
	}
}

// TestStatusAndJobLabelsSanitised: a job label and a status line can hold
// broker data (a group or topic name); whatever path puts them on screen,
// escape sequences show as text and never reach the terminal.
func TestStatusAndJobLabelsSanitised(t *testing.T) {
	const evil = "shipping\x1b[2J\x1b]52;c;cHduZWQ=\x07\r"
	m := viewModel(t, false)
	j := &job{label: "delete group " + evil}
	j.total.Store(10)
	check := func(when string) {
		t.Helper()
		raw := m.statusLine() // styled: only SGR sequences may be in it
		line := ansi.Strip(raw)
		for _, bad := range []string{"\x1b[2J", "\x1b]52", "\x07", "\r"} {
			if strings.Contains(m.status, bad) || strings.Contains(raw, bad) {
				t.Errorf("%s: status %q / line %q holds %q raw", when, m.status, raw, bad)
			}
		}
		if strings.Contains(m.status, "\x1b") {
			t.Errorf("%s: status %q holds an escape", when, m.status)
		}
		if !strings.Contains(line, `shipping\x1b[2J\x1b]52;c;cHduZWQ=\x07\r`) {
			t.Errorf("%s: status line %q does not show the name escaped", when, line)
		}
	}
	m.Update(jobStartedMsg{job: j})
	check("job started")
	m.Update(statusMsg{text: "moved from " + evil})
	check("status message")
	j.finished.Store(true)
	m.Update(actionDoneMsg{gen: m.com.Gen, job: j, res: core.Result{Requested: 1, Done: 1}})
	check("job done")
	m.Update(actionDoneMsg{gen: m.com.Gen, job: &job{label: "rewind " + evil}, err: errors.New("boom")})
	check("job failed")
	m.pushDialog(newConfirm(m.com, "t", []string{"line " + evil}, nil))
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	if s := m.render(); strings.Contains(s, "\x07") || strings.Contains(s, "\x1b]52") || strings.Contains(s, "\x1b[2J") {
		t.Errorf("a dialog line reached the screen raw")
	}
}
