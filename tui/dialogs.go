package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mqscope/mqscope/core"
)

// dialog sits on the root model's stack and sees keys before anything
// else. Update reports whether the dialog is done.
type dialog interface {
	Update(msg tea.Msg) (cmd tea.Cmd, done bool)
	View(width int) string
}

// job is a running action; its progress is written by the command's
// goroutine and read by the UI on its tick (no message per item).
type job struct {
	label       string
	done, total atomic.Int64
	// finished is set before the result is sent: tea.Batch may deliver
	// the result before jobStartedMsg, which must then not show a job.
	finished atomic.Bool
}

type jobStartedMsg struct{ job *job }

// runAction runs fn as a command with progress, a timeout that grows with
// the size of the request, and a follow-up dialog for errors that need the
// operator (ErrNoStream, ErrNeedsConfirmation).
func runAction(c *Common, label string, total int, fn func(ctx context.Context, op *core.Operator, progress func(d, t int)) (core.Result, error), next func(error) dialog) tea.Cmd {
	j := &job{label: label}
	j.total.Store(int64(total))
	op, base, gen := c.Op, c.Ctx, c.Gen
	timeout := c.Timeout + time.Duration(total)*20*time.Millisecond
	if op == nil {
		return msgCmd(statusMsg{err: errors.New("not connected")})
	}
	run := func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, timeout)
		defer cancel()
		res, err := fn(ctx, op, func(d, t int) { j.done.Store(int64(d)); j.total.Store(int64(t)) })
		j.finished.Store(true)
		return actionDoneMsg{gen: gen, job: j, res: res, err: err, next: next}
	}
	return tea.Batch(msgCmd(jobStartedMsg{job: j}), run)
}

// ---- confirm ----

type confirmDialog struct {
	com   *Common
	title string
	lines []string
	yes   tea.Cmd
}

func newConfirm(c *Common, title string, lines []string, yes tea.Cmd) *confirmDialog {
	return &confirmDialog{com: c, title: title, lines: lines, yes: yes}
}

func (d *confirmDialog) Update(msg tea.Msg) (tea.Cmd, bool) {
	k, ok := msg.(keyMsg)
	if !ok {
		return nil, false
	}
	switch k.String() {
	case "y", "Y", "enter":
		return d.yes, true
	case "n", "N", "esc", "q":
		return msgCmd(statusMsg{text: "cancelled"}), true
	}
	return nil, false
}

func (d *confirmDialog) View(width int) string {
	st := d.com.Styles
	w := dialogWidth(width)
	ls := []string{st.DialogTitle.Render(trunc(SanitizeString(d.title), w))}
	for _, l := range d.lines {
		ls = append(ls, trunc(l, w))
	}
	ls = append(ls, "", st.HelpKey.Render("y/enter")+" "+st.HelpDesc.Render("confirm")+"   "+st.HelpKey.Render("n/esc")+" "+st.HelpDesc.Render("cancel"))
	return st.Dialog.Width(w + 4).Render(strings.Join(ls, "\n"))
}

func dialogWidth(width int) int {
	w := width - 8
	if w > 72 {
		w = 72
	}
	if w < 20 {
		w = 20
	}
	return w
}

// ---- form ----

type formField struct {
	label string
	input textinput.Model
	area  *textarea.Model
	// raw holds a payload that cannot be edited safely in the text area
	// (control bytes, invalid UTF-8); it is sent as is unless replaced.
	raw []byte
}

func (f *formField) value() string {
	if f.area != nil {
		return f.area.Value()
	}
	return f.input.Value()
}

type formDialog struct {
	com    *Common
	title  string
	lines  []string
	fields []*formField
	focus  int
	submit func(d *formDialog) (tea.Cmd, error)
	err    string
}

func newForm(c *Common, title string, lines []string, submit func(d *formDialog) (tea.Cmd, error)) *formDialog {
	return &formDialog{com: c, title: title, lines: lines, submit: submit}
}

