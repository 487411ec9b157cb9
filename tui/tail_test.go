package tui

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
)

func tailWith(t *testing.T, ring, keep int) (*tailPane, *core.Tail) {
	t.Helper()
	c := newCommon(Options{Theme: "dark"})
	c.Now = func() time.Time { return fixedNow }
	p := newTailPane(c, keep)
	p.SetSize(60, 5)
	p.pattern = "orders"
	p.tail = core.NewTail(ring)
	return p, p.tail
}

func push(tl *core.Tail, from, n int) {
	for i := from; i < from+n; i++ {
		tl.Push(core.Record{Topic: "orders", ID: itoa(i), Data: []byte(`{"i":` + itoa(i) + `}`), Time: fixedNow})
	}
}

func visibleIDs(p *tailPane) []string {
	var out []string
	for _, l := range p.View(true) {
		if f := strings.Fields(ansi.Strip(l)); len(f) >= 3 {
			out = append(out, f[2])
		}
	}
	return out
}

// TestTailBatchesBoundsAndDrops: the ring buffer takes a burst without
// blocking, drops the oldest when the UI is behind (counted), the view
// keeps at most TailBuffer records and renders only the visible lines.
func TestTailBatchesBoundsAndDrops(t *testing.T) {
	p, tl := tailWith(t, 100, 50)
	push(tl, 0, 130) // 30 more than the ring holds
	p.drain(fixedNow)
	if p.dropped != 30 {
		t.Errorf("dropped = %d, want 30", p.dropped)
	}
	if len(p.recs) != 50 || p.recs[0].ID != "80" || p.base != 50 {
		t.Errorf("kept %d records from %s (base %d), want 50 from 80", len(p.recs), p.recs[0].ID, p.base)
	}
	if got := visibleIDs(p); strings.Join(got, ",") != "125,126,127,128,129" {
		t.Errorf("visible %v, want the last five", got)
	}
	if !strings.Contains(p.Title(), "dropped 30") {
		t.Errorf("title %q does not show the drops", p.Title())
	}
	// a clear resets the view and the drop counter shown
	pressKey(p.com, p, tea.KeyPressMsg{Code: 'C', Text: "C"})
	if len(p.recs) != 0 || p.dropped != 0 {
		t.Errorf("after clear: %d records, dropped %d", len(p.recs), p.dropped)
	}
}

func TestTailPauseScrollFilter(t *testing.T) {
	p, tl := tailWith(t, 100, 100)
	push(tl, 0, 10)
	p.drain(fixedNow)
	pressKey(p.com, p, tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}) // pause
	push(tl, 10, 5)
	p.drain(fixedNow)
	if got := visibleIDs(p); got[len(got)-1] != "9" {
		t.Errorf("paused view moved on to %v", got)
	}
	if !strings.Contains(p.Title(), "PAUSED +5 new") || !strings.Contains(p.Title(), "15 received") {
		t.Errorf("title %q does not say paused, 5 new, 15 received", p.Title())
	}
	pressKey(p.com, p, tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}) // resume
	if got := visibleIDs(p); got[len(got)-1] != "14" {
		t.Errorf("resumed view ends at %v", got)
	}
	// f while paused resumes following (not: toggles follow off, paused)
	pressKey(p.com, p, tea.KeyPressMsg{Code: tea.KeySpace, Text: " "})
	pressKey(p.com, p, tea.KeyPressMsg{Code: 'f', Text: "f"})
	if p.paused || !p.follow {
		t.Errorf("f while paused: paused %v follow %v, want following", p.paused, p.follow)
	}
	// scroll back: up three from the end leaves follow
	for i := 0; i < 3; i++ {
		pressKey(p.com, p, tea.KeyPressMsg{Code: tea.KeyUp})
	}
	push(tl, 15, 5)
	p.drain(fixedNow)
	if r, _ := p.selectedRecord(); r.ID != "11" || p.follow {
		t.Errorf("scrolled-back cursor on %s (follow %v), want 11 and no follow", r.ID, p.follow)
	}
	pressKey(p.com, p, tea.KeyPressMsg{Code: 'f', Text: "f"})
	if r, _ := p.selectedRecord(); r.ID != "19" || !p.follow {
		t.Errorf("follow: cursor on %s, want 19", r.ID)
	}
	f, _ := ParseFilter("i=7")
	p.SetFilter(f)
	if got := visibleIDs(p); len(got) != 1 || got[0] != "7" {
		t.Errorf("filtered view %v, want [7]", got)
	}
	// wrap: a long payload takes several lines, still within the height
	p.SetFilter(Filter{})
	tl.Push(core.Record{Topic: "orders", ID: "long", Data: []byte(strings.Repeat("x", 200))})
	p.drain(fixedNow)
	pressKey(p.com, p, tea.KeyPressMsg{Code: 'w', Text: "w"})
	lines := p.View(true)
	if len(lines) != 5 || !strings.HasPrefix(ansi.Strip(lines[4]), "xxxx") {
		t.Errorf("wrapped view: %q", lines)
	}
	// timestamps off
	pressKey(p.com, p, tea.KeyPressMsg{Code: 't', Text: "t"})
	pressKey(p.com, p, tea.KeyPressMsg{Code: 'w', Text: "w"})
	if l := ansi.Strip(p.View(true)[0]); regexp.MustCompile(`^\d\d:\d\d`).MatchString(l) {
		t.Errorf("timestamps still shown: %q", l)
	}
}

