package jetstream_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestDeleteMessagesStaysOnTheTopic: on a stream that stores several
// subjects, deleting "by sequence" through one subject's topic never
// deletes another subject's message (read back with the raw client).
func TestDeleteMessagesStaysOnTheTopic(t *testing.T) {
	t.Parallel()
	c, js, st, base := multiSubjectStream(t)
	ctx := t.Context()
	for _, subj := range []string{base + ".a", base + ".b", base + ".a"} { // seq 1, 2, 3
		if _, err := js.Publish(ctx, subj, []byte(subj)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := c.Operator().DeleteMessages(ctx, core.DeleteRequest{Topic: base + ".a", IDs: []string{"1", "2", "9"}})
	if err != nil || res.Done != 1 || res.Skipped != 2 {
		t.Fatalf("delete 1, 2 (on .b), 9 (none) via %s.a: %+v %v; want 1 done, 2 skipped", base, res, err)
	}
	if _, err := st.GetMsg(ctx, 1); err == nil {
		t.Error("seq 1 is still stored")
	}
	if m, err := st.GetMsg(ctx, 2); err != nil || m.Subject != base+".b" {
		t.Errorf("seq 2, on another subject, was touched: %v %v", m, err)
	}
	if m, err := st.GetMsg(ctx, 3); err != nil || m.Subject != base+".a" {
		t.Errorf("seq 3 was touched: %v %v", m, err)
	}
}

// TestPendingEntriesSayWhatWasStored: JetStream's pending list, which
// knows no owner or idle time, carries each message's subject, stored time
// and size, equal to the raw stream's.
func TestPendingEntriesSayWhatWasStored(t *testing.T) {
	t.Parallel()
	c, js, st, base := multiSubjectStream(t)
	ctx := t.Context()
	for i, subj := range []string{base + ".a", base + ".b"} {
		if _, err := js.Publish(ctx, subj, make([]byte, 10*(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	cons, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "g", AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	b, err := cons.Fetch(2, jetstream.FetchMaxWait(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for range b.Messages() {
	}
	page, err := c.Operator().Pending(ctx, core.PendingQuery{Topic: base + ".>", Group: "g"})
	if err != nil || len(page.Entries) != 2 {
		t.Fatalf("pending: %+v %v", page, err)
	}
	for i, e := range page.Entries {
		raw, err := st.GetMsg(ctx, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if e.Subject != raw.Subject || !e.Stored.Equal(raw.Time) || e.Size != len(raw.Data) {
			t.Errorf("entry %d: subject %q stored %v size %d; raw %q %v %d", i, e.Subject, e.Stored, e.Size, raw.Subject, raw.Time, len(raw.Data))
		}
	}
}

// multiSubjectStream is a stream capturing base.> on its own server, the raw
// JetStream client beside mqscope's, for tests that read state back raw.
func multiSubjectStream(t *testing.T) (*core.Client, jetstream.JetStream, jetstream.Stream, string) {
	t.Helper()
	n := testbroker.StartNATS(t)
	_, js := rawJS(t, n)
	c := newClient(t, n, core.Config{})
	base := testbroker.Name(t, "s")
	st, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: testbroker.Name(t, "S"), Subjects: []string{base + ".>"}})
	if err != nil {
		t.Fatal(err)
	}
	return c, js, st, base
}
