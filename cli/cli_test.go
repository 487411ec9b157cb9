package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	_ "github.com/mqscope/mqscope/backends"
	"github.com/mqscope/mqscope/cli"
	"github.com/mqscope/mqscope/core"
)

// env is one test's command line: hermetic HOME/XDG, a log file for the
// audit, and the connection flags prepended to every call.
type env struct {
	t     *testing.T
	base  []string
	log   string
	stdin string
	// terminal and answer stand in for /dev/tty.
	terminal bool
	answer   bool
	asked    []string
}

func newEnv(t *testing.T, base ...string) *env {
	h := t.TempDir()
	t.Setenv("HOME", h)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(h, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(h, "state"))
	for _, k := range []string{"MQSCOPE_CONFIG", "MQSCOPE_CONTEXT", "MQSCOPE_NATS_URL", "MQSCOPE_REDIS_URL", "MQSCOPE_READ_ONLY", "MQSCOPE_DEMO"} {
		t.Setenv(k, "")
	}
	e := &env{t: t, log: filepath.Join(h, "audit.log")}
	e.base = append([]string{"--log-file", e.log}, base...)
	return e
}

type result struct {
	code           int
	stdout, stderr string
}

func (e *env) run(args ...string) result {
	return e.runCtx(context.Background(), args...)
}

func (e *env) runCtx(ctx context.Context, args ...string) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(ctx, append(append([]string{}, e.base...), args...), cli.Options{
		Version:  "test",
		Stdin:    strings.NewReader(e.stdin),
		Stdout:   &out,
		Stderr:   &errb,
		Terminal: func() bool { return e.terminal },
		Prompt: func(q string) (bool, error) {
			e.asked = append(e.asked, q)
			return e.answer, nil
		},
		Console: func(context.Context, cli.ConsoleEnv) int { e.t.Error("the console was started"); return 0 },
	})
	return result{code, out.String(), errb.String()}
}

// ok runs a command that must succeed.
func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("mqscope %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// want runs a command that must exit with code and say something on stderr.
func (e *env) want(code int, stderr string, args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != code {
		e.t.Fatalf("mqscope %s: exit %d, want %d; stderr %q", strings.Join(args, " "), r.code, code, r.stderr)
	}
	if !strings.Contains(r.stderr, stderr) {
		e.t.Fatalf("mqscope %s: stderr %q lacks %q", strings.Join(args, " "), r.stderr, stderr)
	}
	return r
}

func (e *env) auditLog() string {
	b, err := os.ReadFile(e.log)
	if err != nil {
		e.t.Fatalf("read the audit log: %v", err)
	}
	return string(b)
}

// decode parses -o json output into v.
func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output is not the JSON expected: %v\n%s", err, s)
	}
	return v
}

// lines parses -o jsonl output.
func lines[T any](t *testing.T, s string) []T {
	t.Helper()
	var out []T
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		out = append(out, decode[T](t, l))
	}
	return out
}

// tableRow finds the table row whose first cell is key.
func tableRow(t *testing.T, table, key string) []string {
	t.Helper()
	for _, l := range strings.Split(table, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == key {
			return f
		}
	}
	t.Fatalf("no row %q in\n%s", key, table)
	return nil
}

func TestEveryOpHasACommand(t *testing.T) {
	root := cli.NewRootForTest()
	for _, op := range core.AllOps {
		spec, ok := cli.OpCommands[op]
		if !ok {
			t.Errorf("op %s has no command", op)
			continue
		}
		var path, flags []string
		for _, w := range strings.Fields(spec) {
			if strings.HasPrefix(w, "--") {
				flags = append(flags, w[2:])
			} else {
				path = append(path, w)
			}
		}
		cmd, rest, err := root.Find(path)
		if err != nil || len(rest) > 0 || cmd.Name() != path[len(path)-1] {
			t.Errorf("op %s: command %q does not exist", op, spec)
			continue
		}
		for _, f := range flags {
			if cmd.Flags().Lookup(f) == nil {
				t.Errorf("op %s: command %q has no flag --%s", op, strings.Join(path, " "), f)
			}
		}
	}
	if len(cli.OpCommands) != len(core.AllOps) {
		t.Errorf("OpCommands has %d entries, core.AllOps %d", len(cli.OpCommands), len(core.AllOps))
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Short == "" {
			t.Errorf("%q has no short help", c.CommandPath())
		}
		if c.Runnable() && c.Name() != "help" && !strings.HasPrefix(c.CommandPath(), "mqscope completion") && c.Long == "" && c.HasParent() {
			t.Errorf("%q has no long help", c.CommandPath())
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(cli.NewRootForTest())
}

func TestUsageErrors(t *testing.T) {
	e := newEnv(t, "--redis", "redis://127.0.0.1:1")
	e.want(cli.ExitUsage, "missing TOPIC", "groups")
	e.want(cli.ExitUsage, "missing GROUP", "pending", "orders")
	e.want(cli.ExitUsage, `-o "yaml"`, "topics", "-o", "yaml")
	e.want(cli.ExitUsage, "unknown flag: --nope", "topics", "--nope")
	e.want(cli.ExitUsage, "--from", "browse", "orders", "--from", "yesterday")
	e.want(cli.ExitUsage, "--to CONSUMER is required", "claim", "orders", "g", "1-1")
	// No terminal and no command: one line that names the commands.
	r := e.want(cli.ExitUsage, "no terminal for the console")
	if strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "topics") || !strings.Contains(r.stderr, "tail") {
		t.Errorf("no-terminal error is not one line naming the commands: %q", r.stderr)
	}
	// A broker that is not there is exit 1.
	e.want(cli.ExitBroker, "127.0.0.1:1", "topics")
}

func TestNoContext(t *testing.T) {
	e := newEnv(t)
	e.want(cli.ExitUsage, "no context to use", "topics")
	out := e.ok("contexts", "-o", "json")
	if rows := decode[[]cli.ContextRow](t, out); len(rows) != 0 {
		t.Errorf("contexts with nothing configured: %v", rows)
	}
}
