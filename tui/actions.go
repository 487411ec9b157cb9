package tui

// Actions as data. Every pane (and the inspector) declares what it offers
// in one table: the key, label and core.Op (its Binding), what the action
// works on, the dialog it opens or the command it runs. The root model
// checks capability and read-only mode once (dispatch), and builds the
// footer, the `?` help and KEYS.md from the same tables, so a key that
// works is a key that is shown (k9s KeyActions, lazygit's Binding with
// GetDisabledReason).

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
)

// need is what an action works on; the root checks it before the call.
type need int

const (
	needNothing   need = iota
	needRow            // the row under the cursor (without one, nothing happens)
	needSelection      // the marked rows, else the row under the cursor (without any: an error)
	needTopic          // the topic the pane shows
)

// action is one entry of a pane's table. With neither dialog nor do it is
// shown only: the pane handles the key itself (list navigation).
type action struct {
	Binding
	need   need
	dialog func() dialog  // the dialog it opens (pushed on the overlay stack)
	do     func() tea.Cmd // or what it does
}

// act is an action that runs do.
func act(b Binding, n need, do func() tea.Cmd) action { return action{Binding: b, need: n, do: do} }

// opens is an action that opens a dialog.
func opens(b Binding, n need, d func() dialog) action { return action{Binding: b, need: n, dialog: d} }

// send is an action that sends msg to the root (drill down, browse, tail).
func send(b Binding, n need, msg func() tea.Msg) action {
	return act(b, n, func() tea.Cmd { return msgCmd(msg()) })
}

// shown is a binding listed in the table but handled by the pane itself.
func shown(b Binding) action { return action{Binding: b} }

func (a action) runnable() bool { return a.dialog != nil || a.do != nil }

// actor is anything that offers actions: every pane and the inspector.
type actor interface {
	Actions() []action
	// has reports whether what an action needs is there now.
	has(n need) bool
}

func bindingsOf(as []action) []Binding {
	out := make([]Binding, len(as))
	for i, a := range as {
		out[i] = a.Binding
	}
	return out
}

// findAction is the first runnable action bound to the key.
func findAction(as []action, msg keyMsg) (action, bool) {
	for _, a := range as {
		if a.runnable() && matches(msg, a.Binding) {
			return a, true
		}
	}
	return action{}, false
}

// dispatch is the one place an action is checked and run: disabled
// (capability, read-only) says why; a missing selection says so; a missing
// row does nothing; then the dialog opens or the command runs.
func dispatch(c *Common, a action, on actor) tea.Cmd {
	if ok, reason := a.Available(c); !ok {
		return msgCmd(statusMsg{err: fmt.Errorf("%s is disabled: %s", a.Help().Desc, reason)})
	}
	if a.need != needNothing && (on == nil || !on.has(a.need)) {
		if a.need == needSelection {
			return msgCmd(statusMsg{err: fmt.Errorf("%s: nothing selected", a.Help().Desc)})
		}
		return nil
	}
	if a.dialog != nil {
		return msgCmd(pushDialogMsg{d: a.dialog()})
	}
	return a.do()
}

// keyed is what takes keys: a pane or the inspector.
type keyed interface {
	actor
	Update(msg tea.Msg) tea.Cmd
}

// pressKey sends a key to a pane (or the inspector): its action bound to
// the key runs through dispatch; any other key is the pane's own
// (navigation).
func pressKey(c *Common, to keyed, msg keyMsg) tea.Cmd {
	if a, ok := findAction(to.Actions(), msg); ok {
		return dispatch(c, a, to)
	}
	return to.Update(msg)
}

// msgScope is where messages sit, which decides what can be done to them:
// pending in a group, stored in a topic, stored in a DLQ, or seen on a
// tail. The pending, messages and DLQ panes and the inspector (on the one
// message it shows) share these row actions.
type msgScope struct {
	kind  scopeKind
	topic string
	group string         // scopePending
	info  core.GroupInfo // scopePending: the group's members (claim targets)
	// ownerOf is who holds a pending message (scopePending): a claim
	// never defaults to the owner.
	ownerOf func(id string) string
}

type scopeKind int

const (
	scopeTail scopeKind = iota
	scopePending
	scopeMessages
	scopeDLQ
)

// messageActions are the actions on a selection of messages in scope s.
// ids is the selection; rec, when the rows are records, the one under the
// cursor (edit & resend needs its payload).
func messageActions(c *Common, s msgScope, ids func() []string, rec func() core.Record) []action {
	k := c.Keys
	var as []action
	if s.kind == scopePending {
		ack := func(op core.Op) func() dialog {
			return func() dialog { return ackDialog(c, op, s.topic, s.group, ids()) }
		}
		as = append(as,
			opens(k.Ack, needSelection, ack(core.OpAck)),
			opens(k.Nak, needSelection, ack(core.OpNak)),
			opens(k.Term, needSelection, ack(core.OpTerm)),
			opens(k.Claim, needSelection, func() dialog { return newClaimDialog(c, s, ids()) }))
	}
	switch s.kind {
	case scopePending, scopeMessages:
		as = append(as, opens(k.MoveDLQ, needSelection, func() dialog { return newMoveDialog(c, s.topic, s.group, ids()) }))
	case scopeDLQ:
		as = append(as, opens(k.Redrive, needSelection, func() dialog { return redriveDialog(c, s.topic, ids()) }))
	}
	if s.kind == scopeMessages || s.kind == scopeDLQ {
		as = append(as, opens(k.DeleteMessages, needSelection, func() dialog { return deleteMessagesDialog(c, s.topic, ids()) }))
	}
	if s.kind != scopeTail {
		as = append(as, opens(k.Replay, needSelection, func() dialog { return newReplayDialog(c, s.topic, ids(), false) }))
	}
	if rec != nil {
		as = append(as, opens(k.EditResend, needRow, func() dialog { return resendDialog(c, rec()) }))
	}
	return as
}
