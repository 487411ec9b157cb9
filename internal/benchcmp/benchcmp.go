// Package benchcmp runs "core against the raw client" benchmarks the way
// BENCHMARKS.md reports them: both sides in one run, alternating in chunks,
// so the load swings of a shared machine hit both alike, and the result is
// reported as a ratio.
package benchcmp

import (
	"testing"
	"time"
)

// Raw and Core index the two sides passed to run.
const (
	Raw  = 0
	Core = 1
)

// Interleave runs b.N operations in chunks of chunk, alternating raw and
// core; run(side, n) performs n operations on one side and returns when they
// are done. It reports raw-msg/s, core-msg/s and core/raw.
func Interleave(b *testing.B, chunk int, run func(side, n int)) {
	b.Helper()
	if chunk < 1 {
		b.Fatalf("benchcmp: chunk %d < 1", chunk)
	}
	var spent [2]time.Duration
	var done [2]int
	b.ResetTimer()
	for i, left := 0, b.N; left > 0; i++ {
		n := min(chunk, left)
		side := i % 2
		t0 := time.Now()
		run(side, n)
		spent[side] += time.Since(t0)
		done[side] += n
		left -= n
	}
	b.StopTimer()
	if done[Raw] == 0 || done[Core] == 0 {
		return // b.N too small to measure both
	}
	raw := float64(done[Raw]) / spent[Raw].Seconds()
	cor := float64(done[Core]) / spent[Core].Seconds()
	b.ReportMetric(raw, "raw-msg/s")
	b.ReportMetric(cor, "core-msg/s")
	b.ReportMetric(cor/raw, "core/raw")
}
