package history

import (
	"strings"
	"testing"
	"time"
)

// series builds one sample every step for n steps, each from f(i).
func build(n int, step time.Duration, f func(i int) GroupPoint) []GroupPoint {
	out := make([]GroupPoint, n)
	for i := range n {
		p := f(i)
		p.At = t0.Add(time.Duration(i) * step)
		out[i] = p
	}
	return out
}

func TestAssessStalled(t *testing.T) {
	t.Parallel()
	// 2 msg/s arrive, nobody consumes: lag grows, delivered stays.
	pts := build(61, 5*time.Second, func(i int) GroupPoint { return GroupPoint{Pending: 3, Lag: int64(2 * 5 * i), Delivered: 100} })
	now := pts[len(pts)-1].At
	s := Assess(pts, now, Thresholds{})
	if s.Kind != SignalStalled || !s.Kind.Alert() {
		t.Fatalf("kind %v (%s), want stalled", s.Kind, s.Text)
	}
	if s.Text != "growing for 5m while ack rate is 0" || !strings.Contains(s.Basis, "nothing acked") {
		t.Fatalf("text %q basis %q", s.Text, s.Basis)
	}
	if s.AckRate != 0 || s.InRate < 1.99 || s.InRate > 2.01 {
		t.Fatalf("ack %v in %v, want 0 and 2/s", s.AckRate, s.InRate)
	}
	// Four minutes of it is not stalled yet (5m): it is growing.
	if s := Assess(pts[:49], pts[48].At, Thresholds{}); s.Kind != SignalGrowing {
		t.Fatalf("after 4m: %v, want growing", s.Kind)
	}
	// A shorter configured stretch says stalled sooner.
	if s := Assess(pts[:49], pts[48].At, Thresholds{Stalled: 3 * time.Minute}); s.Kind != SignalStalled || s.Text != "growing for 3m while ack rate is 0" {
		t.Fatalf("stalled 3m: %v %q", s.Kind, s.Text)
	}
}

// TestAssessStalledThenFlat: the publisher stopped a while ago and nothing
// is acked: still an alert, but it no longer says "growing".
func TestAssessStalledThenFlat(t *testing.T) {
	t.Parallel()
	// 2 msg/s for 4m, then nothing for 2m; delivered never moves.
	pts := build(73, 5*time.Second, func(i int) GroupPoint {
		return GroupPoint{Pending: 3, Lag: int64(2 * 5 * min(i, 48)), Delivered: 100}
	})
	now := pts[len(pts)-1].At
	s := Assess(pts, now, Thresholds{})
	if s.Kind != SignalStalled {
		t.Fatalf("kind %v (%s), want stalled", s.Kind, s.Text)
	}
	if strings.Contains(s.Text, "growing") || !strings.Contains(s.Text, "nothing acked for 5m") || !strings.Contains(s.Text, "flat for the last 1m") {
		t.Fatalf("text %q", s.Text)
	}
}

func TestAssessGrowingWhileConsuming(t *testing.T) {
	t.Parallel()
	// 10/s in, 7/s acked: the backlog grows 3/s.
	pts := build(25, 5*time.Second, func(i int) GroupPoint {
		in, acked := int64(50*i), int64(35*i)
		return GroupPoint{Pending: 4, Lag: in - acked, Delivered: acked + 4}
	})
	s := Assess(pts, pts[24].At, Thresholds{})
	if s.Kind != SignalGrowing {
		t.Fatalf("kind %v, want growing", s.Kind)
	}
	if s.Basis != "+3.0/s over last 2m (in 10.0/s, acked 7.0/s)" {
		t.Fatalf("basis %q", s.Basis)
	}
	if !strings.Contains(s.Text, "never drains at current rates") {
		t.Fatalf("text %q", s.Text)
	}
}

func TestAssessDraining(t *testing.T) {
	t.Parallel()
	// backlog 3000, 12/s net out: after 2m it is 1560, empty in 130 s.
	pts := build(25, 5*time.Second, func(i int) GroupPoint {
		return GroupPoint{Pending: 10, Lag: int64(2990 - 60*i), Delivered: int64(1000 + 60*i)}
	})
	s := Assess(pts, pts[24].At, Thresholds{})
	if s.Kind != SignalDraining || s.Kind.Alert() {
		t.Fatalf("kind %v, want draining", s.Kind)
	}
	if s.ETA < 129*time.Second || s.ETA > 131*time.Second {
		t.Fatalf("eta %v, want ~130s", s.ETA)
	}
	if s.Text != "draining, empty in ~2m" || !strings.HasPrefix(s.Basis, "-12.0/s over last 2m") {
		t.Fatalf("text %q basis %q", s.Text, s.Basis)
	}
}

