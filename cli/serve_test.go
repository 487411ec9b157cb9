package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mqscope/mqscope/cli"
	"github.com/mqscope/mqscope/internal/config"
)

// serve parses its flags over the config's [serve] table and hands the
// result to Options.Serve; without keys it refuses to start.
func TestServeFlags(t *testing.T) {
	e := newEnv(t, "--nats", "nats://127.0.0.1:1")
	h := os.Getenv("HOME")
	run := func(args ...string) (config.Serve, int, string) {
		var got config.Serve
		var errb bytes.Buffer
		code := cli.Run(context.Background(), append(append([]string{}, e.base...), args...), cli.Options{
			Stdout: &bytes.Buffer{}, Stderr: &errb, Terminal: func() bool { return false },
			Console: func(context.Context, cli.ConsoleEnv) int { t.Error("the console was started"); return 0 },
			Serve:   func(_ context.Context, env cli.ServeEnv) int { got = env.Serve; return 0 },
		})
		return got, code, errb.String()
	}
	if _, code, errOut := run("serve"); code != cli.ExitUsage || !strings.Contains(errOut, "--authorized-keys") {
		t.Errorf("serve without keys: exit %d, %q", code, errOut)
	}
	got, code, errOut := run("serve", "--authorized-keys", "/k")
	want := config.Serve{Listen: cli.DefaultListen, AuthorizedKeys: "/k", HostKey: filepath.Join(h, "state", "mqscope", "ssh_host_ed25519_key"),
		MaxSessions: cli.DefaultMaxSessions, IdleTimeout: cli.DefaultIdleTimeout}
	if code != 0 || got != want {
		t.Errorf("defaults: exit %d %q\n got %+v\nwant %+v", code, errOut, got, want)
	}
	cfg := filepath.Join(h, "config", "mqscope", "config.toml")
	if err := os.MkdirAll(filepath.Dir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("[serve]\nlisten = \"0.0.0.0:2200\"\nauthorized_keys = \"/team\"\nmax_sessions = 5\nidle_timeout = \"5m\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, _, _ = run("serve")
	if got.Listen != "0.0.0.0:2200" || got.AuthorizedKeys != "/team" || got.MaxSessions != 5 || got.IdleTimeout != 5*time.Minute {
		t.Errorf("from [serve]: %+v", got)
	}
	got, _, _ = run("serve", "--listen", "127.0.0.1:1", "--max-sessions", "2", "--idle-timeout", "0", "--host-key", "/hk")
	if got.Listen != "127.0.0.1:1" || got.MaxSessions != 2 || got.IdleTimeout != 0 || got.HostKey != "/hk" || got.AuthorizedKeys != "/team" {
		t.Errorf("flags over [serve]: %+v", got)
	}
}