func (d *formDialog) addInput(label, value, placeholder string) *formDialog {
	ti := textinput.New()
	ti.Prompt = ""
	ti.Placeholder = placeholder
	ti.SetValue(value)
	ti.CharLimit = 0
	ti.SetWidth(48)
	f := &formField{label: label, input: ti}
	d.fields = append(d.fields, f)
	if len(d.fields) == 1 {
		f.input.Focus()
	}
	return d
}

func (d *formDialog) addArea(label string, payload []byte) *formDialog {
	ta := textarea.New()
	ta.ShowLineNumbers = false
	ta.Prompt = ""
	ta.SetWidth(56)
	ta.SetHeight(5)
	f := &formField{label: label, area: &ta}
	setAreaPayload(f, payload)
	d.fields = append(d.fields, f)
	if len(d.fields) == 1 {
		f.area.Focus()
	}
	return d
}

// setAreaPayload puts payload in the text area when it is safe to show
// as is; otherwise it is kept raw and the area explains.
func setAreaPayload(f *formField, payload []byte) {
	if editableText(payload) {
		f.raw = nil
		f.area.SetValue(string(payload))
		return
	}
	f.raw = append([]byte(nil), payload...)
	f.area.SetValue("")
	f.area.Placeholder = fmt.Sprintf("(%d-byte binary payload kept as is: ctrl+e edits it in $EDITOR, typing replaces it)", len(payload))
}

func editableText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || unsafeRune(r) {
			return false
		}
	}
	return true
}

func (d *formDialog) field(label string) *formField {
	for _, f := range d.fields {
		if f.label == label {
			return f
		}
	}
	return nil
}

func (d *formDialog) val(label string) string {
	if f := d.field(label); f != nil {
		return strings.TrimSpace(f.value())
	}
	return ""
}

func (d *formDialog) setFocus(i int) tea.Cmd {
	n := len(d.fields)
	d.focus = ((i % n) + n) % n
	var cmd tea.Cmd
	for j, f := range d.fields {
		if f.area != nil {
			if j == d.focus {
				cmd = f.area.Focus()
			} else {
				f.area.Blur()
			}
			continue
		}
		if j == d.focus {
			cmd = f.input.Focus()
		} else {
			f.input.Blur()
		}
	}
	return cmd
}

type startEditorMsg struct {
	path string
	err  error
}

func (d *formDialog) Update(msg tea.Msg) (tea.Cmd, bool) {
	cur := d.fields[d.focus]
	switch msg := msg.(type) {
	case keyMsg:
		switch msg.String() {
		case "esc":
			return msgCmd(statusMsg{text: "cancelled"}), true
		case "tab":
			return d.setFocus(d.focus + 1), false
		case "shift+tab":
			return d.setFocus(d.focus - 1), false
		case "ctrl+s":
			return d.doSubmit()
		case "ctrl+e":
			if f := d.areaField(); f != nil {
				content := []byte(f.value())
				if f.raw != nil && f.value() == "" {
					content = f.raw
				}
				return writeEditorFile(content), false
			}
		case "enter":
			if cur.area == nil {
				if d.focus == len(d.fields)-1 {
					return d.doSubmit()
				}
				return d.setFocus(d.focus + 1), false
			}
		}
	case startEditorMsg:
		if msg.err != nil {
			d.err = msg.err.Error()
			return nil, false
		}
		return editorCmd(msg.path), false
	case editorDoneMsg:
		if msg.err != nil {
			d.err = msg.err.Error()
			return nil, false
		}
		if f := d.areaField(); f != nil {
			setAreaPayload(f, []byte(msg.content))
		}
		return nil, false
	}
	var cmd tea.Cmd
	if cur.area != nil {
		*cur.area, cmd = cur.area.Update(msg)
		if cur.area.Value() != "" {
			cur.raw = nil // typing replaces a kept binary payload
		}
	} else {
		cur.input, cmd = cur.input.Update(msg)
	}
	return cmd, false
}

func (d *formDialog) areaField() *formField {
	for _, f := range d.fields {
		if f.area != nil {
			return f
		}
	}
	return nil
}