func TestAssessNeedsEnoughSamples(t *testing.T) {
	t.Parallel()
	pts := build(2, 5*time.Second, func(i int) GroupPoint { return GroupPoint{Lag: int64(100 * i), Delivered: 1} })
	if s := Assess(pts, pts[1].At, Thresholds{}); s.Kind != SignalNone {
		t.Fatalf("two samples: %v, want none", s.Kind)
	}
	// Old samples only: nothing within the window.
	pts = build(10, time.Second, func(i int) GroupPoint { return GroupPoint{Lag: int64(100 * i), Delivered: 1} })
	if s := Assess(pts, pts[9].At.Add(time.Hour), Thresholds{}); s.Kind != SignalNone {
		t.Fatalf("stale samples: %v, want none", s.Kind)
	}
	// Steady backlog: no signal.
	pts = build(30, 5*time.Second, func(i int) GroupPoint { return GroupPoint{Pending: 5, Lag: 0, Delivered: int64(10 * i)} })
	if s := Assess(pts, pts[29].At, Thresholds{}); s.Kind != SignalNone {
		t.Fatalf("steady: %v %q, want none", s.Kind, s.Text)
	}
}

func TestAssessWithoutDeliveredCounter(t *testing.T) {
	t.Parallel()
	// Redis before 7: no counter and no lag; a growing pending list is
	// "growing", never "stalled" (the ack rate is unknown).
	pts := build(70, 5*time.Second, func(i int) GroupPoint { return GroupPoint{Pending: int64(i), Lag: -1, Delivered: -1} })
	s := Assess(pts, pts[69].At, Thresholds{})
	if s.Kind != SignalGrowing || s.AckRate != -1 || strings.Contains(s.Basis, "acked") {
		t.Fatalf("%v ack %v basis %q", s.Kind, s.AckRate, s.Basis)
	}
}

func TestRatesCounterReset(t *testing.T) {
	t.Parallel()
	a := GroupPoint{At: t0, Pending: 1, Lag: 5, Delivered: 100}
	b := GroupPoint{At: t0.Add(10 * time.Second), Pending: 1, Lag: 5, Delivered: 50} // consumer recreated
	if in, out, ack := Rates(a, b); in != -1 || out != -1 || ack != -1 {
		t.Fatalf("reset: %v %v %v, want unknown", in, out, ack)
	}
}

func TestAssessIgnoresJitter(t *testing.T) {
	t.Parallel()
	// a healthy group: the backlog jitters between 0 and 3 while messages
	// flow; neither draining nor growing
	jitter := []int64{0, 1, 0, 2, 1, 0, 3, 0, 1, 0, 2, 0, 1, 3, 0, 1, 0, 2, 0, 1, 1, 0, 2, 0, 3}
	pts := build(len(jitter), 5*time.Second, func(i int) GroupPoint {
		return GroupPoint{Pending: jitter[i], Lag: 0, Delivered: int64(100 * i)}
	})
	if s := Assess(pts, pts[len(pts)-1].At, Thresholds{}); s.Kind != SignalNone {
		t.Fatalf("jitter: %v %q %q, want none", s.Kind, s.Text, s.Basis)
	}
	// a real drain with the same jitter on top is still a drain
	pts = build(len(jitter), 5*time.Second, func(i int) GroupPoint {
		return GroupPoint{Pending: jitter[i], Lag: int64(500 - 15*i), Delivered: int64(100 * i)}
	})
	if s := Assess(pts, pts[len(pts)-1].At, Thresholds{}); s.Kind != SignalDraining {
		t.Fatalf("noisy drain: %v %q", s.Kind, s.Basis)
	}
}

