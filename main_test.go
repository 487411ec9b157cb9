package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hermetic points HOME and the XDG dirs at a temp dir so no real config,
// natscli context or log file is touched.
func hermetic(t *testing.T) string {
	h := t.TempDir()
	t.Setenv("HOME", h)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(h, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(h, "state"))
	for _, k := range []string{"MQSCOPE_CONFIG", "MQSCOPE_CONTEXT", "MQSCOPE_NATS_URL", "MQSCOPE_REDIS_URL", "MQSCOPE_READ_ONLY", "MQSCOPE_DEMO"} {
		t.Setenv(k, "")
	}
	return h
}

func TestVersion(t *testing.T) {
	hermetic(t)
	var out, errb bytes.Buffer
	if code := run([]string{"--version"}, &out, &errb); code != 0 {
		t.Fatalf("--version exit %d, stderr %q", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "mqscope ") {
		t.Errorf("--version printed %q", out.String())
	}
}

func TestBadInvocations(t *testing.T) {
	h := hermetic(t)
	bad := filepath.Join(h, "bad.toml")
	if err := os.WriteFile(bad, []byte("[contexts.x]\nbackend = \"nats_core\"\nurll = \"nats://x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown flag", []string{"--nope"}, []string{"unknown flag: --nope"}},
		{"stray argument", []string{"orders"}, []string{`unexpected argument "orders"`}},
		{"bad config names file line key", []string{"--config", bad}, []string{bad + ":3", "contexts.x.urll", "unknown key"}},
		{"missing config file", []string{"--config", filepath.Join(h, "none.toml")}, []string{"none.toml"}},
		{"unknown context", []string{"--context", "ghost"}, []string{`context "ghost" is not configured`}},
		{"bad nats url", []string{"--nats", "http://x"}, []string{"--nats"}},
		{"serve without keys", []string{"serve", "--nats", "nats://127.0.0.1:1"}, []string{"--authorized-keys"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(tt.args, &out, &errb); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			for _, w := range tt.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr %q lacks %q", errb.String(), w)
				}
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty: %q", out.String())
			}
		})
	}
	// A bad invocation fails before anything is created.
	if _, err := os.Stat(filepath.Join(h, "state", "mqscope")); err == nil {
		t.Errorf("a bad invocation created the log directory")
	}
}

func TestHelp(t *testing.T) {
	hermetic(t)
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	if errb.Len() != 0 {
		t.Errorf("--help wrote to stderr: %q", errb.String())
	}
	for _, f := range []string{"--context", "--nats", "--redis", "--config", "--read-only", "--ascii", "--log-file", "--demo", "--version",
		"topics", "groups", "pending", "browse", "tail", "pub", "ack", "dlq", "serve", "completion", "Exit codes"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("--help does not mention %s", f)
		}
	}
}

// TestServeBadKeys: a malformed authorized_keys line stops serve at start,
// naming the file and line.
func TestServeBadKeys(t *testing.T) {
	h := hermetic(t)
	keys := filepath.Join(h, "keys")
	if err := os.WriteFile(keys, []byte("# team\nenvironment=\"MQSCOPE_ROLE=admin\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC737eD7bVWNFJpM0lm0f6aaV1kK8C1j0lqz9W0h9b3x a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := run([]string{"serve", "--nats", "nats://127.0.0.1:1", "--authorized-keys", keys, "--listen", "127.0.0.1:0"}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), keys+":2: MQSCOPE_ROLE=\"admin\"") {
		t.Errorf("exit %d, stderr %q; want 2 naming %s:2", code, errb.String(), keys)
	}
}

// serve's start line says the ssh command to use, with the real port.
func TestSSHHint(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:2299": "ssh -p 2299 127.0.0.1",
		"0.0.0.0:2222":   "ssh -p 2222 HOST",
		"[::]:2222":      "ssh -p 2222 HOST",
		"[::1]:2200":     "ssh -p 2200 ::1",
		"127.0.0.1:22":   "ssh 127.0.0.1",
	} {
		if got := sshHint(addr); got != want {
			t.Errorf("sshHint(%q) = %q, want %q", addr, got, want)
		}
	}
}
