package tui

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
)

func testDecoders(t *testing.T) *decode.Set {
	t.Helper()
	sc, err := decode.LoadSchema(decode.SchemaSources{ProtoFiles: []string{filepath.Join("..", "core", "decode", "testdata", "shop.proto")}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := decode.NewSet([]decode.Rule{{Glob: "orders.*", Format: "protobuf:shop.v1.Order"}, {Glob: "tele.*", Format: "msgpack"}}, sc)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// runKey runs the action bound to key s in an actor's table.
func runKey(t *testing.T, as []action, s string) {
	t.Helper()
	for _, a := range as {
		for _, k := range a.Keys() {
			if k == s && a.do != nil {
				a.do()
				return
			}
		}
	}
	t.Fatalf("no action on %q", s)
}

// A msgpack payload with terminal escapes in a key and a value: the tail
// shows it as one line of JSON tagged [msgpack], the inspector as pretty
// JSON, v toggles the hex dump; nothing raw reaches the screen.
func TestDecodedTailAndInspector(t *testing.T) {
	c := newCommon(Options{})
	c.Decoder = testDecoders(t)
	data, _ := msgpack.Marshal(map[string]any{"temp\x1b[31m": 21.5, "site": "\x1b]52;c;aGk=\x07roof"})
	rec := core.Record{Topic: "tele.1", ID: "1", Data: data, Size: len(data)}

	p := newTailPane(c, 100)
	p.SetSize(120, 10)
	p.appendRecords([]core.Record{rec})
	if p.previews[0] != "" {
		t.Error("the preview was made on arrival, not when drawn")
	}
	p.line(p.base)
	prev := p.previews[0]
	if !strings.HasPrefix(prev, "[msgpack] {") || !strings.Contains(prev, `"temp`) || strings.ContainsRune(prev, 0x1b) {
		t.Fatalf("tail preview %q", prev)
	}

	in := newInspector(c, rec, inspectMeta{})
	in.SetSize(100, 30)
	view := strings.Join(in.View(), "\n")
	plain := ansi.Strip(view)
	if !strings.Contains(plain, "msgpack, shown as JSON") || !strings.Contains(plain, `"temp\u001b[31m": 21.5`) {
		t.Fatalf("inspector:\n%s", plain)
	}
	if strings.Contains(view, "\x1b]52") || strings.Contains(view, "\x1b[31m") {
		t.Fatalf("raw escape on screen: %q", view)
	}
	runKey(t, in.Actions(), "v")
	plain = ansi.Strip(strings.Join(in.View(), "\n"))
	if !strings.Contains(plain, "00000000  82 a") || strings.Contains(plain, "shown as JSON") {
		t.Fatalf("hex view:\n%s", plain)
	}
	runKey(t, in.Actions(), "v")
	if plain = ansi.Strip(strings.Join(in.View(), "\n")); !strings.Contains(plain, "shown as JSON") {
		t.Fatalf("back to decoded:\n%s", plain)
	}
}

// A payload its decoder rejects shows the error and the hex, in the tail
// and the inspector.
func TestDecodeErrorShowsHex(t *testing.T) {
	c := newCommon(Options{})
	c.Decoder = testDecoders(t)
	rec := core.Record{Topic: "orders.eu", ID: "1", Data: []byte{0x0a, 0xff, 0x1b}, Size: 3}
	p := newTailPane(c, 100)
	p.appendRecords([]core.Record{rec})
	p.line(p.base)
	if prev := p.previews[0]; !strings.HasPrefix(prev, "[protobuf:shop.v1.Order: ") || !strings.HasSuffix(prev, "0a ff 1b") {
		t.Fatalf("tail preview %q", prev)
	}
	in := newInspector(c, rec, inspectMeta{})
	in.SetSize(100, 30)
	plain := ansi.Strip(strings.Join(in.View(), "\n"))
	if !strings.Contains(plain, "cannot decode as protobuf:shop.v1.Order") || !strings.Contains(plain, "00000000  0a ff 1b") {
		t.Fatalf("inspector:\n%s", plain)
	}
}

// Filters see the decoded document: field=value and plain text.
func TestFilterSeesDecodedPayload(t *testing.T) {
	set := testDecoders(t)
	b, _, err := set.Encode(core.Record{Topic: "orders.eu"}, []byte(`{"id":"o-9","customer":"grace","currency":"EUR","lines":[{"sku":"Z-1","quantity":3}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rec := core.Record{Topic: "orders.eu", ID: "1", Data: b, Size: len(b)}
	for expr, want := range map[string]bool{
		"customer=grace":      true,
		"customer=ada":        false,
		"lines.0.quantity=3":  true,
		"currency=EUR":        true,
		"grace":               true,
		"Z-1":                 true,
		"nobody":              false,
		`re:"sku":"Z-\d"`:     true,
		"lines.0.quantity=4":  false,
		"lines.9.quantity=3":  false,
		"customer.name=grace": false,
	} {
		f, err := ParseFilter(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.MatchDecoded(set, rec); got != want {
			t.Errorf("%s: %v, want %v", expr, got, want)
		}
		if expr == "customer=grace" && f.MatchRecord(rec) {
			t.Errorf("%s matched the protobuf bytes without a decoder", expr)
		}
	}
}

// Publishing text that is not JSON to a msgpack or protobuf topic is
// refused in the dialog, which says why and stays open.
func TestPublishDialogRefusesWhatCannotBeEncoded(t *testing.T) {
	c := newCommon(Options{})
	c.Decoder = testDecoders(t)
	for topic, want := range map[string]string{"tele.1": "not valid JSON", "orders.eu": `unknown field "nope"`} {
		d := newPublishDialog(c, topic, nil, []byte(`{"nope":1`)).(*formDialog)
		if topic == "orders.eu" {
			d.field(fieldPayload).area.SetValue(`{"nope":1}`)
		}
		cmd, closed := d.doSubmit()
		if cmd != nil || closed || !strings.Contains(d.err, want) {
			t.Errorf("%s: closed=%v err=%q, want %q", topic, closed, d.err, want)
		}
	}
	// a topic without a rule publishes the text as written
	d := newPublishDialog(c, "plain", nil, []byte(`not json`)).(*formDialog)
	if cmd, closed := d.doSubmit(); cmd == nil || !closed || d.err != "" {
		t.Errorf("plain text refused: %q", d.err)
	}
}

// At 80 columns the inspector wraps a decode error instead of cutting off
// its reason (the part an operator needs).
func TestDecodeErrorWrapsAt80(t *testing.T) {
	c := newCommon(Options{})
	c.Decoder = testDecoders(t)
	rec := core.Record{Topic: "orders.eu", ID: "1", Data: []byte{0xff, 0xff, 0xff, 0x01}, Size: 4}
	in := newInspector(c, rec, inspectMeta{})
	in.SetSize(78, 22)
	view := in.View()
	for _, l := range view {
		if w := ansi.StringWidth(l); w > 78 {
			t.Fatalf("line wider than the pane (%d): %q", w, l)
		}
	}
	plain := strings.Join(strings.Fields(ansi.Strip(strings.Join(view, " "))), " ")
	if !strings.Contains(plain, "cannot parse invalid wire-format data") {
		t.Fatalf("the reason is cut off:\n%s", strings.Join(view, "\n"))
	}
}