func TestTailSaveJSONL(t *testing.T) {
	p, tl := tailWith(t, 100, 100)
	push(tl, 0, 3)
	tl.Push(core.Record{Topic: "orders", ID: "bin", Data: []byte{0xff, 0x00, 0x1b}, Header: core.Header{"K": {"v"}}})
	p.drain(fixedNow)
	path := filepath.Join(t.TempDir(), "tail.jsonl")
	msg := saveJSONL(path, p.snapshot(), decode.JSONOrText)()
	if sm := msg.(savedMsg); sm.err != nil || sm.n != 4 {
		t.Fatalf("save: %+v", sm)
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	// Each line is a core.Envelope that gives the record back byte for byte.
	var got []core.Record
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		var e core.Envelope
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		r, err := e.Record()
		if err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, r)
	}
	if len(got) != 4 || string(got[0].Data) != `{"i":0}` || !bytes.Equal(got[3].Data, []byte{0xff, 0x00, 0x1b}) || got[3].Header.Get("K") != "v" {
		t.Errorf("saved %+v", got)
	}
	// saving never overwrites an existing file
	if sm := saveJSONL(path, p.snapshot(), decode.JSONOrText)().(savedMsg); sm.err == nil {
		t.Error("save overwrote an existing file")
	}
}

// TestNoColor: with NoColor no colour reaches the screen; meaning is
// carried by bold/reverse.
func TestNoColor(t *testing.T) {
	m := viewModel(t, false)
	m.com.Styles = Theme("dark", true, true)
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
	out := m.render()
	if regexp.MustCompile(`\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7]|10[0-7])(;|m)`).MatchString(out) {
		t.Errorf("colour SGR in a NoColor screen: %q", out[:200])
	}
	if !strings.Contains(out, "\x1b[") {
		t.Error("no attributes at all: selection would be invisible")
	}
	if strings.ContainsAny(ansi.Strip(out), "╭╮╰╯│─") {
		t.Error("ASCII mode still draws box characters")
	}
}

func TestTailEnterInspects(t *testing.T) {
	p, tl := tailWith(t, 10, 10)
	push(tl, 0, 3)
	p.drain(fixedNow)
	pressKey(p.com, p, tea.KeyPressMsg{Code: tea.KeyUp})
	cmd := pressKey(p.com, p, tea.KeyPressMsg{Code: tea.KeyEnter})
	if cmd == nil {
		t.Fatal("enter did nothing")
	}
	im, ok := cmd().(inspectMsg)
	if !ok || im.rec.ID != "1" {
		t.Errorf("enter gave %#v, want an inspector on record 1", im)
	}
}

func TestInspectorStaleFetchDropped(t *testing.T) {
	m := viewModel(t, false)
	m.Update(fetchInspectMsg{topic: "orders", id: "a"})
	first := m.inspectReq
	m.Update(fetchInspectMsg{topic: "orders", id: "b"})
	m.Update(recordMsg{gen: m.com.Gen, req: first, rec: core.Record{ID: "a"}})
	if m.inspecting() != nil {
		t.Fatal("a stale message fetch opened the inspector")
	}
	m.Update(recordMsg{gen: m.com.Gen, req: m.inspectReq, rec: core.Record{ID: "b"}})
	if m.inspecting() == nil || m.inspecting().rec.ID != "b" {
		t.Fatal("the current fetch did not open the inspector")
	}
}
