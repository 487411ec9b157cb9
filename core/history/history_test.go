package history

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
)

var t0 = time.Now().Truncate(time.Second)

func groups(pending, lag int64, delivered string) []core.GroupInfo {
	return []core.GroupInfo{{Name: "g", Pending: pending, Lag: lag, LastDelivered: delivered, Extra: map[string]string{}}}
}

func TestStoreDropsSamplesCloserThanMinGap(t *testing.T) {
	t.Parallel()
	s := New(Config{MinGap: time.Second})
	s.RecordGroups("c", t0, "orders", groups(1, 0, "10"))
	s.RecordGroups("c", t0.Add(400*time.Millisecond), "orders", groups(2, 0, "11")) // a second session, same refresh
	s.RecordGroups("c", t0.Add(time.Second), "orders", groups(3, 0, "12"))
	got := s.Group("c", "orders", "g", time.Time{})
	if len(got) != 2 || got[0].Pending != 1 || got[1].Pending != 3 {
		t.Fatalf("points %+v, want pending 1 then 3", got)
	}
	if got[1].Delivered != 12 {
		t.Fatalf("delivered %d, want 12 (JetStream's delivered sequence)", got[1].Delivered)
	}
	if other := s.Group("other", "orders", "g", time.Time{}); len(other) != 0 {
		t.Fatalf("context other has %d points; contexts must not mix", len(other))
	}
}

func TestStoreRingIsBounded(t *testing.T) {
	t.Parallel()
	s := New(Config{MaxPoints: 5, MinGap: time.Millisecond})
	for i := range 12 {
		s.RecordTopics("c", t0.Add(time.Duration(i)*time.Second), []core.TopicInfo{{Name: "t", Messages: uint64(i), Rate: float64(i) / 2}})
	}
	got := s.Topic("c", "t", time.Time{})
	if len(got) != 5 {
		t.Fatalf("%d points, want the ring's 5", len(got))
	}
	for i, p := range got {
		if want := uint64(7 + i); p.Messages != want || p.Rate != float64(want)/2 {
			t.Fatalf("point %d = %+v, want messages %d oldest first", i, p, want)
		}
	}
	if since := s.Topic("c", "t", t0.Add(10*time.Second)); len(since) != 2 {
		t.Fatalf("since filter: %d points, want 2", len(since))
	}
}

func TestStoreEvictsLeastRecentlySampledSeries(t *testing.T) {
	t.Parallel()
	s := New(Config{MaxSeries: 3})
	for i, name := range []string{"a", "b", "c"} {
		s.RecordTopics("c", t0.Add(time.Duration(i)*time.Second), []core.TopicInfo{{Name: name}})
	}
	s.RecordTopics("c", t0.Add(5*time.Second), []core.TopicInfo{{Name: "a"}}) // a is fresh again
	s.RecordTopics("c", t0.Add(6*time.Second), []core.TopicInfo{{Name: "d"}})
	if n := s.Series("c"); n != 3 {
		t.Fatalf("%d series, want 3", n)
	}
	if len(s.Topic("c", "b", time.Time{})) != 0 {
		t.Fatal("b (sampled least recently) should have been evicted")
	}
	for _, name := range []string{"a", "c", "d"} {
		if len(s.Topic("c", name, time.Time{})) == 0 {
			t.Fatalf("%s evicted; only b should go", name)
		}
	}
}

func TestStoreConcurrentSessions(t *testing.T) {
	t.Parallel()
	s := New(Config{MinGap: 500 * time.Millisecond})
	var wg sync.WaitGroup
	// Four sessions refresh the same context every second for a minute
	// (on an injected clock): one sample per second is kept, not four.
	for range 4 {
		wg.Go(func() {
			for i := range 60 {
				at := t0.Add(time.Duration(i) * time.Second)
				s.RecordGroups("c", at, "orders", groups(int64(i), 0, "1"))
				_ = s.Group("c", "orders", "g", time.Time{})
			}
		})
	}
	wg.Wait()
	if n := len(s.Group("c", "orders", "g", time.Time{})); n != 60 {
		t.Fatalf("%d points from 4 sessions × 60 refreshes, want 60", n)
	}
}

