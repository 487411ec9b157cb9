// Command mqscope is a terminal console for live message-queue monitoring
// and operation over NATS Core, NATS JetStream and Redis Streams.
//
//	mqscope                      the embedded demo when nothing is configured
//	mqscope --context NAME       a context from the config file or natscli
//	mqscope --nats URL           JetStream (and NATS Core) at URL
//	mqscope --redis URL          Redis Streams at URL
//
// This file is wiring only: flags → config.Load → logger → demo (when asked)
// → tui.Run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	_ "github.com/mqscope/mqscope/backends"
	"github.com/mqscope/mqscope/internal/config"
	"github.com/mqscope/mqscope/internal/demo"
	"github.com/mqscope/mqscope/tui"
)

// version is set with -ldflags "-X main.version=v1.2.3"; otherwise the
// module version or VCS revision is shown.
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	var fl config.Flags
	var showVersion bool
	fs := flag.NewFlagSet("mqscope", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&fl.Context, "context", "", "open the named context (config file or natscli)")
	fs.StringVar(&fl.NATSURL, "nats", "", "connect to the NATS server at `URL` (JetStream; also offers NATS Core)")
	fs.StringVar(&fl.RedisURL, "redis", "", "connect to Redis Streams at `URL` (with --demo: the Redis the demo seeds)")
	fs.StringVar(&fl.ConfigFile, "config", "", "config `FILE` (default $XDG_CONFIG_HOME/mqscope/config.toml)")
	fs.BoolVar(&fl.ReadOnly, "read-only", false, "refuse every mutating action")
	fs.BoolVar(&fl.ASCII, "ascii", false, "plain-ASCII borders (automatic with TERM=dumb)")
	fs.StringVar(&fl.LogFile, "log-file", "", "log to `PATH` (default $XDG_STATE_HOME/mqscope/mqscope.log); never to the terminal")
	fs.BoolVar(&fl.Demo, "demo", false, "open the embedded demo even when contexts are configured")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: mqscope [flags]\n\nA terminal console for NATS Core, NATS JetStream and Redis Streams.\nWith nothing configured it opens an embedded demo.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nEnvironment: MQSCOPE_CONTEXT, MQSCOPE_NATS_URL, MQSCOPE_REDIS_URL, MQSCOPE_CONFIG, MQSCOPE_READ_ONLY, ...\n(see config.example.toml); NO_COLOR disables colours.\n")
		fmt.Fprintf(stderr, "\nSecrets: a password or token in --nats/--redis is visible to every user of this machine\n(ps, shell history). Put it in a config context with password_env/token_env or\npassword_file/token_file, or in MQSCOPE_NATS_URL/MQSCOPE_REDIS_URL.\n")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mqscope: unexpected argument %q (see mqscope --help)\n", fs.Arg(0))
		return 2
	}
	if showVersion {
		fmt.Fprintln(stdout, "mqscope", versionString())
		return 0
	}

	cfg, err := config.Load(config.LoadOptions{Flags: fl, DemoContexts: []string{demo.ContextJetStream, demo.ContextNATSCore, demo.ContextRedis}})
	if err != nil {
		fmt.Fprintln(stderr, "mqscope:", err)
		return 2
	}
	logger, closeLog, err := openLog(cfg.LogFile, cfg.LogLevel)
	if err != nil {
		fmt.Fprintln(stderr, "mqscope:", err)
		return 1
	}
	defer closeLog()
	// Libraries that print on their own (go-redis, the standard logger) go
	// to the log file too: nothing may write over the console.
	log.SetOutput(slogWriter{logger})
	redis.SetLogger(redisLogger{logger})
	logger.Info("mqscope starting", "version", versionString(), "config", cfg.File, "demo", cfg.Demo, "initial", cfg.Initial, "read_only", cfg.ReadOnly)
	for _, w := range cfg.Warnings {
		logger.Warn("config: " + w)
		fmt.Fprintln(stderr, "mqscope: warning:", w)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()

	contexts, initial := cfg.Names(), cfg.Initial
	var dm *demo.Demo
	if cfg.Demo {
		dm, err = demo.Start(ctx, demo.Options{RedisURL: cfg.DemoRedisURL, RedisPrefix: cfg.DemoRedisPrefix, ReadOnly: cfg.ReadOnly, Logger: logger})
		if err != nil {
			logger.Error("demo failed to start", "err", err)
			fmt.Fprintln(stderr, "mqscope:", err)
			return 1
		}
		defer func() {
			if err := dm.Close(); err != nil {
				logger.Warn("demo cleanup", "err", err)
			}
		}()
		contexts = append(dm.Contexts(), contexts...)
		switch {
		case initial == "":
			initial = demo.ContextJetStream
		case !dm.Has(initial):
			// --context demo-redis with no Redis to seed.
			msg := fmt.Sprintf("context %q: %s; install redis-server or give --redis URL", initial, dm.RedisUnavailable())
			logger.Error(msg)
			fmt.Fprintln(stderr, "mqscope:", msg)
			return 2
		}
	}

	open := func(ctx context.Context, name string) (*tui.Target, error) {
		if dm != nil && dm.Has(name) {
			c, err := dm.Open(ctx, name)
			if err != nil {
				return nil, err
			}
			return &tui.Target{Name: name, Client: c.Client, Address: c.Address, Demo: true, Close: c.Close}, nil
		}
		x, ok := cfg.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("no context %q; known: %v", name, contexts)
		}
		c, err := x.Connect(ctx, logger)
		if err != nil {
			return nil, err
		}
		return &tui.Target{Name: name, Client: c.Client, Address: c.Address, Close: c.Close, Notice: c.Notice,
			Refresh: x.Refresh, Timeout: x.Timeout, TailBuffer: x.TailBuffer}, nil
	}

	err = tui.Run(ctx, tui.Options{
		Contexts:   contexts,
		Initial:    initial,
		Open:       open,
		ReadOnly:   cfg.ReadOnly,
		ASCII:      cfg.ASCII,
		NoColor:    cfg.NoColor,
		Mouse:      cfg.Mouse,
		TailBuffer: cfg.TailBuffer,
		Refresh:    cfg.Refresh,
		Timeout:    cfg.Timeout,
		Theme:      cfg.Theme,
		Logger:     logger,
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("console stopped", "err", err)
		fmt.Fprintln(stderr, "mqscope:", err)
		return 1
	}
	logger.Info("mqscope stopped")
	return 0
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// openLog opens the log file (creating its directory) for a text slog
// logger; the console never logs to the terminal it draws on.
func openLog(path string, level slog.Level) (*slog.Logger, func(), error) {
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

func versionString() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " (" + s.Value[:12] + ")"
		}
	}
	return v
}
