package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/mqscope/mqscope/core"
)

const tickEvery = 40 * time.Millisecond

// reconnectEvery paces new attempts to open a context that failed to open.
const reconnectEvery = 3 * time.Second

type reconnectMsg struct {
	gen  uint64
	name string
}

const (
	paneTopics = iota
	paneGroups
	panePending
	paneTail
	numPanes
)

type inputMode int

const (
	inputNone inputMode = iota
	inputFilter
	inputCommand
)

// Model is the console's root model: it owns focus, the dialog stack and
// the connection, and routes messages (STYLE.md pattern 3).
type Model struct {
	o   Options
	com *Common

	ctxName    string
	target     *Target
	connecting bool
	info       core.ServerInfo
	infoErr    error
	infoFlight bool

	topics  *topicsPane
	groups  *groupsPane
	pending *pendingPane
	tail    *tailPane
	panes   [numPanes]pane
	focus   int

	inspector  *inspector
	inspectReq uint64 // only the last Enter's message opens
	dialogs    []dialog
	help       bool
	helpOff    int // first help line shown (help scrolls on small screens)

	mode  inputMode
	input textinput.Model

	status    string
	statusErr bool
	jobs      []*job
	// the per-item errors of the last action that had any (E shows them)
	lastErrs      []string
	lastErrsLabel string

	baseTimeout time.Duration // the console's broker-call timeout (a context may set its own)

	customTail bool // the tail pattern was chosen with :tail
	w, h       int
	ticks      int
	quitting   bool
}

// NewModel builds the root model (Run uses it; tests drive it directly).
func NewModel(o Options) *Model {
	if o.Refresh <= 0 {
		o.Refresh = 2 * time.Second
	}
	if o.TailBuffer <= 0 {
		o.TailBuffer = 10000
	}
	c := newCommon(o)
	m := &Model{o: o, com: c, ctxName: o.Initial, w: 80, h: 24, baseTimeout: c.Timeout}
	m.topics = newTopicsPane(c)
	m.groups = newGroupsPane(c)
	m.pending = newPendingPane(c)
	m.tail = newTailPane(c, o.TailBuffer)
	m.panes = [numPanes]pane{m.topics, m.groups, m.pending, m.tail}
	m.input = textinput.New()
	m.layout()
	return m
}

// WithContext sets the context every broker call derives from.
func (m *Model) WithContext(ctx context.Context) *Model { m.com.Ctx = ctx; return m }

// Run runs the console on the terminal until the operator quits or ctx ends.
func Run(ctx context.Context, o Options) error {
	if os.Getenv("NO_COLOR") != "" {
		o.NoColor = true
	}
	m := NewModel(o).WithContext(ctx)
	opts := []tea.ProgramOption{tea.WithContext(ctx)}
	if o.NoColor {
		// no colour at all; bold/reverse still mark focus and selection
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	final, err := tea.NewProgram(m, opts...).Run()
	if fm, ok := final.(*Model); ok {
		fm.Shutdown()
	} else {
		m.Shutdown()
	}
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// Shutdown stops the tail and closes the connected context.
func (m *Model) Shutdown() {
	m.tail.stop()
	if m.target != nil {
		closeTarget(m.com.Logger, m.target)
		m.target = nil
	}
}

func closeTarget(l interface{ Warn(string, ...any) }, t *Target) {
	var err error
	if t.Close != nil {
		err = t.Close()
	} else if t.Client != nil {
		err = t.Client.Close()
	}
	if err != nil {
		l.Warn("close context", "context", t.Name, "err", err)
	}
}

func (m *Model) Init() tea.Cmd {
	// the refresh loop starts once connected (one loop per connection)
	return tea.Batch(m.connect(m.o.Initial), m.tickCmd())
}

// tickCmd schedules the next UI tick: every ~40 ms while a tail runs or
// something is in flight (drain, spinner, progress), slower when idle so an
// idle console over SSH costs nothing.
func (m *Model) tickCmd() tea.Cmd {
	d := tickEvery
	if m.tail.tail == nil && !m.busy() && len(m.jobs) == 0 {
		d = 250 * time.Millisecond
	}
	return tea.Tick(d, func(time.Time) tea.Msg { return tickMsg{} })
}

func (m *Model) refreshTick() tea.Cmd {
	gen := m.com.Gen
	every := m.o.Refresh
	if m.target != nil && m.target.Refresh > 0 {
		every = m.target.Refresh
	}
	return tea.Tick(every, func(time.Time) tea.Msg { return refreshMsg{gen: gen} })
}

// connect opens a context off the UI loop; the generation moves on so
// every reply of the previous context is dropped.
func (m *Model) connect(name string) tea.Cmd {
	if m.o.Open == nil {
		m.setErr(errors.New("no context configured"))
		return nil
	}
	m.com.Gen++
	gen := m.com.Gen
	m.connecting = true
	m.ctxName = name
	open, base, timeout := m.o.Open, m.com.Ctx, m.com.Timeout
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, 2*timeout)
		defer cancel()
		t, err := open(ctx, name)
		if err != nil {
			return connectedMsg{gen: gen, name: name, err: err}
		}
		op := t.Client.Operator()
		caps := op.Capabilities(ctx)
		info, ierr := op.ServerInfo(ctx)
		if ierr != nil {
			info.State = core.ConnDown
		}
		return connectedMsg{gen: gen, name: name, target: t, caps: caps, info: info}
	}
}

