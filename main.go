// Command mqscope is a terminal console for live message-queue monitoring
// and operation over NATS Core, NATS JetStream and Redis Streams.
//
//	mqscope                      the embedded demo when nothing is configured
//	mqscope --context NAME       a context from the config file or natscli
//	mqscope --nats URL           JetStream (and NATS Core) at URL
//	mqscope --redis URL          Redis Streams at URL
//
//	mqscope topics -o json       a command (see mqscope --help): scripts, cron, CI
//
// This file is wiring only: the command line (package cli) parses flags,
// loads the config and opens the log; with no command it calls console:
// demo (when asked) → tui.Run; `mqscope serve` runs the same contexts and
// opener over SSH (package serve).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	_ "github.com/mqscope/mqscope/backends"
	"github.com/mqscope/mqscope/cli"
	"github.com/mqscope/mqscope/core/decode"
	"github.com/mqscope/mqscope/core/history"
	"github.com/mqscope/mqscope/internal/config"
	"github.com/mqscope/mqscope/internal/demo"
	"github.com/mqscope/mqscope/serve"
	"github.com/mqscope/mqscope/tui"
)

// version is set with -ldflags "-X main.version=v1.2.3"; otherwise the
// module version or VCS revision is shown.
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	return cli.Run(ctx, args, cli.Options{
		Version:      versionString(),
		Stdout:       stdout,
		Stderr:       stderr,
		DemoContexts: []string{demo.ContextJetStream, demo.ContextNATSCore, demo.ContextRedis},
		Console:      console,
		Serve:        serveConsole,
	})
}

// console runs the interactive console: the demo when asked, then tui.Run.
func console(ctx context.Context, env cli.ConsoleEnv) int {
	cfg, logger, stderr := env.Config, env.Logger, env.Stderr
	cs, code := openContexts(ctx, cfg, logger, stderr)
	if cs == nil {
		return code
	}
	defer cs.close()
	err := tui.Run(ctx, consoleOptions(cfg, cs, logger))
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("console stopped", "err", err)
		fmt.Fprintln(stderr, "mqscope:", err)
		return 1
	}
	logger.Info("mqscope stopped")
	return 0
}

// serveConsole runs mqscope serve: the console over SSH, on the same
// contexts and opener as the console.
func serveConsole(ctx context.Context, env cli.ServeEnv) int {
	cfg, logger, stderr := env.Config, env.Logger, env.Stderr
	cs, code := openContexts(ctx, cfg, logger, stderr)
	if cs == nil {
		return code
	}
	defer cs.close()
	srv, err := serve.New(serve.Options{
		Listen: env.Serve.Listen, AuthorizedKeys: env.Serve.AuthorizedKeys, HostKey: env.Serve.HostKey,
		MaxSessions: env.Serve.MaxSessions, IdleTimeout: env.Serve.IdleTimeout,
		Contexts: cs.contexts, Initial: cs.initial, Open: cs.open, Config: cfg,
		Console: consoleOptions(cfg, cs, nil), Version: versionString(), Logger: logger,
	})
	if err != nil {
		logger.Error("serve", "err", err)
		fmt.Fprintln(stderr, "mqscope:", err)
		return 2
	}
	fmt.Fprintf(env.Stdout, "mqscope: serving the console over SSH on %s (%s); audit in %s\n", srv.Addr(), sshHint(srv.Addr()), cfg.LogFile)
	if err := srv.Serve(ctx); err != nil {
		logger.Error("serve", "err", err)
		fmt.Fprintln(stderr, "mqscope:", err)
		return 1
	}
	logger.Info("mqscope serve stopped")
	return 0
}

// contexts is what the console and serve open: the names in display
// order, the one to start on, the opener, and the process's one history
// store (every console session on a context records into and reads the
// same series).
type contexts struct {
	contexts []string
	initial  string
	open     func(ctx context.Context, name string) (*tui.Target, error)
	hist     *history.Store
	close    func()
}

