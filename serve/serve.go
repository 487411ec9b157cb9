// Package serve is `mqscope serve`: the console served over SSH (charm.land
// wish and ssh) to a team. Every session gets its own console (package tui)
// at its own size and colour profile, or runs one command (package cli);
// both on the server's contexts, whose credentials never leave it.
//
// Who may do what comes from an OpenSSH authorized_keys file (keys.go): a
// viewer's view of a context is read-only in core, an operator's is not,
// and a key may be limited to some contexts. Sessions share one broker
// client per context (pool.go); each acts through its own core.Operator
// view, whose audit lines name the SSH user and key.
package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	bm "charm.land/wish/v2/bubbletea"

	"github.com/mqscope/mqscope/cli"
	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/config"
	"github.com/mqscope/mqscope/tui"
)

// Options configure a server.
type Options struct {
	Listen         string
	AuthorizedKeys string
	HostKey        string
	MaxSessions    int           // sessions beyond are refused (0: no limit)
	IdleTimeout    time.Duration // a console with no input this long is closed (0: never)

	// Contexts the sessions may open (display order) and the one a
	// session starts on.
	Contexts []string
	Initial  string
	// Open connects a context (main.go's opener: the demo or the config).
	// The server calls it once per context in use, not per session.
	Open func(ctx context.Context, name string) (*tui.Target, error)
	// Config is the server's, for the commands sessions run.
	Config *config.Config
	// Console is the template of every session's console settings (Open,
	// Contexts, Initial, ReadOnly, NoColor and Logger are set per session).
	Console tui.Options
	Version string
	Logger  *slog.Logger
}

// Server serves the console over SSH.
type Server struct {
	o      Options
	srv    *ssh.Server
	ln     net.Listener
	pool   *pool
	keys   atomic.Pointer[Keys]
	active atomic.Int64
	wg     sync.WaitGroup // sessions' own goroutines
	// stopping ends every session when Serve's context ends: consoles
	// quit (restoring the user's terminal), commands are cancelled.
	stopping context.Context
	stop     context.CancelFunc
}

// shutdownGrace is how long a stopping server waits for its sessions to
// end before it closes their connections.
const shutdownGrace = 5 * time.Second

// New reads the authorized keys and the host key (generating it the first
// time) and listens; Serve accepts sessions.
func New(o Options) (*Server, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Open == nil {
		return nil, errors.New("serve: no Open")
	}
	keys, err := LoadKeys(o.AuthorizedKeys)
	if err != nil {
		return nil, err
	}
	signer, created, err := HostKey(o.HostKey)
	if err != nil {
		return nil, err
	}
	if created {
		o.Logger.Info("serve: generated the host key", "path", o.HostKey)
	}
	s := &Server{o: o, pool: &pool{open: o.Open, warn: o.Logger.Warn, m: map[string]*shared{}}}
	s.stopping, s.stop = context.WithCancel(context.Background())
	s.keys.Store(keys)
	s.srv = &ssh.Server{
		Handler:          s.handle,
		PublicKeyHandler: s.authorize,
		// no PasswordHandler, no KeyboardInteractiveHandler: keys only
		HandshakeTimeout: 30 * time.Second,
		Version:          "mqscope",
	}
	s.srv.AddHostKey(signer)
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	s.ln = ln
	o.Logger.Info("serve: listening", "addr", ln.Addr().String(), "keys", keys.Len(), "host_key", hostFingerprint(signer))
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Serve accepts sessions until ctx ends, then closes every session.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case <-ctx.Done():
		// no new connections; the sessions end themselves, then the
		// connections are closed (at the latest after shutdownGrace)
		s.stop()
		grace, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		_ = s.srv.Shutdown(grace)
		cancel()
		_ = s.srv.Close()
		<-errc
		s.wg.Wait()
		return nil
	case err := <-errc:
		s.wg.Wait()
		if errors.Is(err, ssh.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	}
}

// Close stops the server and closes its connections at once.
func (s *Server) Close() error { s.stop(); return s.srv.Close() }

// authorize lets in the keys of the authorized_keys file, read again for
// each attempt so an edit takes effect without a restart. A file that no
// longer parses lets nobody in (and says why in the log).
func (s *Server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	keys, err := LoadKeys(s.o.AuthorizedKeys)
	if err != nil {
		s.o.Logger.Error("serve: refusing every key until the file is fixed", "err", err)
		s.keys.Store(&Keys{})
		return false
	}
	s.keys.Store(keys)
	if _, ok := keys.Lookup(key); !ok {
		s.o.Logger.Warn("serve: unknown key refused", "ssh_user", ctx.User(), "ssh_key", fingerprint(key), "remote", ctx.RemoteAddr().String())
		return false
	}
	return true
}