func (m *Model) setErr(err error) {
	m.status, m.statusErr = SanitizeString(err.Error()), true
	m.com.Logger.Debug("status", "err", err)
}

func (m *Model) setStatus(s string) { m.status, m.statusErr = s, false }

// ---- Update ----

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tickMsg:
		m.ticks++
		m.tail.drain(m.com.Now())
		return m, m.tickCmd()
	case refreshMsg:
		if msg.gen != m.com.Gen {
			return m, nil // a refresh loop of an old context ends here
		}
		return m, tea.Batch(m.refreshAll(), m.refreshTick())
	case refreshNowMsg:
		return m, m.refreshAll()
	case connectedMsg:
		return m, m.connected(msg)
	case reconnectMsg:
		if msg.gen != m.com.Gen || m.target != nil {
			return m, nil // the operator moved on meanwhile
		}
		return m, m.connect(msg.name)
	case serverInfoMsg:
		if msg.gen != m.com.Gen {
			return m, nil
		}
		m.infoFlight = false
		if msg.err != nil {
			m.infoErr = msg.err
			m.info.State = core.ConnDown
		} else {
			m.infoErr, m.info = nil, msg.info
		}
		return m, nil
	case topicsMsg:
		if msg.gen != m.com.Gen {
			return m, nil
		}
		return m, m.topics.Update(msg)
	case groupsMsg:
		if msg.gen != m.com.Gen {
			return m, nil
		}
		return m, m.groups.Update(msg)
	case pendingMsg, browseMsg:
		if genOf(msg) != m.com.Gen {
			return m, nil
		}
		return m, m.pending.Update(msg)
	case tailStartedMsg:
		if msg.gen != m.com.Gen {
			if msg.tail != nil {
				msg.tail.Stop()
			}
			return m, nil
		}
		return m, m.tail.Update(msg)
	case recordMsg:
		if msg.gen != m.com.Gen || msg.req != m.inspectReq {
			return m, nil
		}
		if msg.err != nil {
			m.setErr(fmt.Errorf("get message: %w", msg.err))
			return m, nil
		}
		m.setStatus("") // the "loading message …" line is answered
		m.openInspector(msg.rec, msg.meta)
		return m, nil
	case statusMsg:
		if msg.err != nil {
			m.setErr(msg.err)
		} else {
			m.setStatus(msg.text)
		}
		return m, nil
	case jobStartedMsg:
		if msg.job.finished.Load() {
			return m, nil // its result is already in
		}
		m.jobs = append(m.jobs, msg.job)
		m.setStatus(msg.job.label + "…")
		return m, nil
	case actionDoneMsg:
		return m, m.actionDone(msg)
	case savedMsg:
		if msg.err != nil {
			m.setErr(msg.err)
		} else {
			m.setStatus(fmt.Sprintf("saved %s to %s", plural(msg.n, "message"), SanitizeString(msg.path)))
		}
		return m, nil

	// requests from panes
	case drillTopicMsg:
		return m, m.drillTopic(msg.topic)
	case drillGroupMsg:
		m.focus = panePending
		m.inspector = nil
		return m, m.pending.setGroup(msg.topic, msg.group, msg.consumer, msg.consumers)
	case browseTopicMsg:
		m.focus = panePending
		m.inspector = nil
		return m, m.pending.setBrowse(msg.topic, msg.dlq)
	case tailPatternMsg:
		m.customTail = true
		m.focus = paneTail
		return m, m.tail.start(msg.pattern)
	case inspectMsg:
		m.inspectReq++ // a fetch still on its way must not replace this
		m.openInspector(msg.rec, msg.meta)
		return m, nil
	case fetchInspectMsg:
		m.inspectReq++
		gen, req := m.com.Gen, m.inspectReq
		m.setStatus("loading message " + SanitizeString(msg.id) + "…")
		return m, m.com.call(func(ctx context.Context, op *core.Operator) tea.Msg {
			r, err := op.Get(ctx, msg.topic, msg.id)
			return recordMsg{gen: gen, req: req, rec: r, meta: msg.meta, err: err}
		})
	case pushDialogMsg:
		m.dialogs = append(m.dialogs, msg.d)
		return m, nil
	case focusMsg:
		m.focus = msg.pane
		return m, nil
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case tea.MouseWheelMsg:
		// optional mouse: the wheel scrolls what has focus
		k := tea.KeyPressMsg{Code: tea.KeyDown}
		if msg.Button == tea.MouseWheelUp {
			k = tea.KeyPressMsg{Code: tea.KeyUp}
		}
		if len(m.dialogs) == 0 && m.mode == inputNone {
			return m, m.key(k)
		}
		return m, nil
	case probeMsg:
		msg(m) // runs on the event loop: tests read the model without a race
		return m, nil
	}
	// anything else (cursor blinks, editor results) goes to the top dialog
	// or the input line
	if n := len(m.dialogs); n > 0 {
		cmd, done := m.dialogs[n-1].Update(msg)
		if done {
			m.dialogs = m.dialogs[:n-1]
		}
		return m, cmd
	}
	if m.mode != inputNone {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

// probeMsg runs a function on the event loop (tests use it to look at
// the model while the program runs).
type probeMsg func(*Model)

func genOf(msg tea.Msg) uint64 {
	switch x := msg.(type) {
	case pendingMsg:
		return x.gen
	case browseMsg:
		return x.gen
	}
	return 0
}

func (m *Model) connected(msg connectedMsg) tea.Cmd {
	if msg.gen != m.com.Gen {
		if msg.target != nil { // the operator switched again meanwhile
			t := msg.target
			return func() tea.Msg { closeTarget(m.com.Logger, t); return nil }
		}
		return nil
	}
	m.connecting = false
	if msg.err != nil {
		m.info = core.ServerInfo{State: core.ConnDown}
		m.infoErr = msg.err
		m.setErr(fmt.Errorf("context %s: %w (retrying every %s)", msg.name, msg.err, reconnectEvery))
		gen, name := m.com.Gen, msg.name
		cmds := []tea.Cmd{tea.Tick(reconnectEvery, func(time.Time) tea.Msg { return reconnectMsg{gen: gen, name: name} })}
		if old := m.target; old != nil {
			// the operator asked for another context: the old one's data
			// must not stay on screen as if it were this one's
			m.target, m.com.Op, m.com.Caps = nil, nil, core.Capabilities{}
			m.resetPanes()
			cmds = append(cmds, func() tea.Msg { closeTarget(m.com.Logger, old); return nil })
		}
		return tea.Batch(cmds...)
	}
	old := m.target
	m.target = msg.target
	m.com.Op = msg.target.Client.Operator()
	m.com.Caps = msg.caps
	m.com.DLQSuffix = m.com.Op.DLQSuffix()
	m.com.ReadOnly = m.o.ReadOnly || m.com.Op.ReadOnly()
	m.info, m.infoErr = msg.info, nil
	m.infoFlight = false // a poll of the old context may never be answered here
	m.applyTargetSettings()
	m.resetPanes()
	m.setStatus("connected to " + SanitizeString(msg.name))
	cmds := []tea.Cmd{m.topics.refresh(), m.refreshTick()}
	if old != nil {
		cmds = append(cmds, func() tea.Msg { closeTarget(m.com.Logger, old); return nil })
	}
	return tea.Batch(cmds...)
}

// applyTargetSettings uses the open context's timeout and tail buffer (its
// refresh is read by refreshTick), or the console's when it sets none.
func (m *Model) applyTargetSettings() {
	m.com.Timeout = m.baseTimeout
	m.tail.cap = m.o.TailBuffer
	if t := m.target; t != nil {
		if t.Timeout > 0 {
			m.com.Timeout = t.Timeout
		}
		if t.TailBuffer > 0 {
			m.tail.cap = t.TailBuffer
		}
	}
}

func (m *Model) resetPanes() {
	m.topics.reset()
	m.groups.reset()
	m.pending.reset()
	m.tail.reset()
	m.customTail = false
	m.inspector = nil
}

func (m *Model) refreshAll() tea.Cmd {
	cmds := []tea.Cmd{m.topics.refresh(), m.groups.refresh(), m.pending.refresh()}
	if m.com.Op != nil && !m.infoFlight {
		m.infoFlight = true
		gen := m.com.Gen
		cmds = append(cmds, m.com.call(func(ctx context.Context, op *core.Operator) tea.Msg {
			info, err := op.ServerInfo(ctx)
			return serverInfoMsg{gen: gen, info: info, err: err}
		}))
	}
	return tea.Batch(cmds...)
}

func (m *Model) actionDone(msg actionDoneMsg) tea.Cmd {
	for i, j := range m.jobs {
		if j == msg.job {
			m.jobs = append(m.jobs[:i], m.jobs[i+1:]...)
			break
		}
	}
	r := msg.res
	count := ""
	if r.Requested > 0 {
		count = fmt.Sprintf(": %d/%d done", r.Done, r.Requested)
		if r.Failed > 0 {
			count += fmt.Sprintf(", %d failed", r.Failed)
		}
		if r.Skipped > 0 {
			count += fmt.Sprintf(", %d skipped", r.Skipped)
		}
	}
	if r.Detail != "" {
		count += " — " + r.Detail
	}
	if len(r.Errors) > 0 {
		m.lastErrs = append([]string(nil), r.Errors...)
		m.lastErrsLabel = msg.job.label + count
		count += fmt.Sprintf(" (first: %s; E shows %s)", r.Errors[0], plural(len(r.Errors), "error"))
	}
	if msg.err != nil {
		m.setErr(fmt.Errorf("%s%s: %w", msg.job.label, count, msg.err))
		if msg.next != nil && msg.gen == m.com.Gen {
			if d := msg.next(msg.err); d != nil {
				m.dialogs = append(m.dialogs, d)
			}
		}
	} else {
		m.status, m.statusErr = SanitizeString(msg.job.label+count), r.Failed > 0
	}
	m.pending.list.marked = nil
	return m.refreshAll()
}

func (m *Model) drillTopic(t core.TopicInfo) tea.Cmd {
	m.focus = paneGroups
	m.inspector = nil
	cmds := []tea.Cmd{m.groups.setTopic(t.Name)}
	m.pending.clearData()
	m.pending.topic, m.pending.group, m.pending.browse = "", "", false
	if !m.customTail {
		if ok, _ := m.com.Keys.TailTopic.Available(m.com); ok {
			cmds = append(cmds, m.tail.start(tailPattern(t)))
		}
	}
	return tea.Batch(cmds...)
}

func (m *Model) openInspector(r core.Record, meta inspectMeta) {
	m.inspector = newInspector(m.com, r, meta)
	m.layout()
}

// ---- keys ----

func (m *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	// 1. dialogs see keys first
	if n := len(m.dialogs); n > 0 {
		if msg.String() == "ctrl+c" {
			m.dialogs = nil
			return nil
		}
		cmd, done := m.dialogs[n-1].Update(msg)
		if done {
			m.dialogs = m.dialogs[:n-1]
		}
		return cmd
	}
	// 2. the filter / command line
	if m.mode != inputNone {
		return m.inputKey(msg)
	}
	k := m.com.Keys
	// 3. full help: navigation keys scroll it, any other key closes it
	if m.help {
		m.helpKey(msg)
		return nil
	}
	switch {
	case msg.String() == "ctrl+c":
		return m.quit()
	case matches(msg, k.Help):
		m.help, m.helpOff = true, 0
		return nil
	case matches(msg, k.Command):
		return m.startInput(inputCommand, "")
	case matches(msg, k.Filter) && m.inspector == nil:
		return m.startInput(inputFilter, m.panes[m.focus].Filter().Raw)
	}
	// 4. the inspector
	if m.inspector != nil {
		if matches(msg, k.Back) || matches(msg, k.Quit) {
			m.inspector = nil
			return nil
		}
		return m.inspector.Update(msg)
	}
	// 5. global navigation
	switch {
	case matches(msg, k.Quit):
		return m.quit()
	case matches(msg, k.NextPane):
		m.focus = (m.focus + 1) % numPanes
		return nil
	case matches(msg, k.PrevPane):
		m.focus = (m.focus + numPanes - 1) % numPanes
		return nil
	case matches(msg, k.Pane1):
		m.focus = paneTopics
		return nil
	case matches(msg, k.Pane2):
		m.focus = paneGroups
		return nil
	case matches(msg, k.Pane3):
		m.focus = panePending
		return nil
	case matches(msg, k.Pane4):
		m.focus = paneTail
		return nil
	case matches(msg, k.Refresh):
		m.setStatus("refreshing…")
		return m.refreshAll()
	case matches(msg, k.LastErrors):
		if len(m.lastErrs) == 0 {
			m.setStatus("no action has reported per-item errors")
			return nil
		}
		m.dialogs = append(m.dialogs, newErrorsDialog(m.com, m.lastErrsLabel, m.lastErrs))
		return nil
	case matches(msg, k.Back):
		if f := m.panes[m.focus].Filter(); !f.Empty() {
			m.panes[m.focus].SetFilter(Filter{})
			return nil
		}
		if m.focus > paneTopics && m.focus != paneTail {
			m.focus--
		}
		return nil
	}
	// 6. the focused pane
	return m.panes[m.focus].Update(msg)
}

func (m *Model) quit() tea.Cmd {
	m.quitting = true
	m.tail.stop()
	return tea.Quit
}

func (m *Model) startInput(mode inputMode, value string) tea.Cmd {
	m.mode = mode
	m.input.Reset()
	m.input.Prompt = "/"
	m.input.Placeholder = "text, re:REGEX, /REGEX/ or field=value"
	if mode == inputCommand {
		m.input.Prompt = ":"
		m.input.Placeholder = "ctx NAME | topic NAME | tail PATTERN [last:N|-5m] | dlq | publish | q"
	}
	m.input.SetValue(value)
	m.input.SetWidth(m.w - 4)
	return m.input.Focus()
}

func (m *Model) inputKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc", "ctrl+c":
		m.mode = inputNone
		m.input.Blur()
		return nil
	case "enter":
		v := m.input.Value()
		mode := m.mode
		m.mode = inputNone
		m.input.Blur()
		if mode == inputFilter {
			f, err := ParseFilter(v)
			if err != nil {
				m.setErr(err)
				return nil
			}
			m.panes[m.focus].SetFilter(f)
			return nil
		}
		return m.command(v)
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	if m.mode == inputFilter {
		// filter as you type when the expression is complete
		if f, err := ParseFilter(m.input.Value()); err == nil {
			m.panes[m.focus].SetFilter(f)
		}
	}
	return cmd
}

