// Package cli is mqscope's scriptable command line: one cobra command per
// operator action, over core and internal/config (never the console). Data
// goes to stdout as aligned tables or stable JSON, errors to stderr, and the
// exit code says what happened (see the Exit constants).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/config"
)

// Exit codes.
const (
	ExitOK      = 0 // done
	ExitBroker  = 1 // broker or connection error
	ExitUsage   = 2 // bad invocation
	ExitRefused = 3 // read-only, unsupported, or not confirmed
	ExitPartial = 4 // partly done; per-item errors on stderr
)

// Options wire the command line to its surroundings.
type Options struct {
	Version string
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
	// Terminal reports whether a terminal is attached (the console can run,
	// a confirmation can be asked). nil: detect it.
	Terminal func() bool
	// Prompt asks a yes/no question on the terminal. nil: /dev/tty.
	Prompt func(question string) (bool, error)
	// DemoContexts are the embedded demo's context names (config.Load).
	DemoContexts []string
	// Console runs the interactive console when no subcommand is given.
	Console func(ctx context.Context, env ConsoleEnv) int
	// Serve runs `mqscope serve` (the console over SSH); nil leaves the
	// command out (as for the commands an SSH user runs).
	Serve func(ctx context.Context, env ServeEnv) int
	// Remote, when set, runs the command for an SSH user of mqscope serve
	// (see Remote).
	Remote *Remote
}

// Remote is what an SSH user's command runs on: the server's config and
// log, and the contexts and role the user's key allows. Flags that would
// name the server's files or other brokers are refused.
type Remote struct {
	Config *config.Config
	Logger *slog.Logger
	// Initial is the context a command uses without --context.
	Initial string
	// Open gives the user's view of a context's shared client (read-only
	// for a viewer, or when readOnly) and the function that releases it; it
	// refuses a context the key may not open.
	Open func(ctx context.Context, name string, readOnly bool) (*core.Operator, func(), error)
}

// ServeEnv is what mqscope serve gets from the command line: the console's
// surroundings and the [serve] settings with the flags applied.
type ServeEnv struct {
	ConsoleEnv
	Serve config.Serve
}

// Serve defaults.
const (
	DefaultListen      = "127.0.0.1:2222"
	DefaultMaxSessions = 32
	DefaultIdleTimeout = 30 * time.Minute
)

// ConsoleEnv is what the console gets from the command line.
type ConsoleEnv struct {
	Config *config.Config
	Logger *slog.Logger
	Flags  config.Flags
	Stdout io.Writer
	Stderr io.Writer
}

// exitError carries an exit code with its error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, a ...any) error {
	return &exitError{ExitUsage, fmt.Errorf(format, a...)}
}

// errNotConfirmed: a mutating command without --yes and without a terminal
// to ask on, or the operator said no.
var errNotConfirmed = errors.New("not confirmed")

// ErrNotAllowed: the SSH user's key may not do this (open that context);
// exit code 3 like read-only.
var ErrNotAllowed = errors.New("not allowed")

// partialError: some items failed; their errors were printed.
type partialError struct{ r core.Result }

func (e *partialError) Error() string {
	return fmt.Sprintf("partly done: %d of %d failed", e.r.Failed, e.r.Requested)
}

// codeOf maps an error to its exit code.
func codeOf(err error) int {
	var ee *exitError
	var pe *partialError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &pe):
		return ExitPartial
	case errors.Is(err, core.ErrReadOnly), errors.Is(err, core.ErrUnsupported),
		errors.Is(err, core.ErrNeedsConfirmation), errors.Is(err, errNotConfirmed), errors.Is(err, ErrNotAllowed):
		return ExitRefused
	case errors.Is(err, core.ErrInvalidTopic):
		return ExitUsage
	}
	return ExitBroker
}

// app is one invocation's state.
type app struct {
	o      Options
	flags  config.Flags
	output string
	json   bool
	yes    bool
	// timeout bounds each broker call (not streams); 0 = the context's.
	timeout     time.Duration
	showVersion bool

	cfg      *config.Config
	logger   *slog.Logger
	closeLog func()
	conn     *config.Conn
	ctxName  string
	// release gives back a Remote operator
	release func()
	op      *core.Operator
}