// session is one SSH session's identity and rights.
type session struct {
	user   string
	key    Key
	logger *slog.Logger // the server's, with the actor's attrs
	// contexts the key may open, in the server's order
	contexts []string
}

func (s *Server) handle(sess ssh.Session) {
	pk := sess.PublicKey()
	var k Key
	ok := false
	if pk != nil {
		k, ok = s.keys.Load().Lookup(pk)
	}
	if !ok { // removed from the file since it authenticated
		fmt.Fprintln(sess.Stderr(), "mqscope: your key is no longer authorized")
		_ = sess.Exit(cli.ExitRefused)
		return
	}
	n := s.active.Add(1)
	defer s.active.Add(-1)
	if s.o.MaxSessions > 0 && n > int64(s.o.MaxSessions) {
		s.o.Logger.Warn("serve: session refused, at the limit", "ssh_user", sess.User(), "ssh_key", k.Fingerprint, "max_sessions", s.o.MaxSessions)
		fmt.Fprintf(sess.Stderr(), "mqscope: this server is at its limit of %d sessions; try again later\r\n", s.o.MaxSessions)
		_ = sess.Exit(cli.ExitRefused)
		return
	}
	ss := &session{user: sess.User(), key: k}
	ss.logger = s.o.Logger.With("ssh_user", ss.user, "ssh_key", k.Fingerprint, "role", string(k.Role))
	for _, c := range s.o.Contexts {
		if k.May(c) {
			ss.contexts = append(ss.contexts, c)
		}
	}
	if len(ss.contexts) == 0 {
		fmt.Fprintf(sess.Stderr(), "mqscope: your key may open none of this server's contexts (it names %s)\r\n", strings.Join(k.Contexts, ", "))
		_ = sess.Exit(cli.ExitRefused)
		return
	}
	what := "console"
	if c := sess.Command(); len(c) > 0 {
		what = c[0] // not its arguments: a pub's payload has no place in the log
	}
	ss.logger.Info("serve: session start", "command", what, "remote", sess.RemoteAddr().String())
	var code int
	switch _, _, isPty := sess.Pty(); {
	case len(sess.Command()) > 0:
		code = s.command(sess, ss)
	case isPty:
		code = s.console(sess, ss)
	default:
		fmt.Fprintln(sess.Stderr(), "mqscope: no terminal for the console: ssh -t, or run a command: ssh HOST -- topics")
		code = cli.ExitUsage
	}
	ss.logger.Info("serve: session end", "exit", code)
	_ = sess.Exit(code)
}

// initial is the context a session starts on: the server's, when the key
// may open it, else the first it may.
func (s *Server) initial(ss *session) string {
	if slices.Contains(ss.contexts, s.o.Initial) {
		return s.o.Initial
	}
	return ss.contexts[0]
}

// acquire hands out the session's view of a context's shared client.
func (s *Server) acquire(ctx context.Context, ss *session, name string, readOnly bool) (*tui.Target, *core.Operator, func(), error) {
	if !slices.Contains(ss.contexts, name) {
		if slices.Contains(s.o.Contexts, name) {
			return nil, nil, nil, fmt.Errorf("context %q: %w for your key (yours: %s)", name, cli.ErrNotAllowed, strings.Join(ss.contexts, ", "))
		}
		return nil, nil, nil, fmt.Errorf("no context %q; yours: %s", name, strings.Join(ss.contexts, ", "))
	}
	t, release, err := s.pool.acquire(ctx, name)
	if err != nil {
		return nil, nil, nil, err
	}
	base := t.Operator
	if base == nil {
		base = t.Client.Operator()
	}
	op := base.With(readOnly || ss.key.Role != Operator, "ssh_user", ss.user, "ssh_key", ss.key.Fingerprint)
	return t, op, release, nil
}