// command runs a `:` command.
func (m *Model) command(line string) tea.Cmd {
	name, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	arg = strings.TrimSpace(arg)
	switch name {
	case "":
		return nil
	case "q", "quit", "q!":
		return m.quit()
	case "ctx", "context":
		if arg == "" {
			m.setStatus("contexts: " + SanitizeString(strings.Join(m.o.Contexts, ", ")))
			return nil
		}
		known := len(m.o.Contexts) == 0
		for _, c := range m.o.Contexts {
			known = known || c == arg
		}
		if !known {
			m.setErr(fmt.Errorf("no context %q (have %s)", arg, strings.Join(m.o.Contexts, ", ")))
			return nil
		}
		m.tail.stop()
		m.setStatus("connecting to " + SanitizeString(arg) + "…")
		return m.connect(arg)
	case "topic":
		if t, ok := m.topics.byName(arg); ok {
			return m.drillTopic(t)
		}
		if arg == "" {
			m.setErr(errors.New(":topic needs a name"))
			return nil
		}
		return m.drillTopic(core.TopicInfo{Name: arg})
	case "tail":
		if ok, cmd := m.com.guard(m.com.Keys.TailTopic); !ok {
			return cmd
		}
		pattern, pos, _ := strings.Cut(arg, " ")
		if pattern == "" {
			m.setErr(errors.New(":tail needs a topic or pattern (and optionally a start: last:50, -5m, all)"))
			return nil
		}
		from := core.StartNew()
		if pos = strings.TrimSpace(pos); pos != "" {
			p, err := core.ParsePosition(pos, m.com.Now())
			if err != nil {
				m.setErr(err)
				return nil
			}
			from = p
		}
		m.customTail = true
		m.focus = paneTail
		return m.tail.startFrom(pattern, from)
	case "dlq":
		topic := arg
		if topic == "" {
			topic = m.groups.topic
		}
		if topic == "" {
			if t, ok := m.topics.selected(); ok {
				topic = t.Name
			}
		}
		if topic == "" {
			m.setErr(errors.New(":dlq needs a topic (select one or :dlq TOPIC)"))
			return nil
		}
		m.focus = panePending
		m.inspector = nil
		return m.pending.setBrowse(dlqOf(m.com, topic), true)
	case "publish", "pub":
		if ok, cmd := m.com.guard(m.com.Keys.Publish); !ok {
			return cmd
		}
		m.dialogs = append(m.dialogs, newPublishDialog(m.com, arg, nil, nil))
		return nil
	}
	m.setErr(fmt.Errorf("unknown command %q (ctx, topic, tail, dlq, publish, q)", name))
	return nil
}

