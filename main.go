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
// demo (when asked) → tui.Run.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	_ "github.com/mqscope/mqscope/backends"
	"github.com/mqscope/mqscope/cli"
	"github.com/mqscope/mqscope/core/decode"
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	return cli.Run(ctx, args, cli.Options{
		Version:      versionString(),
		Stdout:       stdout,
		Stderr:       stderr,
		DemoContexts: []string{demo.ContextJetStream, demo.ContextNATSCore, demo.ContextRedis},
		Console:      console,
	})
}

// console runs the interactive console: the demo when asked, then tui.Run.
func console(ctx context.Context, env cli.ConsoleEnv) int {
	cfg, logger, stderr := env.Config, env.Logger, env.Stderr
	var err error
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
			return &tui.Target{Name: name, Client: c.Client, Address: c.Address, Demo: true, Close: c.Close, Decoder: &decode.Set{}}, nil
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
			Refresh: x.Refresh, Timeout: x.Timeout, TailBuffer: x.TailBuffer, Decoder: x.Decoder()}, nil
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