// Run parses args and runs the command; it returns the exit code.
func Run(ctx context.Context, args []string, o Options) int {
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Terminal == nil {
		o.Terminal = detectTerminal
	}
	a := &app{o: o}
	defer a.close()
	root := a.root()
	root.SetArgs(args)
	root.SetIn(o.Stdin)
	root.SetOut(o.Stdout)
	root.SetErr(o.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.err == nil {
		return ee.code // already reported
	}
	fmt.Fprintln(o.Stderr, "mqscope:", err)
	if !errors.As(err, &ee) && !isRunError(err) {
		return ExitUsage // cobra's own parse errors
	}
	return codeOf(err)
}

// runError marks an error returned by a command's body (not cobra's parser).
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

func isRunError(err error) bool { var re *runError; return errors.As(err, &re) }

// runE adapts a command body so its errors are told apart from usage errors.
func runE(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd, args); err != nil {
			return &runError{err}
		}
		return nil
	}
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "mqscope",
		Short: "A console and command line for NATS Core, NATS JetStream and Redis Streams",
		Long: `mqscope watches and operates message queues: NATS Core, NATS JetStream and Redis Streams.

With no command it opens the interactive console (the embedded demo when nothing is
configured). With a command it runs once and exits, for runbooks, cron, CI and jq:
data goes to stdout (a table, or JSON with -o json / -o jsonl), errors to stderr.

Exit codes: 0 done, 1 broker or connection error, 2 usage, 3 refused (read-only,
unsupported, not confirmed), 4 partly done (per-item errors on stderr).

Environment: MQSCOPE_CONTEXT, MQSCOPE_NATS_URL, MQSCOPE_REDIS_URL, MQSCOPE_CONFIG,
MQSCOPE_READ_ONLY, ... (see config.example.toml); NO_COLOR disables colours.

Secrets: a password or token in --nats/--redis is visible to every user of this machine
(ps, shell history). Put it in a config context with password_env/token_env or
password_file/token_file, or in MQSCOPE_NATS_URL/MQSCOPE_REDIS_URL.`,
		Version:       a.o.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr("unexpected argument %q: not a command; commands: %s (see mqscope --help)", args[0], strings.Join(commandNames(cmd), ", "))
			}
			return nil
		},
		RunE: a.console,
	}
	root.SetVersionTemplate("mqscope {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr("%w", err) })
	pf := root.PersistentFlags()
	pf.StringVar(&a.flags.Context, "context", "", "use the named context (config file or natscli)")
	pf.StringVar(&a.flags.NATSURL, "nats", "", "connect to the NATS server at `URL` (JetStream; context nats-core for NATS Core)")
	pf.StringVar(&a.flags.RedisURL, "redis", "", "connect to Redis Streams at `URL`")
	pf.StringVar(&a.flags.ConfigFile, "config", "", "config `FILE` (default $XDG_CONFIG_HOME/mqscope/config.toml)")
	pf.BoolVar(&a.flags.ReadOnly, "read-only", false, "refuse every mutating action")
	pf.StringVar(&a.flags.LogFile, "log-file", "", "log (and audit) to `PATH` (default $XDG_STATE_HOME/mqscope/mqscope.log); never to the terminal")
	pf.StringVarP(&a.output, "output", "o", "table", "output `format`: table, json or jsonl")
	pf.BoolVar(&a.json, "json", false, "shorthand for -o json")
	pf.BoolVarP(&a.yes, "yes", "y", false, "run mutating commands without asking (required without a terminal)")
	pf.DurationVar(&a.timeout, "timeout", 0, "bound each broker call (default: the context's timeout)")
	f := root.Flags()
	f.BoolVar(&a.flags.ASCII, "ascii", false, "plain-ASCII borders (automatic with TERM=dumb)")
	f.BoolVar(&a.flags.Demo, "demo", false, "open the embedded demo even when contexts are configured")
	_ = root.RegisterFlagCompletionFunc("context", a.completeContexts)
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "jsonl"}, cobra.ShellCompDirectiveNoFileComp))
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if a.json {
			if cmd.Flags().Changed("output") && a.output != "json" {
				return usageErr("--json and -o %s disagree", a.output)
			}
			a.output = "json"
		}
		switch a.output {
		case "table", "json", "jsonl":
		default:
			return usageErr("-o %q: want table, json or jsonl", a.output)
		}
		return nil
	}
	root.AddGroup(&cobra.Group{ID: "read", Title: "Watching (changes nothing):"},
		&cobra.Group{ID: "act", Title: "Acting (mutating; --yes without a terminal; refused in read-only mode):"})
	a.addReadCommands(root)
	a.addMutatingCommands(root)
	root.AddCommand(a.pubCommand())
	if a.o.Serve != nil {
		root.AddCommand(a.serveCommand())
	}
	root.SetHelpCommandGroupID("")
	root.SetCompletionCommandGroupID("")
	return root
}

// commandNames lists the visible subcommands.
func commandNames(root *cobra.Command) []string {
	var out []string
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() {
			out = append(out, c.Name())
		}
	}
	return out
}