func (d *formDialog) doSubmit() (tea.Cmd, bool) {
	cmd, err := d.submit(d)
	if err != nil {
		d.err = err.Error()
		return nil, false
	}
	return cmd, true
}

func (d *formDialog) View(width int) string {
	st := d.com.Styles
	w := dialogWidth(width)
	ls := []string{st.DialogTitle.Render(trunc(SanitizeString(d.title), w))}
	for _, l := range d.lines {
		ls = append(ls, trunc(l, w))
	}
	for i, f := range d.fields {
		label := f.label
		if i == d.focus {
			label = st.HelpKey.Render("▸ " + label)
		} else {
			label = st.HelpDesc.Render("  " + label)
		}
		ls = append(ls, label)
		if f.area != nil {
			f.area.SetWidth(w - 2)
			for _, l := range strings.Split(f.area.View(), "\n") {
				ls = append(ls, "  "+trunc(l, w-2))
			}
		} else {
			f.input.SetWidth(w - 3)
			ls = append(ls, "  "+trunc(f.input.View(), w-2))
		}
	}
	if d.err != "" {
		ls = append(ls, st.Error.Render(trunc(SanitizeString(d.err), w)))
	}
	help := "tab next • enter ok • ctrl+s submit • esc cancel"
	if d.areaField() != nil {
		help = "tab next • ctrl+s submit • ctrl+e $EDITOR • esc cancel"
	}
	ls = append(ls, st.HelpDesc.Render(trunc(help, w)))
	return st.Dialog.Width(w + 4).Render(strings.Join(ls, "\n"))
}

// writeEditorFile prepares a temp file for $EDITOR (in a command: I/O).
func writeEditorFile(content []byte) tea.Cmd {
	return func() tea.Msg {
		f, err := os.CreateTemp("", "mqscope-payload-*.txt")
		if err != nil {
			return startEditorMsg{err: fmt.Errorf("editor temp file: %w", err)}
		}
		_, err = f.Write(content)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return startEditorMsg{err: fmt.Errorf("editor temp file: %w", err)}
		}
		return startEditorMsg{path: f.Name()}
	}
}

func editorCmd(path string) tea.Cmd {
	ed := os.Getenv("VISUAL")
	if ed == "" {
		ed = os.Getenv("EDITOR")
	}
	if ed == "" {
		ed = "vi"
	}
	parts := strings.Fields(ed)
	c := exec.Command(parts[0], append(parts[1:], path)...) //nolint:gosec // the operator's own editor
	return tea.ExecProcess(c, func(err error) tea.Msg {
		defer os.Remove(path)
		if err != nil {
			return editorDoneMsg{err: fmt.Errorf("editor %s: %w", ed, err)}
		}
		b, rerr := os.ReadFile(path)
		if rerr != nil {
			return editorDoneMsg{err: fmt.Errorf("read edited payload: %w", rerr)}
		}
		return editorDoneMsg{content: string(b)}
	})
}

// ---- the actions ----

