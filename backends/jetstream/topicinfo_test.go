package jetstream_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestTopicPublishSubjectAndTailPattern: the console publishes to and tails
// what TopicInfo says, derived from the stream's subjects as the server
// reports them.
func TestTopicPublishSubjectAndTailPattern(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t)
	c := newClient(t, n, core.Config{})
	ctx := context.Background()
	base := testbroker.Name(t, "subj")
	_, js := rawJS(t, n)
	mixed := base + "_MIXED"
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: mixed, Subjects: []string{base + ".m.*", base + ".lit"}}); err != nil {
		t.Fatal(err)
	}
	one := base + "_ONE"
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: one, Subjects: []string{base + ".one.>"}}); err != nil {
		t.Fatal(err)
	}
	op := c.Operator()
	ts, err := op.Topics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]core.TopicInfo{}
	for _, ti := range ts {
		got[ti.Name] = ti
	}
	cases := []struct{ name, publish, tail string }{
		{mixed, base + ".lit", mixed}, // first literal subject; two subjects: tail the stream
		{one, one, base + ".one.>"},   // no literal subject: the name; one subject: tail it
	}
	for _, cs := range cases {
		ti, ok := got[cs.name]
		if !ok {
			t.Fatalf("Topics does not list stream %q", cs.name)
		}
		if ti.PublishSubject != cs.publish || ti.TailPattern != cs.tail {
			t.Errorf("%s (subjects %v): publish %q tail %q, want %q %q", cs.name, ti.Subjects, ti.PublishSubject, ti.TailPattern, cs.publish, cs.tail)
		}
	}
	// A subject inside a stream is its own publish subject and tail.
	ti, err := op.Topic(ctx, base+".one.x")
	if err != nil {
		t.Fatal(err)
	}
	if ti.PublishSubject != base+".one.x" || ti.TailPattern != base+".one.x" {
		t.Errorf("Topic(%q): publish %q tail %q", base+".one.x", ti.PublishSubject, ti.TailPattern)
	}
	// Publishing where TopicInfo says stores the message in that stream.
	if err := c.Publish(ctx, got[mixed].PublishSubject, []byte("x")); err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, mixed)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.CachedInfo().State.Msgs; n != 1 {
		t.Errorf("stream %s holds %d messages after a publish to its PublishSubject, want 1", mixed, n)
	}
}

// TestPublishResultDuplicate: a message published twice with the same
// Nats-Msg-Id is stored once; the second publish reports "duplicate of seq
// N, not stored", as the stream's own state confirms.
func TestPublishResultDuplicate(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t)
	c := newClient(t, n, core.Config{CreateStreams: true})
	ctx := context.Background()
	topic := testbroker.Name(t, "dup")
	_, js := rawJS(t, n)
	op := c.Operator()
	if err := op.EnsureStream(ctx, topic); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, topic, []byte("before")); err != nil {
		t.Fatal(err)
	}
	h := core.Header{core.HeaderMsgID: {"order-7"}}
	first, err := op.Publish(ctx, topic, []byte("once"), h)
	if err != nil {
		t.Fatal(err)
	}
	second, err := op.Publish(ctx, topic, []byte("once"), h)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, first.Stream)
	if err != nil {
		t.Fatalf("stream %q named by the publish result: %v", first.Stream, err)
	}
	state := st.CachedInfo().State
	if state.Msgs != 2 || state.LastSeq != 2 {
		t.Fatalf("stream %s: %d messages, last seq %d; want 2 and 2 (the duplicate not stored)", first.Stream, state.Msgs, state.LastSeq)
	}
	if !first.Stored || first.Duplicate || first.Seq != state.LastSeq || first.ID != "2" {
		t.Errorf("first publish: %+v, want stored as seq %d", first, state.LastSeq)
	}
	if second.Stored || !second.Duplicate || second.Seq != first.Seq || second.Stream != first.Stream {
		t.Errorf("second publish: %+v, want a duplicate of seq %d", second, first.Seq)
	}
	want := "duplicate of seq 2 in stream " + first.Stream + ", not stored"
	if s := second.String(); s != want {
		t.Errorf("String() = %q, want %q", s, want)
	}
	raw, err := st.GetMsg(ctx, first.Seq)
	if err != nil || string(raw.Data) != "once" {
		t.Errorf("seq %d holds %v (%v), want the published message", first.Seq, raw, err)
	}
}
