package tui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
)

// BenchmarkTailFilterFirehose is the cost of filtering a firehose in the
// tail: the same 10 000 JSON messages go through the tail pane (append,
// preview, filter) with no filter, a text filter, a field filter and a jq
// query (decoded with the context's decoder and judged in batches, as the
// console does off the UI loop). The modes alternate on every iteration,
// so load swings hit all of them alike; msg/s per mode and the ratios to
// no filter are reported.
//
//	go test -run '^$' -bench TailFilterFirehose -benchtime 20x ./tui
func BenchmarkTailFilterFirehose(b *testing.B) {
	c := newCommon(Options{Theme: "dark"})
	const n = 10000
	recs := make([]core.Record, n)
	for i := range recs {
		cur := [...]string{"EUR", "USD", "GBP"}[i%3]
		data := fmt.Sprintf(`{"id":%d,"amount":%d,"currency":%q,"customer":{"id":"c-%d","tier":"gold"},"items":[{"sku":"a","qty":1},{"sku":"b","qty":2}]}`, i, i%250, cur, i%97)
		recs[i] = core.Record{Topic: "orders", Subject: "orders.eu", ID: fmt.Sprint(i + 1), Data: []byte(data), Size: len(data), Time: fixedNow}
	}
	modes := []struct{ name, filter string }{
		{"none", ""},
		{"text", "EUR"},
		{"field", "currency=EUR"},
		{"jq", `jq:.amount > 100 and .currency == "EUR"`},
	}
	want := map[string]int{"none": n, "text": (n + 2) / 3, "field": (n + 2) / 3}
	jqWant := 0
	for i := 0; i < n; i++ {
		if i%3 == 0 && i%250 > 100 {
			jqWant++
		}
	}
	want["jq"] = jqWant
	dur := make([]time.Duration, len(modes))
	count := make([]int, len(modes))
	for b.Loop() {
		for i, m := range modes {
			p := newTailPane(c, n)
			f, err := ParseFilter(m.filter)
			if err != nil {
				b.Fatal(err)
			}
			p.SetFilter(f)
			start := time.Now()
			p.appendRecords(recs)
			runQueryCmds(b, p, p.queryNext())
			dur[i] += time.Since(start)
			count[i] += n
			if got := len(p.matches); got != want[m.name] {
				b.Fatalf("%s: %d matches, want %d", m.name, got, want[m.name])
			}
		}
	}
	rate := func(i int) float64 { return float64(count[i]) / dur[i].Seconds() }
	for i, m := range modes {
		b.ReportMetric(rate(i), m.name+"-msg/s")
		if i > 0 {
			b.ReportMetric(rate(i)/rate(0), m.name+"/none")
		}
	}
	b.ReportMetric(0, "ns/op") // the per-mode rates are the figures
}

// runQueryCmds runs a pane's query batches to the end, as the event loop
// would (the status lines they send are dropped).
func runQueryCmds(b *testing.B, p *tailPane, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case queryBatchMsg:
		runQueryCmds(b, p, p.queryDone(msg))
	case tea.BatchMsg:
		for _, c := range msg {
			runQueryCmds(b, p, c)
		}
	case statusMsg, nil:
	default:
		b.Fatalf("unexpected %T", msg)
	}
}