// ---- layout and view ----

// wide reports whether all four panes fit at once.
func (m *Model) wide() bool { return m.w >= 100 && m.h >= 30 }

// bodyHeight is what is left under the header and above status + footer.
func (m *Model) bodyHeight() int {
	h := m.h - 3
	if h < 3 {
		h = 3
	}
	return h
}

func (m *Model) layout() {
	bh := m.bodyHeight()
	if m.wide() {
		lw := m.w * 2 / 5
		rw := m.w - lw
		th := bh / 2
		bt := bh - th
		m.topics.SetSize(lw-2, th-2)
		m.groups.SetSize(rw-2, th-2)
		m.pending.SetSize(lw-2, bt-2)
		m.tail.SetSize(rw-2, bt-2)
	} else {
		for _, p := range m.panes {
			p.SetSize(m.w-2, bh-3) // a tab bar line above the pane
		}
	}
	if m.inspector != nil {
		m.inspector.SetSize(m.w-2, bh-2)
	}
}

func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = m.com.Styles.Glyphs("mqscope · " + SanitizeString(m.ctxName))
	if m.o.Mouse {
		v.MouseMode = tea.MouseModeCellMotion
	}
	return v
}

// render is the whole screen as a string (goldens compare it).
func (m *Model) render() string {
	if m.quitting {
		return ""
	}
	lines := []string{m.headerLine()}
	body := m.body()
	lines = append(lines, body...)
	lines = append(lines, m.statusLine(), m.footerLine())
	for i, l := range lines {
		lines[i] = fit(l, m.w)
	}
	if len(lines) > m.h {
		lines = lines[:m.h]
	}
	return m.com.Styles.Glyphs(strings.Join(lines, "\n"))
}

