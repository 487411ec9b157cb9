// Package redisproc runs a private redis-server for the process that starts
// it: its own temporary directory, a unix socket in it (nothing listens on
// the network), no persistence, and gone with Close — or with the process,
// which it never outlives. The demo and the tests use it so that they never
// write into a Redis they did not start.
package redisproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotInstalled: redis-server is not on PATH.
var ErrNotInstalled = errors.New("redis-server is not on PATH (apt-get install redis-server)")

// Server is a running private redis-server.
type Server struct {
	cmd  *exec.Cmd
	dir  string
	url  string
	done chan struct{}
}

// Options for Start.
type Options struct {
	// TCP listens on a free loopback port instead of a unix socket (for
	// clients that cannot dial a socket).
	TCP bool
	// Args are more redis-server arguments ("--maxmemory", "1mb").
	Args []string
}

// Start runs redis-server and waits until it answers PING.
func Start(ctx context.Context, o Options) (*Server, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, ErrNotInstalled
	}
	dir, err := os.MkdirTemp("", "mqscope-redis-*")
	if err != nil {
		return nil, fmt.Errorf("private redis-server: %w", err)
	}
	args := []string{"--save", "", "--appendonly", "no", "--dir", dir, "--logfile", filepath.Join(dir, "redis.log")}
	var url string
	if o.TCP {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("private redis-server: %w", err)
		}
		args = append(args, "--port", fmt.Sprint(port), "--bind", "127.0.0.1")
		url = fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	} else {
		sock := filepath.Join(dir, "redis.sock")
		args = append(args, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700")
		url = "unix://" + sock
	}
	cmd := exec.Command(path, append(args, o.Args...)...)
	// The private server dies with the process that started it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start private redis-server: %w", err)
	}
	s := &Server{cmd: cmd, dir: dir, url: url, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := Ping(ctx, url); err == nil {
			return s, nil
		}
		select {
		case <-s.done:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			s.Close()
			return nil, fmt.Errorf("private redis-server exited: %s", lastLine(log))
		case <-ctx.Done():
			s.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("private redis-server did not answer within 10s")
		}
	}
}

// URL is the redis:// or unix:// URL to reach the server.
func (s *Server) URL() string { return s.url }

// Close stops the server and removes its directory.
func (s *Server) Close() error {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	return os.RemoveAll(s.dir)
}

// Ping checks that a Redis answers at url within two seconds.
func Ping(ctx context.Context, url string) error {
	o, err := redis.ParseURL(url)
	if err != nil {
		return err
	}
	o.DialTimeout, o.MaxRetries = time.Second, -1
	c := redis.NewClient(o)
	defer c.Close()
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.Ping(pctx).Err()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLine(b []byte) string {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			return string(b[i+1:])
		}
	}
	return string(b)
}
