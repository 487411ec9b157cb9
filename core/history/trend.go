package history

import (
	"fmt"
	"math"
	"time"

	"github.com/mqscope/mqscope/core"
)

// Thresholds decide the trend signals. Zero values are the defaults.
type Thresholds struct {
	// Window is the stretch of recent samples rates and slopes are measured
	// over (the basis of a signal; default 2m).
	Window time.Duration
	// Stalled is how long the backlog must have grown with nothing acked
	// before the group is called stalled (default 5m).
	Stalled time.Duration
}

// Default thresholds.
const (
	DefaultWindow  = 2 * time.Minute
	DefaultStalled = 5 * time.Minute
)

func (t Thresholds) withDefaults() Thresholds {
	if t.Window <= 0 {
		t.Window = DefaultWindow
	}
	if t.Stalled <= 0 {
		t.Stalled = DefaultStalled
	}
	return t
}

// Lookback is how far back Assess looks: the longer of the two stretches,
// and a quarter more, for the sample before the stalled stretch began.
func (t Thresholds) Lookback() time.Duration {
	t = t.withDefaults()
	return max(t.Window, t.Stalled) * 5 / 4
}

// SignalKind names a trend.
type SignalKind uint8

const (
	SignalNone SignalKind = iota
	// SignalStalled: the backlog grew for Thresholds.Stalled while nothing
	// was acked.
	SignalStalled
	// SignalGrowing: the backlog grows: messages come in faster than the
	// group consumes them, so it never drains at current rates.
	SignalGrowing
	// SignalDraining: the backlog shrinks; ETA says when it is empty.
	SignalDraining
)

func (k SignalKind) String() string {
	switch k {
	case SignalStalled:
		return "stalled"
	case SignalGrowing:
		return "growing"
	case SignalDraining:
		return "draining"
	}
	return "none"
}

// Alert says whether the signal is a problem (sorted first, like stuck).
func (k SignalKind) Alert() bool { return k == SignalStalled || k == SignalGrowing }

// Signal is the trend of one group, with the figures it rests on.
type Signal struct {
	Kind SignalKind `json:"kind"`
	// Text is the sentence for the operator; Basis the measurement behind
	// it ("-12.0/s over last 2m").
	Text  string `json:"text,omitempty"`
	Basis string `json:"basis,omitempty"`
	// Slope is the backlog's change per second over Span (least squares).
	Slope float64 `json:"backlog_per_s"`
	// AckRate is messages acked per second over Span; -1 when the backend
	// gives no delivered counter.
	AckRate float64 `json:"ack_per_s"`
	// InRate is messages arriving for the group per second; -1 unknown.
	InRate float64       `json:"in_per_s"`
	Span   time.Duration `json:"-"`
	// ETA: how long until the backlog is empty (SignalDraining).
	ETA time.Duration `json:"-"`
}

// Rates between two samples of a group, per second; -1 when unknown (no
// delivered counter, or a counter that went back: a reset or rewind).
func Rates(a, b GroupPoint) (in, out, ack float64) {
	in, out, ack = -1, -1, -1
	dt := b.At.Sub(a.At).Seconds()
	if dt <= 0 || a.Delivered < 0 || b.Delivered < 0 || b.Delivered < a.Delivered {
		return
	}
	out = float64(b.Delivered-a.Delivered) / dt
	if aa, bb := a.Delivered-a.Pending, b.Delivered-b.Pending; bb >= aa {
		ack = float64(bb-aa) / dt
	}
	if a.Lag >= 0 && b.Lag >= 0 {
		if d := (b.Delivered + b.Lag) - (a.Delivered + a.Lag); d >= 0 {
			in = float64(d) / dt
		}
	}
	return
}

// sinceReset returns the samples after the last time the group's counters
// went back (the consumer or the stream was recreated, or a persisted
// history meets a broker that started over): a trend does not span that.
func sinceReset(pts []GroupPoint) []GroupPoint {
	for i := len(pts) - 1; i > 0; i-- {
		a, b := pts[i-1], pts[i]
		if a.Delivered >= 0 && b.Delivered >= 0 && b.Delivered < a.Delivered {
			return pts[i:]
		}
	}
	return pts
}

// since returns the points no older than d before now.
func since(pts []GroupPoint, now time.Time, d time.Duration) []GroupPoint {
	cut := now.Add(-d)
	for i, p := range pts {
		if !p.At.Before(cut) {
			return pts[i:]
		}
	}
	return nil
}

// anchored is since(d) plus the last sample before that stretch, if any,
// so that samples taken at any phase of the refresh cover the stretch.
func anchored(pts []GroupPoint, now time.Time, d time.Duration) []GroupPoint {
	cut := now.Add(-d)
	for i, p := range pts {
		if p.At.After(cut) {
			return pts[max(i-1, 0):]
		}
	}
	return nil
}

