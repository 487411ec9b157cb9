package tui

// Comparing two messages: m marks the message under the cursor (in the
// pending, messages, DLQ and tail panes and the inspector), = on another
// opens the difference of their headers and decoded payloads. The mark
// lives in Common, so it stays while the operator moves between panes; a
// context switch drops it. Decoding goes through Common.Decoder (the
// decode seam) and the comparing through core/diff, so a new decoder
// needs nothing here.

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
	"github.com/mqscope/mqscope/core/diff"
)

// msgRef is a message to compare: its topic and id, and the record when
// the pane has it (the pending pane has ids only: the record is fetched
// when the diff opens).
type msgRef struct {
	topic, id string
	rec       *core.Record
}

func refOf(r core.Record) msgRef { return msgRef{topic: r.Topic, id: r.ID, rec: &r} }

func (r msgRef) same(o msgRef) bool { return r.id != "" && r.topic == o.topic && r.id == o.id }

// label names the message for a title or status line: "seq 42" on
// JetStream, else its id.
func (r msgRef) label() string {
	if r.rec != nil && r.rec.Seq > 0 && strconv.FormatUint(r.rec.Seq, 10) == r.id {
		return "seq " + r.id
	}
	return SanitizeString(r.id)
}

// markNote is the title's note while a message is marked.
func markNote(c *Common) string {
	if c.Mark == nil {
		return ""
	}
	return " [marked: " + c.Mark.label() + "]"
}

// markedHere is the id marked for a diff when it is in topic ("" if none).
func markedHere(c *Common, topic string) string {
	if c.Mark == nil || c.Mark.topic != topic {
		return ""
	}
	return c.Mark.id
}

// diffActions mark the message under the cursor and compare it with the
// marked one; cur is that message.
func diffActions(c *Common, cur func() (msgRef, bool)) []action {
	k := c.Keys
	return []action{
		act(k.Mark, needRow, func() tea.Cmd {
			r, ok := cur()
			if !ok {
				return nil
			}
			if c.Mark != nil && c.Mark.same(r) {
				c.Mark = nil
				return msgCmd(statusMsg{text: "diff mark cleared"})
			}
			c.Mark = &r
			return msgCmd(statusMsg{text: "marked " + r.label() + " for a diff: = on another message compares them"})
		}),
		act(k.Diff, needRow, func() tea.Cmd {
			r, ok := cur()
			if !ok {
				return nil
			}
			return msgCmd(diffMsg{ref: r})
		}),
	}
}

// diffMsg asks the root to compare ref with the marked message.
type diffMsg struct{ ref msgRef }

// diffReadyMsg is a comparison done off the UI loop.
type diffReadyMsg struct {
	gen, req uint64
	title    string
	lines    []string
	err      error
}

// startDiff checks there is something to compare and compares it in a
// command (fetching a record the pane did not have, decoding both).
func (m *Model) startDiff(ref msgRef) tea.Cmd {
	mk := m.com.Mark
	switch {
	case mk == nil:
		m.setErr(fmt.Errorf("diff: no message is marked: m on a message marks it, then = on another compares them"))
		return nil
	case mk.same(ref):
		m.setErr(fmt.Errorf("diff: %s is the marked message itself: = on another message compares them", ref.label()))
		return nil
	}
	m.diffReq++
	gen, req := m.com.Gen, m.diffReq
	a, b := *mk, ref
	st, dec := m.com.Styles, m.com.Decoder
	m.setStatus("comparing " + a.label() + " with " + b.label() + "…")
	return m.com.call(func(ctx context.Context, op *core.Operator) tea.Msg {
		ra, err := fetchRef(ctx, op, a)
		if err == nil {
			var rb core.Record
			if rb, err = fetchRef(ctx, op, b); err == nil {
				return diffReadyMsg{gen: gen, req: req, title: "Diff " + a.label() + " ↔ " + b.label(), lines: diffLines(st, dec, ra, rb)}
			}
		}
		return diffReadyMsg{gen: gen, req: req, err: fmt.Errorf("diff: %w", err)}
	})
}

func fetchRef(ctx context.Context, op *core.Operator, r msgRef) (core.Record, error) {
	if r.rec != nil {
		return *r.rec, nil
	}
	rec, err := op.Get(ctx, r.topic, r.id)
	if err != nil {
		return core.Record{}, fmt.Errorf("get %s in %s: %w", r.id, r.topic, err)
	}
	return rec, nil
}

func (m *Model) diffReady(msg diffReadyMsg) {
	if msg.gen != m.com.Gen || msg.req != m.diffReq {
		return
	}
	if msg.err != nil {
		m.setErr(msg.err)
		return
	}
	m.setStatus("")
	m.layers.remove(layerDiff)
	m.layers.push(layer{kind: layerDiff, diff: &diffView{com: m.com, title: msg.title, lines: msg.lines}})
	m.layout()
}

