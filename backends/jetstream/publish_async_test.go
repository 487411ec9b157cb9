package jetstream_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	jsbackend "github.com/mqscope/mqscope/backends/jetstream"
	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

func waitFuture(t *testing.T, f *core.PublishFuture) error {
	t.Helper()
	select {
	case <-f.Done():
		return f.Err()
	case <-time.After(30 * time.Second):
		t.Fatal("future not resolved after 30s")
		return nil
	}
}

// blackHole makes topic a subject nobody acks: the client has cached its
// stream, the stream is deleted, and a plain subscriber takes the messages
// without replying. A JetStream publish to it stays without an answer
// (deterministically, with the server up).
func blackHole(t *testing.T, n *testbroker.NATS, js jetstream.JetStream, c *core.Client, topic string) {
	t.Helper()
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: topic, Subjects: []string{topic}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	f, err := c.PublishAsync(ctx, topic, []byte("first")) // caches the stream
	if err != nil {
		t.Fatal(err)
	}
	if err := waitFuture(t, f); err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(ctx, topic); err != nil {
		t.Fatal(err)
	}
	sink := n.Connect(t)
	if _, err := sink.Subscribe(topic, func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	if err := sink.Flush(); err != nil {
		t.Fatal(err)
	}
}

// Every future resolves nil, the stream stores the messages in publish
// order, headers travel, MsgID de-duplicates, Flush waits for all.
func TestPublishAsync(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t) // shared by the subtests: none stops it
	t.Run("OrderAndFlush", func(t *testing.T) { asyncOrderAndFlush(t, n) })
	t.Run("NoStream", func(t *testing.T) { asyncNoStream(t, n) })
	t.Run("CloseWaits", func(t *testing.T) { asyncCloseWaits(t, n) })
}

