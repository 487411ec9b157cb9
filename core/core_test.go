package core

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParsePosition(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want Position
	}{
		{"", StartNew()},
		{"new", StartNew()},
		{"all", StartAll()},
		{"0", StartAll()},
		{"42", AtSequence(42)},
		{"seq:7", AtSequence(7)},
		{"1700000000000-3", AtID("1700000000000-3")},
		{"id:abc", AtID("abc")},
		{"-15m", AtTime(now.Add(-15 * time.Minute))},
		{"time:2026-11-26T10:00:00Z", AtTime(time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))},
		{"last:100", LastN(100)},
	}
	for _, c := range cases {
		got, err := ParsePosition(c.in, now)
		if err != nil {
			t.Errorf("ParsePosition(%q): %v", c.in, err)
			continue
		}
		if got.Kind != c.want.Kind || got.ID != c.want.ID || got.Seq != c.want.Seq || !got.Time.Equal(c.want.Time) || got.N != c.want.N {
			t.Errorf("ParsePosition(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"seq:x", "last:0", "-x", "yesterday", "seq:0"} {
		if _, err := ParsePosition(bad, now); err == nil {
			t.Errorf("ParsePosition(%q): want an error", bad)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 5, Backoff: 100 * time.Millisecond, MaxBackoff: 350 * time.Millisecond}
	want := []time.Duration{100, 200, 350, 350}
	for i, w := range want {
		if got := p.Delay(i + 1); got != w*time.Millisecond {
			t.Errorf("Delay(%d) = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	if d := (RetryPolicy{}).Delay(3); d != 0 {
		t.Errorf("zero policy Delay = %v", d)
	}
}

func TestTailRingDropsOldest(t *testing.T) {
	tl := NewTail(3)
	for i := 0; i < 5; i++ {
		tl.Push(Record{ID: string(rune('a' + i))})
	}
	if tl.Dropped() != 2 || tl.Received() != 5 {
		t.Fatalf("dropped=%d received=%d, want 2 and 5", tl.Dropped(), tl.Received())
	}
	got := tl.Drain(0)
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, "") != "cde" {
		t.Fatalf("drained %v, want c d e", ids)
	}
	if tl.Len() != 0 {
		t.Fatalf("len after drain = %d", tl.Len())
	}
	tl.Push(Record{ID: "f"})
	if got := tl.Drain(5); len(got) != 1 || got[0].ID != "f" {
		t.Fatalf("after wrap: %v", got)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(nil); err == nil {
		t.Fatal("New(nil): want error")
	}
	if _, err := New(&Config{}); err == nil || !strings.Contains(err.Error(), "Driver is empty") {
		t.Fatalf("empty driver: %v", err)
	}
	if _, err := New(&Config{Driver: "kafka"}); err == nil || !strings.Contains(err.Error(), `unknown driver "kafka"`) {
		t.Fatalf("unknown driver: %v", err)
	}
	// The examples (package core_test, in the same test binary) import
	// backends, so take the driver out while checking what New says when it
	// is missing.
	registryMu.Lock()
	saved, had := registry[DriverRedisStream]
	delete(registry, DriverRedisStream)
	registryMu.Unlock()
	_, err := New(&Config{Driver: DriverRedisStream})
	registryMu.Lock()
	if had {
		registry[DriverRedisStream] = saved
	}
	registryMu.Unlock()
	if err == nil || !strings.Contains(err.Error(), "github.com/mqscope/mqscope/backends") {
		t.Fatalf("unregistered driver should name the import: %v", err)
	}
	if _, err := New(&Config{Driver: DriverJetStream}, WithNATSConnector(nil)); err == nil {
		t.Fatal("nil connector: want error")
	}
}

func TestUnsupportedErrorIs(t *testing.T) {
	var err error = &UnsupportedError{Op: OpClaim, Reason: "NATS Core keeps no pending list"}
	if !errors.Is(err, ErrUnsupported) {
		t.Fatal("UnsupportedError must match ErrUnsupported")
	}
	if !strings.Contains(err.Error(), "NATS Core keeps no pending list") {
		t.Fatal(err)
	}
}

func TestHeaderKeyValidation(t *testing.T) {
	m := &OutgoingMessage{}
	if err := WithHeader("bad key", "v")(m); err == nil {
		t.Fatal("space in key: want error")
	}
	if err := WithHeader("Good-Key", "v")(m); err != nil || m.Header.Get("Good-Key") != "v" {
		t.Fatalf("good key: %v %v", err, m.Header)
	}
}

func TestHumanDuration(t *testing.T) {
	for d, w := range map[time.Duration]string{
		14 * time.Minute: "14m", 2*time.Hour + 5*time.Minute: "2h5m", 72 * time.Hour: "3d", 3 * time.Second: "3s",
	} {
		if got := HumanDuration(d); got != w {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, w)
		}
	}
}

// TestTailRingGrowsLazily: a huge capacity costs nothing until messages
// arrive; growth keeps order across a wrapped ring, and the bound holds.
func TestTailRingGrowsLazily(t *testing.T) {
	tl := NewTail(1 << 30)
	if len(tl.buf) > tailInitial {
		t.Fatalf("a 1<<30 ring allocated %d slots up front", len(tl.buf))
	}
	small := NewTail(3000)
	for i := 0; i < 1000; i++ {
		small.Push(Record{Seq: uint64(i)})
	}
	small.Drain(500) // the head moves: the next growth copies a wrapped ring
	for i := 1000; i < 4000; i++ {
		small.Push(Record{Seq: uint64(i)})
	}
	got := small.Drain(0)
	if len(got) != 3000 || got[0].Seq != 1000 || got[2999].Seq != 3999 || small.Dropped() != 500 {
		t.Fatalf("got %d records [%d..%d], dropped %d; want 3000 [1000..3999], dropped 500", len(got), got[0].Seq, got[len(got)-1].Seq, small.Dropped())
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq != got[i-1].Seq+1 {
			t.Fatalf("out of order at %d: %d after %d", i, got[i].Seq, got[i-1].Seq)
		}
	}
	if len(small.buf) != 3000 {
		t.Fatalf("ring grew to %d, want the capacity 3000", len(small.buf))
	}
}

func TestDLQName(t *testing.T) {
	cases := []struct{ topic, suffix, want string }{
		{"orders", ".dlq", "orders.dlq"},
		{"orders", "", "orders" + DefaultDLQSuffix},
		{"orders.dlq", ".dlq", "orders.dlq"}, // already a DLQ: never doubled
		{"orders.dlq", "", "orders.dlq"},
		{"orders", "-dead", "orders-dead"},
		{"orders.dlq", "-dead", "orders.dlq-dead"},
		{"{orders}", ".dlq", "{orders}.dlq"},
	}
	for _, c := range cases {
		if got := DLQName(c.topic, c.suffix); got != c.want {
			t.Errorf("DLQName(%q, %q) = %q, want %q", c.topic, c.suffix, got, c.want)
		}
	}
}

func TestResultKeepsFirstErrorsAndReportsProgress(t *testing.T) {
	r := Result{Requested: MaxResultErrors + 4} // 1 done, 1 skipped, the rest failed
	var calls [][2]int
	progress := func(done, total int) { calls = append(calls, [2]int{done, total}) }
	r.Done++
	r.Report(progress)
	r.Skipped++
	r.Notef("entry %d: not pending", 1)
	r.Report(progress)
	for i := 0; i < MaxResultErrors+2; i++ {
		r.Failf("item %d: %v", i, errors.New("boom"))
	}
	r.Report(progress)
	r.Report(nil) // a nil callback is allowed
	if r.Failed != MaxResultErrors+2 || r.Skipped != 1 || r.Done != 1 {
		t.Errorf("counts: done %d failed %d skipped %d", r.Done, r.Failed, r.Skipped)
	}
	if len(r.Errors) != MaxResultErrors {
		t.Fatalf("kept %d errors, want the first %d", len(r.Errors), MaxResultErrors)
	}
	if r.Errors[0] != "entry 1: not pending" || r.Errors[1] != "item 0: boom" {
		t.Errorf("errors kept out of order: %q", r.Errors[:2])
	}
	want := [][2]int{{1, r.Requested}, {2, r.Requested}, {r.Requested, r.Requested}}
	if len(calls) != len(want) {
		t.Fatalf("progress calls %v, want %v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("progress call %d = %v, want %v", i, calls[i], want[i])
		}
	}
}
