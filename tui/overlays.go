package tui

// The overlay stack: what sits over the panes, in the order it was opened.
// The top layer gets keys first and is drawn over what is below it (the
// input line is drawn in the status row, so the layer below it stays in
// view). Each layer has an id: a reply meant for one layer (an $EDITOR
// result for one dialog) reaches that layer or, when it has closed,
// nothing.

import (
	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
)

type layerKind int

const (
	layerInspector layerKind = iota + 1 // always at the bottom: it stands in for the panes
	layerHelp
	layerInput // the / filter or : command line (Model.input, Model.mode)
	layerDialog
	layerDiff // the comparison of two messages (diff.go)
)

type layer struct {
	id        int
	kind      layerKind
	dialog    dialog     // layerDialog
	inspector *inspector // layerInspector
	diff      *diffView  // layerDiff
}

type overlays struct {
	stack  []layer
	lastID int
}

// push puts a layer on top and returns its id.
func (s *overlays) push(l layer) int {
	s.lastID++
	l.id = s.lastID
	if d, ok := l.dialog.(interface{ setLayer(id int) }); ok {
		d.setLayer(l.id)
	}
	if l.kind == layerInspector {
		// one inspector, under everything else: a message fetched while a
		// dialog is open must not take the dialog's keys
		s.remove(layerInspector)
		s.stack = append([]layer{l}, s.stack...)
		return l.id
	}
	s.stack = append(s.stack, l)
	return l.id
}

// top is the layer that gets keys, nil when the panes do.
func (s *overlays) top() *layer {
	if n := len(s.stack); n > 0 {
		return &s.stack[n-1]
	}
	return nil
}

func (s *overlays) topKind() layerKind {
	if t := s.top(); t != nil {
		return t.kind
	}
	return 0
}

// drawn is the top layer drawn in the body (the input line is not).
func (s *overlays) drawn() *layer {
	for i := len(s.stack) - 1; i >= 0; i-- {
		if s.stack[i].kind != layerInput {
			return &s.stack[i]
		}
	}
	return nil
}

func (s *overlays) pop() {
	if n := len(s.stack); n > 0 {
		s.stack = s.stack[:n-1]
	}
}

// remove closes every layer of a kind.
func (s *overlays) remove(k layerKind) {
	out := s.stack[:0]
	for _, l := range s.stack {
		if l.kind != k {
			out = append(out, l)
		}
	}
	s.stack = out
}

func (s *overlays) count(k layerKind) int {
	n := 0
	for _, l := range s.stack {
		if l.kind == k {
			n++
		}
	}
	return n
}

func (s *overlays) has(k layerKind) bool { return s.count(k) > 0 }

func (s *overlays) byID(id int) *layer {
	for i := range s.stack {
		if s.stack[i].id == id {
			return &s.stack[i]
		}
	}
	return nil
}

func (s *overlays) inspector() *inspector {
	if len(s.stack) > 0 && s.stack[0].kind == layerInspector {
		return s.stack[0].inspector
	}
	return nil
}

// updateDialog gives msg to the dialog layer l, closing it when done.
func (s *overlays) updateDialog(l *layer, msg tea.Msg) tea.Cmd {
	id := l.id
	cmd, done := l.dialog.Update(msg)
	if done {
		if i := s.indexOf(id); i >= 0 {
			s.stack = append(s.stack[:i], s.stack[i+1:]...)
		}
	}
	return cmd
}

func (s *overlays) indexOf(id int) int {
	for i, l := range s.stack {
		if l.id == id {
			return i
		}
	}
	return -1
}

// layerMsg is a reply addressed to one layer.
type layerMsg interface{ layerID() int }

func (m *Model) pushDialog(d dialog) { m.layers.push(layer{kind: layerDialog, dialog: d}) }

func (m *Model) openHelp() {
	m.helpOff = 0
	m.layers.push(layer{kind: layerHelp})
}

// inspecting is the open inspector, nil when none is.
func (m *Model) inspecting() *inspector { return m.layers.inspector() }

func (m *Model) closeInspector() { m.layers.remove(layerInspector) }

func (m *Model) openInspector(r core.Record, meta inspectMeta) {
	m.layers.push(layer{kind: layerInspector, inspector: newInspector(m.com, r, meta)})
	m.layout()
}

// topDialog is the dialog that gets keys, nil when none does.
func (m *Model) topDialog() dialog {
	if t := m.layers.top(); t != nil && t.kind == layerDialog {
		return t.dialog
	}
	return nil
}