// openContexts starts the demo when asked and builds the opener; nil with
// the exit code when it cannot (the reason is on stderr and in the log).
func openContexts(ctx context.Context, cfg *config.Config, logger *slog.Logger, stderr io.Writer) (*contexts, int) {
	cs := &contexts{contexts: cfg.Names(), initial: cfg.Initial, hist: newHistory(cfg, logger)}
	cs.close = func() {
		if err := cs.hist.Close(); err != nil {
			logger.Warn("history", "err", err)
		}
	}
	var dm *demo.Demo
	if cfg.Demo {
		var err error
		dm, err = demo.Start(ctx, demo.Options{RedisURL: cfg.DemoRedisURL, RedisPrefix: cfg.DemoRedisPrefix, ReadOnly: cfg.ReadOnly, Logger: logger})
		if err != nil {
			logger.Error("demo failed to start", "err", err)
			fmt.Fprintln(stderr, "mqscope:", err)
			cs.close()
			return nil, 1
		}
		closeHist := cs.close
		cs.close = func() {
			if err := dm.Close(); err != nil {
				logger.Warn("demo cleanup", "err", err)
			}
			closeHist()
		}
		cs.contexts = append(dm.Contexts(), cs.contexts...)
		switch {
		case cs.initial == "":
			cs.initial = demo.ContextJetStream
		case !dm.Has(cs.initial):
			// --context demo-redis with no Redis to seed.
			msg := fmt.Sprintf("context %q: %s; install redis-server or give --redis URL", cs.initial, dm.RedisUnavailable())
			logger.Error(msg)
			fmt.Fprintln(stderr, "mqscope:", msg)
			cs.close()
			return nil, 2
		}
	}
	cs.open = func(ctx context.Context, name string) (*tui.Target, error) {
		if dm != nil && dm.Has(name) {
			c, err := dm.Open(ctx, name)
			if err != nil {
				return nil, err
			}
			return &tui.Target{Name: name, Client: c.Client, Address: c.Address, Demo: true, Close: c.Close,
				Queries: savedQueries(cfg.QueriesFile, name, nil, logger), Decoder: &decode.Set{}}, nil
		}
		x, ok := cfg.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("no context %q; known: %v", name, cs.contexts)
		}
		c, err := x.Connect(ctx, logger)
		if err != nil {
			return nil, err
		}
		return &tui.Target{Name: name, Client: c.Client, Address: c.Address, Close: c.Close, Notice: c.Notice,
			Refresh: x.Refresh, Timeout: x.Timeout, TailBuffer: x.TailBuffer, Trends: x.Trends,
			Queries: savedQueries(cfg.QueriesFile, name, x.Queries, logger), Decoder: x.Decoder()}, nil
	}
	return cs, 0
}

// consoleOptions are the console's settings from the config.
func consoleOptions(cfg *config.Config, cs *contexts, logger *slog.Logger) tui.Options {
	return tui.Options{
		Contexts:    cs.contexts,
		Initial:     cs.initial,
		Open:        cs.open,
		ReadOnly:    cfg.ReadOnly,
		ASCII:       cfg.ASCII,
		NoColor:     cfg.NoColor,
		Mouse:       cfg.Mouse,
		TailBuffer:  cfg.TailBuffer,
		Refresh:     cfg.Refresh,
		Timeout:     cfg.Timeout,
		Theme:       cfg.Theme,
		Logger:      logger,
		History:     cs.hist,
		Trends:      cfg.Trends,
		Spark:       cfg.History.Spark,
		QueriesFile: cfg.QueriesFile,
	}
}

// newHistory is the process's history store, from [history]: persisted
// when asked, dropping a sample closer than 3/4 of the (shortest) refresh
// interval to the previous one of its series, so several sessions on one
// context sample it about once per interval whatever their phase (half an
// interval would let two sessions half an interval apart double it).
func newHistory(cfg *config.Config, logger *slog.Logger) *history.Store {
	refresh := cfg.Refresh
	for _, c := range cfg.Contexts {
		if c.Refresh > 0 && c.Refresh < refresh {
			refresh = c.Refresh
		}
	}
	hc := history.Config{Retention: cfg.History.Retention, MinGap: refresh * 3 / 4, Logger: logger}
	if cfg.History.Persist {
		hc.Dir = cfg.History.Dir
	}
	return history.New(hc)
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

// savedQueries are a context's queries from the config with those saved
// from the console over them (a broken file is logged, not fatal).
func savedQueries(file, ctx string, fromConfig map[string]string, logger *slog.Logger) map[string]string {
	qs := map[string]string{}
	for n, q := range fromConfig {
		qs[n] = q
	}
	saved, err := tui.LoadSavedQueries(file, ctx)
	if err != nil {
		logger.Warn("saved queries", "err", err)
	}
	for n, q := range saved {
		qs[n] = q
	}
	return qs
}

// sshHint is the ssh command that reaches a listening address (HOST when it
// listens on every address).
func sshHint(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "ssh -p PORT HOST"
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "HOST"
	}
	if port == "22" {
		return "ssh " + host
	}
	return "ssh -p " + port + " " + host
}
