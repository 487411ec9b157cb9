package jetstream_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestFaultDLQRoundTripWithRestarts moves 1 000 messages to the DLQ and
// redrives them back while the embedded server is shut down and restarted
// during every step; afterwards each message must be in the origin, the
// DLQ, or both: lost must be 0, duplicates are counted.
func TestFaultDLQRoundTripWithRestarts(t *testing.T) {
	t.Parallel()
	const total, chunk = 1000, 250
	n := testbroker.StartNATS(t)
	c := newClient(t, n, core.Config{CreateStreams: true})
	op := c.Operator()
	ctx := t.Context()
	topic := testbroker.Name(t, "fault")
	dlq := topic + ".dlq"
	for i := 0; i < total; i++ {
		if err := c.Publish(ctx, topic, fmt.Appendf(nil, "f-%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := op.EnsureDLQ(ctx, dlq); err != nil {
		t.Fatal(err)
	}

	// ids lists what a browse of topic currently holds.
	ids := func(topic string) []string {
		var out []string
		from := core.StartAll()
		for {
			var p core.BrowsePage
			var err error
			for attempt := 0; ; attempt++ {
				bctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				p, err = op.Browse(bctx, core.BrowseQuery{Topic: topic, From: from, Limit: 500})
				cancel()
				if err == nil {
					break
				}
				if attempt > 50 {
					t.Fatalf("browse %s: %v", topic, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			for _, r := range p.Records {
				out = append(out, r.ID)
			}
			if !p.More {
				return out
			}
			from = p.Next
		}
	}
	restarts := 0
	// step runs fn over ids in chunks, restarting the server during each
	// chunk, and retries until src holds nothing of what was asked.
	step := func(name, src string, fn func(ctx context.Context, ids []string) (core.Result, error)) {
		for round := 0; round < 20; round++ {
			left := ids(src)
			if len(left) == 0 {
				return
			}
			for i := 0; i < len(left); i += chunk {
				part := left[i:min(i+chunk, len(left))]
				done := make(chan struct{})
				go func() {
					defer close(done)
					cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
					defer cancel()
					res, err := fn(cctx, part)
					t.Logf("%s round %d chunk %d: done %d failed %d err %v", name, round, i/chunk, res.Done, res.Failed, err)
				}()
				time.Sleep(time.Duration(5+restarts%4*10) * time.Millisecond)
				n.Restart()
				restarts++
				<-done
			}
		}
		t.Fatalf("%s: messages still in %s after 20 rounds", name, src)
	}
	step("move", topic, func(ctx context.Context, part []string) (core.Result, error) {
		return op.MoveToDLQ(ctx, core.MoveRequest{Topic: topic, IDs: part, DLQ: dlq, Reason: "fault test"})
	})
	step("redrive", dlq, func(ctx context.Context, part []string) (core.Result, error) {
		return op.Redrive(ctx, core.RedriveRequest{DLQ: dlq, IDs: part, Remove: true})
	})

	copies := map[string]int{}
	for _, src := range []string{topic, dlq} {
		from := core.StartAll()
		for {
			p, err := op.Browse(ctx, core.BrowseQuery{Topic: src, From: from, Limit: 500})
			if err != nil {
				t.Fatalf("final browse %s: %v", src, err)
			}
			for _, r := range p.Records {
				copies[string(r.Data)]++
			}
			if !p.More {
				break
			}
			from = p.Next
		}
	}
	lost, dup := 0, 0
	for i := 0; i < total; i++ {
		k := fmt.Sprintf("f-%04d", i)
		switch c := copies[k]; {
		case c == 0:
			lost++
		case c > 1:
			dup += c - 1
		}
	}
	t.Logf("DLQ round trip of %d messages with %d server restarts: lost %d, duplicated %d, in origin %d, in DLQ %d",
		total, restarts, lost, dup, len(ids(topic)), len(ids(dlq)))
	if lost != 0 {
		t.Errorf("lost %d messages", lost)
	}
}
