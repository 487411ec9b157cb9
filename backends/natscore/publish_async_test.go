package natscore_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// Fire-and-forget: every future is resolved when PublishAsync returns, the
// subscriber gets the messages in call order with their headers; a
// cancelled ctx and a closed client refuse at once.
func TestPublishAsync(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	c := newClient(t, srv.Connect(t))
	ctx := context.Background()
	topic := testbroker.Name(t, "async")
	const total = 2000
	var mu sync.Mutex
	var got []string
	all := make(chan struct{})
	sub, err := c.Subscribe(ctx, topic, func(m core.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if m.Header().Get("K") != "v" {
			t.Errorf("header lost: %v", m.Header())
		}
		got = append(got, string(m.Data()))
		if len(got) == total {
			close(all)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	for i := 0; i < total; i++ {
		f, err := c.PublishAsync(ctx, topic, []byte(strconv.Itoa(i)), core.WithHeader("K", "v"))
		if err != nil {
			t.Fatalf("PublishAsync %d: %v", i, err)
		}
		select {
		case <-f.Done():
		default:
			t.Fatalf("future %d not resolved when PublishAsync returned", i)
		}
		if err := f.Err(); err != nil {
			t.Fatalf("future %d: %v", i, err)
		}
	}
	eventually(t, "all messages", func() bool {
		select {
		case <-all:
			return true
		default:
			return false
		}
	})
	mu.Lock()
	for i, d := range got {
		if d != strconv.Itoa(i) {
			t.Fatalf("message %d is %q: order not kept", i, d)
		}
	}
	mu.Unlock()

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.PublishAsync(cctx, topic, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("PublishAsync with a cancelled ctx: %v", err)
	}
	if _, err := c.PublishAsync(ctx, "bad.*", []byte("x")); !errors.Is(err, core.ErrInvalidTopic) {
		t.Fatalf("PublishAsync to a wildcard: %v", err)
	}
	if _, err := c.PublishAsync(ctx, topic, []byte("x"), core.WithHeader("bad key", "v")); err == nil {
		t.Fatal("PublishAsync with a bad header key: no error")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishAsync(ctx, topic, []byte("x")); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("PublishAsync after Close: %v; want ErrClosed", err)
	}
}
