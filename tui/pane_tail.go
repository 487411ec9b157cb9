package tui

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
)

// drainMax bounds how many messages one tick takes from the ring buffer,
// so a firehose cannot make one frame slow; the rest waits for the next
// tick (and the ring drops the oldest, counted, if it fills).
const drainMax = 5000

// tailPane follows a topic or pattern. The backend fills a core.Tail ring
// buffer off the UI loop; the root model's ~40 ms tick drains it here.
type tailPane struct {
	com    *Common
	w, h   int
	filter Filter

	pattern  string
	tail     *core.Tail
	req      uint64
	err      error
	starting bool

	cap  int
	recs []core.Record // bounded to cap
	// previews[i] is recs[i]'s payload preview, made once, when first
	// drawn ("" until then): a frame never reads a whole payload again
	previews []string
	base     int   // absolute index of recs[0]
	matches  []int // absolute indices of records passing the filter

	// a jq filter: qNext is the absolute index of the first record not
	// yet handed to it; qSkipped counts records that left the buffer
	// before it could judge them
	qr       queryRun
	qNext    int
	qSkipped int

	cursor int // absolute index of the selected record (-1: follow the end)
	follow bool
	paused bool
	// pausedAt is the received count when the pause began ("+N new")
	pausedAt uint64
	frozen   int // with paused: records at or after this absolute index are hidden
	wrap     bool
	stamps   bool
	// subjW is the widest subject seen (capped), so payloads line up.
	subjW int

	received  uint64 // shown
	dropped   uint64
	cleared   uint64 // dropped count at the last clear
	rate      float64
	lastCount uint64
	lastAt    time.Time
}

func newTailPane(c *Common, capacity int) *tailPane {
	if capacity <= 0 {
		capacity = 10000
	}
	return &tailPane{com: c, cap: capacity, follow: true, stamps: true, cursor: -1, qr: queryRun{to: queryToTail}}
}

func (p *tailPane) Title() string {
	t := "4 Tail"
	if p.pattern != "" {
		t += p.com.Styles.Dot + SanitizeString(p.pattern)
	}
	state := []string{}
	if p.paused {
		state = append(state, fmt.Sprintf("PAUSED +%d new", p.received-p.pausedAt))
	} else if p.follow {
		state = append(state, "follow")
	}
	if p.tail != nil {
		state = append(state, fmt.Sprintf("%s msg/s", fmtRate(p.rate)), fmt.Sprintf("%d received", p.received))
	}
	if p.dropped > 0 {
		state = append(state, fmt.Sprintf("dropped %d", p.dropped))
	}
	if len(state) > 0 {
		t += " [" + strings.Join(state, p.com.Styles.Dot) + "]"
	}
	if !p.filter.Empty() {
		t += " /" + SanitizeString(p.filter.Raw)
	}
	if p.filter.Query() != nil {
		t += p.qr.note(p.base + len(p.recs) - max(p.qNext, p.base))
		if p.qSkipped > 0 {
			t += fmt.Sprintf(" [jq: %d left the buffer unjudged]", p.qSkipped)
		}
	}
	return t + markNote(p.com)
}

func (p *tailPane) SetSize(w, h int) { p.w, p.h = w, h }
func (p *tailPane) Filter() Filter   { return p.filter }
func (p *tailPane) SetFilter(f Filter) {
	p.filter = f
	p.matches = p.matches[:0]
	p.qr.reset()
	p.qNext, p.qSkipped = p.base, 0
	if f.Query() != nil {
		return // queryNext evaluates it, off the UI loop
	}
	for i, r := range p.recs {
		if f.MatchDecoded(p.com.Decoder, r) {
			p.matches = append(p.matches, p.base+i)
		}
	}
}

