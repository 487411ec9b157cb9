package redisstream_test

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
)

// privateRedis runs a redis-server of its own (append-only file, fsync
// always) in t.TempDir(), so the test can restart it without disturbing
// other tests.
type privateRedis struct {
	port int
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
}

func startPrivateRedis(t *testing.T) *privateRedis {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is needed for the restart test (apt-get install redis-server): %v", err)
	}
	_ = path
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	p := &privateRedis{port: port, dir: t.TempDir()}
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	return p
}

func (p *privateRedis) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

func (p *privateRedis) start() error {
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(p.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "yes", "--appendfsync", "always", "--dir", p.dir, "--logfile", filepath.Join(p.dir, "redis.log"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %v", err)
	}
	p.mu.Lock()
	p.cmd = cmd
	p.mu.Unlock()
	c := redis.NewClient(&redis.Options{Addr: p.addr()})
	defer c.Close()
	for i := 0; i < 200; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("private redis-server on %s did not come up", p.addr())
}

func (p *privateRedis) stop() {
	p.mu.Lock()
	cmd := p.cmd
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// The server is restarted under a running publisher and subscriber: both
// survive with backoff, and every message published successfully is
// received.
func TestRedisRestartMidLoad(t *testing.T) {
	t.Parallel()
	srv := startPrivateRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	c := newClient(t, rdb, core.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tp := "restart"
	col := newCollector()
	sub, err := c.Subscribe(ctx, tp, func(m core.Message) error { col.add(m); return nil },
		core.WithQueueGroup("g"), core.WithBatchSize(10), core.WithClaimIdle(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	var sent []string
	failed := 0
	restarted := false
	for i := 0; len(sent) < 600; i++ {
		if i == 300 && !restarted {
			t0 := time.Now()
			srv.stop()
			t.Logf("stopped in %v; ping: %v", time.Since(t0), rdb.Ping(ctx).Err())
			go func() {
				time.Sleep(1500 * time.Millisecond)
				if err := srv.start(); err != nil {
					t.Error(err)
				}
			}()
			restarted = true
		}
		d := fmt.Sprintf("r-%04d", i)
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		err := c.Publish(pctx, tp, []byte(d))
		pcancel()
		if err == nil {
			sent = append(sent, d)
		} else {
			failed++
			time.Sleep(20 * time.Millisecond)
		}
		if i > 5000 {
			t.Fatal("publishing never recovered after the restart")
		}
	}
	eventually(t, func() string {
		return fmt.Sprintf("missing %d of %d after restart", len(col.missing(sent)), len(sent))
	}, func() bool { return len(col.missing(sent)) == 0 })
	if failed == 0 {
		t.Fatal("no publish failed: the restart was not noticed, the test proved nothing")
	}
	t.Logf("restart: %d published successfully (%d failed while the server was down), %d deliveries, 0 lost", len(sent), failed, col.total())
}
