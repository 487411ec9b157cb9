// Package testbroker gives tests real brokers: an embedded nats-server with
// JetStream in t.TempDir(), and a Redis server (MQSCOPE_TEST_REDIS_URL, else
// 127.0.0.1:6379, else a private redis-server started on a free port).
// It never skips: without a Redis it fails saying how to get one.
package testbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/mqscope/mqscope/internal/natsembed"
	"github.com/mqscope/mqscope/internal/redisproc"
)

// NATS is an embedded server owned by one test.
type NATS struct {
	t        testing.TB
	mu       sync.Mutex
	srv      *server.Server
	port     int // fixed for the life of the test, so clients reconnect after Start
	StoreDir string
}

// StartNATS starts an embedded nats-server with JetStream for t; it is shut
// down when t ends.
func StartNATS(t testing.TB) *NATS {
	t.Helper()
	dir := t.TempDir()
	s, err := natsembed.Start(natsembed.Options{StoreDir: dir})
	if err != nil {
		t.Fatalf("testbroker: start embedded nats-server: %v", err)
	}
	n := &NATS{t: t, srv: s, StoreDir: dir, port: s.Addr().(*net.TCPAddr).Port}
	t.Cleanup(func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
	})
	return n
}

// URL is the client URL.
func (n *NATS) URL() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv.ClientURL()
}

// Server returns the running server.
func (n *NATS) Server() *server.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv
}

// Restart shuts the server down and starts it again on the same port and
// store; connected clients reconnect.
func (n *NATS) Restart() {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	s, err := natsembed.Start(natsembed.Options{StoreDir: n.StoreDir, Port: n.port})
	if err != nil {
		n.t.Fatalf("testbroker: restart nats-server: %v", err)
	}
	n.srv = s
}

// Shutdown stops the server (Start brings it back).
func (n *NATS) Shutdown() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

// Start starts a server again after Shutdown, on the same port and store.
func (n *NATS) Start() {
	n.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	// A shut-down server no longer reports its address: use the one it had.
	s, err := natsembed.Start(natsembed.Options{StoreDir: n.StoreDir, Port: n.port})
	if err != nil {
		n.t.Fatalf("testbroker: start nats-server again: %v", err)
	}
	n.srv = s
}

// Connect opens a client connection that reconnects forever; closed when
// t ends.
func (n *NATS) Connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(n.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("testbroker: connect to embedded nats: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

var (
	redisOnce sync.Once
	redisURL  string
	redisErr  error
)

// RedisURL finds a Redis for tests, once per test binary.
func RedisURL(t testing.TB) string {
	t.Helper()
	redisOnce.Do(func() { redisURL, redisErr = findRedis() })
	if redisErr != nil {
		t.Fatalf("testbroker: %v", redisErr)
	}
	return redisURL
}

func findRedis() (string, error) {
	if u := os.Getenv("MQSCOPE_TEST_REDIS_URL"); u != "" {
		if err := ping(u); err != nil {
			return "", fmt.Errorf("MQSCOPE_TEST_REDIS_URL=%s does not answer: %v", u, err)
		}
		return u, nil
	}
	const local = "redis://127.0.0.1:6379/0"
	if ping(local) == nil {
		return local, nil
	}
	srv, err := redisproc.Start(context.Background(), redisproc.Options{TCP: true})
	if errors.Is(err, redisproc.ErrNotInstalled) {
		return "", fmt.Errorf("no Redis for the tests: nothing answers on 127.0.0.1:6379, MQSCOPE_TEST_REDIS_URL is not set, and redis-server is not on PATH. Install it (apt-get install redis-server) or point MQSCOPE_TEST_REDIS_URL at a Redis ≥ 6.2")
	}
	if err != nil {
		return "", err
	}
	// Kept for the life of the test binary (it dies with it).
	return srv.URL(), nil
}

func ping(u string) error {
	o, err := redis.ParseURL(u)
	if err != nil {
		return err
	}
	o.DialTimeout = time.Second
	c := redis.NewClient(o)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

// Redis returns a client to the test Redis, closed when t ends.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(RedisURL(t))
	if err != nil {
		t.Fatalf("testbroker: %v", err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// Name returns a name unique to this test run: "<prefix>_<test>_<random>",
// safe as a NATS subject token, stream name and Redis key.
func Name(t testing.TB, prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	tn := unsafeChars.ReplaceAllString(t.Name(), "_")
	if len(tn) > 40 {
		tn = tn[len(tn)-40:]
	}
	return strings.Trim(prefix+"_"+tn+"_"+hex.EncodeToString(b[:]), "_")
}

// CleanupRedisKeys deletes every key matching pattern (SCAN, never KEYS)
// when t ends.
func CleanupRedisKeys(t testing.TB, rdb redis.UniversalClient, pattern string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
			if len(keys) == 500 {
				rdb.Del(ctx, keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
}

// KillRedisClients kills every connection whose CLIENT SETNAME is name
// (go-redis sets it from Options.ClientName), simulating a dropped link
// without touching other tests' connections. It returns how many it killed.
func KillRedisClients(ctx context.Context, admin redis.UniversalClient, name string) (int, error) {
	list, err := admin.ClientList(ctx).Result()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(list, "\n") {
		var id, cname string
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "id="); ok {
				id = v
			} else if v, ok := strings.CutPrefix(f, "name="); ok {
				cname = v
			}
		}
		if id == "" || cname != name {
			continue
		}
		if err := admin.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err == nil {
			n++
		}
	}
	return n, nil
}

// LeakOptions are goleak's options for a package whose tests use this
// package: the brokers it keeps for the life of the test binary (a private
// redis-server, a private Redis Cluster) wait on their processes in
// goroutines that are meant to outlive every test.
func LeakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/mqscope/mqscope/internal/testbroker.findCluster.func2"),
		goleak.IgnoreAnyFunction("github.com/mqscope/mqscope/internal/redisproc.Start.func1"),
	}
}