func TestStorePersistsAndCompacts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := Config{Dir: dir, MaxPoints: 10, MinGap: time.Millisecond}
	s := New(cfg)
	ctx := "prod/eu \"one\""
	start := time.Now().Add(-30 * time.Minute).Truncate(time.Millisecond)
	for i := range 500 {
		at := start.Add(time.Duration(i) * time.Second)
		s.RecordTopics(ctx, at, []core.TopicInfo{{Name: "t\nx", Messages: uint64(i)}})
		s.RecordGroups(ctx, at, "t\nx", groups(int64(i), 7, "99"))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileName(ctx))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, c := range b {
		if c == '\n' {
			lines++
		}
	}
	// memory holds 2 series × 10 points; the file at most twice that plus slack
	if lines > 2*20+64+2 {
		t.Fatalf("file has %d lines after 1000 samples; compaction should bound it", lines)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v, want 0600", fi.Mode().Perm())
	}

	// a restart reads it back on the first sample
	s2 := New(cfg)
	s2.RecordTopics(ctx, start.Add(600*time.Second), []core.TopicInfo{{Name: "other"}})
	got := s2.Group(ctx, "t\nx", "g", time.Time{})
	if len(got) != 10 || got[9].Pending != 499 || got[9].Lag != 7 || got[9].Delivered != 99 || !got[9].At.Equal(start.Add(499*time.Second)) {
		t.Fatalf("after restart: %d points, last %+v; want 10 ending with pending 499", len(got), got[len(got)-1])
	}
	_ = s2.Close()
}

func TestStoreLoadDropsOldAndTornLines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Hour).UnixMilli()
	recent := time.Now().Add(-time.Minute).UnixMilli()
	data := fmt.Sprintf("%q %d 1 2 3\n%q %d 4 5 6\n\"g\\x00t\\x00g\" 12", "g\x00t\x00g", old, "g\x00t\x00g", recent)
	if err := os.WriteFile(filepath.Join(dir, FileName("c")), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Dir: dir})
	s.RecordTopics("c", time.Now(), []core.TopicInfo{{Name: "x"}})
	got := s.Group("c", "t", "g", time.Time{})
	if len(got) != 1 || got[0].Pending != 4 {
		t.Fatalf("loaded %+v; want only the recent point (the old one is past retention, the torn one skipped)", got)
	}
	_ = s.Close()
}

func TestGroupSampleDeliveredCounter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		g    core.GroupInfo
		want int64
	}{
		{core.GroupInfo{LastDelivered: "42"}, 42},                                                            // JetStream
		{core.GroupInfo{LastDelivered: "1700000000000-0", Extra: map[string]string{"entries-read": "9"}}, 9}, // Redis 7
		{core.GroupInfo{LastDelivered: "1700000000000-0", Extra: map[string]string{}}, -1},                   // Redis 6
	}
	for _, c := range cases {
		if got := GroupSample(t0, c.g).Delivered; got != c.want {
			t.Errorf("%+v: delivered %d, want %d", c.g, got, c.want)
		}
	}
}

func BenchmarkStoreRecord(b *testing.B) {
	// One context with 100 groups, sampled until every ring is full: the
	// steady state of an hour of refreshes.
	s := New(Config{MinGap: time.Millisecond})
	gs := make([]core.GroupInfo, 100)
	for i := range gs {
		gs[i] = core.GroupInfo{Name: fmt.Sprintf("g%03d", i), Pending: 5, Lag: 7, LastDelivered: "100"}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.RecordGroups("c", t0.Add(time.Duration(i)*time.Second), "orders", gs)
	}
}

// BenchmarkStoreMemory measures the heap a full history holds: one context
// of `series` groups, each ring full (MaxPoints samples), the steady state
// after an hour at one sample every 5 s.
func BenchmarkStoreMemory(b *testing.B) {
	for _, series := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("series=%d", series), func(b *testing.B) {
			gs := make([]core.GroupInfo, series)
			for i := range gs {
				gs[i] = core.GroupInfo{Name: fmt.Sprintf("group-%04d", i), Pending: 5, Lag: 7, LastDelivered: "100"}
			}
			var perSeries, perContext float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				s := New(Config{MinGap: time.Millisecond})
				for i := range DefaultMaxPoints {
					s.RecordGroups("c", t0.Add(time.Duration(i)*5*time.Second), "orders", gs)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perContext = float64(after.HeapAlloc - before.HeapAlloc)
				perSeries = perContext / float64(series)
				runtime.KeepAlive(s)
			}
			b.ReportMetric(perSeries, "B/series")
			b.ReportMetric(perContext/(1<<20), "MiB/context")
		})
	}
}
