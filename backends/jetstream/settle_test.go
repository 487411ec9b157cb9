package jetstream_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestSettleBySequence is issue 7's setup: a stream with 10 messages, a
// durable pull consumer "proc" (AckWait 5m) holding 4 fetched without
// ack. Ack, nak with a delay and term go by stream sequence: nothing is
// pulled, and each touches only its message.
func TestSettleBySequence(t *testing.T) {
	t.Parallel()
	op, nc, js, stream := settleStream(t, 10)
	ctx := t.Context()
	cons, err := js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: "proc", AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: 5 * time.Minute, MaxDeliver: 3})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := cons.Fetch(4, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	for range mb.Messages() {
	}
	info := func() *jetstream.ConsumerInfo {
		t.Helper()
		ci, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ci
	}
	want := func(what string, ackPending, numPending int, delivered uint64) {
		t.Helper()
		ci := info()
		if ci.NumAckPending != ackPending || ci.NumPending != uint64(numPending) || ci.Delivered.Consumer != delivered || ci.Delivered.Stream != delivered || ci.NumRedelivered != 0 {
			t.Fatalf("%s: outstanding %d, unprocessed %d, delivered %d/%d, redelivered %d; want %d, %d, %d/%d, 0",
				what, ci.NumAckPending, ci.NumPending, ci.Delivered.Consumer, ci.Delivered.Stream, ci.NumRedelivered, ackPending, numPending, delivered, delivered)
		}
	}
	want("after fetching 4", 4, 6, 4)

	res, err := op.Ack(ctx, core.ActionRequest{Topic: stream, Group: "proc", IDs: []string{"3"}})
	if err != nil || res.Done != 1 {
		t.Fatalf("Ack 3: %+v %v", res, err)
	}
	want("after ack 3", 3, 6, 4)

	// Term 4 with a reason: the terminated advisory carries it.
	adv, err := nc.SubscribeSync("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED." + stream + ".proc")
	if err != nil {
		t.Fatal(err)
	}
	res, err = op.Term(ctx, core.ActionRequest{Topic: stream, Group: "proc", IDs: []string{"4"}, Reason: "bad\npayload"})
	if err != nil || res.Done != 1 {
		t.Fatalf("Term 4: %+v %v", res, err)
	}
	want("after term 4", 2, 6, 4)
	am, err := adv.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("no terminated advisory: %v", err)
	}
	var ta struct {
		StreamSeq uint64 `json:"stream_seq"`
		Reason    string `json:"reason"`
	}
	if err := json.Unmarshal(am.Data, &ta); err != nil || ta.StreamSeq != 4 || ta.Reason != "bad payload" {
		t.Errorf("terminated advisory %s: want stream_seq 4, reason %q", am.Data, "bad payload")
	}

	// Nak 2 with a delay: not redelivered before it ends, then once.
	const delay = 1500 * time.Millisecond
	naked := time.Now()
	res, err = op.Nak(ctx, core.ActionRequest{Topic: stream, Group: "proc", IDs: []string{"2"}, Delay: delay})
	if err != nil || res.Done != 1 {
		t.Fatalf("Nak 2: %+v %v", res, err)
	}
	if !strings.Contains(res.Detail, "nak'd 1 of 1") || !strings.Contains(res.Detail, "not redelivered before 1.5s") {
		t.Errorf("Nak 2's detail %q does not say what was done and the delay", res.Detail)
	}
	want("after nak 2", 2, 6, 4)
	var got []string
	for time.Since(naked) < delay+5*time.Second {
		mb, err := cons.Fetch(1, jetstream.FetchMaxWait(200*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		for m := range mb.Messages() {
			md, _ := m.Metadata()
			got = append(got, fmt.Sprintf("%d×%d", md.Sequence.Stream, md.NumDelivered))
			if md.Sequence.Stream == 2 {
				if since := time.Since(naked); since < delay {
					t.Errorf("naked 2 redelivered after %v, before its delay of %v", since, delay)
				}
				if md.NumDelivered != 2 {
					t.Errorf("naked 2 redelivered with delivery count %d, want 2", md.NumDelivered)
				}
				t.Logf("fetched after the nak: %v", got)
				return
			}
		}
	}
	t.Fatalf("naked 2 never redelivered; fetched %v", got)
}

// TestSettleRefusals: consumer names are used byte for byte, so one that
// cannot be a subject token is refused, not rewritten; a consumer without
// explicit acks has nothing to settle.
func TestSettleRefusals(t *testing.T) {
	t.Parallel()
	op, _, js, stream := settleStream(t, 1)
	ctx := t.Context()
	for _, name := range []string{"a.b", "a b", "a*", "a>", "a\tb", ""} {
		_, err := op.Ack(ctx, core.ActionRequest{Topic: stream, Group: name, IDs: []string{"1"}})
		if err == nil || errors.Is(err, core.ErrNotFound) || (name != "" && !strings.Contains(err.Error(), "cannot address")) {
			t.Errorf("Ack as consumer %q: %v, want a refusal saying the name cannot be addressed", name, err)
		}
	}
	if _, err := js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: "none", AckPolicy: jetstream.AckNonePolicy}); err != nil {
		t.Fatal(err)
	}
	_, err := op.Term(ctx, core.ActionRequest{Topic: stream, Group: "none", IDs: []string{"1"}})
	if !errors.Is(err, core.ErrUnsupported) {
		t.Errorf("Term on an ack-none consumer: %v, want ErrUnsupported", err)
	}
	res, err := op.Nak(ctx, core.ActionRequest{Topic: stream, Group: "none", IDs: []string{"1"}})
	if !errors.Is(err, core.ErrUnsupported) || res.Done != 0 {
		t.Errorf("Nak on an ack-none consumer: %+v %v, want ErrUnsupported", res, err)
	}
}

// settleStream starts a server with a stream of n messages ("m1"…) on
// <stream>.a, and returns an operator and a raw connection to it.
func settleStream(t *testing.T, n int) (*core.Operator, *nats.Conn, jetstream.JetStream, string) {
	t.Helper()
	srv := testbroker.StartNATS(t)
	c := newClient(t, srv, core.Config{})
	nc, js := rawJS(t, srv)
	stream := testbroker.Name(t, "settle")
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: stream, Subjects: []string{stream + ".>"}}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if _, err := js.Publish(t.Context(), stream+".a", fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	return c.Operator(), nc, js, stream
}