// diffLines is the comparison of a (the marked message) with b, drawn:
// who is who, the header changes, then the payload changes, structural
// when both payloads decoded to documents, a line diff otherwise. Every
// broker byte passes Sanitize; +/-/~ prefixes carry the meaning without
// colour.
func diffLines(st Styles, dec decode.Decoder, a, b core.Record) []string {
	var ls []string
	who := func(tag string, r core.Record, note string) {
		s := tag + "  " + SanitizeString(r.ID) + st.Dot + SanitizeString(recordSubject(r))
		if !r.Time.IsZero() {
			s += st.Dot + r.Time.UTC().Format("2006-01-02 15:04:05.000")
		}
		ls = append(ls, s+note)
	}
	who(st.Error.Render("-")+" A", a, st.Dim.Render(" (marked)"))
	who(st.Info.Render("+")+" B", b, "")
	del := func(s string) string { return st.Error.Render("- " + s) }
	ins := func(s string) string { return st.Info.Render("+ " + s) }
	chg := func(s string) string { return st.StateWarn.Render("~ " + s) }
	mark := func(k diff.Kind) func(string) string {
		switch k {
		case diff.Added:
			return ins
		case diff.Removed:
			return del
		}
		return chg
	}

	ls = append(ls, "", st.ColHeader.Render("HEADERS"))
	hs := diff.Headers(a.Header, b.Header)
	if len(hs) == 0 {
		ls = append(ls, st.Dim.Render("  identical"))
	}
	for _, h := range hs {
		ls = append(ls, mark(h.Kind)(SanitizeString(h.String())))
	}

	rep := diff.Messages(a, b, dec)
	how := "line diff"
	if rep.Structural {
		how = "structural"
	}
	ls = append(ls, "", st.ColHeader.Render("PAYLOAD")+" "+st.Dim.Render(SanitizeString(formatName(rep.A)+" ↔ "+formatName(rep.B))+st.Dot+how))
	for _, r := range []struct {
		tag string
		d   decode.Result
	}{{"A", rep.A}, {"B", rep.B}} {
		if r.d.Err != nil {
			ls = append(ls, st.Error.Render(trunc("  "+r.tag+" did not decode: "+SanitizeString(r.d.Err.Error()), 200)))
		}
	}
	if rep.Structural {
		for _, c := range rep.Values.Changes {
			ls = append(ls, mark(c.Kind)(SanitizeString(c.String())))
		}
		if n := rep.Values.More; n > 0 {
			ls = append(ls, st.Dim.Render(fmt.Sprintf("… and %d more changes", n)))
		}
	} else {
		for _, n := range rep.Text.Notes {
			ls = append(ls, st.Dim.Render("  ("+n+")"))
		}
		for _, h := range rep.Text.Hunks {
			ls = append(ls, st.Dim.Render(h.Header()))
			for _, l := range h.Lines {
				t := Sanitize([]byte(l.Text), true)
				switch l.Op {
				case diff.Del:
					ls = append(ls, del(t))
				case diff.Ins:
					ls = append(ls, ins(t))
				default:
					ls = append(ls, "  "+t)
				}
			}
		}
	}
	switch {
	case rep.PayloadEqual() && rep.SameBytes:
		ls = append(ls, st.Dim.Render("  identical"))
	case !rep.Structural && rep.Text.Equal() && len(rep.Text.Notes) > 0:
		ls = append(ls, st.Dim.Render("  no difference in the part compared"))
	case rep.PayloadEqual() || (!rep.Structural && rep.Text.Equal()):
		ls = append(ls, st.Dim.Render("  the same once decoded (the bytes differ: spacing, key order, number spelling or a final newline)"))
	}
	return ls
}

func formatName(r decode.Result) string {
	if r.Format == "" {
		return "?"
	}
	return r.Format
}

// diffView is the comparison, drawn over the panes (and the inspector)
// and scrolled like the inspector; esc closes it.
type diffView struct {
	com    *Common
	title  string
	lines  []string
	shown  []string // lines wrapped at the width (a long path or value is never cut)
	w, h   int
	offset int
}

func (d *diffView) SetSize(w, h int) {
	if w != d.w || d.shown == nil {
		d.shown = d.shown[:0]
		for _, l := range d.lines {
			d.shown = append(d.shown, strings.Split(ansi.Hardwrap(l, max(w, 8), true), "\n")...)
		}
	}
	d.w, d.h = w, h
	d.clamp()
}

func (d *diffView) Title() string {
	if len(d.shown) <= d.h || d.h <= 0 {
		return d.title
	}
	return fmt.Sprintf("%s (lines %d-%d of %d)", d.title, d.offset+1, min(d.offset+d.h, len(d.shown)), len(d.shown))
}

func (d *diffView) Actions() []action {
	k := d.com.Keys
	return []action{shown(k.Back), shown(k.Up), shown(k.Down), shown(k.PageDown), shown(k.PageUp)}
}

func (d *diffView) has(need) bool { return true }

func (d *diffView) clamp() { d.offset = clampInt(d.offset, 0, max(0, len(d.shown)-d.h)) }

func (d *diffView) key(msg keyMsg) (closed bool) {
	k := d.com.Keys
	switch {
	case matches(msg, k.Up):
		d.offset--
	case matches(msg, k.Down):
		d.offset++
	case matches(msg, k.PageUp):
		d.offset -= d.h
	case matches(msg, k.PageDown), msg.String() == "space":
		d.offset += d.h
	case matches(msg, k.Top):
		d.offset = 0
	case matches(msg, k.Bottom):
		d.offset = len(d.shown)
	case matches(msg, k.Back), matches(msg, k.Quit), matches(msg, d.com.Keys.Diff):
		return true
	}
	d.clamp()
	return false
}

func (d *diffView) View() []string {
	end := min(d.offset+d.h, len(d.shown))
	out := make([]string, 0, d.h)
	for _, l := range d.shown[d.offset:end] {
		out = append(out, trunc(l, d.w))
	}
	return out
}

// diffShown is the open comparison, nil when none is.
func (m *Model) diffShown() *diffView {
	for _, l := range m.layers.stack {
		if l.kind == layerDiff {
			return l.diff
		}
	}
	return nil
}
