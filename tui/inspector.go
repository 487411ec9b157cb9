package tui

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
)

// inspector shows one message: metadata, headers and the payload (pretty
// JSON, text, or a hex dump for binary), all through Sanitize.
type inspector struct {
	com    *Common
	rec    core.Record
	meta   inspectMeta
	w, h   int
	offset int
	lines  []string
	// body is a large payload, paged: only the lines on screen are
	// formatted (nil: the payload is in lines)
	body *pagedPayload
	// raw shows the payload as a hex dump rather than decoded (the
	// ViewRaw key toggles it).
	raw bool
}

// lazyPayload is the size from which the inspector pages the payload
// instead of formatting all of it when it opens.
const lazyPayload = 256 << 10

func newInspector(c *Common, r core.Record, m inspectMeta) *inspector {
	in := &inspector{com: c, rec: r, meta: m}
	in.lines = in.build()
	return in
}

// total is how many lines the inspector has.
func (in *inspector) total() int {
	if in.body != nil {
		return len(in.lines) + in.body.count()
	}
	return len(in.lines)
}

func (in *inspector) Title() string {
	return "Message " + SanitizeString(in.rec.ID) + in.com.Styles.Dot + SanitizeString(orStr(in.rec.Subject, in.rec.Topic)) + markNote(in.com)
}

func (in *inspector) SetSize(w, h int) {
	rebuild := w != in.w && in.body == nil
	in.w, in.h = w, h
	if rebuild {
		// a decode error wraps at the width
		in.lines = in.build()
	}
	if in.body != nil {
		in.body.setWidth(w)
	}
	in.clamp()
}

// Actions are the inspector's own (copy) and every row action of the pane
// the message came from, on this one message.
func (in *inspector) Actions() []action {
	k := in.com.Keys
	r := in.rec
	as := []action{
		shown(k.Back), shown(k.Up), shown(k.Down),
		act(k.CopyPayload, needNothing, func() tea.Cmd {
			// OSC 52 through Bubble Tea: works over SSH; the bytes travel
			// base64-encoded, so nothing in them reaches the terminal raw.
			return tea.Batch(tea.SetClipboard(string(r.Data)),
				msgCmd(statusMsg{text: fmt.Sprintf("copied payload (%d bytes) to the clipboard", len(r.Data))}))
		}),
		act(k.CopyID, needNothing, func() tea.Cmd {
			return tea.Batch(tea.SetClipboard(r.ID), msgCmd(statusMsg{text: "copied id " + r.ID}))
		}),
		act(k.CopyJSON, needNothing, func() tea.Cmd {
			// The envelope `mqscope pub --from` replays, byte for byte
			// (with format and decoded, which it ignores).
			env := decode.Envelope(in.com.Decoder, r).AppendJSON(nil)
			return tea.Batch(tea.SetClipboard(string(env)),
				msgCmd(statusMsg{text: fmt.Sprintf("copied the message as JSON (%d bytes) to the clipboard", len(env))}))
		}),
	}
	s := in.meta.Scope
	if s.topic == "" {
		s.topic = r.Topic
	}
	as = append(as, messageActions(in.com, s, func() []string { return []string{r.ID} }, func() core.Record { return r })...)
	as = append(as, diffActions(in.com, func() (msgRef, bool) { return refOf(r), true })...)
	return append(as, act(k.ViewRaw, needNothing, func() tea.Cmd {
		in.raw = !in.raw
		in.lines = in.build()
		in.clamp()
		return nil
	}))
}

// has: the inspector's one message is its row and its selection.
func (in *inspector) has(need) bool { return true }

func orStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// payloadKind names how the payload is shown.
func payloadKind(data []byte) string {
	switch {
	case len(data) == 0:
		return "empty"
	case json.Valid(data):
		return "json"
	case utf8.Valid(data) && printableRatio(data) > 0.9:
		return "text"
	default:
		return "binary"
	}
}

func printableRatio(b []byte) float64 {
	n := 0
	for _, c := range string(b) {
		if c >= 0x20 || c == '\n' || c == '\t' {
			n++
		}
	}
	return float64(n) / float64(utf8.RuneCount(b))
}