func (p *tailPane) Actions() []action {
	k := p.com.Keys
	r, _ := p.selectedRecord()
	as := []action{
		send(k.Enter, needRow, func() tea.Msg { return inspectMsg{rec: r} }),
		shown(k.Up), shown(k.Down),
		act(k.TailPause, needNothing, func() tea.Cmd {
			p.paused = !p.paused
			if p.paused {
				p.frozen, p.pausedAt = p.base+len(p.recs), p.received
			}
			return nil
		}),
		act(k.TailFollow, needNothing, func() tea.Cmd {
			if p.paused { // follow means: show me what is arriving now
				p.paused = false
				p.setFollow(true)
				return nil
			}
			p.setFollow(!p.follow)
			return nil
		}),
		act(k.TailWrap, needNothing, func() tea.Cmd { p.wrap = !p.wrap; return nil }),
		act(k.TailTime, needNothing, func() tea.Cmd { p.stamps = !p.stamps; return nil }),
		act(k.TailClear, needNothing, func() tea.Cmd { p.clear(); return nil }),
		act(k.TailSave, needNothing, func() tea.Cmd {
			if len(p.recs) == 0 {
				return msgCmd(statusMsg{err: fmt.Errorf("tail: nothing to save")})
			}
			return msgCmd(pushDialogMsg{d: newSaveDialog(p.com, p.snapshot(), defaultSavePath(p.pattern, p.com.Now()))})
		}),
	}
	as = append(as, messageActions(p.com, msgScope{kind: scopeTail}, nil, func() core.Record { return r })...)
	return append(as, diffActions(p.com, func() (msgRef, bool) { r, ok := p.selectedRecord(); return refOf(r), ok })...)
}

func (p *tailPane) has(n need) bool {
	_, ok := p.selectedRecord()
	return n == needNothing || ok
}

func (p *tailPane) setFollow(on bool) {
	p.follow = on
	if on {
		p.cursor = -1
	}
}

// stop ends the running tail (context switch, new pattern, quit).
func (p *tailPane) stop() {
	if p.tail != nil {
		p.tail.Stop()
		p.tail = nil
	}
}

// Running reports a tail being followed (the UI ticks fast to drain it).
func (p *tailPane) Running() bool { return p.tail != nil }

// SetBuffer sets how many records the next tail keeps.
func (p *tailPane) SetBuffer(n int) { p.cap = n }

// Loading: a tail is being started.
func (p *tailPane) Loading() bool { return p.starting }

// RefreshErr: a tail is not polled (a failed start is said on the status
// line: the operator asked for it).
func (p *tailPane) RefreshErr() error { return nil }

// refresh: a tail is pushed, not polled.
func (p *tailPane) refresh() tea.Cmd { return nil }

func (p *tailPane) reset() {
	p.stop()
	p.req++
	p.pattern, p.err, p.starting = "", nil, false
	p.clear()
	p.received, p.dropped, p.cleared = 0, 0, 0
}

func (p *tailPane) clear() {
	p.recs, p.previews, p.matches = nil, nil, nil
	p.base = 0
	p.qr.reset()
	p.qNext, p.qSkipped = 0, 0
	p.cursor = -1
	p.follow, p.paused = true, false
	if p.tail != nil {
		p.cleared = p.tail.Dropped()
	}
	p.dropped = 0
}

// start follows pattern (stopping any previous tail).
func (p *tailPane) start(pattern string) tea.Cmd { return p.startFrom(pattern, core.StartNew()) }

// startFrom follows pattern from a position (new, last:N, a time, ...).
func (p *tailPane) startFrom(pattern string, from core.Position) tea.Cmd {
	if pattern == "" || p.com.Op == nil {
		return nil
	}
	p.stop()
	p.clear()
	p.received = 0
	p.cleared = 0
	p.pattern = pattern
	p.err = nil
	p.starting = true
	p.req++
	req, gen, op, base, timeout, capacity := p.req, p.com.Gen, p.com.Op, p.com.Ctx, p.com.Timeout, p.cap
	return func() tea.Msg {
		type res struct {
			t   *core.Tail
			err error
		}
		ch := make(chan res, 1)
		go func() {
			// the tail lives as long as the program context (Stop ends it)
			t, err := op.Tail(base, core.TailQuery{Pattern: pattern, From: from, Buffer: capacity})
			ch <- res{t, err}
		}()
		select {
		case r := <-ch:
			return tailStartedMsg{gen: gen, req: req, pattern: pattern, tail: r.t, err: r.err}
		case <-time.After(timeout):
			go func() {
				if r := <-ch; r.t != nil {
					r.t.Stop()
				}
			}()
			return tailStartedMsg{gen: gen, req: req, pattern: pattern, err: fmt.Errorf("tail %s: %w", pattern, context.DeadlineExceeded)}
		}
	}
}

