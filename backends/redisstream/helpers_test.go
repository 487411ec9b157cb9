package redisstream_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"

	_ "github.com/mqscope/mqscope/backends/redisstream"
)

const waitLong = 20 * time.Second

// rclient returns a Redis client named name (for KillRedisClients), closed
// when t ends.
func rclient(t testing.TB, name string) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(testbroker.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	o.ClientName = name
	o.MaxRetries = -1 // let the library see the fault, not go-redis' retry
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// newClient builds a core client on an injected Redis client; it is closed
// when t ends.
func newClient(t testing.TB, rdb redis.UniversalClient, cfg core.Config, opts ...core.Option) *core.Client {
	t.Helper()
	cfg.Driver = core.DriverRedisStream
	opts = append([]core.Option{core.WithRedisConnector(rdb)}, opts...)
	c, err := core.New(&cfg, opts...)
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// topic returns a unique stream name, deleted (with its DLQ) when t ends.
func topic(t testing.TB, admin redis.UniversalClient) string {
	name := testbroker.Name(t, "rs")
	testbroker.CleanupRedisKeys(t, admin, name+"*")
	return name
}

func eventually(t testing.TB, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// collector records deliveries by payload.
type collector struct {
	mu    sync.Mutex
	count map[string]int
	ids   map[string]string
	n     int
}

func newCollector() *collector { return &collector{count: map[string]int{}, ids: map[string]string{}} }

func (c *collector) add(m core.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.count[string(m.Data())]++
	c.ids[string(m.Data())] = m.ID()
	c.n++
}

func (c *collector) distinct() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.count) }
func (c *collector) total() int    { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

func (c *collector) missing(want []string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, w := range want {
		if c.count[w] == 0 {
			out = append(out, w)
		}
	}
	return out
}

func payloads(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%05d", prefix, i)
	}
	return out
}

func publishAll(t testing.TB, c *core.Client, topic string, data []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	for _, d := range data {
		if err := c.Publish(ctx, topic, []byte(d)); err != nil {
			t.Fatalf("publish %s: %v", d, err)
		}
	}
}

// logBuffer captures slog output for assertions.
type logBuffer struct {
	mu sync.Mutex
	sb strings.Builder
}

func (l *logBuffer) Enabled(context.Context, slog.Level) bool { return true }
func (l *logBuffer) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sb.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { l.sb.WriteString(" " + a.String()); return true })
	l.sb.WriteString("\n")
	return nil
}
func (l *logBuffer) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logBuffer) WithGroup(string) slog.Handler      { return l }
func (l *logBuffer) String() string                     { l.mu.Lock(); defer l.mu.Unlock(); return l.sb.String() }
