package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

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

	topics   *topicsPane
	groups   *groupsPane
	pending  *pendingPane
	messages *messagesPane // shares slot 3 with pending
	tail     *tailPane
	panes    [numPanes]pane // what each slot shows now
	focus    int

	layers     overlays // dialogs, help, the input line and the inspector
	inspectReq uint64   // only the last Enter's message opens
	diffReq    uint64   // only the last = opens its comparison
	helpOff    int      // first help line shown (help scrolls on small screens)

	mode inputMode
	// filterBefore is the focused pane's filter when `/` opened: the
	// filter line applies what parses as it is typed, and a refused
	// expression on enter goes back to this one, not to the last prefix
	// that happened to parse (`jq:.amount ` of `jq:.amount >`).
	filterBefore Filter
	input        textinput.Model

	owned     *targets // every context opened and not closed (Shutdown closes them)
	status    string
	statusSeq uint64 // counts setStatusLine calls
	statusErr bool
	jobs      []*job
	// the per-item errors of the last action that had any (E shows them)
	lastErrs      []string
	lastErrsLabel string
	lastErr       string // the last error the status line showed, in full (E)
	notice        string // the open context's Target.Notice (E)

	baseTimeout time.Duration // the console's broker-call timeout (a context may set its own)

	// the stuck scan (stuck.go)
	stuckFlight  bool
	stuckAt      time.Time
	stuckSkipped int

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
	m := &Model{o: o, com: c, ctxName: o.Initial, w: 80, h: 24, baseTimeout: c.Timeout, owned: &targets{}}
	m.topics = newTopicsPane(c)
	m.groups = newGroupsPane(c)
	m.pending = newPendingPane(c)
	m.messages = newMessagesPane(c)
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
	return RunWith(ctx, o, nil)
}

// RunWith runs the console with extra program options — another terminal's
// input, output, environment and size (mqscope serve runs one per SSH
// session) — until the operator quits or ctx ends. started, when not nil,
// gets the program before it runs (to send it window sizes).
func RunWith(ctx context.Context, o Options, started func(*tea.Program), extra ...tea.ProgramOption) error {
	m := NewModel(o).WithContext(ctx)
	opts := append([]tea.ProgramOption{tea.WithContext(ctx)}, extra...)
	if o.NoColor {
		// no colour at all; bold/reverse still mark focus and selection
		opts = append(opts, tea.WithColorProfile(colorprofile.Ascii))
	}
	p := tea.NewProgram(m, opts...)
	if started != nil {
		started(p)
	}
	final, err := p.Run()
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
	m.target = nil
	m.owned.closeAll(m.com.Logger) // the current one and any still on its way
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
	if !m.tail.Running() && !m.busy() && len(m.jobs) == 0 {
		d = 250 * time.Millisecond
	}
	return tea.Tick(d, func(time.Time) tea.Msg { return tickMsg{} })
}

func (m *Model) refreshTick() tea.Cmd {
	gen := m.com.Gen
	return tea.Tick(m.refreshEvery(), func(time.Time) tea.Msg { return refreshMsg{gen: gen} })
}

// refreshEvery is the polling interval: the context's, else the option.
func (m *Model) refreshEvery() time.Duration {
	if m.target != nil && m.target.Refresh > 0 {
		return m.target.Refresh
	}
	return m.o.Refresh
}

// setErr, setStatus and setStatusLine are the only ways into the status
// line, and each sanitises: a status can hold broker data (a group name in
// a job label, a topic in an error).
func (m *Model) setErr(err error) {
	m.setStatusLine(err.Error(), true)
	m.lastErr = m.status
	m.com.Logger.Debug("status", "err", err)
}

func (m *Model) setStatus(s string) { m.setStatusLine(s, false) }

func (m *Model) setStatusLine(s string, isErr bool) {
	m.status, m.statusErr = SanitizeString(s), isErr
	m.statusSeq++
}