// drain moves what the ring buffer holds into the view (called on tick).
func (p *tailPane) drain(now time.Time) {
	if p.tail == nil {
		return
	}
	p.appendRecords(p.tail.Drain(drainMax))
	p.dropped = p.tail.Dropped() - p.cleared
	if p.lastAt.IsZero() {
		p.lastAt, p.lastCount = now, p.tail.Received()
	} else if dt := now.Sub(p.lastAt); dt >= time.Second {
		n := p.tail.Received()
		p.rate = float64(n-p.lastCount) / dt.Seconds()
		p.lastAt, p.lastCount = now, n
	}
}

func (p *tailPane) appendRecords(rs []core.Record) {
	for _, r := range rs {
		p.received++
		abs := p.base + len(p.recs)
		p.recs = append(p.recs, r)
		p.previews = append(p.previews, "") // made when first drawn (line)
		if w := ansi.StringWidth(SanitizeString(recordSubject(r))); w > p.subjW {
			p.subjW = min(w, maxSubjectWidth)
		}
		if p.filter.Query() == nil && p.filter.MatchDecoded(p.com.Decoder, r) {
			p.matches = append(p.matches, abs)
		}
	}
	if over := len(p.recs) - p.cap; over > 0 {
		// keep the slice from growing: copy down when it doubled
		p.recs = p.recs[over:]
		p.previews = p.previews[over:]
		p.base += over
		i := 0
		for i < len(p.matches) && p.matches[i] < p.base {
			i++
		}
		p.matches = p.matches[i:]
		if cap(p.recs) > 2*p.cap {
			p.recs = append([]core.Record(nil), p.recs...)
			p.previews = append([]string(nil), p.previews...)
			p.matches = append([]int(nil), p.matches...)
		}
		if p.cursor >= 0 && p.cursor < p.base {
			p.cursor = p.base
		}
	}
}

func (p *tailPane) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tailStartedMsg:
		if msg.req != p.req {
			if msg.tail != nil {
				msg.tail.Stop()
			}
			return nil
		}
		p.starting = false
		if msg.err != nil {
			p.err = msg.err
			return msgCmd(statusMsg{err: fmt.Errorf("tail %s: %w", msg.pattern, msg.err)})
		}
		p.tail = msg.tail
		p.lastAt = time.Time{}
	case queryBatchMsg:
		return p.queryDone(msg)
	case keyMsg:
		return p.key(msg)
	}
	return nil
}

// queryNext hands the records the jq filter has not seen to a batch off
// the UI loop (one batch at a time; the tick and each answer call it).
func (p *tailPane) queryNext() tea.Cmd {
	q := p.filter.Query()
	if q == nil || p.qr.busy {
		return nil
	}
	if p.qNext < p.base {
		p.qSkipped += p.base - p.qNext
		p.qNext = p.base
	}
	n := min(p.base+len(p.recs)-p.qNext, queryBatchMax)
	if n <= 0 {
		return nil
	}
	from := p.qNext
	recs := append([]core.Record(nil), p.recs[from-p.base:from-p.base+n]...)
	return p.qr.start(p.com, q, from, n, matchRecordFunc(p.com, q, recs))
}

func (p *tailPane) queryDone(msg queryBatchMsg) tea.Cmd {
	fresh, status := p.qr.done(msg)
	if !fresh {
		return nil
	}
	for i, ok := range msg.ok {
		if abs := msg.from + i; ok && abs >= p.base {
			p.matches = append(p.matches, abs)
		}
	}
	p.qNext = msg.from + len(msg.ok)
	return tea.Batch(status, p.queryNext())
}

// visible returns the matches that may be shown (paused hides newer ones).
func (p *tailPane) visible() []int {
	if !p.paused {
		return p.matches
	}
	n := len(p.matches)
	for n > 0 && p.matches[n-1] >= p.frozen {
		n--
	}
	return p.matches[:n]
}

