package jetstream_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestActionsUseTheExactName: consumers whose names differ only where the
// old rewriting put '_' stay apart — deleting, listing and acking one never
// touches the other — and a name the API cannot address is refused, not
// rewritten into a neighbour's.
func TestActionsUseTheExactName(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t)
	_, js := rawJS(t, n)
	c := newClient(t, n, core.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, subj := testbroker.Name(t, "S"), testbroker.Name(t, "s")
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{subj}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		if _, err := js.Publish(ctx, subj, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	esc, twin := "c-clr\x1b[2J", "c-clr_[2J"
	hold := func(name string, k int) jetstream.Consumer {
		t.Helper()
		cons, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: name, AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute})
		if err != nil {
			t.Fatalf("consumer %q: %v", name, err)
		}
		if k > 0 {
			b, err := cons.Fetch(k, jetstream.FetchMaxWait(2*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			for range b.Messages() {
			}
		}
		return cons
	}
	hold(esc, 2)
	hold(twin, 3)
	hold("a_b", 1)
	info := func(name string) (*jetstream.ConsumerInfo, error) {
		cons, err := st.Consumer(ctx, name)
		if err != nil {
			return nil, err
		}
		return cons.Info(ctx)
	}
	op := c.Operator()

	// Pending lists the escaped consumer's own two messages.
	page, err := op.Pending(ctx, core.PendingQuery{Topic: subj, Group: esc})
	if err != nil || page.Total != 2 {
		t.Fatalf("pending of %q: total %d, %v; want its own 2", esc, page.Total, err)
	}
	// Acking as it acts on it alone.
	if res, err := op.Ack(ctx, core.ActionRequest{Topic: subj, Group: esc, IDs: []string{"1"}}); err != nil || res.Done != 1 {
		t.Fatalf("ack as %q: %+v %v", esc, res, err)
	}
	if ci, _ := info(esc); ci == nil || ci.NumAckPending != 1 {
		t.Errorf("%q after the ack: %+v", esc, ci)
	}
	if ci, _ := info(twin); ci == nil || ci.NumAckPending != 3 {
		t.Errorf("the twin %q changed: %+v", twin, ci)
	}
	// Deleting it deletes it, not the twin.
	if err := op.DeleteGroup(ctx, subj, esc); err != nil {
		t.Fatalf("delete %q: %v", esc, err)
	}
	if _, err := info(esc); err == nil {
		t.Errorf("%q still exists after its delete", esc)
	}
	if ci, err := info(twin); err != nil || ci.NumAckPending != 3 {
		t.Errorf("the twin %q after deleting %q: %+v %v", twin, esc, ci, err)
	}
	// A name the API cannot address is refused; "a_b" is not its stand-in.
	for _, bad := range []string{"a b", "a.b", "a\nb"} {
		err := op.DeleteGroup(ctx, subj, bad)
		if err == nil || !strings.Contains(err.Error(), "cannot address") {
			t.Errorf("delete %q: %v, want a refusal naming why", bad, err)
		}
		if _, err := op.Ack(ctx, core.ActionRequest{Topic: subj, Group: bad, IDs: []string{"2"}}); err == nil {
			t.Errorf("ack as %q was not refused", bad)
		}
	}
	if ci, err := info("a_b"); err != nil || ci.NumAckPending != 1 {
		t.Errorf("a_b after refusals for look-alike names: %+v %v", ci, err)
	}
}
