package tui

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"github.com/redis/go-redis/v9"
)

// hostile are the pieces of name and payload a terminal would act on,
// each as it is written raw.
var hostile = map[string]string{
	"sgr":   "\x1b[41;97mREDALERT",
	"osc8":  "\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07",
	"osc52": "\x1b]52;c;ZXZpbA==\x07",
	"osc0":  "\x1b]0;pwned\x07",
	"csi":   "\x1b[2J\x1b[5;5H",
	"c1":    "\u009b31mC1",
	"bidi":  "\u202egnp.exe",
	"nl":    "\nFAKE-FOOTER\r",
}

// allHostile is every piece in one string (fixed order).
func allHostile() string {
	keys := make([]string, 0, len(hostile))
	for k := range hostile {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for _, k := range keys {
		sb.WriteString(hostile[k])
	}
	return sb.String()
}

// syncBuffer is what the program wrote, written from the drain goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}

// sgrAttrs are the SGR parameters the console may write with the ASCII
// profile: attributes, never a colour (30–49, 90–107, 38/48/58).
var sgrAttrs = map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true, 5: true, 7: true, 8: true, 9: true,
	21: true, 22: true, 23: true, 24: true, 25: true, 27: true, 28: true, 29: true}

// consoleSequences are the escape sequences the console writes itself
// (Bubble Tea's renderer and its terminal setup): cursor movement and
// erasing, scrolling, modes, and SGR attributes. Nothing else — no OSC,
// DCS, APC, no colour — may appear in its output.
var consoleSequences = map[string]bool{
	"CSI A": true, "CSI B": true, "CSI C": true, "CSI D": true, "CSI E": true, "CSI F": true,
	"CSI G": true, "CSI H": true, "CSI d": true, "CSI J": true, "CSI K": true, "CSI X": true,
	"CSI L": true, "CSI M": true, "CSI S": true, "CSI T": true, "CSI @": true, "CSI P": true,
	"CSI b": true, "CSI r": true, "CSI m": true, "CSI ?h": true, "CSI ?l": true, "CSI  q": true,
	"CSI ?$p": true, // DECRQM: does the terminal support synchronized output
	"CSI >u":  true, "CSI <u": true, "CSI ?u": true, "CSI =u": true, "CSI >m": true,
	"OSC 2 window title": true,
	"ESC 7":              true, "ESC 8": true, "ESC M": true, "ESC =": true, "ESC >": true,
	"C0 0a": true, "C0 0d": true, "C0 08": true,
}

// scanTerminalOutput decodes what the program wrote and reports every
// sequence outside consoleSequences, SGR colours (unless colours: a View
// before the profile is applied), and text runes a terminal acts on (C1
// controls, bidi controls). seen counts each kind.
func scanTerminalOutput(out []byte, colours bool) (bad []string, seen map[string]int) {
	seen = map[string]int{}
	p := ansi.NewParser()
	var state byte
	for len(out) > 0 {
		seq, width, n, ns := ansi.DecodeSequence(out, state, p)
		state = ns
		if n <= 0 {
			break
		}
		out = out[n:]
		var kind string
		switch {
		case ansi.HasCsiPrefix(seq):
			c := ansi.Cmd(p.Command())
			kind = "CSI "
			if c.Prefix() != 0 {
				kind += string(rune(c.Prefix()))
			}
			if c.Intermediate() != 0 {
				kind += string(rune(c.Intermediate()))
			}
			kind += string(rune(c.Final()))
			if kind == "CSI m" && !colours {
				for _, prm := range p.Params() {
					if v := prm.Param(0); !sgrAttrs[v] {
						bad = append(bad, fmt.Sprintf("SGR colour or unknown parameter %d in %q", v, seq))
					}
				}
			}
		case ansi.HasOscPrefix(seq) && isWindowTitle(seq):
			kind = "OSC 2 window title"
			for _, r := range string(p.Data()) {
				if r < 0x20 || r == 0x7f || unsafeRune(r) {
					bad = append(bad, fmt.Sprintf("window title with %U: %q", r, seq))
				}
			}
		case ansi.HasOscPrefix(seq), ansi.HasDcsPrefix(seq), ansi.HasApcPrefix(seq), ansi.HasPmPrefix(seq), ansi.HasSosPrefix(seq):
			kind = fmt.Sprintf("string sequence %q", seq)
		case len(seq) > 0 && seq[0] == ansi.ESC:
			kind = "ESC " + string(seq[1:])
		case width == 0 && len(seq) == 1 && (seq[0] < 0x20 || seq[0] == 0x7f):
			kind = fmt.Sprintf("C0 %02x", seq[0])
		case width == 0 && len(seq) == 1 && seq[0] >= 0x80 && seq[0] <= 0x9f:
			kind = fmt.Sprintf("C1 byte %02x", seq[0])
		default:
			for _, r := range string(seq) {
				if r == utf8.RuneError || unsafeRune(r) {
					bad = append(bad, fmt.Sprintf("text rune %U in %q", r, seq))
				}
			}
			continue
		}
		seen[kind]++
		if !consoleSequences[kind] {
			bad = append(bad, kind+fmt.Sprintf(" (%q)", seq))
		}
	}
	return bad, seen
}

