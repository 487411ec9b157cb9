package tui

import (
	"charm.land/bubbles/v2/key"

	"github.com/mqscope/mqscope/core"
)

// Binding is a key binding plus what it needs to be usable: Op names the
// backend capability it uses (disabled with the backend's reason when
// unsupported, and in read-only mode for mutating ops); Mutating marks
// actions that are not core Ops but still change the broker (publish).
type Binding struct {
	key.Binding
	Op       core.Op
	Mutating bool
}

func bind(keys []string, help, desc string) Binding {
	return Binding{Binding: key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))}
}

func (b Binding) op(o core.Op) Binding { b.Op = o; return b }
func (b Binding) mut() Binding         { b.Mutating = true; return b }

// Available reports whether the binding may run now and, if not, why.
func (b Binding) Available(c *Common) (bool, string) {
	if b.Mutating && c.ReadOnly {
		return false, c.readOnlyWhy()
	}
	if b.Op != "" {
		if b.Op.Mutating() && c.ReadOnly {
			return false, c.readOnlyWhy()
		}
		if c.Caps.Ops == nil {
			return false, "not connected"
		}
		return c.Caps.Can(b.Op)
	}
	return true, ""
}

// KeyMap is every key the console knows. DefaultKeyMap builds it; panes
// list the ones that apply to them for the footer and `?` help.
type KeyMap struct {
	Quit, Help, Command, Filter, NextPane, PrevPane Binding
	Pane1, Pane2, Pane3, Pane4                      Binding
	Up, Down, PageUp, PageDown, Top, Bottom         Binding
	Enter, Back, Select, SelectAll, Refresh         Binding

	Publish, EditResend, Ack, Nak, Term, Claim, Replay, ReplayRange, Rewind Binding
	MoveDLQ, Redrive, DeleteGroup, DeleteConsumer, Browse, DLQ, TailTopic   Binding
	DeleteMessages                                                          Binding
	Purge                                                                   Binding

	TailPause, TailFollow, TailWrap, TailTime, TailClear, TailSave Binding
	CopyPayload, CopyID, CopyJSON                                  Binding
	ViewRaw                                                        Binding
	NextPage, FirstPage                                            Binding
	LastErrors                                                     Binding
	Mark, Diff                                                     Binding
	History                                                        Binding
	Search                                                         Binding
}

// DefaultKeyMap is the console's key map.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Quit:      bind([]string{"q", "ctrl+c"}, "q", "quit"),
		Help:      bind([]string{"?"}, "?", "help"),
		Command:   bind([]string{":"}, ":", "command"),
		Filter:    bind([]string{"/"}, "/", "filter"),
		NextPane:  bind([]string{"tab"}, "tab", "next pane"),
		PrevPane:  bind([]string{"shift+tab"}, "S-tab", "prev pane"),
		Pane1:     bind([]string{"1"}, "1", "topics"),
		Pane2:     bind([]string{"2"}, "2", "groups"),
		Pane3:     bind([]string{"3"}, "3", "pending"),
		Pane4:     bind([]string{"4"}, "4", "tail"),
		Up:        bind([]string{"up", "k"}, "↑/k", "up"),
		Down:      bind([]string{"down", "j"}, "↓/j", "down"),
		PageUp:    bind([]string{"pgup", "ctrl+b"}, "pgup", "page up"),
		PageDown:  bind([]string{"pgdown", "ctrl+f"}, "pgdn", "page down"),
		Top:       bind([]string{"home", "g"}, "g", "top"),
		Bottom:    bind([]string{"end", "G"}, "G", "bottom"),
		Enter:     bind([]string{"enter"}, "enter", "open"),
		Back:      bind([]string{"esc"}, "esc", "back"),
		Select:    bind([]string{"space"}, "space", "select"),
		SelectAll: bind([]string{"ctrl+a"}, "C-a", "select all"),
		Refresh:   bind([]string{"ctrl+r"}, "C-r", "refresh"),

		Publish:        bind([]string{"p"}, "p", "publish").mut(),
		EditResend:     bind([]string{"e"}, "e", "edit & resend").mut(),
		Ack:            bind([]string{"a"}, "a", "ack").op(core.OpAck),
		Nak:            bind([]string{"n"}, "n", "nak").op(core.OpNak),
		Term:           bind([]string{"T"}, "T", "term").op(core.OpTerm),
		Claim:          bind([]string{"c"}, "c", "claim").op(core.OpClaim),
		Replay:         bind([]string{"r"}, "r", "replay").op(core.OpReplay),
		ReplayRange:    bind([]string{"ctrl+p"}, "C-p", "replay range").op(core.OpReplay),
		Rewind:         bind([]string{"w"}, "w", "rewind group").op(core.OpRewind),
		MoveDLQ:        bind([]string{"d"}, "d", "move to DLQ").op(core.OpDeadLetter),
		Redrive:        bind([]string{"R"}, "R", "redrive").op(core.OpRedrive),
		DeleteGroup:    bind([]string{"X"}, "X", "delete group").op(core.OpDeleteGroup),
		DeleteConsumer: bind([]string{"x"}, "x", "delete consumer").op(core.OpDeleteConsumer),
		Purge:          bind([]string{"P"}, "P", "purge topic").op(core.OpPurge),
		DeleteMessages: bind([]string{"D"}, "D", "delete messages").op(core.OpDeleteMessages),
		Browse:         bind([]string{"b"}, "b", "browse").op(core.OpBrowse),
		DLQ:            bind([]string{"L"}, "L", "browse DLQ").op(core.OpBrowse),
		TailTopic:      bind([]string{"t"}, "t", "tail topic").op(core.OpTail),

		TailPause:  bind([]string{"space"}, "space", "pause"),
		TailFollow: bind([]string{"f"}, "f", "follow (resumes a pause)"),
		TailWrap:   bind([]string{"w"}, "w", "wrap"),
		TailTime:   bind([]string{"t"}, "t", "timestamps"),
		TailClear:  bind([]string{"C"}, "C", "clear"),
		TailSave:   bind([]string{"s"}, "s", "save .jsonl"),

		LastErrors: bind([]string{"E"}, "E", "errors: last action, refreshes, notice"),
		History:    bind([]string{"h"}, "h", "history: backlog, rates, trend"),

		NextPage:  bind([]string{"]"}, "]", "next page"),
		Search:    bind([]string{"S"}, "S", "search history with the jq filter").op(core.OpBrowse),
		FirstPage: bind([]string{"["}, "[", "first page"),

		CopyPayload: bind([]string{"y"}, "y", "copy payload"),
		CopyID:      bind([]string{"Y"}, "Y", "copy id"),
		CopyJSON:    bind([]string{"J"}, "J", "copy as JSON"),
		ViewRaw:     bind([]string{"v"}, "v", "hex/decoded"),

		Mark: bind([]string{"m"}, "m", "mark for diff"),
		Diff: bind([]string{"="}, "=", "diff with marked"),
	}
}

// globalBindings are shown in full help for every pane.
func (k KeyMap) globalBindings() []Binding {
	return []Binding{k.NextPane, k.PrevPane, k.Pane1, k.Pane2, k.Pane3, k.Pane4, k.Filter, k.Command, k.Refresh, k.LastErrors, k.Help, k.Quit}
}