func parseHeaders(s string) (core.Header, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	h := core.Header{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("header %q: want key=value (separate headers with ;)", part)
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return h, nil
}

func formatHeaders(h core.Header) string {
	var parts []string
	for k, vs := range h {
		if k == core.HeaderMsgID {
			continue // a resend with the same id would be de-duplicated away
		}
		for _, v := range vs {
			parts = append(parts, k+"="+v)
		}
	}
	sortStrings(parts)
	return strings.Join(parts, "; ")
}

func newPublishDialog(c *Common, topic string, h core.Header, payload []byte) dialog {
	title := "Publish"
	d := newForm(c, title, nil, func(d *formDialog) (tea.Cmd, error) {
		topic := d.val("topic")
		if topic == "" {
			return nil, errors.New("topic is required")
		}
		hs, err := parseHeaders(d.val("headers (k=v; k2=v2)"))
		if err != nil {
			return nil, err
		}
		f := d.field("payload")
		data := []byte(f.value())
		if f.raw != nil && f.value() == "" {
			data = f.raw
		}
		return publishCmd(c, topic, data, hs), nil
	})
	// text inputs show their value as is: anything a terminal could act on
	// is escaped first (and then sent as shown), and the operator is told.
	hs := formatHeaders(h)
	if !editableText([]byte(hs)) || !editableText([]byte(topic)) {
		hs, topic = SanitizeString(hs), SanitizeString(topic)
		d.lines = append(d.lines, "control characters in the topic or headers are shown escaped and sent as shown")
	}
	d.addInput("topic", topic, "orders.created")
	d.addInput("headers (k=v; k2=v2)", hs, "")
	d.addArea("payload", payload)
	if topic != "" {
		d.setFocus(2)
	}
	return d
}

func publishCmd(c *Common, topic string, data []byte, hs core.Header) tea.Cmd {
	return runAction(c, "publish to "+topic, 1, func(ctx context.Context, op *core.Operator, _ func(int, int)) (core.Result, error) {
		return published(op.Publish(ctx, topic, data, hs))
	}, publishFollowUp(c, topic, data, hs))
}

// publishFollowUp offers to create a stream when none stores the topic
// (JetStream without CreateStreams), then publishes again.
func publishFollowUp(c *Common, topic string, data []byte, hs core.Header) func(error) dialog {
	return func(err error) dialog {
		if !errors.Is(err, core.ErrNoStream) {
			return nil
		}
		return newConfirm(c, "No stream stores "+SanitizeString(topic), []string{
			SanitizeString(err.Error()),
			"Create a file stream capturing " + SanitizeString(topic) + " and publish again?"},
			runAction(c, "create a stream for "+topic+" and publish", 1, func(ctx context.Context, op *core.Operator, _ func(int, int)) (core.Result, error) {
				if err := op.EnsureStream(ctx, topic); err != nil {
					return core.Result{Requested: 1, Failed: 1}, err
				}
				return published(op.Publish(ctx, topic, data, hs))
			}, nil))
	}
}

// published is the Result of one publish: a duplicate the broker dropped
// is skipped, not done; Detail says what was stored.
func published(r core.PublishResult, err error) (core.Result, error) {
	switch {
	case err != nil:
		return core.Result{Requested: 1, Failed: 1}, err
	case r.Duplicate:
		return core.Result{Requested: 1, Skipped: 1, Detail: r.String()}, nil
	}
	return core.Result{Requested: 1, Done: 1, Detail: r.String()}, nil
}

// resendDialog is publish prefilled from an existing message.
func resendDialog(c *Common, r core.Record) dialog {
	d := newPublishDialog(c, orStr(r.Subject, r.Topic), r.Header, r.Data).(*formDialog)
	d.title = "Edit & resend " + r.ID
	return d
}

func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + one + "s"
}

func idPreview(ids []string) string {
	if len(ids) <= 4 {
		return "ids: " + SanitizeString(strings.Join(ids, ", "))
	}
	return "ids: " + SanitizeString(strings.Join(ids[:4], ", ")) + fmt.Sprintf(", … (%d in all)", len(ids))
}

func ackDialog(c *Common, op core.Op, topic, group string, ids []string) dialog {
	verb := map[core.Op]string{core.OpAck: "Ack", core.OpNak: "Nak (redeliver)", core.OpTerm: "Term (stop redelivery of)"}[op]
	ids = append([]string(nil), ids...)
	title := fmt.Sprintf("%s %s in %s / %s?", verb, plural(len(ids), "message"), topic, group)
	return newConfirm(c, title, []string{idPreview(ids)}, runAction(c, strings.ToLower(string(op)), len(ids),
		func(ctx context.Context, o *core.Operator, progress func(int, int)) (core.Result, error) {
			req := core.ActionRequest{Topic: topic, Group: group, IDs: ids, Progress: progress}
			switch op {
			case core.OpNak:
				return o.Nak(ctx, req)
			case core.OpTerm:
				return o.Term(ctx, req)
			}
			return o.Ack(ctx, req)
		}, nil))
}

