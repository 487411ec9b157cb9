package jetstream_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestClusterServerLoss: against three routed servers and an R3 stream,
// the operator's tail, a queue-group subscriber and the header's server
// address carry on when the server the client is connected to stops.
func TestClusterServerLoss(t *testing.T) {
	t.Parallel()
	cl := testbroker.StartNATSCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	c, err := core.New(&core.Config{Driver: core.DriverJetStream, NATSURL: cl.URLs()},
		core.WithLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })

	// The publisher is connected to every server in turn by the list.
	pnc, err := nats.Connect(cl.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pnc.Close)
	js, err := jetstream.New(pnc)
	if err != nil {
		t.Fatal(err)
	}
	stream, subj := testbroker.Name(t, "S"), testbroker.Name(t, "s")
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{subj + ".>"}, Replicas: 3}); err != nil {
		t.Fatalf("R3 stream: %v", err)
	}

	op := c.Operator()
	tail, err := op.Tail(ctx, core.TailQuery{Pattern: subj + ".>"})
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Stop()
	got := newCounter()
	if _, err := c.Subscribe(ctx, subj+".>", got.handle, core.WithQueueGroup("workers")); err != nil {
		t.Fatal(err)
	}

	publish := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := js.Publish(pctx, fmt.Sprintf("%s.m", subj), []byte(fmt.Sprint(i)))
			pcancel()
			if err != nil {
				// A publish during the leader election may time out: retry it.
				i--
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	received := func() uint64 { return tail.Received() }
	publish(0, 20)
	eventually(t, 15*time.Second, func() string { return fmt.Sprintf("tail saw %d of 20 before the loss", received()) }, func() bool { return received() >= 20 })

	si, err := op.ServerInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	victim := cl.Index(si.Address)
	if victim < 0 {
		t.Fatalf("server address %q is none of the cluster's %s", si.Address, cl.URLs())
	}
	// The hard case: the server the client uses is also the stream's leader.
	for try := 0; ; try++ {
		info, err := js.Stream(ctx, stream)
		if err == nil && info.CachedInfo().Cluster != nil && info.CachedInfo().Cluster.Leader == cl.ServerName(victim) {
			break
		}
		if try == 30 {
			t.Fatalf("could not move the stream leader to server %d", victim)
		}
		_, _ = pnc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+stream, nil, 5*time.Second)
		time.Sleep(300 * time.Millisecond)
	}
	publish(20, 30)
	eventually(t, 15*time.Second, func() string { return fmt.Sprintf("tail saw %d of 30 after the leader moved", received()) }, func() bool { return received() >= 30 })
	cl.Shutdown(victim)
	t.Logf("stopped server %d (%s)", victim, si.Address)

	lost := time.Now()
	publish(30, 60)
	t.Logf("30 publishes after the loss took %v", time.Since(lost).Round(time.Millisecond))
	eventually(t, 45*time.Second, func() string { return fmt.Sprintf("tail saw %d of 60 after the loss", received()) }, func() bool { return received() >= 60 })
	t.Logf("tail caught up %v after the loss", time.Since(lost).Round(time.Millisecond))
	eventually(t, 45*time.Second, func() string {
		return fmt.Sprintf("tail saw %d of 60 after the loss; subscriber %d distinct", received(), got.distinct())
	}, func() bool { return received() >= 60 && got.distinct() >= 60 })
	t.Logf("tail and subscriber caught up %v after the loss (tail received %d)", time.Since(lost).Round(time.Millisecond), received())

	eventually(t, 10*time.Second, func() string {
		si, _ := op.ServerInfo(ctx)
		return fmt.Sprintf("header still says %q (%s)", si.Address, si.State)
	}, func() bool {
		si, err := op.ServerInfo(ctx)
		return err == nil && si.Connected() && cl.Index(si.Address) >= 0 && cl.Index(si.Address) != victim
	})
}
