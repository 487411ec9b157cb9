package tui

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"unicode/utf8"

	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// dialog sits on the root model's stack and sees keys before anything
// else. Update reports whether the dialog is done.
type dialog interface {
	Update(msg tea.Msg) (cmd tea.Cmd, done bool)
	View(width int) string
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
	// a confirmation shows its consequences in full: wrapped, never cut
	ls := wrapStyled(st.DialogTitle, SanitizeString(d.title), w)
	for _, l := range d.lines {
		ls = append(ls, wrapLines(SanitizeString(l), w)...)
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

// fieldKey names a form field; code reads fields by key, never by the
// label the operator sees.
type fieldKey string

const (
	fieldTopic    fieldKey = "topic"
	fieldHeaders  fieldKey = "headers"
	fieldPayload  fieldKey = "payload"
	fieldConsumer fieldKey = "consumer"
	fieldMinIdle  fieldKey = "min-idle"
	fieldDelay    fieldKey = "delay"
	fieldDLQ      fieldKey = "dlq"
	fieldReason   fieldKey = "reason"
	fieldFrom     fieldKey = "from"
	fieldTo       fieldKey = "to"
	fieldLimit    fieldKey = "limit"
	fieldTarget   fieldKey = "target"
	fieldFile     fieldKey = "file"
	fieldConfirm  fieldKey = "confirm"
)

type formField struct {
	key   fieldKey
	label string
	input textinput.Model
	area  *textarea.Model
	// raw holds a payload that cannot be edited safely in the text area
	// (control bytes, invalid UTF-8); it is sent as is unless replaced.
	raw []byte
	// rawInput is a prefilled value with characters a terminal would act
	// on (a DLQ name with an escape or a bidi override in it): the input
	// shows escapedInput instead, and while that is untouched the field's
	// value is rawInput, the name the dialog was opened for.
	rawInput, escapedInput string
}

func (f *formField) value() string {
	if f.area != nil {
		return f.area.Value()
	}
	if f.escapedInput != "" && f.input.Value() == f.escapedInput {
		return f.rawInput
	}
	return f.input.Value()
}

type formDialog struct {
	com    *Common
	layer  int // its overlay id: editor results come back to it
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

func (d *formDialog) addInput(key fieldKey, label, value, placeholder string) *formDialog {
	ti := textinput.New()
	ti.Prompt = ""
	if placeholder != "" {
		// an example, said as one: without colour a bare placeholder reads
		// as a typed value (an empty delay field showing "30s" means now)
		ti.Placeholder = "e.g. " + placeholder
	}
	f := &formField{key: key, label: label}
	if !editableText([]byte(value)) || strings.ContainsAny(value, "\n\t") {
		f.rawInput, f.escapedInput = value, SanitizeString(value)
		value = f.escapedInput
	}
	ti.SetValue(value)
	ti.CharLimit = 0
	ti.SetWidth(48)
	f.input = ti
	d.fields = append(d.fields, f)
	if len(d.fields) == 1 {
		f.input.Focus()
	}
	return d
}

func (d *formDialog) addArea(key fieldKey, label string, payload []byte) *formDialog {
	ta := textarea.New()
	ta.ShowLineNumbers = false
	ta.Prompt = ""
	ta.SetWidth(56)
	ta.SetHeight(5)
	f := &formField{key: key, label: label, area: &ta}
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

func (d *formDialog) field(key fieldKey) *formField {
	for _, f := range d.fields {
		if f.key == key {
			return f
		}
	}
	return nil
}

// val is the trimmed value of the field with key.
func (d *formDialog) val(key fieldKey) string {
	if f := d.field(key); f != nil {
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

func (d *formDialog) setLayer(id int) { d.layer = id }

// startEditorMsg and editorDoneMsg are addressed to the dialog (overlay
// layer) that asked for the editor.
type startEditorMsg struct {
	layer int
	path  string
	err   error
}

func (m startEditorMsg) layerID() int { return m.layer }
func (m editorDoneMsg) layerID() int  { return m.layer }

// orphaned cleans up after a reply whose layer has closed meanwhile.
func orphaned(msg tea.Msg) tea.Cmd {
	if m, ok := msg.(startEditorMsg); ok && m.path != "" {
		return func() tea.Msg { _ = os.Remove(m.path); return nil }
	}
	return nil
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
				return writeEditorFile(d.layer, content), false
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
		return editorCmd(d.layer, msg.path), false
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
	ls := wrapStyled(st.DialogTitle, SanitizeString(d.title), w)
	for _, l := range d.lines {
		ls = append(ls, wrapLines(SanitizeString(l), w)...)
	}
	for i, f := range d.fields {
		label := f.label
		if f.escapedInput != "" {
			label += " (shown escaped; used as is unless edited)"
		}
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
func writeEditorFile(layer int, content []byte) tea.Cmd {
	return func() tea.Msg {
		f, err := os.CreateTemp("", "mqscope-payload-*.txt")
		if err != nil {
			return startEditorMsg{layer: layer, err: fmt.Errorf("editor temp file: %w", err)}
		}
		_, err = f.Write(content)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return startEditorMsg{layer: layer, err: fmt.Errorf("editor temp file: %w", err)}
		}
		return startEditorMsg{layer: layer, path: f.Name()}
	}
}

func editorCmd(layer int, path string) tea.Cmd {
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
			return editorDoneMsg{layer: layer, err: fmt.Errorf("editor %s: %w", ed, err)}
		}
		b, rerr := os.ReadFile(path)
		if rerr != nil {
			return editorDoneMsg{layer: layer, err: fmt.Errorf("read edited payload: %w", rerr)}
		}
		return editorDoneMsg{layer: layer, content: string(b)}
	})
}

// errorsDialog shows errors in sections (E): the per-item errors of a bulk
// action (core.Result Errors: the first few the backend kept), the last
// error, the failing refreshes; wrapped, never cut. Any key closes it.
type errorsDialog struct {
	com      *Common
	sections []errSection
}

type errSection struct {
	title    string
	items    []string
	numbered bool
}

func newReportDialog(c *Common, ss []errSection) *errorsDialog {
	return &errorsDialog{com: c, sections: ss}
}

func (d *errorsDialog) Update(msg tea.Msg) (tea.Cmd, bool) {
	_, ok := msg.(keyMsg)
	return nil, ok
}

func (d *errorsDialog) View(width int) string {
	st := d.com.Styles
	w := dialogWidth(width)
	var ls []string
	for si, s := range d.sections {
		if si > 0 {
			ls = append(ls, "")
		}
		ls = append(ls, wrapStyled(st.DialogTitle, SanitizeString(s.title), w)...)
		for i, e := range s.items {
			prefix := "• "
			if s.numbered {
				prefix = fmt.Sprintf("%d. ", i+1)
			}
			for j, l := range wrapLines(SanitizeString(e), w-len(prefix)) {
				if j == 0 {
					ls = append(ls, st.Error.Render(prefix)+l)
				} else {
					ls = append(ls, strings.Repeat(" ", len(prefix))+l)
				}
			}
		}
	}
	ls = append(ls, "", st.HelpDesc.Render(trunc("the backend keeps the first few; details are in the log · any key closes", w)))
	return st.Dialog.Width(w + 4).Render(strings.Join(ls, "\n"))
}

// wrapStyled wraps s to width and styles each line.
func wrapStyled(style lipglossStyle, s string, width int) []string {
	ls := wrapLines(s, width)
	for i, l := range ls {
		ls[i] = style.Render(l)
	}
	return ls
}