func (p *tailPane) cursorPos(vis []int) int {
	if p.follow || p.cursor < 0 {
		return len(vis) - 1
	}
	for i, a := range vis {
		if a >= p.cursor {
			return i
		}
	}
	return len(vis) - 1
}

func (p *tailPane) selectedRecord() (core.Record, bool) {
	vis := p.visible()
	i := p.cursorPos(vis)
	if i < 0 || i >= len(vis) {
		return core.Record{}, false
	}
	return p.recs[vis[i]-p.base], true
}

func (p *tailPane) key(msg keyMsg) tea.Cmd {
	k := p.com.Keys
	vis := p.visible()
	pos := p.cursorPos(vis)
	moveTo := func(i int) {
		if len(vis) == 0 {
			return
		}
		if i < 0 {
			i = 0
		}
		if i >= len(vis)-1 {
			i = len(vis) - 1
		}
		p.cursor = vis[i]
		p.follow = i == len(vis)-1 && !p.paused && p.follow
	}
	page := p.h - 1
	if page < 1 {
		page = 1
	}
	switch {
	case matches(msg, k.Up):
		p.follow = false
		moveTo(pos - 1)
	case matches(msg, k.Down):
		moveTo(pos + 1)
	case matches(msg, k.PageUp):
		p.follow = false
		moveTo(pos - page)
	case matches(msg, k.PageDown):
		moveTo(pos + page)
	case matches(msg, k.Top):
		p.follow = false
		moveTo(0)
	case matches(msg, k.Bottom):
		p.setFollow(true)
	}
	return nil
}

// snapshot copies the visible records for saving (the copy is what the
// save command reads; the view keeps changing).
func (p *tailPane) snapshot() []core.Record {
	vis := p.visible()
	out := make([]core.Record, len(vis))
	for i, a := range vis {
		out[i] = p.recs[a-p.base]
	}
	return out
}

// line is record abs (an absolute index) as the tail shows it.
func (p *tailPane) line(abs int) string {
	r := p.recs[abs-p.base]
	var sb strings.Builder
	if mk := p.com.Mark; mk != nil && mk.same(refOf(r)) {
		sb.WriteString("= ") // marked for a diff
	}
	if p.stamps {
		sb.WriteString(stamp(r.Time))
		sb.WriteByte(' ')
	}
	subj := SanitizeString(recordSubject(r))
	sb.WriteString(subj)
	if pad := p.subjW - ansi.StringWidth(subj); pad > 0 {
		sb.WriteString(strings.Repeat(" ", pad))
	}
	if r.ID != "" {
		sb.WriteByte(' ')
		sb.WriteString(SanitizeString(r.ID))
	}
	sb.WriteString("  ")
	pv := p.previews[abs-p.base]
	if pv == "" && len(r.Data) > 0 {
		// Made when first drawn, not on arrival: on a firehose most
		// records are never on screen, and decoding them (protobuf,
		// msgpack) would cost the UI loop for nothing.
		pv = decodedPreview(p.com.Decoder, r)
		p.previews[abs-p.base] = pv
	}
	sb.WriteString(pv)
	return sb.String()
}

// maxSubjectWidth caps the subject column; longer subjects push their
// payload right rather than widening every line.
const maxSubjectWidth = 32

func recordSubject(r core.Record) string {
	if r.Subject != "" {
		return r.Subject
	}
	return r.Topic
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "--:--:--.---"
	}
	return t.UTC().Format("15:04:05.000")
}

