package serve

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	_ "github.com/mqscope/mqscope/backends"
	"github.com/mqscope/mqscope/internal/config"
	"github.com/mqscope/mqscope/internal/testbroker"
	"github.com/mqscope/mqscope/tui"
)

// A test user: a key pair and its authorized_keys line.
type user struct {
	name   string
	signer gossh.Signer
	line   string // without the key's options
}

func newUser(t testing.TB, name string) user {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return user{name: name, signer: s, line: strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.PublicKey()))) + " " + name}
}

// fixture is a server on a real NATS (JetStream, and the same server as
// NATS Core) with its own state directory and audit log.
type fixture struct {
	t     testing.TB
	nats  *testbroker.NATS
	dir   string
	keys  string
	log   *syncBuffer
	srv   *Server
	addr  string // the server's
	stop  func() // stops the last server started (Serve's context ends)
	cfg   *config.Config
	opens int // how many times the server opened a context
	mu    sync.Mutex
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// newFixture starts a server whose authorized_keys holds lines; tweak
// changes the options before it starts.
func newFixture(t testing.TB, lines []string, tweak func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, nats: testbroker.StartNATS(t), dir: t.TempDir(), log: &syncBuffer{}}
	f.keys = filepath.Join(f.dir, "authorized_keys")
	if err := os.WriteFile(f.keys, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": f.dir, "MQSCOPE_NATS_URL": f.nats.URL()}
	cfg, err := config.Load(config.LoadOptions{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	f.cfg = cfg
	logger := slog.New(slog.NewTextHandler(f.log, nil))
	o := Options{
		Listen: "127.0.0.1:0", AuthorizedKeys: f.keys, HostKey: filepath.Join(f.dir, "state", "host_key"),
		MaxSessions: 10, Contexts: cfg.Names(), Initial: cfg.Initial, Config: cfg, Logger: logger,
		Console: tui.Options{Refresh: 200 * time.Millisecond, Timeout: 5 * time.Second},
		Open: func(ctx context.Context, name string) (*tui.Target, error) {
			x, ok := cfg.Lookup(name)
			if !ok {
				return nil, fmt.Errorf("no context %q", name)
			}
			c, err := x.Connect(ctx, logger)
			if err != nil {
				return nil, err
			}
			f.mu.Lock()
			f.opens++
			f.mu.Unlock()
			return &tui.Target{Name: name, Client: c.Client, Address: c.Address, Close: c.Close}, nil
		},
	}
	if tweak != nil {
		tweak(&o)
	}
	f.start(o)
	return f
}

func (f *fixture) start(o Options) {
	f.t.Helper()
	srv, err := New(o)
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	f.srv, f.addr = srv, srv.Addr()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	var once sync.Once
	f.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				f.t.Errorf("Serve: %v", err)
			}
		})
	}
	f.t.Cleanup(f.stop)
}

// dial connects as u (a public key), recording the host key it saw.
func (f *fixture) dial(u user, auth ...gossh.AuthMethod) (*gossh.Client, error) {
	if auth == nil {
		auth = []gossh.AuthMethod{gossh.PublicKeys(u.signer)}
	}
	return gossh.Dial("tcp", f.addr, &gossh.ClientConfig{
		User: u.name, Auth: auth, Timeout: 30 * time.Second,
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
	})
}

func (f *fixture) mustDial(u user) *gossh.Client {
	f.t.Helper()
	c, err := f.dial(u)
	if err != nil {
		f.t.Fatalf("dial as %s: %v", u.name, err)
	}
	f.t.Cleanup(func() { _ = c.Close() })
	return c
}

// run runs a command over SSH; it returns stdout, stderr and the exit code.
func (f *fixture) run(u user, cmd string) (string, string, int) {
	f.t.Helper()
	c := f.mustDial(u)
	s, err := c.NewSession()
	if err != nil {
		f.t.Fatalf("session: %v", err)
	}
	defer s.Close()
	var out, errb bytes.Buffer
	s.Stdout, s.Stderr = &out, &errb
	err = s.Run(cmd)
	code := 0
	if ee, ok := err.(*gossh.ExitError); ok {
		code = ee.ExitStatus()
	} else if err != nil {
		f.t.Fatalf("run %q: %v", cmd, err)
	}
	return out.String(), errb.String(), code
}

// term is a console session: a pty of its own size; screen() is what the
// server has drawn so far, escape sequences removed.
type term struct {
	t    testing.TB
	s    *gossh.Session
	in   io.WriteCloser
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

func (f *fixture) console(u user, w, h int, env ...string) *term {
	f.t.Helper()
	c := f.mustDial(u)
	s, err := c.NewSession()
	if err != nil {
		f.t.Fatalf("session: %v", err)
	}
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		if err := s.Setenv(k, v); err != nil {
			f.t.Fatalf("setenv: %v", err)
		}
	}
	if err := s.RequestPty("xterm-256color", h, w, gossh.TerminalModes{}); err != nil {
		f.t.Fatalf("pty: %v", err)
	}
	tm := &term{t: f.t, s: s, done: make(chan error, 1)}
	tm.in, err = s.StdinPipe()
	if err != nil {
		f.t.Fatal(err)
	}
	s.Stdout, s.Stderr = tm, tm
	if err := s.Shell(); err != nil {
		f.t.Fatalf("shell: %v", err)
	}
	go func() { tm.done <- s.Wait() }()
	f.t.Cleanup(func() { _ = s.Close() })
	return tm
}

func (tm *term) Write(p []byte) (int, error) {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.Write(p)
}

func (tm *term) raw() string { tm.mu.Lock(); defer tm.mu.Unlock(); return tm.out.String() }

func (tm *term) screen() string { return ansi.Strip(tm.raw()) }

// reset forgets what was drawn so far.
func (tm *term) reset() { tm.mu.Lock(); tm.out.Reset(); tm.mu.Unlock() }

// waitFor waits (a generous bound, not a speed check) until the output has
// every want.
func (tm *term) waitFor(what string, want ...string) string {
	tm.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := tm.screen()
		missing := ""
		for _, w := range want {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("%s: %q never appeared; the screen had:\n%s", what, missing, tail(s, 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (tm *term) send(s string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.in, s); err != nil {
		tm.t.Fatalf("send %q: %v", s, err)
	}
}

// wait waits for the session to end and returns its exit code.
func (tm *term) wait() int {
	tm.t.Helper()
	select {
	case err := <-tm.done:
		if ee, ok := err.(*gossh.ExitError); ok {
			return ee.ExitStatus()
		}
		if err != nil {
			tm.t.Fatalf("session: %v", err)
		}
		return 0
	case <-time.After(30 * time.Second):
		tm.t.Fatalf("the session did not end; screen:\n%s", tail(tm.screen(), 2000))
		return -1
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// eventually polls cond under a generous bound.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
