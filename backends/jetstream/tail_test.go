package jetstream_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	jsb "github.com/mqscope/mqscope/backends/jetstream"
	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestTailConsumerNamed: a tail's ordered consumer carries
// TailConsumerPrefix (so a console can tell it from the application's
// consumers), two tails never share a name, watching changes no durable
// consumer, and a stopped tail leaves no consumer behind.
func TestTailConsumerNamed(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t)
	c := newClient(t, n, core.Config{CreateStreams: true})
	ctx := context.Background()
	topic := testbroker.Name(t, "tailname")
	if err := c.Publish(ctx, topic, []byte("one")); err != nil {
		t.Fatal(err)
	}
	_, js := rawJS(t, n)
	if _, err := js.CreateConsumer(ctx, topic, jetstream.ConsumerConfig{Durable: "app", AckPolicy: jetstream.AckExplicitPolicy}); err != nil {
		t.Fatal(err)
	}
	names := func() (tails []string, others []string) {
		st, err := js.Stream(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		l := st.ListConsumers(ctx)
		for ci := range l.Info() {
			if strings.HasPrefix(ci.Name, jsb.TailConsumerPrefix) {
				if ci.Config.Durable != "" {
					t.Errorf("tail consumer %s is durable", ci.Name)
				}
				tails = append(tails, ci.Name)
			} else {
				others = append(others, ci.Name)
			}
		}
		if err := l.Err(); err != nil {
			t.Fatal(err)
		}
		return
	}
	op := c.Operator()
	t1, err := op.Tail(ctx, core.TailQuery{Pattern: topic, From: core.StartAll()})
	if err != nil {
		t.Fatal(err)
	}
	defer t1.Stop()
	t2, err := op.Tail(ctx, core.TailQuery{Pattern: topic, From: core.StartAll()})
	if err != nil {
		t.Fatal(err)
	}
	defer t2.Stop()
	eventually(t, 5*time.Second, func() string { return "tails saw nothing" }, func() bool { return t1.Len() == 1 && t2.Len() == 1 })
	tails, others := names()
	if len(tails) != 2 || tails[0] == tails[1] {
		t.Fatalf("want two distinct %s* consumers, have %v (others %v)", jsb.TailConsumerPrefix, tails, others)
	}
	if len(others) != 1 || others[0] != "app" {
		t.Errorf("consumers besides the tails: %v, want [app]", others)
	}
	ci, err := js.Consumer(ctx, topic, "app")
	if err != nil {
		t.Fatal(err)
	}
	if info := ci.CachedInfo(); info.Delivered.Stream != 0 || info.NumPending != 1 {
		t.Errorf("watching moved the app's consumer: delivered %d, pending %d", info.Delivered.Stream, info.NumPending)
	}
	// An ephemeral consumer of the application's, made with the raw client.
	eph, err := js.CreateConsumer(ctx, topic, jetstream.ConsumerConfig{AckPolicy: jetstream.AckExplicitPolicy, InactiveThreshold: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ephName := eph.CachedInfo().Name
	// The console lists groups with their kind: the tails (by the names the
	// server has), the app's durable and its ephemeral.
	gs, err := op.Groups(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]core.GroupKind{tails[0]: core.GroupTail, tails[1]: core.GroupTail, "app": core.GroupDurable, ephName: core.GroupEphemeral}
	for _, g := range gs {
		k, ok := want[g.Name]
		if !ok {
			t.Errorf("Groups lists %q, not on the server", g.Name)
			continue
		}
		if g.Kind != k {
			t.Errorf("group %q: kind %v, want %v", g.Name, g.Kind, k)
		}
		delete(want, g.Name)
	}
	if len(want) > 0 {
		t.Errorf("Groups does not list %v", want)
	}
	t1.Stop()
	t2.Stop()
	eventually(t, 5*time.Second, func() string { tails, _ := names(); return "tail consumers left: " + strings.Join(tails, ",") },
		func() bool { tails, _ := names(); return len(tails) == 0 })
}