// View renders only the lines that fit, walking back from the cursor.
func (p *tailPane) View(focused bool) []string {
	st := p.com.Styles
	if p.pattern == "" {
		return []string{st.Dim.Render("tail: t on a topic, enter on a topic, or :tail PATTERN")}
	}
	if p.err != nil && p.tail == nil {
		return []string{st.Error.Render(trunc(SanitizeString(p.err.Error()), p.w))}
	}
	vis := p.visible()
	if len(vis) == 0 {
		msg := "waiting for messages…"
		switch {
		case p.starting:
			msg = "starting tail…"
		case p.filter.Query() != nil && p.qNext < p.base+len(p.recs):
			msg = "jq: evaluating…"
		case !p.filter.Empty() && len(p.recs) > 0:
			msg = fmt.Sprintf("nothing in the buffer matches the filter (%s) · esc clears it", plural(len(p.recs), "message"))
		}
		return []string{st.Dim.Render(msg)}
	}
	h := p.h
	pos := p.cursorPos(vis)
	// lines of each record, bottom-up from the cursor so it is the last
	// line when following; then fill below the cursor when scrolled back.
	type block struct {
		lines []string
		sel   bool
	}
	render := func(i int) block {
		s := p.line(vis[i])
		var ls []string
		if p.wrap {
			ls = strings.Split(ansi.Hardwrap(s, p.w, true), "\n")
		} else {
			ls = []string{trunc(s, p.w)}
		}
		return block{lines: ls, sel: i == pos}
	}
	var up []block
	n := 0
	for i := pos; i >= 0 && n < h; i-- {
		b := render(i)
		up = append(up, b)
		n += len(b.lines)
	}
	var out []string
	for i := len(up) - 1; i >= 0; i-- {
		for _, l := range up[i].lines {
			if up[i].sel && focused && !p.follow {
				l = st.Cursor.Render(fit(l, p.w))
			}
			out = append(out, l)
		}
	}
	if len(out) > h {
		out = out[len(out)-h:]
	}
	for i := pos + 1; i < len(vis) && len(out) < h; i++ {
		out = append(out, render(i).lines...)
	}
	if len(out) > h {
		out = out[:h]
	}
	return out
}

func defaultSavePath(pattern string, now time.Time) string {
	safe := strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, pattern)
	return fmt.Sprintf("mqscope-tail-%s-%s.jsonl", safe, now.UTC().Format("20060102-150405"))
}

// saveJSONL writes records as JSON lines, one core.Envelope each, with
// format and decoded where dec reads them (decode.Envelope: the shape
// `mqscope tail -o jsonl` writes and `mqscope pub --from` replays; a
// command's work, never Update's).
func saveJSONL(path string, recs []core.Record, dec decode.Decoder) tea.Cmd {
	return func() tea.Msg {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return savedMsg{path: path, err: fmt.Errorf("save tail: %w", err)}
		}
		w := bufio.NewWriter(f)
		var line []byte
		for _, r := range recs {
			line = append(decode.Envelope(dec, r).AppendJSON(line[:0]), '\n')
			if _, err := w.Write(line); err != nil {
				f.Close()
				return savedMsg{path: path, err: fmt.Errorf("save tail to %s: %w", path, err)}
			}
		}
		if err := errors.Join(w.Flush(), f.Close()); err != nil {
			return savedMsg{path: path, err: fmt.Errorf("save tail to %s: %w", path, err)}
		}
		return savedMsg{path: path, n: len(recs)}
	}
}

// previewBytes is how much of a payload a one-line preview looks at: more
// than any terminal line shows (wrapped, it is a screenful), and a bound on
// what a frame costs whatever the payload's size.
const previewBytes = 4096

// payloadPreview is a payload on one line: sanitised text, or for binary
// the size and the first bytes in hex. Only the first previewBytes are
// read; a longer payload ends in "… (SIZE)".
func payloadPreview(b []byte) string {
	head := b
	if len(head) > previewBytes {
		head = head[:previewBytes]
	}
	more := ""
	if len(head) < len(b) {
		more = " … (" + humanSize(uint64(len(b))) + ")"
	}
	if len(b) == 0 || !looksBinary(head, len(head) < len(b)) {
		return Sanitize(head, false) + more
	}
	n := min(len(b), 32)
	s := fmt.Sprintf("<%d bytes binary> % x", len(b), b[:n])
	if n < len(b) {
		s += " …"
	}
	return s
}

// looksBinary is payloadKind's "binary" for a prefix: cut says the prefix
// may end inside a UTF-8 sequence.
func looksBinary(head []byte, cut bool) bool {
	if cut {
		// drop a rune cut in half at the end (at most 3 bytes)
		for i := 0; i < utf8.UTFMax-1 && len(head) > 0 && !utf8.Valid(head); i++ {
			head = head[:len(head)-1]
		}
	}
	return !utf8.Valid(head) || printableRatio(head) <= 0.9
}