func newClaimDialog(c *Common, topic, group string, ids, consumers []string) dialog {
	ids = append([]string(nil), ids...)
	lines := []string{idPreview(ids)}
	if len(consumers) > 0 {
		lines = append(lines, "consumers: "+SanitizeString(strings.Join(consumers, ", ")))
	}
	d := newForm(c, fmt.Sprintf("Claim %s of %s / %s to consumer", plural(len(ids), "message"), topic, group), lines,
		func(d *formDialog) (tea.Cmd, error) {
			to := d.val("consumer")
			if to == "" {
				return nil, errors.New("the consumer to claim to is required")
			}
			var minIdle time.Duration
			if s := d.val("min idle (e.g. 30s)"); s != "" {
				v, err := time.ParseDuration(s)
				if err != nil {
					return nil, fmt.Errorf("min idle %q: %w", s, err)
				}
				minIdle = v
			}
			return runAction(c, "claim to "+to, len(ids), func(ctx context.Context, o *core.Operator, progress func(int, int)) (core.Result, error) {
				return o.Claim(ctx, core.ActionRequest{Topic: topic, Group: group, Consumer: to, IDs: ids, MinIdle: minIdle, Progress: progress})
			}, nil), nil
		})
	first := ""
	if len(consumers) > 0 {
		first = consumers[0]
	}
	d.addInput("consumer", first, "worker-2")
	d.addInput("min idle (e.g. 30s)", "", "0")
	return d
}

func newMoveDialog(c *Common, topic, group string, ids []string) dialog {
	ids = append([]string(nil), ids...)
	where := topic
	if group != "" {
		where += " / " + group
	}
	d := newForm(c, fmt.Sprintf("Move %s of %s to the DLQ", plural(len(ids), "message"), where), []string{idPreview(ids)},
		func(d *formDialog) (tea.Cmd, error) {
			req := core.MoveRequest{Topic: topic, Group: group, IDs: ids, Reason: d.val("reason"), DLQ: d.val("DLQ topic")}
			return moveCmd(c, req), nil
		})
	d.addInput("DLQ topic", dlqOf(c, topic), "")
	d.addInput("reason", "moved by operator", "")
	return d
}

func moveCmd(c *Common, req core.MoveRequest) tea.Cmd {
	return runAction(c, "move to "+req.DLQ, len(req.IDs), func(ctx context.Context, o *core.Operator, progress func(int, int)) (core.Result, error) {
		req.Progress = progress
		return o.MoveToDLQ(ctx, req)
	}, moveFollowUp(c, req))
}

// moveFollowUp offers to create the DLQ's storage when no stream captures
// it (JetStream without CreateStreams), then moves again.
func moveFollowUp(c *Common, req core.MoveRequest) func(error) dialog {
	return func(err error) dialog {
		if !errors.Is(err, core.ErrNoStream) {
			return nil
		}
		dlq := req.DLQ
		return newConfirm(c, "No stream stores "+dlq, []string{
			SanitizeString(err.Error()),
			"Create storage for " + SanitizeString(dlq) + " and retry the move?"},
			runAction(c, "create DLQ "+dlq+" and move", len(req.IDs), func(ctx context.Context, o *core.Operator, progress func(int, int)) (core.Result, error) {
				if err := o.EnsureDLQ(ctx, dlq); err != nil {
					return core.Result{}, err
				}
				r := req
				r.Progress = progress
				return o.MoveToDLQ(ctx, r)
			}, nil))
	}
}

func redriveDialog(c *Common, dlq string, ids []string) dialog {
	ids = append([]string(nil), ids...)
	return newConfirm(c, fmt.Sprintf("Redrive %s from %s to where they came from?", plural(len(ids), "message"), dlq),
		[]string{idPreview(ids), "The DLQ copies are removed once the origin has them."},
		runAction(c, "redrive from "+dlq, len(ids), func(ctx context.Context, o *core.Operator, progress func(int, int)) (core.Result, error) {
			return o.Redrive(ctx, core.RedriveRequest{DLQ: dlq, IDs: ids, Remove: true, Progress: progress})
		}, nil))
}