func (m *Model) body() []string {
	st := m.com.Styles
	bh := m.bodyHeight()
	var out []string
	switch {
	case len(m.dialogs) > 0:
		d := m.dialogs[len(m.dialogs)-1].View(m.w)
		out = strings.Split(lipgloss.Place(m.w, bh, lipgloss.Center, lipgloss.Center, d), "\n")
	case m.help:
		out = strings.Split(box(st, "Help"+st.Dot+m.focusedTitle(), m.helpView(bh-2), m.w, bh, true), "\n")
	case m.inspector != nil:
		out = strings.Split(box(st, m.inspector.Title(), m.inspector.View(), m.w, bh, true), "\n")
	case m.wide():
		lw := m.w * 2 / 5
		rw := m.w - lw
		th := bh / 2
		bt := bh - th
		top := joinH(m.paneBox(paneTopics, lw, th), m.paneBox(paneGroups, rw, th))
		bot := joinH(m.paneBox(panePending, lw, bt), m.paneBox(paneTail, rw, bt))
		out = append(top, bot...)
	default:
		out = append([]string{m.tabBar()}, strings.Split(m.paneBoxStr(m.focus, m.w, bh-1), "\n")...)
	}
	for len(out) < bh {
		out = append(out, "")
	}
	return out[:bh]
}

