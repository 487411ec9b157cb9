package jetstream_test

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/benchcmp"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// BenchmarkBrowseAll reads a whole stream to the end with core Browse in
// pages of 1000 (what `mqscope browse` does) against a raw nats.go ordered
// consumer reading the same messages (what `nats sub --stream --all` does),
// interleaved one whole read at a time:
//
//	go test -run '^$' -bench BrowseAll -benchtime 400000x ./backends/jetstream/
//
// MQSCOPE_BENCH_BROWSE_N sets the stream's size (default 100000; -benchtime
// should be a multiple of 4×N), MQSCOPE_BENCH_NATS_URL an external server
// (nats://127.0.0.1:4222 for the machine's 2.9) instead of the embedded one.
// Streams: Limits with AllowDirect, Limits without, and WorkQueue without
// (its raw side reads the Limits twin: an ordered consumer cannot read a
// WorkQueue stream).
func BenchmarkBrowseAll(b *testing.B) {
	total := 100000
	if s := os.Getenv("MQSCOPE_BENCH_BROWSE_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("MQSCOPE_BENCH_BROWSE_N=%q: want a positive number", s)
		}
		total = n
	}
	url := os.Getenv("MQSCOPE_BENCH_NATS_URL")
	if url == "" {
		url = testbroker.StartNATS(b).URL()
	}
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	cfg := core.Config{Driver: core.DriverJetStream, NATSURL: url}
	c, err := core.New(&cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	b.Logf("nats-server %s, %d messages of 128 B", nc.ConnectedServerVersion(), total)
	ctx := context.Background()
	// Streams live as long as the parent: the WorkQueue run reads the
	// Limits run's stream on its raw side.
	stream := func(sub *testing.B, prefix string, sc jetstream.StreamConfig) string {
		name := testbroker.Name(sub, prefix)
		sc.Name, sc.Subjects, sc.Storage = name, []string{name}, jetstream.FileStorage
		if _, err := js.CreateStream(ctx, sc); err != nil {
			sub.Fatal(err)
		}
		b.Cleanup(func() { _ = js.DeleteStream(context.Background(), name) })
		fill(sub, js, name, total)
		return name
	}
	twin := ""
	for _, sc := range []struct {
		name string
		cfg  jetstream.StreamConfig
	}{
		{"limits-direct", jetstream.StreamConfig{AllowDirect: true}},
		{"limits", jetstream.StreamConfig{}},
		{"workqueue", jetstream.StreamConfig{Retention: jetstream.WorkQueuePolicy}},
	} {
		b.Run(sc.name, func(b *testing.B) {
			topic := stream(b, "browseall", sc.cfg)
			raw := topic
			if sc.cfg.Retention != jetstream.LimitsPolicy {
				raw = twin
			} else if twin == "" {
				twin = topic
			}
			benchcmp.Interleave(b, total, func(side, n int) {
				if side == benchcmp.Raw {
					rawOrderedRead(b, js, raw, n)
				} else {
					coreBrowseRead(b, c.Operator(), topic, n)
				}
			})
		})
	}
}

// coreBrowseRead pages through topic from its start until n records.
func coreBrowseRead(b *testing.B, op *core.Operator, topic string, n int) {
	q := core.BrowseQuery{Topic: topic, From: core.StartAll()}
	got := 0
	for got < n {
		q.Limit = min(benchPage, n-got)
		p, err := op.Browse(context.Background(), q)
		if err != nil || len(p.Records) == 0 {
			b.Fatalf("browse %s from %v: %d records, %v", topic, q.From, len(p.Records), err)
		}
		got += len(p.Records)
		q.From = p.Next
	}
}

// rawOrderedRead reads n messages of stream with one ordered consumer.
func rawOrderedRead(b *testing.B, js jetstream.JetStream, stream string, n int) {
	ctx := context.Background()
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{InactiveThreshold: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	it, err := cons.Messages()
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := it.Next(jetstream.NextMaxWait(5 * time.Second)); err != nil {
			b.Fatalf("ordered read %s: message %d: %v", stream, i, err)
		}
	}
	it.Stop()
	_ = js.DeleteConsumer(ctx, stream, cons.CachedInfo().Name)
}

var benchPage = func() int {
	n, err := strconv.Atoi(os.Getenv("MQSCOPE_BENCH_BROWSE_PAGE"))
	if err != nil || n < 1 {
		return 1000
	}
	return n
}()