// isWindowTitle: the console's one OSC, its window title (view.go), which
// names the context, sanitised.
func isWindowTitle(seq []byte) bool {
	return bytes.HasPrefix(seq, []byte("\x1b]2;mqscope ")) &&
		(bytes.HasSuffix(seq, []byte("\a")) || bytes.HasSuffix(seq, []byte("\x1b\\")))
}

// TestScanTerminalOutput: the scanner itself finds each hostile piece
// written raw, and passes the sanitised text.
func TestScanTerminalOutput(t *testing.T) {
	for k, v := range hostile {
		if k == "nl" || k == "csi" {
			continue // sequences the console writes itself: the raw-piece check finds them
		}
		if bad, _ := scanTerminalOutput([]byte("ok "+v+" ok"), false); len(bad) == 0 {
			t.Errorf("%s written raw was not found", k)
		}
		if bad, _ := scanTerminalOutput([]byte(SanitizeString(v)), false); len(bad) != 0 {
			t.Errorf("%s sanitised was reported: %v", k, bad)
		}
	}
	if bad, _ := scanTerminalOutput([]byte("\x1b[1;7mbold\x1b[m\x1b[2;3H\x1b[K"), false); len(bad) != 0 {
		t.Errorf("console styling reported: %v", bad)
	}
}

