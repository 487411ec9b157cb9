package redisstream_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

func waitFuture(t *testing.T, f *core.PublishFuture) error {
	t.Helper()
	select {
	case <-f.Done():
		return f.Err()
	case <-time.After(waitLong):
		t.Fatal("future not resolved")
		return nil
	}
}

// checkOrder reads stream and wants exactly want, in order.
func checkOrder(t *testing.T, admin *redis.Client, stream string, want []string) {
	t.Helper()
	entries, err := admin.XRange(context.Background(), stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Fatalf("%s holds %d entries, want %d", stream, len(entries), len(want))
	}
	for i, e := range entries {
		if got, _ := e.Values["data"].(string); got != want[i] {
			t.Fatalf("%s entry %d holds %q, want %q: order not kept", stream, i, got, want[i])
		}
	}
}

// Two async publishers (one topic each) and synchronous publishers on a
// third topic at the same time: every future resolves nil, each topic holds
// its publisher's messages in call order, Flush waits for all; a failure
// (XADD to a key of another type) comes back in its future.
func TestPublishAsyncOrderAndFailure(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	c := newClient(t, admin, core.Config{})
	ctx := context.Background()
	base := topic(t, admin)
	const total = 3000
	var wg sync.WaitGroup
	futs := make([][]*core.PublishFuture, 2)
	want := make([]string, total)
	for i := range want {
		want[i] = strconv.Itoa(i)
	}
	for p := 0; p < 2; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tp := base + ":" + strconv.Itoa(p)
			for i := 0; i < total; i++ {
				f, err := c.PublishAsync(ctx, tp, []byte(want[i]), core.WithHeader("P", strconv.Itoa(p)))
				if err != nil {
					t.Errorf("PublishAsync %d: %v", i, err)
					return
				}
				futs[p] = append(futs[p], f)
			}
		}()
	}
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if err := c.Publish(ctx, base+":sync", []byte("s")); err != nil {
					t.Errorf("Publish: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	fctx, cancel := context.WithTimeout(ctx, waitLong)
	defer cancel()
	if err := c.Flush(fctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	for p := range futs {
		for i, f := range futs[p] {
			select {
			case <-f.Done():
			default:
				t.Fatalf("publisher %d future %d unresolved after Flush", p, i)
			}
			if err := f.Err(); err != nil {
				t.Fatalf("publisher %d future %d: %v", p, i, err)
			}
		}
		checkOrder(t, admin, base+":"+strconv.Itoa(p), want)
	}
	if n, _ := admin.XLen(ctx, base+":sync").Result(); n != 800 {
		t.Fatalf("sync topic holds %d, want 800", n)
	}

	// A key of another type: XADD fails with WRONGTYPE, in the future.
	bad := base + ":string"
	admin.Set(ctx, bad, "not a stream", 0)
	f, err := c.PublishAsync(ctx, bad, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if err := waitFuture(t, f); err == nil {
		t.Fatal("XADD to a string key: future resolved nil")
	}
}

// The only connection is busy (BLPOP): requests queue up to the bound,
// the next call blocks until its ctx is done; Close (CloseTimeout 50ms)
// resolves every future — the pipelines already taken are sent, the rest
// fail with ErrClosed — and the stream holds exactly the confirmed ones,
// in order. Afterwards PublishAsync says ErrClosed.
func TestPublishAsyncBackPressureAndClose(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	o, err := redis.ParseURL(testbroker.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	o.PoolSize, o.MaxActiveConns, o.MaxIdleConns, o.PoolTimeout = 1, 1, 1, 10*time.Second
	o.ClientName = testbroker.Name(t, "busy")
	rdb := redis.NewClient(o)
	t.Cleanup(func() { _ = rdb.Close() })
	c := newClient(t, rdb, core.Config{CloseTimeout: 50 * time.Millisecond})
	ctx := context.Background()
	tp := topic(t, admin)

	blocked := make(chan struct{})
	go func() {
		defer close(blocked)
		// Long enough for a loaded machine under -race; released on purpose
		// below (LPUSH) once Close has been called.
		rdb.BLPop(ctx, 30*time.Second, tp+":nothing")
	}()
	deadline := time.Now().Add(waitLong)
	for {
		list, _ := admin.ClientList(ctx).Result()
		if blockedIn(list, o.ClientName, "blpop") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("BLPOP not seen in CLIENT LIST")
		}
		time.Sleep(10 * time.Millisecond)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.PublishAsync(cctx, tp, []byte("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("PublishAsync with a cancelled ctx: %v", err)
	}
	var futs []*core.PublishFuture
	var data []string
	for {
		tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		d := strconv.Itoa(len(futs))
		f, err := c.PublishAsync(tctx, tp, []byte(d))
		cancel()
		if err != nil {
			select {
			case <-blocked:
				t.Fatalf("the BLPOP ended before the queue was full (%d queued)", len(futs))
			default:
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("PublishAsync %d: %v; want DeadlineExceeded once the queue is full", len(futs), err)
			}
			break
		}
		futs = append(futs, f)
		data = append(data, d)
		if len(futs) > 100000 {
			t.Fatal("PublishAsync never blocked: unbounded queue")
		}
	}
	early := 0
	for _, f := range futs {
		select {
		case <-f.Done():
			early++
		default:
		}
	}
	// Close fails what is still queued after CloseTimeout, then waits for
	// the pipeline already on the blocked connection: release the BLPOP a
	// little later so that pipeline can finish.
	release := time.AfterFunc(500*time.Millisecond, func() {
		admin.LPush(context.Background(), tp+":nothing", "go")
	})
	defer release.Stop()
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	t.Logf("%d resolved before Close", early)
	var ok []string
	closed := 0
	for i, f := range futs {
		select {
		case <-f.Done():
		default:
			t.Fatalf("future %d unresolved after Close", i)
		}
		switch err := f.Err(); {
		case err == nil:
			if closed > 0 {
				t.Fatalf("future %d confirmed after an earlier one failed with ErrClosed", i)
			}
			ok = append(ok, data[i])
		case errors.Is(err, core.ErrClosed):
			closed++
		default:
			t.Fatalf("future %d: %v", i, err)
		}
	}
	if closed == 0 {
		t.Fatalf("all %d futures confirmed: none was still queued at Close", len(futs))
	}
	<-blocked
	checkOrder(t, admin, tp, ok)
	if _, err := c.PublishAsync(ctx, tp, []byte("late")); !errors.Is(err, core.ErrClosed) {
		t.Fatalf("PublishAsync after Close: %v; want ErrClosed", err)
	}
	t.Logf("%d queued before the bound, %d sent, %d failed with ErrClosed", len(futs), len(ok), closed)
}

// blockedIn says whether the connection named name is blocked in cmd.
func blockedIn(clientList, name, cmd string) bool {
	for _, line := range strings.Split(clientList, "\n") {
		if strings.Contains(line, " name="+name+" ") && strings.Contains(line, " cmd="+cmd) {
			return true
		}
	}
	return false
}