func asyncOrderAndFlush(t *testing.T, n *testbroker.NATS) {
	_, js := rawJS(t, n)
	c := newClient(t, n, core.Config{})
	ctx := context.Background()
	topic := testbroker.Name(t, "async")
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: topic, Subjects: []string{topic}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	const total = 3000
	futs := make([]*core.PublishFuture, 0, total+2)
	for i := 0; i < total; i++ {
		f, err := c.PublishAsync(ctx, topic, []byte(strconv.Itoa(i)))
		if err != nil {
			t.Fatalf("PublishAsync %d: %v", i, err)
		}
		futs = append(futs, f)
	}
	for _, id := range []string{"dup-1", "dup-1"} {
		f, err := c.PublishAsync(ctx, topic, []byte("dup"), core.WithMsgID(id), core.WithHeader("K", "v"))
		if err != nil {
			t.Fatal(err)
		}
		futs = append(futs, f)
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.Flush(fctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	for i, f := range futs {
		select {
		case <-f.Done():
		default:
			t.Fatalf("future %d not resolved after Flush", i)
		}
		if err := f.Err(); err != nil {
			t.Fatalf("future %d: %v", i, err)
		}
	}
	s, err := js.Stream(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != total+1 { // the duplicate is dropped
		t.Fatalf("stream holds %d messages, want %d", info.State.Msgs, total+1)
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mb, err := cons.Fetch(total+1, jetstream.FetchMaxWait(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for m := range mb.Messages() {
		if i < total {
			if got := string(m.Data()); got != strconv.Itoa(i) {
				t.Fatalf("message %d holds %q: order not kept", i, got)
			}
		} else if m.Headers().Get("K") != "v" || m.Headers().Get(core.HeaderMsgID) != "dup-1" {
			t.Fatalf("headers lost: %v", m.Headers())
		}
		i++
	}
	if i != total+1 {
		t.Fatalf("read %d messages, want %d (%v)", i, total+1, mb.Error())
	}
}

// No stream: an unknown subject fails at once (nothing sent); a stream
// deleted after it was cached fails in the future; both wrap ErrNoStream.
func asyncNoStream(t *testing.T, n *testbroker.NATS) {
	_, js := rawJS(t, n)
	c := newClient(t, n, core.Config{})
	ctx := context.Background()
	topic := testbroker.Name(t, "nostream")
	if f, err := c.PublishAsync(ctx, topic, []byte("x")); !errors.Is(err, core.ErrNoStream) || f != nil {
		t.Fatalf("PublishAsync without a stream: %v, %v; want ErrNoStream", f, err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: topic, Subjects: []string{topic}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	f, err := c.PublishAsync(ctx, topic, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := waitFuture(t, f); err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(ctx, topic); err != nil {
		t.Fatal(err)
	}
	f, err = c.PublishAsync(ctx, topic, []byte("y")) // the stream is still cached
	if err != nil {
		t.Fatal(err)
	}
	if err := waitFuture(t, f); !errors.Is(err, core.ErrNoStream) {
		t.Fatalf("future after the stream was deleted: %v; want ErrNoStream", err)
	}
	// The cache was dropped: the next call knows at once.
	if _, err := c.PublishAsync(ctx, topic, []byte("z")); !errors.Is(err, core.ErrNoStream) {
		t.Fatalf("PublishAsync after the failure: %v; want ErrNoStream", err)
	}
}

// No ack comes (see blackHole): the in-flight bound blocks the next
// call until ctx is done, and Close (after CloseTimeout) fails every
// outstanding future with ErrClosed; PublishAsync then says ErrClosed.
func TestPublishAsyncBackPressureAndClose(t *testing.T) {
	t.Parallel()
	n := testbroker.StartNATS(t)
	_, js := rawJS(t, n)
	ctx := context.Background()
	topic := testbroker.Name(t, "close")
	c, err := core.New(&core.Config{Driver: core.DriverJetStream, CloseTimeout: 200 * time.Millisecond}, core.WithNATSConnector(n.Connect(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	blackHole(t, n, js, c, topic)
	const inFlight = 4096 // the backend's bound
	futs := make([]*core.PublishFuture, 0, inFlight)
	for i := 0; i < inFlight; i++ {
		f, err := c.PublishAsync(ctx, topic, []byte("m"))
		if err != nil {
			t.Fatalf("PublishAsync %d: %v", i, err)
		}
		futs = append(futs, f)
	}
	tctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	start := time.Now()
	_, err = c.PublishAsync(tctx, topic, []byte("over the bound"))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("PublishAsync over the bound: %v; want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("PublishAsync over the bound returned after %v", d)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.PublishAsync(cctx, topic, []byte("cancelled")); !errors.Is(err, context.Canceled) {
		t.Fatalf("PublishAsync with a cancelled ctx: %v", err)
	}
	for i, f := range futs[:10] {
		select {
		case <-f.Done():
			t.Fatalf("future %d resolved without an ack: %v", i, f.Err())
		default:
		}
	}

	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i, f := range futs {
		select {
		case <-f.Done():
		default:
			t.Fatalf("future %d unresolved after Close", i)
		}
		if err := f.Err(); !errors.Is(err, core.ErrClosed) {
			t.Fatalf("future %d after Close: %v; want ErrClosed", i, err)
		}
	}
	if _, err := c.PublishAsync(ctx, topic, []byte("late")); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("PublishAsync after Close: %v; want ErrClosed", err)
	}
	fctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := c.Flush(fctx); err != nil {
		t.Fatalf("Flush after Close: %v", err)
	}
}

// Close with a live server waits for outstanding acks: every future
// resolves nil.
func asyncCloseWaits(t *testing.T, n *testbroker.NATS) {
	_, js := rawJS(t, n)
	c := newClient(t, n, core.Config{})
	ctx := context.Background()
	topic := testbroker.Name(t, "closewait")
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: topic, Subjects: []string{topic}, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	var futs []*core.PublishFuture
	for i := 0; i < 1000; i++ {
		f, err := c.PublishAsync(ctx, topic, []byte(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		futs = append(futs, f)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for i, f := range futs {
		select {
		case <-f.Done():
		default:
			t.Fatalf("future %d unresolved after Close", i)
		}
		if err := f.Err(); err != nil {
			t.Fatalf("future %d: %v", i, err)
		}
	}
}

// No ack comes: the future fails with ErrAsyncPublishTimeout after the ack
// timeout. Not parallel: it shortens the timeout for publishers made while
// it runs.
func TestPublishAsyncAckTimeout(t *testing.T) {
	restore := jsbackend.SetAsyncAckTimeoutForTest(300*time.Millisecond, 50*time.Millisecond)
	n := testbroker.StartNATS(t)
	_, js := rawJS(t, n)
	ctx := context.Background()
	topic := testbroker.Name(t, "acktimeout")
	c, err := core.New(&core.Config{Driver: core.DriverJetStream}, core.WithNATSConnector(n.Connect(t)))
	restore()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	blackHole(t, n, js, c, topic)
	f, err := c.PublishAsync(ctx, topic, []byte("lost"))
	if err != nil {
		t.Fatal(err)
	}
	if err := waitFuture(t, f); !errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
		t.Fatalf("future without an ack: %v; want ErrAsyncPublishTimeout", err)
	}
}
