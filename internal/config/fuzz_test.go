package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseFile: any config file text gives contexts or an error — never a
// panic — and no error echoes a password given in a URL.
func FuzzParseFile(f *testing.F) {
	for _, seed := range []string{
		"", "read_only = true\n", "[contexts.a]\nbackend = \"nats_core\"\nurl = \"nats://a:4222\"\n",
		"[contexts.r]\nbackend = \"redis_stream\"\nurl = \"redis://u:s3cr3t@h:6379/x\"\n", "[contexts.n]\nbackend = \"nats_core\"\nurl = \"http://u:s3cr3t@h:4222\"\n",
		"[contexts.a]\nbackend = \"redis_stream\"\ncluster = true\nurl = \"redis://h:1?addr=h:2\"\n",
		"tail_buffer = 99999999999\n[stuck]\npending_idle = \"1m\"\n", "[contexts.\"x y\"]\nbackend = 5\n",
		"[contexts.a]\nbackend = \"nats_jetstream\"\nurl = \"\"\n[contexts.a.tls]\ncert = \"c\"\n",
	} {
		f.Add(seed)
	}
	getenv := func(string) string { return "" }
	f.Fuzz(func(t *testing.T, src string) {
		_, ctxs, err := parseFile("/x/config.toml", []byte(src), getenv)
		if err == nil {
			for _, c := range ctxs {
				if c.Name == "" && c.Backend == "" {
					t.Fatalf("a context with neither name nor backend: %+v", c)
				}
			}
			return
		}
		if strings.Contains(src, "://") && strings.Contains(src, ":s3cr3t@") && strings.Contains(err.Error(), "s3cr3t") {
			t.Fatalf("error echoes the password: %v", err)
		}
	})
}

// FuzzNATSContext: any natscli context file is read or refused with an
// error naming the file — never a panic.
func FuzzNATSContext(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"url": "nats://a:4222", "user": "u", "password": "env://PW"}`, `{"token": "file://t"}`,
		`{"url": 5}`, "{\n \"user\" 1\n}", `{"password": "op://v/i/f"}`, `{"creds": "~/x.creds", "nkey": "k"}`, `[`,
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	getenv := func(k string) string {
		if k == "HOME" {
			return dir
		}
		return ""
	}
	f.Fuzz(func(t *testing.T, src string) {
		p := filepath.Join(t.TempDir(), "ctx.json")
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := readNATSContext(p, getenv)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if c.Name != "ctx" || c.URL == "" {
			t.Fatalf("context read as %+v", c)
		}
	})
}