// slope is the least-squares change of the backlog per second, and
// whether it stands out of the noise: its t statistic (slope over its
// standard error) is at least minT, so a backlog that only jitters (0, 1,
// 0, 2, …) has no trend.
func slope(pts []GroupPoint) (float64, bool) {
	if len(pts) < 3 {
		return 0, false
	}
	t0 := pts[0].At
	n := float64(len(pts))
	var mx, my float64
	for _, p := range pts {
		mx += p.At.Sub(t0).Seconds() / n
		my += float64(p.Backlog()) / n
	}
	var sxx, sxy float64
	for _, p := range pts {
		dx, dy := p.At.Sub(t0).Seconds()-mx, float64(p.Backlog())-my
		sxx, sxy = sxx+dx*dx, sxy+dx*dy
	}
	if sxx == 0 {
		return 0, false
	}
	b := sxy / sxx
	var rss float64
	for _, p := range pts {
		r := float64(p.Backlog()) - (my + b*(p.At.Sub(t0).Seconds()-mx))
		rss += r * r
	}
	se := math.Sqrt(rss / (n - 2) / sxx)
	return b, b != 0 && (se == 0 || math.Abs(b)/se >= minT)
}

// minT is how far (in standard errors) a slope must be from 0 to count;
// minRise is the least change of the backlog over the window that does.
const (
	minT    = 3
	minRise = 2
)

// Assess judges the trend of a group from its samples (oldest first) at
// time now. It needs at least three samples spanning a quarter of the
// window; fewer say SignalNone.
func Assess(pts []GroupPoint, now time.Time, th Thresholds) Signal {
	th = th.withDefaults()
	pts = sinceReset(pts)
	sig := Signal{AckRate: -1, InRate: -1}
	w := since(pts, now, th.Window)
	if len(w) < 3 || w[len(w)-1].At.Sub(w[0].At) < th.Window/4 {
		return sig
	}
	// A burst being worked off: the window as a whole rose, but its last
	// quarter falls clearly. Judge that stretch: over the whole window the
	// burst counts as arrivals and it would read "never drains at current
	// rates" while the group is emptying it.
	if b, up := slope(w); up && b > 0 {
		if r := since(w, now, th.Window/4); len(r) >= 3 {
			if rb, down := slope(r); down && rb < 0 {
				w = r
			}
		}
	}
	first, last := w[0], w[len(w)-1]
	sig.Span = last.At.Sub(first.At)
	var trend bool
	sig.Slope, trend = slope(w)
	_, _, sig.AckRate = Rates(first, last)
	sig.InRate, _, _ = Rates(first, last)
	span := approx(sig.Span)
	rates := ""
	if sig.InRate >= 0 && sig.AckRate >= 0 {
		rates = fmt.Sprintf(" (in %s/s, acked %s/s)", num(sig.InRate), num(sig.AckRate))
	}

	// Stalled: the backlog grew over the whole stalled stretch (from the
	// last sample at or before its start) and the ack counter did not move.
	if s := anchored(pts, now, th.Stalled); len(s) >= 3 && s[len(s)-1].At.Sub(s[0].At) >= th.Stalled*9/10 {
		a, b := s[0], s[len(s)-1]
		aa, okA := a.Acked()
		bb, okB := b.Acked()
		if _, up := slope(s); okA && okB && bb == aa && up && b.Backlog()-a.Backlog() >= minRise {
			d := b.At.Sub(a.At)
			sig.Kind = SignalStalled
			sig.Text = "growing for " + approx(d) + " while ack rate is 0"
			// It stopped growing (the publisher paused): the alert stands
			// (nothing acked, a backlog waits) but "growing" would not.
			if r := since(s, now, th.Stalled/4); len(r) >= 2 && r[len(r)-1].Backlog() <= r[0].Backlog() {
				sig.Text = "nothing acked for " + approx(d) + "; the backlog grew, flat for the last " + approx(r[len(r)-1].At.Sub(r[0].At))
			}
			sig.Basis = fmt.Sprintf("backlog %d → %d over %s, nothing acked", a.Backlog(), b.Backlog(), approx(d))
			return sig
		}
	}
	rise := last.Backlog() - first.Backlog()
	switch {
	case !trend:
	case sig.Slope > 0 && rise >= minRise:
		sig.Kind = SignalGrowing
		sig.Text = "lag growing faster than consumption — never drains at current rates"
		sig.Basis = fmt.Sprintf("+%s/s over last %s%s", num(sig.Slope), span, rates)
	case sig.Slope < 0 && rise <= -minRise && last.Backlog() > 0:
		sig.Kind = SignalDraining
		secs := float64(last.Backlog()) / -sig.Slope
		sig.ETA = time.Duration(math.Min(secs, 1e9) * float64(time.Second))
		sig.Text = "draining, empty in ~" + approx(sig.ETA)
		sig.Basis = fmt.Sprintf("-%s/s over last %s%s", num(-sig.Slope), span, rates)
	}
	return sig
}

// approx is a span for a person: to the nearest second under a minute,
// else to the nearest minute (core.HumanDuration truncates: a 1m58s window
// read "over last 1m").
func approx(d time.Duration) string {
	if d < time.Minute {
		return core.HumanDuration(d.Round(time.Second))
	}
	return core.HumanDuration(d.Round(time.Minute))
}

// num formats a rate: one decimal below 100, none above.
func num(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
