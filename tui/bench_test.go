package tui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
)

// bigText is n bytes of text on one line (a log blob), bigJSON a JSON
// array of about n bytes on one line.
func bigText(n int) []byte { return bytes.Repeat([]byte("lorem ipsum "), n/12+1)[:n] }

func bigJSON(n int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for b.Len() < n {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":12345,"name":"widget","tags":["a","b"]}`)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// tailWithBig is a tail pane showing a few small records around a big one.
func tailWithBig(b *testing.B, data []byte) *tailPane {
	c := newCommon(Options{Theme: "dark"})
	c.Now = func() time.Time { return fixedNow }
	p := newTailPane(c, 1000)
	p.SetSize(150, 30)
	p.pattern = "orders"
	p.appendRecords([]core.Record{{Topic: "orders", ID: "1-0", Data: []byte(`{"small":1}`), Time: fixedNow}})
	p.appendRecords([]core.Record{{Topic: "orders", ID: "2-0", Data: data, Time: fixedNow}})
	p.appendRecords([]core.Record{{Topic: "orders", ID: "3-0", Data: []byte(`{"small":3}`), Time: fixedNow}})
	return p
}

// BenchmarkTailView is one frame of the tail pane while a big message is
// on screen: what the console pays per frame while idle.
func BenchmarkTailView(b *testing.B) {
	for _, c := range []struct {
		name string
		data []byte
	}{{"text10MB", bigText(10 << 20)}, {"json1MB", bigJSON(1 << 20)}} {
		b.Run(c.name, func(b *testing.B) {
			p := tailWithBig(b, c.data)
			for b.Loop() {
				if v := p.View(true); len(v) == 0 {
					b.Fatal("empty view")
				}
			}
		})
	}
}

// BenchmarkInspectorOpen opens the inspector on a big message and draws
// its first screen.
func BenchmarkInspectorOpen(b *testing.B) {
	c := newCommon(Options{Theme: "dark"})
	for _, tc := range []struct {
		name string
		data []byte
	}{{"text10MB", bigText(10 << 20)}, {"json10MB", bigJSON(10 << 20)}, {"binary10MB", bytes.Repeat([]byte{0, 1, 0xff, 'a'}, 10<<20/4)}} {
		b.Run(tc.name, func(b *testing.B) {
			r := core.Record{Topic: "orders", ID: "1-0", Data: tc.data, Time: fixedNow}
			for b.Loop() {
				in := newInspector(c, r, inspectMeta{})
				in.SetSize(150, 40)
				if v := in.View(); len(v) == 0 || !strings.Contains(strings.Join(v, "\n"), "PAYLOAD") {
					b.Fatal("no payload shown")
				}
			}
		})
	}
}