func (m *Model) topDialog() dialog {
	if n := len(m.dialogs); n > 0 {
		return m.dialogs[n-1]
	}
	return nil
}

func (m *Model) focusedTitle() string {
	if m.inspector != nil {
		return "Inspector"
	}
	return m.panes[m.focus].Title()
}

func (m *Model) paneBoxStr(i, w, h int) string {
	return box(m.com.Styles, m.panes[i].Title(), m.panes[i].View(i == m.focus), w, h, i == m.focus)
}

func (m *Model) paneBox(i, w, h int) []string { return strings.Split(m.paneBoxStr(i, w, h), "\n") }

func joinH(a, b []string) []string {
	out := make([]string, len(a))
	for i := range a {
		out[i] = a[i]
		if i < len(b) {
			out[i] += b[i]
		}
	}
	return out
}

func (m *Model) tabBar() string {
	st := m.com.Styles
	names := []string{"1 Topics", "2 Groups", "3 Pending", "4 Tail"}
	var parts []string
	for i, n := range names {
		if i == m.focus {
			parts = append(parts, st.TitleFocus.Render("["+n+"]"))
		} else {
			parts = append(parts, st.Dim.Render(" "+n+" "))
		}
	}
	return strings.Join(parts, " ")
}

func (m *Model) headerLine() string {
	st := m.com.Styles
	parts := []string{st.HeaderKey.Render("mqscope")}
	ctx := m.ctxName
	if ctx == "" {
		ctx = "-"
	}
	parts = append(parts, "ctx "+st.Header.Render(SanitizeString(ctx)), m.stateText())
	backend := string(m.com.Caps.Driver)
	if backend == "" && m.com.Op != nil {
		backend = string(m.com.Op.Driver())
	}
	if backend != "" {
		ver := m.info.Version
		if ver == "" {
			ver = m.com.Caps.ServerVersion
		}
		parts = append(parts, SanitizeString(strings.TrimSpace(backend+" "+ver)))
	}
	if m.target != nil && m.target.Address != "" {
		parts = append(parts, st.Dim.Render(SanitizeString(m.target.Address)))
	}
	line := strings.Join(parts, st.Sep)
	var badges []string
	if m.target != nil && m.target.Demo {
		badges = append(badges, st.Badge.Render(" demo "))
	}
	if m.com.ReadOnly {
		badges = append(badges, st.BadgeRO.Render(" READ-ONLY "))
	}
	if len(badges) > 0 {
		b := strings.Join(badges, " ")
		room := m.w - ansi.StringWidth(b) - 1
		line = fit(line, room) + " " + b
	}
	return line
}