// console runs the interactive console (no subcommand).
func (a *app) console(cmd *cobra.Command, _ []string) error {
	if cmd.Flags().Changed("output") || a.json || a.yes || cmd.Flags().Changed("timeout") {
		return usageErr("-o, --json, --yes and --timeout apply to commands, not to the console")
	}
	cfg, err := a.load()
	if err != nil {
		return err
	}
	if !a.o.Terminal() {
		return usageErr("no terminal for the console; run a command instead: %s (see mqscope --help)", strings.Join(commandNames(cmd), ", "))
	}
	if err := a.openLog(); err != nil {
		return &exitError{ExitBroker, err}
	}
	code := a.o.Console(cmd.Context(), ConsoleEnv{Config: cfg, Logger: a.logger, Flags: a.flags, Stdout: a.o.Stdout, Stderr: a.o.Stderr})
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// load reads the configuration once.
func (a *app) load() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	if r := a.o.Remote; r != nil {
		fl := a.flags
		for _, f := range []struct {
			name string
			set  bool
		}{{"--config", fl.ConfigFile != ""}, {"--nats", fl.NATSURL != ""}, {"--redis", fl.RedisURL != ""}, {"--log-file", fl.LogFile != ""}, {"--demo", fl.Demo}} {
			if f.set {
				return nil, usageErr("%s: over SSH the server's config decides; name one of its contexts with --context", f.name)
			}
		}
		cfg := *r.Config
		cfg.Initial = r.Initial
		if fl.Context != "" {
			cfg.Initial = fl.Context
		}
		a.cfg = &cfg
		return a.cfg, nil
	}
	cfg, err := config.Load(config.LoadOptions{Flags: a.flags, DemoContexts: a.o.DemoContexts})
	if err != nil {
		return nil, &exitError{ExitUsage, err}
	}
	a.cfg = cfg
	return cfg, nil
}

// openLog opens the log file; the audit of mutating commands goes there.
func (a *app) openLog() error {
	if a.logger != nil {
		return nil
	}
	if a.o.Remote != nil {
		a.logger = a.o.Remote.Logger // the server's; its globals stay as they are
		return nil
	}
	logger, closeLog, err := OpenLog(a.cfg.LogFile, a.cfg.LogLevel)
	if err != nil {
		return err
	}
	a.logger, a.closeLog = logger, closeLog
	// Libraries that print on their own (go-redis, the standard logger) go
	// to the log file too: nothing may write over the console or the data.
	log.SetOutput(slogWriter{logger})
	redis.SetLogger(redisLogger{logger})
	logger.Info("mqscope starting", "version", a.o.Version, "config", a.cfg.File, "demo", a.cfg.Demo, "initial", a.cfg.Initial, "read_only", a.cfg.ReadOnly)
	for _, w := range a.cfg.Warnings {
		logger.Warn("config: " + w)
		fmt.Fprintln(a.o.Stderr, "mqscope: warning:", w)
	}
	return nil
}

// operator connects to the chosen context.
func (a *app) operator(ctx context.Context) (*core.Operator, error) {
	if a.conn != nil {
		return a.conn.Client.Operator(), nil
	}
	if a.op != nil {
		return a.op, nil
	}
	cfg, err := a.load()
	if err != nil {
		return nil, err
	}
	if r := a.o.Remote; r != nil {
		op, release, err := r.Open(ctx, cfg.Initial, a.flags.ReadOnly)
		if err != nil {
			return nil, err
		}
		a.op, a.release, a.ctxName = op, release, cfg.Initial
		return op, nil
	}
	x, ok := cfg.Lookup(cfg.Initial)
	if !ok {
		if cfg.Initial != "" {
			return nil, usageErr("context %q is the embedded demo, which only the console opens; give --context, --nats or --redis", cfg.Initial)
		}
		return nil, usageErr("no context to use: give --context NAME, --nats URL or --redis URL (known contexts: %s)", strings.Join(orNone(cfg.Names()), ", "))
	}
	if a.timeout > 0 {
		x.Timeout = a.timeout
	}
	if err := a.openLog(); err != nil {
		return nil, &exitError{ExitBroker, err}
	}
	conn, err := x.Connect(ctx, a.logger)
	if err != nil {
		return nil, err
	}
	if conn.Notice != "" {
		fmt.Fprintln(a.o.Stderr, "mqscope:", conn.Notice)
	}
	a.conn, a.ctxName = conn, x.Name
	return conn.Client.Operator(), nil
}

func orNone(s []string) []string {
	if len(s) == 0 {
		return []string{"none"}
	}
	return s
}

// callTimeout bounds one broker call.
func (a *app) callTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	d := a.timeout
	if d <= 0 {
		if x, ok := a.cfg.Lookup(a.ctxName); ok && x.Timeout > 0 {
			d = x.Timeout
		} else {
			d = config.DefaultTimeout
		}
	}
	return context.WithTimeout(ctx, d)
}

func (a *app) close() {
	if a.release != nil {
		a.release()
	}
	if a.conn != nil {
		if err := a.conn.Close(); err != nil && a.logger != nil {
			a.logger.Warn("close", "err", err)
		}
	}
	if a.closeLog != nil {
		a.closeLog()
	}
}

// OpenLog opens the log file (creating its directory) for a text slog
// logger; mqscope never logs to the terminal.
func OpenLog(path string, level slog.Level) (*slog.Logger, func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("log file %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("log file: %w", err)
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: level})), func() { _ = f.Close() }, nil
}

// slogWriter turns standard-library log lines into slog records.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Info(strings.TrimRight(string(p), "\n"), "source", "log")
	return len(p), nil
}

// redisLogger sends go-redis's internal messages to slog.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, fmt.Sprintf(format, v...), "source", "go-redis")
}

// detectTerminal: the console and confirmations need a terminal to talk to.
func detectTerminal() bool {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false
	}
	_ = f.Close()
	return true
}