func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.layout()
		return m, nil
	case tickMsg:
		m.ticks++
		m.tail.drain(m.com.Now())
		return m, tea.Batch(m.tickCmd(), m.tail.queryNext())
	case refreshMsg:
		if msg.gen != m.com.Gen {
			return m, nil // a refresh loop of an old context ends here
		}
		return m, tea.Batch(m.refreshPanes(true), m.refreshTick())
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
		cmd := m.topics.Update(msg)
		if msg.err == nil {
			cmd = tea.Batch(cmd, m.maybeScanStuck())
		}
		return m, cmd
	case stuckScanMsg:
		if msg.gen != m.com.Gen {
			return m, nil
		}
		m.stuckScanned(msg)
		return m, nil
	case topicsVisibleMsg:
		if msg.gen != m.com.Gen {
			return m, nil
		}
		return m, m.topics.Update(msg)
	case groupsMsg:
		if msg.gen != m.com.Gen {
			return m, nil
		}
		cmd := m.groups.Update(msg)
		m.pending.groupRefreshed(m.groups.Topic(), m.groups.groups) // fresh idle times for claim
		return m, cmd
	case pendingMsg:
		if msg.gen != m.com.Gen {
			return m, nil
		}
		return m, m.pending.Update(msg)
	case browseMsg:
		if msg.gen != m.com.Gen {
			return m, nil
		}
		return m, m.messages.Update(msg)
	case searchProgressMsg:
		if m.messages.searching() {
			m.setStatus(m.messages.search.progress())
		}
		return m, nil
	case searchPageMsg:
		if msg.gen != m.com.Gen {
			return m, nil
		}
		return m, m.messages.Update(msg)
	case queryBatchMsg:
		if msg.gen != m.com.Gen {
			return m, nil
		}
		switch msg.to {
		case queryToTail:
			return m, m.tail.Update(msg)
		case queryToMessages:
			return m, m.messages.Update(msg)
		case queryToPending:
			return m, m.pending.Update(msg)
		}
		return m, nil
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
	case queriesSavedMsg:
		if msg.err != nil {
			m.setErr(msg.err)
		} else {
			m.setStatus(fmt.Sprintf("saved query %s to %s", msg.name, msg.path))
		}
		return m, nil
	case savedMsg:
		if msg.err != nil {
			m.setErr(msg.err)
		} else {
			m.setStatus(fmt.Sprintf("saved %s to %s", plural(msg.n, "message"), msg.path))
		}
		return m, nil

	// requests from panes
	case drillTopicMsg:
		return m, m.drillTopic(msg.topic)
	case drillGroupMsg:
		m.showInSlot3(m.pending)
		return m, m.pending.setGroup(msg.topic, msg.group, msg.consumer, msg.info)
	case browseTopicMsg:
		m.showInSlot3(m.messages)
		return m, m.messages.setTopic(msg.topic, msg.dlq)
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
		m.setStatus("loading message " + msg.id + "…")
		return m, m.com.call(func(ctx context.Context, op *core.Operator) tea.Msg {
			r, err := op.Get(ctx, msg.topic, msg.id)
			return recordMsg{gen: gen, req: req, rec: r, meta: msg.meta, err: err}
		})
	case diffMsg:
		return m, m.startDiff(msg.ref)
	case diffReadyMsg:
		m.diffReady(msg)
		return m, nil
	case pushDialogMsg:
		m.pushDialog(msg.d)
		return m, nil
	case focusMsg:
		m.focus = msg.pane
		return m, nil
	case tea.KeyPressMsg:
		// A status belongs to the pane it was said in: moving to another
		// pane clears it unless the key said something new (E keeps the
		// last error).
		seq, focus := m.statusSeq, m.focus
		cmd := m.key(msg)
		if m.focus != focus && m.statusSeq == seq {
			m.status, m.statusErr = "", false
		}
		return m, cmd
	case tea.MouseWheelMsg:
		// optional mouse: the wheel scrolls what has focus
		k := tea.KeyPressMsg{Code: tea.KeyDown}
		if msg.Button == tea.MouseWheelUp {
			k = tea.KeyPressMsg{Code: tea.KeyUp}
		}
		if top := m.layers.topKind(); top != layerDialog && top != layerInput {
			return m, m.key(k)
		}
		return m, nil
	case probeMsg:
		msg(m) // runs on the event loop: tests read the model without a race
		return m, nil
	}
	// a reply for one layer (an editor result) goes to that layer only
	if lm, ok := msg.(layerMsg); ok {
		if l := m.layers.byID(lm.layerID()); l != nil && l.kind == layerDialog {
			return m, m.layers.updateDialog(l, msg)
		}
		return m, orphaned(msg)
	}
	// anything else (cursor blinks) goes to the top dialog or the input line
	switch t := m.layers.top(); m.layers.topKind() {
	case layerDialog:
		return m, m.layers.updateDialog(t, msg)
	case layerInput:
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

// probeMsg runs a function on the event loop (tests use it to look at
// the model while the program runs).
type probeMsg func(*Model)

// allPanes are the panes, shown or not (pending and messages share slot 3).
func (m *Model) allPanes() []pane {
	return []pane{m.topics, m.groups, m.pending, m.messages, m.tail}
}

// showInSlot3 focuses slot 3 showing p (the pending or the messages pane);
// the other one stops polling.
func (m *Model) showInSlot3(p pane) {
	if m.panes[panePending] != p {
		m.panes[panePending].reset()
	}
	m.panes[panePending] = p
	m.focus = panePending
	m.closeInspector()
}

func (m *Model) drillTopic(t core.TopicInfo) tea.Cmd {
	m.focus = paneGroups
	m.closeInspector()
	cmds := []tea.Cmd{m.groups.setTopic(t.Name)}
	m.pending.reset()
	m.messages.reset()
	m.panes[panePending] = m.pending
	if !m.customTail {
		if ok, _ := m.com.Keys.TailTopic.Available(m.com); ok {
			cmds = append(cmds, m.tail.start(tailPattern(t)))
		}
	}
	return tea.Batch(cmds...)
}