func (m *Model) stateText() string {
	st := m.com.Styles
	switch {
	case m.connecting:
		return st.StateWarn.Render(m.spin() + " connecting")
	case m.target == nil:
		return st.StateBad.Render(st.Down + " down")
	}
	switch m.info.State {
	case core.ConnConnected:
		return st.StateOK.Render(st.Up + " connected")
	case core.ConnReconnecting:
		return st.StateWarn.Render(m.spin() + " reconnecting")
	default:
		return st.StateBad.Render(st.Down + " " + m.info.State.String())
	}
}

var spinFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func (m *Model) spin() string {
	if m.o.ASCII || m.com.Styles.ASCII {
		return string(`|/-\`[(m.ticks/3)%4])
	}
	return spinFrames[(m.ticks/3)%len(spinFrames)]
}

func (m *Model) busy() bool {
	return m.connecting || len(m.jobs) > 0 || m.topics.inflight && !m.topics.loaded ||
		m.groups.inflight && !m.groups.loaded || m.pending.inflight && !m.pending.loaded || m.tail.starting
}

func (m *Model) statusLine() string {
	st := m.com.Styles
	if m.mode != inputNone {
		return m.input.View()
	}
	var left string
	if m.busy() {
		left = m.spin() + " "
	}
	for _, j := range m.jobs {
		if t := j.total.Load(); t > 1 {
			left += fmt.Sprintf("%s %d/%d  ", SanitizeString(j.label), j.done.Load(), t)
		}
	}
	if m.statusErr {
		left += st.Error.Render(m.status)
	} else {
		left += st.Info.Render(m.status)
	}
	return left
}

func (m *Model) focusedBindings() []Binding {
	if m.inspector != nil {
		return m.inspector.Bindings()
	}
	return m.panes[m.focus].Bindings()
}

// footerLine is the short help of the focused pane; disabled actions stay
// visible, marked, so the operator knows they exist.
func (m *Model) footerLine() string {
	st := m.com.Styles
	var parts []string
	width := 0
	add := func(b Binding) bool {
		h := b.Help()
		ok, _ := b.Available(m.com)
		var s string
		if ok {
			s = st.HelpKey.Render(h.Key) + " " + st.HelpDesc.Render(h.Desc)
		} else {
			s = st.HelpOff.Render(h.Key + " " + h.Desc + st.Off)
		}
		w := ansi.StringWidth(s) + 2
		if width+w > m.w-8 {
			return false
		}
		parts = append(parts, s)
		width += w
		return true
	}
	for _, b := range m.focusedBindings() {
		if b.Help().Key == "↑/k" || b.Help().Key == "↓/j" {
			continue
		}
		if !add(b) {
			break
		}
	}
	parts = append(parts, st.HelpKey.Render("?")+" "+st.HelpDesc.Render("help"))
	return strings.Join(parts, "  ")
}

func (m *Model) helpLines() []string {
	st := m.com.Styles
	var ls []string
	sec := func(title string, bs []Binding) {
		ls = append(ls, st.ColHeader.Render(title))
		for _, b := range bs {
			h := b.Help()
			ok, reason := b.Available(m.com)
			line := "  " + st.HelpKey.Render(fmt.Sprintf("%-7s", h.Key)) + " " + h.Desc
			if !ok {
				line = "  " + st.HelpOff.Render(fmt.Sprintf("%-7s %s — disabled: %s", h.Key, h.Desc, SanitizeString(reason)))
			}
			ls = append(ls, line)
		}
	}
	sec(m.focusedTitle(), m.focusedBindings())
	k := m.com.Keys
	sec("Moving", []Binding{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom, k.Back})
	sec("Everywhere", k.globalBindings())
	ls = append(ls, "", st.ColHeader.Render("Commands"),
		st.Dim.Render("  :ctx NAME  :topic NAME  :dlq [TOPIC]  :publish [TOPIC]  :q"),
		st.Dim.Render("  :tail PATTERN [FROM]   FROM: last:50, -5m, all, id:ID"),
		st.Dim.Render("Filter (/)"),
		st.Dim.Render("  text  re:REGEX  /REGEX/  field=value (JSON payloads, dotted paths)"),
		"", st.Dim.Render("j/k pgup/pgdn g/G scroll this help; any other key closes it"))
	return ls
}

// helpView is the window of help lines that fits in h rows. When the help
// is longer, the last row says where the window is and how to move it, so
// every binding stays reachable on a small terminal (80×24).
func (m *Model) helpView(h int) []string {
	ls := m.helpLines()
	if h < 2 || len(ls) <= h {
		m.helpOff = 0
		return ls
	}
	rows := h - 1 // the position line
	m.helpOff = clampInt(m.helpOff, 0, len(ls)-rows)
	out := append([]string(nil), ls[m.helpOff:m.helpOff+rows]...)
	more := ""
	switch {
	case m.helpOff == 0:
		more = " - more below (j/pgdn)"
	case m.helpOff+rows >= len(ls):
		more = " - end (k/pgup for more above)"
	default:
		more = " - more above and below (j/k)"
	}
	pos := fmt.Sprintf("lines %d-%d of %d%s", m.helpOff+1, m.helpOff+rows, len(ls), more)
	return append(out, m.com.Styles.HelpKey.Render(pos))
}

// helpKey scrolls the help with navigation keys; any other key closes it.
func (m *Model) helpKey(msg tea.KeyPressMsg) {
	k := m.com.Keys
	page := m.bodyHeight() - 3
	if page < 1 {
		page = 1
	}
	switch {
	case matches(msg, k.Down):
		m.helpOff++
	case matches(msg, k.Up):
		m.helpOff--
	case matches(msg, k.PageDown), msg.String() == "space":
		m.helpOff += page
	case matches(msg, k.PageUp):
		m.helpOff -= page
	case matches(msg, k.Top):
		m.helpOff = 0
	case matches(msg, k.Bottom):
		m.helpOff = 1 << 20 // clamped when drawn
	default:
		m.help = false
		return
	}
	if m.helpOff < 0 {
		m.helpOff = 0
	}
	if n := len(m.helpLines()); m.helpOff > n {
		m.helpOff = n
	}
}