func (in *inspector) build() []string {
	st := in.com.Styles
	r := in.rec
	var ls []string
	kv := func(k, v string) {
		if v == "" {
			return
		}
		ls = append(ls, st.HeaderKey.Render(fmt.Sprintf("%-12s", k))+" "+v)
	}
	kv("topic", SanitizeString(r.Topic))
	if r.Subject != "" && r.Subject != r.Topic {
		kv("subject", SanitizeString(r.Subject))
	}
	kv("id", SanitizeString(r.ID))
	if r.Seq > 0 {
		kv("sequence", strconv.FormatUint(r.Seq, 10))
	}
	if !r.Time.IsZero() {
		kv("time", r.Time.UTC().Format("2006-01-02 15:04:05.000 UTC"))
	}
	size := r.Size
	if size == 0 {
		size = len(r.Data)
	}
	var kind string
	var decoded []string
	if len(r.Data) > lazyPayload {
		in.body = newPagedPayload(r.Data, in.w)
		kind = in.body.kind()
	} else {
		kind = payloadKind(r.Data)
		if res, ok := decodeRecord(in.com.Decoder, r, lazyPayload); ok {
			if lines, k, ok := decodedLines(res, r.Data, in.w); ok {
				decoded, kind = lines, k
			}
		}
		if in.raw && len(r.Data) > 0 {
			decoded, kind = nil, strings.TrimSuffix(kind, ", shown as JSON")+"; raw: hex"
		}
	}
	kv("size", fmt.Sprintf("%d bytes (%s)", size, kind))
	if size > len(r.Data) {
		kv("", fmt.Sprintf("showing the first %d bytes", len(r.Data)))
	}
	kv("group", SanitizeString(in.meta.Scope.group))
	kv("owner", SanitizeString(in.meta.Owner))
	if in.meta.Deliveries > 0 {
		kv("deliveries", strconv.Itoa(in.meta.Deliveries))
	}
	kv("idle", in.meta.Idle)
	if len(r.Header) > 0 {
		ls = append(ls, "", st.ColHeader.Render("HEADERS"))
		for _, k := range r.Header.Keys() {
			for _, v := range r.Header[k] {
				ls = append(ls, "  "+st.JSONKey.Render(SanitizeString(k))+": "+SanitizeString(v))
			}
		}
	}
	ls = append(ls, "", st.ColHeader.Render("PAYLOAD"))
	if in.body != nil {
		return ls
	}
	if decoded != nil {
		return append(ls, decoded...)
	}
	if in.raw && len(r.Data) > 0 {
		kind = "binary"
	}
	switch kind {
	case "empty":
		ls = append(ls, st.Dim.Render("(empty)"))
	case "json":
		var buf bytes.Buffer
		if json.Indent(&buf, r.Data, "", "  ") == nil {
			ls = append(ls, strings.Split(Sanitize(buf.Bytes(), true), "\n")...)
		}
	case "text":
		ls = append(ls, strings.Split(Sanitize(r.Data, true), "\n")...)
	default:
		// hex.Dump's text column shows printable ASCII only, so it is safe
		ls = append(ls, strings.Split(strings.TrimRight(hex.Dump(r.Data), "\n"), "\n")...)
	}
	return ls
}

func (in *inspector) clamp() {
	max := in.total() - in.h
	if in.offset > max {
		in.offset = max
	}
	if in.offset < 0 {
		in.offset = 0
	}
}

func (in *inspector) Update(msg tea.Msg) tea.Cmd {
	m, ok := msg.(keyMsg)
	if !ok {
		return nil
	}
	k := in.com.Keys
	switch {
	case matches(m, k.Up):
		in.offset--
	case matches(m, k.Down):
		in.offset++
	case matches(m, k.PageUp):
		in.offset -= in.h
	case matches(m, k.PageDown):
		in.offset += in.h
	case matches(m, k.Top):
		in.offset = 0
	case matches(m, k.Bottom):
		in.offset = in.total()
	}
	in.clamp()
	return nil
}

func (in *inspector) View() []string {
	end := min(in.offset+in.h, in.total())
	out := make([]string, 0, in.h)
	for i := in.offset; i < end; i++ {
		if i < len(in.lines) {
			out = append(out, trunc(in.lines[i], in.w))
		} else {
			out = append(out, trunc(in.body.line(i-len(in.lines)), in.w))
		}
	}
	return out
}
