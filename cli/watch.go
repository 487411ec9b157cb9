package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/history"
)

type watchFlags struct {
	watch    bool
	interval time.Duration
	count    int
	th       history.Thresholds
}

// GroupSampleRow is one line of `mqscope groups TOPIC --watch`: one group
// at one sample, with what the console's history and trend signals make
// of it.
type GroupSampleRow struct {
	Time    time.Time `json:"time"`
	Topic   string    `json:"topic"`
	Group   string    `json:"group"`
	Pending int64     `json:"pending"`
	Lag     int64     `json:"lag"`     // -1 unknown
	Backlog int64     `json:"backlog"` // pending + lag
	// Delivered is the group's delivered counter (Redis entries-read,
	// JetStream's delivered stream sequence); -1 unknown.
	Delivered int64 `json:"delivered"`
	// Rates since the previous sample, per second; null on the first
	// sample or when the backend gives no delivered counter.
	InRate  *float64 `json:"in_per_s"`
	AckRate *float64 `json:"ack_per_s"`
	Stuck   []string `json:"stuck"`
	// Signal is the trend: "none", "growing", "stalled" or "draining".
	Signal string `json:"signal"`
	Text   string `json:"text,omitempty"`
	Basis  string `json:"basis,omitempty"`
	// ETASeconds: when a draining backlog is empty at the current rate.
	ETASeconds *float64 `json:"eta_s,omitempty"`
}

func rateOrNil(v float64) *float64 {
	if v < 0 {
		return nil
	}
	return &v
}

// watchGroups samples the groups of topic every interval into a history
// store of its own and prints each sample with its signal.
func (a *app) watchGroups(cmd *cobra.Command, topic string, w watchFlags) error {
	if w.interval < 100*time.Millisecond {
		return usageErr("--interval %v is too short; use at least 100ms", w.interval)
	}
	if w.count < 0 {
		return usageErr("--count must not be negative")
	}
	if a.output == "json" {
		return usageErr("--watch prints as it goes: use -o jsonl (one JSON object per line) or the table")
	}
	op, err := a.operator(cmd.Context())
	if err != nil {
		return err
	}
	th := w.th
	if x, ok := a.cfg.Lookup(a.ctxName); ok {
		if th.Window == 0 {
			th.Window = x.Trends.Window
		}
		if th.Stalled == 0 {
			th.Stalled = x.Trends.Stalled
		}
	}
	look := th.Lookback()
	store := history.New(history.Config{MinGap: time.Millisecond, Retention: look + w.interval})
	ctx := cmd.Context()
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	var tw *tabwriter.Writer
	if a.output != "jsonl" {
		tw = tabwriter.NewWriter(a.o.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join([]string{"TIME", "GROUP", "PEND", "LAG", "IN/s", "ACK/s", "TREND"}, "\t"))
	}
	for n := 0; w.count == 0 || n < w.count; n++ {
		if n > 0 {
			select {
			case <-ctx.Done():
				return nil // interrupted: the samples so far are the output
			case <-tick.C:
			}
		}
		cctx, cancel := a.callTimeout(ctx)
		gs, err := op.Groups(cctx, topic)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("list groups of %s: %w", topic, err)
		}
		now := time.Now()
		store.RecordGroups(a.ctxName, now, topic, gs)
		var rows []GroupSampleRow
		for _, g := range gs {
			if g.Kind == core.GroupTail {
				continue
			}
			rows = append(rows, sampleRow(topic, store.Group(a.ctxName, topic, g.Name, now.Add(-look)), g, now, th))
		}
		if tw == nil {
			if err := writeJSONL(a.o.Stdout, rows); err != nil {
				return err
			}
			continue
		}
		for _, r := range rows {
			trend := r.Signal
			if r.Text != "" {
				trend = r.Text + " · " + r.Basis
			}
			if len(r.Stuck) > 0 {
				trend = "STUCK: " + strings.Join(r.Stuck, "; ") + " · " + trend
			}
			cells := []string{r.Time.Format("15:04:05"), r.Group, count(r.Pending), count(r.Lag), rateCell(r.InRate), rateCell(r.AckRate), trend}
			for i := range cells {
				cells[i] = cell(cells[i])
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func rateCell(v *float64) string {
	if v == nil {
		return "?"
	}
	return fmt.Sprintf("%.1f", *v)
}

// sampleRow is the row of g's newest sample (the last of pts).
func sampleRow(topic string, pts []history.GroupPoint, g core.GroupInfo, now time.Time, th history.Thresholds) GroupSampleRow {
	last := history.GroupSample(now, g)
	if len(pts) > 0 {
		last = pts[len(pts)-1]
	}
	r := GroupSampleRow{Time: last.At.UTC(), Topic: topic, Group: g.Name, Pending: last.Pending, Lag: last.Lag,
		Backlog: last.Backlog(), Delivered: last.Delivered, Stuck: append([]string{}, g.Stuck...)}
	if len(pts) >= 2 {
		in, _, ack := history.Rates(pts[len(pts)-2], last)
		r.InRate, r.AckRate = rateOrNil(in), rateOrNil(ack)
	}
	sig := history.Assess(pts, now, th)
	r.Signal, r.Text, r.Basis = sig.Kind.String(), sig.Text, sig.Basis
	if sig.Kind == history.SignalDraining {
		eta := sig.ETA.Seconds()
		r.ETASeconds = &eta
	}
	return r
}