func newReplayDialog(c *Common, topic string, ids []string, rangeMode bool) dialog {
	ids = append([]string(nil), ids...)
	title := fmt.Sprintf("Replay %s of %s", plural(len(ids), "message"), topic)
	lines := []string{idPreview(ids)}
	if rangeMode {
		title = "Replay a range of " + topic
		lines = []string{"positions: all, id:ID, seq:N, time:RFC3339, -15m, or a bare id/sequence"}
	}
	d := newForm(c, title, lines, func(d *formDialog) (tea.Cmd, error) {
		req := core.ReplayRequest{Topic: topic, IDs: ids, Target: d.val("to topic")}
		if rangeMode {
			from, err := core.ParsePosition(d.val("from"), c.Now())
			if err != nil {
				return nil, err
			}
			req.From = from
			if s := d.val("to (inclusive, empty = now)"); s != "" {
				to, err := core.ParsePosition(s, c.Now())
				if err != nil {
					return nil, err
				}
				req.To = to
			}
			if s := d.val("limit"); s != "" {
				n, err := strconv.Atoi(s)
				if err != nil || n < 1 {
					return nil, fmt.Errorf("limit %q: want a positive number", s)
				}
				req.Limit = n
			}
		}
		n := len(ids)
		if rangeMode {
			n = req.Limit
		}
		return runAction(c, "replay "+topic, n, func(ctx context.Context, o *core.Operator, progress func(int, int)) (core.Result, error) {
			req.Progress = progress
			return o.Replay(ctx, req)
		}, nil), nil
	})
	if rangeMode {
		d.addInput("from", "", "-15m")
		d.addInput("to (inclusive, empty = now)", "", "")
		d.addInput("limit", "1000", "")
	}
	d.addInput("to topic", topic, "")
	return d
}

func newRewindDialog(c *Common, topic, group string) dialog {
	return newForm(c, fmt.Sprintf("Rewind group %s of %s", group, topic),
		[]string{"to: all, id:ID, seq:N, time:RFC3339, -15m (a bare id or sequence works too)"},
		func(d *formDialog) (tea.Cmd, error) {
			to, err := core.ParsePosition(d.val("to"), c.Now())
			if err != nil {
				return nil, err
			}
			return rewindCmd(c, core.RewindRequest{Topic: topic, Group: group, To: to}), nil
		}).addInput("to", "", "-15m")
}

func rewindCmd(c *Common, req core.RewindRequest) tea.Cmd {
	return runAction(c, "rewind "+req.Group+" to "+req.To.String(), 1, func(ctx context.Context, o *core.Operator, _ func(int, int)) (core.Result, error) {
		return o.Rewind(ctx, req)
	}, rewindFollowUp(c, req))
}

// rewindFollowUp asks again, showing core's text of what would be lost,
// when the backend can only rewind by recreating the consumer.
func rewindFollowUp(c *Common, req core.RewindRequest) func(error) dialog {
	return func(err error) dialog {
		if !errors.Is(err, core.ErrNeedsConfirmation) || req.Confirmed {
			return nil
		}
		r := req
		r.Confirmed = true
		return newConfirm(c, "Rewind of "+req.Group+" needs confirmation", []string{SanitizeString(err.Error()), "Go ahead?"}, rewindCmd(c, r))
	}
}

func deleteGroupDialog(c *Common, topic string, g core.GroupInfo) dialog {
	return newConfirm(c, fmt.Sprintf("Delete group %s of %s?", g.Name, topic),
		[]string{fmt.Sprintf("It has %s and %d pending; this cannot be undone.", plural(len(g.Consumers), "consumer"), g.Pending)},
		runAction(c, "delete group "+g.Name, 1, func(ctx context.Context, o *core.Operator, _ func(int, int)) (core.Result, error) {
			if err := o.DeleteGroup(ctx, topic, g.Name); err != nil {
				return core.Result{Requested: 1, Failed: 1}, err
			}
			return core.Result{Requested: 1, Done: 1}, nil
		}, nil))
}