func TestAssessStartsAfterACounterReset(t *testing.T) {
	t.Parallel()
	// a backlog growing to 600, then the consumer is recreated (delivered
	// starts over) with a smaller backlog that grows again: no "draining"
	// across the reset, the trend after it is growing.
	pts := build(25, 5*time.Second, func(i int) GroupPoint {
		if i < 15 {
			return GroupPoint{Lag: int64(300 + 20*i), Delivered: 5000}
		}
		return GroupPoint{Lag: int64(100 + 10*(i-15)), Delivered: int64(10 + 5*(i-15))}
	})
	s := Assess(pts, pts[24].At, Thresholds{})
	if s.Kind != SignalGrowing || s.Span != 45*time.Second {
		t.Fatalf("%v over %v (%s), want growing over the 45 s since the reset", s.Kind, s.Span, s.Basis)
	}
}

func TestLookback(t *testing.T) {
	t.Parallel()
	if got := (Thresholds{}).Lookback(); got != 375*time.Second {
		t.Fatalf("default lookback %v, want 5m + a quarter", got)
	}
	if got := (Thresholds{Window: 20 * time.Minute}).Lookback(); got != 25*time.Minute {
		t.Fatalf("lookback %v", got)
	}
}

// Samples that do not line up with the window (a 7s refresh: the window
// holds 1m52s of them) still read as the window, not as "1m": spans and
// estimates round to the nearest minute.
func TestAssessSpanRoundsToNearest(t *testing.T) {
	t.Parallel()
	pts := build(40, 7*time.Second, func(i int) GroupPoint {
		in, acked := int64(70*i), int64(49*i)
		return GroupPoint{Pending: 4, Lag: in - acked, Delivered: acked + 4}
	})
	s := Assess(pts, pts[len(pts)-1].At, Thresholds{})
	if s.Kind != SignalGrowing || !strings.HasPrefix(s.Basis, "+3.0/s over last 2m ") {
		t.Fatalf("kind %v basis %q (span %v)", s.Kind, s.Basis, s.Span)
	}
	// draining 12/s net, sampled every 7s; and 1m59s of stalling with a
	// 2m threshold reads 2m, as configured, not 1m.
	pts = build(40, 7*time.Second, func(i int) GroupPoint {
		return GroupPoint{Pending: 10, Lag: int64(4500 - 84*i), Delivered: int64(1000 + 84*i)}
	})
	if s := Assess(pts, pts[len(pts)-1].At, Thresholds{}); s.Kind != SignalDraining || !strings.HasPrefix(s.Basis, "-12.0/s over last 2m ") {
		t.Fatalf("draining: kind %v basis %q text %q", s.Kind, s.Basis, s.Text)
	}
	pts = build(40, 7*time.Second, func(i int) GroupPoint { return GroupPoint{Pending: 3, Lag: int64(14 * i), Delivered: 100} })
	if s := Assess(pts[:18], pts[17].At, Thresholds{Stalled: 2 * time.Minute}); s.Kind != SignalStalled || s.Text != "growing for 2m while ack rate is 0" {
		t.Fatalf("stalled: kind %v text %q basis %q", s.Kind, s.Text, s.Basis)
	}
}

// A burst the group is working off: 900 arrive at once, then it acks
// 6/s with nothing coming in. The window as a whole rose, but "never
// drains at current rates" is false: the recent stretch says draining.
func TestAssessBurstBeingWorkedOff(t *testing.T) {
	t.Parallel()
	pts := build(25, 5*time.Second, func(i int) GroupPoint {
		if i < 12 {
			return GroupPoint{Lag: 0, Delivered: 1000}
		}
		return GroupPoint{Lag: int64(900 - 30*(i-12)), Delivered: int64(1000 + 30*(i-12))}
	})
	s := Assess(pts, pts[24].At, Thresholds{})
	if s.Kind != SignalDraining || s.Kind.Alert() {
		t.Fatalf("kind %v (%s · %s), want draining", s.Kind, s.Text, s.Basis)
	}
	if s.Basis != "-6.0/s over last 30s (in 0.0/s, acked 6.0/s)" || s.Text != "draining, empty in ~2m" {
		t.Fatalf("text %q basis %q", s.Text, s.Basis)
	}
	// steady growth with a dip at the end is still growing
	pts = build(25, 5*time.Second, func(i int) GroupPoint {
		lag := int64(50 * i)
		if i == 24 {
			lag -= 40
		}
		return GroupPoint{Lag: lag, Delivered: 1000}
	})
	if s := Assess(pts, pts[24].At, Thresholds{}); s.Kind != SignalGrowing {
		t.Fatalf("a dip: kind %v (%s), want growing", s.Kind, s.Basis)
	}
}