// console runs the session's own console until it quits, the connection
// drops, it idles too long or the server stops.
func (s *Server) console(sess ssh.Session, ss *session) int {
	ctx, cancel := context.WithCancel(sess.Context())
	defer cancel()
	env := sess.Environ()
	pty, windows, _ := sess.Pty()
	o := s.o.Console
	o.Contexts, o.Initial, o.Logger = ss.contexts, s.initial(ss), ss.logger
	if ss.key.Role != Operator && !o.ReadOnly {
		o.ReadOnly, o.ReadOnlyReason = true, "read-only: your key's role is viewer"
	}
	o.NoColor = o.NoColor || envSet(env, "NO_COLOR")
	o.ASCII = o.ASCII || pty.Term == "dumb"
	o.Open = func(ctx context.Context, name string) (*tui.Target, error) {
		t, op, release, err := s.acquire(ctx, ss, name, false)
		if err != nil {
			return nil, err
		}
		// the console closes every target it opened, also one whose
		// connect is answered after it quit (tui targets): release runs once
		mine := *t // the shared target, with this session's view and release
		mine.Operator = op
		mine.Close = func() error { release(); return nil }
		return &mine, nil
	}

	in := &activity{r: sess}
	in.touch()
	var idled atomic.Bool
	if d := s.o.IdleTimeout; d > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			t := time.NewTimer(d)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if left := d - in.idle(); left > 0 {
						t.Reset(left)
						continue
					}
					idled.Store(true)
					cancel()
					return
				}
			}
		}()
	}
	opts := append(bm.MakeOptions(sess), tea.WithInput(in))
	var stopped atomic.Bool
	err := tui.RunWith(ctx, o, func(p *tea.Program) {
		// the server is stopping: quit as the user would, so their
		// terminal is restored before the connection closes
		stopQuit := context.AfterFunc(s.stopping, func() { stopped.Store(true); p.Quit() })
		context.AfterFunc(ctx, func() { stopQuit() })
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case w := <-windows:
					p.Send(tea.WindowSizeMsg{Width: w.Width, Height: w.Height})
				}
			}
		}()
	}, opts...)
	cancel()
	switch {
	case stopped.Load():
		fmt.Fprint(sess, "\r\nmqscope: the server is stopping\r\n")
		return 0
	case idled.Load():
		ss.logger.Info("serve: idle session closed", "idle_timeout", s.o.IdleTimeout)
		fmt.Fprintf(sess, "\r\nmqscope: disconnected after %s with no input\r\n", s.o.IdleTimeout)
		return 0
	case err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, tea.ErrProgramKilled):
		ss.logger.Error("serve: console stopped", "err", err)
		fmt.Fprintf(sess.Stderr(), "mqscope: %v\r\n", err)
		return 1
	}
	return 0
}

// command runs one command line (package cli) for the session: output and
// exit status on the channel, the same role and context rules as the
// console. Nothing asks on a terminal: a mutating command needs --yes.
func (s *Server) command(sess ssh.Session, ss *session) int {
	ctx, cancel := context.WithCancel(sess.Context())
	defer cancel()
	defer context.AfterFunc(s.stopping, cancel)()
	return cli.Run(ctx, sess.Command(), cli.Options{
		Version:  s.o.Version,
		Stdin:    sess,
		Stdout:   sess,
		Stderr:   sess.Stderr(),
		Terminal: func() bool { return false },
		Prompt:   func(string) (bool, error) { return false, errors.New("no terminal over an SSH command") },
		Console:  func(context.Context, cli.ConsoleEnv) int { return cli.ExitUsage },
		Remote: &cli.Remote{
			Config:  s.configFor(ss),
			Logger:  ss.logger,
			Initial: s.initial(ss),
			Open: func(ctx context.Context, name string, readOnly bool) (*core.Operator, func(), error) {
				_, op, release, err := s.acquire(ctx, ss, name, readOnly)
				return op, release, err
			},
		},
	})
}

// configFor is the server's config as the session's key sees it: only the
// contexts it may open (the others' URLs are the server's business), each
// read-only for a viewer, so `contexts` tells the user what they may do.
func (s *Server) configFor(ss *session) *config.Config {
	cfg := *s.o.Config
	cfg.Contexts = nil
	for _, x := range s.o.Config.Contexts {
		if slices.Contains(ss.contexts, x.Name) {
			x.ReadOnly = x.ReadOnly || ss.key.Role != Operator
			cfg.Contexts = append(cfg.Contexts, x)
		}
	}
	cfg.ReadOnly = cfg.ReadOnly || ss.key.Role != Operator
	return &cfg
}

func envSet(env []string, name string) bool {
	for _, e := range env {
		if k, v, _ := strings.Cut(e, "="); k == name && v != "" {
			return true
		}
	}
	return false
}

// activity is the session's input, remembering when the last byte came.
type activity struct {
	r    io.Reader
	last atomic.Int64
}

func (a *activity) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.touch()
	}
	return n, err
}

func (a *activity) touch()              { a.last.Store(time.Now().UnixNano()) }
func (a *activity) idle() time.Duration { return time.Since(time.Unix(0, a.last.Load())) }