func deleteConsumerDialog(c *Common, topic, group string, cons core.ConsumerInfo) dialog {
	lines := []string{"It holds " + plural(int(cons.Pending), "pending message") + "."}
	return newConfirm(c, fmt.Sprintf("Delete consumer %s of %s / %s?", cons.Name, topic, group), lines,
		runAction(c, "delete consumer "+cons.Name, 1, func(ctx context.Context, o *core.Operator, _ func(int, int)) (core.Result, error) {
			if err := o.DeleteConsumer(ctx, topic, group, cons.Name); err != nil {
				return core.Result{Requested: 1, Failed: 1}, err
			}
			return core.Result{Requested: 1, Done: 1}, nil
		}, nil))
}

func newSaveDialog(c *Common, recs []core.Record, path string) dialog {
	return newForm(c, fmt.Sprintf("Save %s as JSON lines", plural(len(recs), "message")), nil,
		func(d *formDialog) (tea.Cmd, error) {
			p := d.val("file")
			if p == "" {
				return nil, errors.New("file is required")
			}
			return saveJSONL(p, recs), nil
		}).addInput("file", path, "")
}

// purgeConfirmLabel is the purge dialog's only field.
const purgeConfirmLabel = "type the topic name to confirm"

// newPurgeDialog guards a purge the way consoles guard deleting a whole
// repository or database: it states what goes (the topic and how many
// messages) and runs only once the operator has typed the topic's name.
func newPurgeDialog(c *Common, t core.TopicInfo) dialog {
	topic := t.Name
	lines := []string{
		fmt.Sprintf("This deletes all %s stored in %s", plural(int(t.Messages), "message"), SanitizeString(topic)),
		"(count as of the last refresh). Groups stay; their pending entries go.",
		"This cannot be undone.",
	}
	if len(t.Subjects) > 0 {
		lines = append(lines, "subjects: "+SanitizeString(strings.Join(t.Subjects, ", ")))
	}
	d := newForm(c, fmt.Sprintf("Purge %s (%s)?", topic, plural(int(t.Messages), "message")), lines,
		func(d *formDialog) (tea.Cmd, error) {
			if got := d.val(purgeConfirmLabel); got != topic {
				return nil, fmt.Errorf("%q is not the topic name: nothing purged (esc cancels)", got)
			}
			return runAction(c, "purge "+topic, 0, func(ctx context.Context, o *core.Operator, _ func(int, int)) (core.Result, error) {
				return o.Purge(ctx, topic)
			}, nil), nil
		})
	d.addInput(purgeConfirmLabel, "", "") // no placeholder: it would look typed already
	return d
}

// errorsDialog lists the per-item errors of a bulk action (core.Result
// Errors: the first few the backend kept), wrapped, not cut. Any key
// closes it.
type errorsDialog struct {
	com   *Common
	title string
	errs  []string
}

func newErrorsDialog(c *Common, label string, errs []string) *errorsDialog {
	return &errorsDialog{com: c, title: "Errors of " + label, errs: append([]string(nil), errs...)}
}

func (d *errorsDialog) Update(msg tea.Msg) (tea.Cmd, bool) {
	_, ok := msg.(keyMsg)
	return nil, ok
}

func (d *errorsDialog) View(width int) string {
	st := d.com.Styles
	w := dialogWidth(width)
	ls := []string{st.DialogTitle.Render(trunc(SanitizeString(d.title), w))}
	for i, e := range d.errs {
		prefix := fmt.Sprintf("%d. ", i+1)
		wrapped := strings.Split(ansi.Wrap(SanitizeString(e), w-len(prefix), " "), "\n")
		for j, l := range wrapped {
			if j == 0 {
				ls = append(ls, st.Error.Render(prefix)+l)
			} else {
				ls = append(ls, strings.Repeat(" ", len(prefix))+l)
			}
		}
	}
	ls = append(ls, "", st.HelpDesc.Render("the backend keeps the first few; details are in the log · any key closes"))
	return st.Dialog.Width(w + 4).Render(strings.Join(ls, "\n"))
}