// TestFlowHostileNames: stream, group and consumer names, payloads and
// headers carrying SGR, OSC 8/52/0, CSI, C1, bidi controls and newlines go
// through every pane, the inspector, the claim, move and delete dialogs
// and the status line, on real Redis (its names are binary-safe); the
// bytes the console writes hold none of them raw and no sequence besides
// its own, and the screen keeps its height (the footer stays).
func TestFlowHostileNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg, rdb, uniq := rawRedis(t, "hx")
	evil := allHostile()
	main := uniq + "-a" + evil
	group := "g" + evil
	consumer := "c" + evil
	xadd := func(topic, payload string) string {
		t.Helper()
		id, err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: topic, Values: []any{
			"data", payload, "headers", `{"x-evil":["` + strings.ReplaceAll(strings.ReplaceAll(fmt.Sprintf("%q", evil), `\x1b`, `\u001b`), `"`, ``) + `"]}`,
		}}).Result()
		if err != nil {
			t.Fatalf("XADD %q: %v", topic, err)
		}
		return id
	}
	for k, v := range hostile {
		xadd(uniq+"-k-"+k+v, "payload "+v)
	}
	xadd(main, "first "+evil)
	xadd(main, "second "+evil)
	if err := rdb.XGroupCreate(ctx, main, group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: consumer, Streams: []string{main, ">"}, Count: 10}).Err(); err != nil {
		t.Fatal(err)
	}

	raw := &syncBuffer{}
	f := startFlowTo(t, Options{Contexts: []string{"redis"}, Initial: "redis", Open: openerFor(cfg)}, raw)
	height := 48
	checkScreen := func(step string) {
		t.Helper()
		var s string
		f.probe(func(m *Model) { s = m.render() })
		lines := strings.Split(s, "\n")
		if len(lines) != height {
			t.Fatalf("%s: the screen has %d lines, not %d:\n%s", step, len(lines), height, ansi.Strip(s))
		}
		for _, piece := range hostile {
			if strings.Contains(s, piece) {
				t.Fatalf("%s: the view holds %q raw", step, piece)
			}
		}
		if bad, _ := scanTerminalOutput([]byte(s), true); len(bad) > 0 {
			t.Fatalf("%s: the view holds %v", step, bad)
		}
	}
	f.waitScreen("connected", "connected", "redis_stream")

	// Topics: one row per kind, plus the main topic
	f.filter(uniq)
	f.waitModel("hostile topics listed", func(m *Model) bool { return len(m.topics.shown) == len(hostile)+1 })
	f.waitScreen("escaped names", `-k-sgr\x1b[4`, `-k-osc52\x1b`, `-k-nl\nFAKE-`, `-a\u202egnp.`)
	checkScreen("topics")
	f.key("esc")
	f.filter(uniq + "-a")
	f.waitModel("main topic selected", func(m *Model) bool { t, ok := m.topics.selected(); return ok && t.Name == main })
	checkScreen("topic detail")

	// Groups (group and consumer rows), then the tail following the topic
	f.key("enter")
	f.waitModel("groups", func(m *Model) bool { return len(m.groups.groups) == 1 })
	// (the tail refuses a topic with control characters: the status line
	// says so, with the name escaped)
	f.waitStatus("tail refused", "invalid topic")
	checkScreen("groups")

	// Pending: the consumer column; claim and move dialogs; the inspector
	f.key("enter")
	f.waitModel("pending", func(m *Model) bool { return len(m.pending.entries) == 2 })
	checkScreen("pending")
	f.key("c")
	f.waitModel("claim dialog", func(m *Model) bool { return m.topDialog() != nil })
	checkScreen("claim dialog")
	f.key("esc")
	f.key("d")
	f.waitModel("move dialog", func(m *Model) bool { return m.topDialog() != nil })
	var dlq, suffix string
	f.probe(func(m *Model) { dlq, suffix = m.topDialog().(*formDialog).val(fieldDLQ), m.com.DLQSuffix })
	if dlq != main+suffix {
		t.Errorf("the move dialog would move to %q, want the topic's own DLQ %q", dlq, main+suffix)
	}
	checkScreen("move dialog")
	f.key("esc")
	f.key("enter")
	f.waitModel("inspector", func(m *Model) bool { return m.layers.inspector() != nil && m.layers.inspector().rec.Topic == main })
	f.waitScreen("inspector payload", "first ", "x-evil")
	checkScreen("inspector")
	f.key("esc")

	// Messages: browse the topic from the groups pane
	f.key("2")
	f.key("b")
	f.waitModel("messages", func(m *Model) bool { return len(m.messages.recs) == 2 })
	checkScreen("messages")
	f.key("m")
	f.key("j")
	f.key("=")
	f.waitModel("diff of the two", func(m *Model) bool { return m.diffShown() != nil })
	f.waitScreen("diff of the two", "PAYLOAD text ↔ text · line diff", "- second ", "+ first ")
	checkScreen("diff")
	f.key("esc")

	// Delete the group: its dialog, then the job's label in the status line
	f.key("2")
	f.key("X")
	f.waitModel("delete dialog", func(m *Model) bool { return m.topDialog() != nil })
	checkScreen("delete dialog")
	f.key("y")
	f.waitStatus("group deleted", "delete group g")
	checkScreen("status line")
	if gs, err := rdb.XInfoGroups(ctx, main).Result(); err != nil || len(gs) != 0 {
		t.Fatalf("XINFO GROUPS after the delete: %v %v", gs, err)
	}

	// Tail: a topic whose name has a bidi override (core refuses control
	// characters in a tail's topic, not format characters), hostile
	// payloads and headers; then the inspector from the tail
	tailTopic := uniq + "-t" + hostile["bidi"]
	xadd(tailTopic, "before")
	f.key("1")
	f.key("esc")
	f.filter(uniq + "-t")
	f.waitModel("tail topic selected", func(m *Model) bool { t, ok := m.topics.selected(); return ok && t.Name == tailTopic })
	f.key("t")
	f.waitModel("tail running", func(m *Model) bool { return m.tail.Running() && m.tail.pattern == tailTopic })
	tailID := xadd(tailTopic, "tailed "+evil)
	f.waitModel("tail shows the new message", func(m *Model) bool {
		r, ok := m.tail.selectedRecord()
		return ok && r.ID == tailID
	})
	checkScreen("tail")
	f.key("enter")
	f.waitModel("inspector from the tail", func(m *Model) bool { in := m.layers.inspector(); return in != nil && in.rec.ID == tailID })
	checkScreen("inspector from the tail")
	f.key("esc")

	// the raw bytes: wait for the drain to catch up with the last frame
	f.waitModel("output drained", func(m *Model) bool { return true })
	var out []byte
	for i := 0; i < 20; i++ {
		out = raw.Bytes()
		if bytes.Contains(out, []byte("delete group g")) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(out) < 10000 {
		t.Fatalf("only %d bytes of terminal output captured", len(out))
	}
	for k, piece := range hostile {
		if bytes.Contains(out, []byte(piece)) {
			t.Errorf("the terminal received the %s piece raw", k)
		}
	}
	bad, seen := scanTerminalOutput(out, false)
	t.Logf("%d bytes written; sequences: %v", len(out), seen)
	if len(bad) > 0 {
		if len(bad) > 20 {
			bad = bad[:20]
		}
		t.Errorf("the terminal received what the console does not write itself:\n%s", strings.Join(bad, "\n"))
	}
}
