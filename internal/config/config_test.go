package config

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
)

// sandbox is a hermetic HOME/XDG tree with its own environment.
type sandbox struct {
	t    *testing.T
	home string
	env  map[string]string
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	h := t.TempDir()
	return &sandbox{t: t, home: h, env: map[string]string{"HOME": h, "TERM": "xterm-256color"}}
}

func (s *sandbox) getenv(k string) string { return s.env[k] }

func (s *sandbox) write(rel, content string) string {
	s.t.Helper()
	p := filepath.Join(s.home, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return p
}

func (s *sandbox) load(f Flags) (*Config, error) {
	return Load(LoadOptions{Flags: f, Getenv: s.getenv})
}

func (s *sandbox) mustLoad(f Flags) *Config {
	s.t.Helper()
	c, err := s.load(f)
	if err != nil {
		s.t.Fatalf("Load: %v", err)
	}
	return c
}

func TestNothingConfiguredIsDemo(t *testing.T) {
	s := newSandbox(t)
	c := s.mustLoad(Flags{})
	if !c.Demo || c.Initial != "" || len(c.Contexts) != 0 || c.File != "" {
		t.Fatalf("want demo with no contexts, got demo=%v initial=%q contexts=%v file=%q", c.Demo, c.Initial, c.Names(), c.File)
	}
	if want := filepath.Join(s.home, ".local", "state", "mqscope", "mqscope.log"); c.LogFile != want {
		t.Errorf("log file = %q, want %q", c.LogFile, want)
	}
	if c.Refresh != DefaultRefresh || c.Timeout != DefaultTimeout || c.TailBuffer != DefaultTailBuffer || c.Theme != "dark" {
		t.Errorf("defaults: refresh=%v timeout=%v tail=%d theme=%q", c.Refresh, c.Timeout, c.TailBuffer, c.Theme)
	}
	if c.ASCII || c.NoColor || c.ReadOnly {
		t.Errorf("ascii=%v nocolor=%v readonly=%v, want all false", c.ASCII, c.NoColor, c.ReadOnly)
	}
	if c.LogLevel != 0 { // slog.LevelInfo
		t.Errorf("log level = %v, want info", c.LogLevel)
	}
}

func TestXDGDirectories(t *testing.T) {
	s := newSandbox(t)
	cfgHome, stateHome := filepath.Join(s.home, "cfg"), filepath.Join(s.home, "state")
	s.env["XDG_CONFIG_HOME"], s.env["XDG_STATE_HOME"] = cfgHome, stateHome
	s.write("cfg/mqscope/config.toml", "[contexts.a]\nbackend = \"nats_core\"\n")
	c := s.mustLoad(Flags{})
	if c.File != filepath.Join(cfgHome, "mqscope", "config.toml") || c.Initial != "a" || c.Demo {
		t.Fatalf("file=%q initial=%q demo=%v", c.File, c.Initial, c.Demo)
	}
	if c.LogFile != filepath.Join(stateHome, "mqscope", "mqscope.log") {
		t.Errorf("log file = %q", c.LogFile)
	}
	// A relative XDG dir is ignored, as the spec says.
	s.env["XDG_CONFIG_HOME"] = "relative"
	if got := DefaultPath(s.getenv); got != filepath.Join(s.home, ".config", "mqscope", "config.toml") {
		t.Errorf("DefaultPath with relative XDG_CONFIG_HOME = %q", got)
	}
}

func TestFlagsAndEnv(t *testing.T) {
	tests := []struct {
		name      string
		flags     Flags
		env       map[string]string
		wantDemo  bool
		wantInit  string
		wantNames []string
		wantDemoR string
		check     func(t *testing.T, c *Config)
	}{
		{name: "demo flag", flags: Flags{Demo: true}, wantDemo: true},
		{name: "demo env", env: map[string]string{"MQSCOPE_DEMO": "1"}, wantDemo: true},
		{name: "nats flag", flags: Flags{NATSURL: "nats://h:4222"}, wantInit: "nats", wantNames: []string{"nats", "nats-core"},
			check: func(t *testing.T, c *Config) {
				js, _ := c.Lookup("nats")
				nc, _ := c.Lookup("nats-core")
				if js.Backend != core.DriverJetStream || nc.Backend != core.DriverNATSCore || js.URL != "nats://h:4222" || js.Source != "--nats" {
					t.Errorf("nats contexts: %+v / %+v", js, nc)
				}
			}},
		{name: "nats env", env: map[string]string{"MQSCOPE_NATS_URL": "nats://e:1"}, wantInit: "nats", wantNames: []string{"nats", "nats-core"},
			check: func(t *testing.T, c *Config) {
				if js, _ := c.Lookup("nats"); js.URL != "nats://e:1" || js.Source != "MQSCOPE_NATS_URL" {
					t.Errorf("got %+v", js)
				}
			}},
		{name: "flag beats env", flags: Flags{NATSURL: "nats://flag:1"}, env: map[string]string{"MQSCOPE_NATS_URL": "nats://env:1"},
			wantInit: "nats", wantNames: []string{"nats", "nats-core"},
			check: func(t *testing.T, c *Config) {
				if js, _ := c.Lookup("nats"); js.URL != "nats://flag:1" {
					t.Errorf("url = %q", js.URL)
				}
			}},
		{name: "redis flag", flags: Flags{RedisURL: "redis://127.0.0.1:6379/2"}, wantInit: "redis", wantNames: []string{"redis"},
			check: func(t *testing.T, c *Config) {
				if r, _ := c.Lookup("redis"); r.Backend != core.DriverRedisStream || r.DLQSuffix != ".dlq" {
					t.Errorf("got %+v", r)
				}
			}},
		{name: "nats and redis", flags: Flags{NATSURL: "nats://h:1", RedisURL: "redis://h:2"}, wantInit: "nats", wantNames: []string{"nats", "nats-core", "redis"}},
		{name: "context flag picks among adhoc", flags: Flags{NATSURL: "nats://h:1", Context: "nats-core"}, wantInit: "nats-core", wantNames: []string{"nats", "nats-core"}},
		{name: "demo with redis seeds that redis", flags: Flags{Demo: true, RedisURL: "redis://r:6379/0"}, wantDemo: true, wantDemoR: "redis://r:6379/0"},
		{name: "read-only flag", flags: Flags{NATSURL: "nats://h:1", ReadOnly: true}, wantInit: "nats", wantNames: []string{"nats", "nats-core"},
			check: func(t *testing.T, c *Config) {
				for _, x := range c.Contexts {
					if !x.ReadOnly || !x.CoreConfig().ReadOnly {
						t.Errorf("context %s not read-only", x.Name)
					}
				}
				if !c.ReadOnly {
					t.Error("Config.ReadOnly false")
				}
			}},
		{name: "read-only env", env: map[string]string{"MQSCOPE_READ_ONLY": "true"}, wantDemo: true,
			check: func(t *testing.T, c *Config) {
				if !c.ReadOnly {
					t.Error("MQSCOPE_READ_ONLY=true ignored")
				}
			}},
		{name: "dumb term and no color", env: map[string]string{"TERM": "dumb", "NO_COLOR": "1"}, wantDemo: true,
			check: func(t *testing.T, c *Config) {
				if !c.ASCII || !c.NoColor {
					t.Errorf("ascii=%v nocolor=%v", c.ASCII, c.NoColor)
				}
			}},
		{name: "ascii flag", flags: Flags{ASCII: true}, wantDemo: true,
			check: func(t *testing.T, c *Config) {
				if !c.ASCII || c.NoColor {
					t.Errorf("ascii=%v nocolor=%v", c.ASCII, c.NoColor)
				}
			}},
		{name: "log file flag beats env", flags: Flags{LogFile: "/tmp/x.log"}, env: map[string]string{"MQSCOPE_LOG_FILE": "/tmp/y.log"}, wantDemo: true,
			check: func(t *testing.T, c *Config) {
				if c.LogFile != "/tmp/x.log" {
					t.Errorf("log file = %q", c.LogFile)
				}
			}},
		{name: "env console settings", env: map[string]string{"MQSCOPE_THEME": "light", "MQSCOPE_REFRESH": "500ms", "MQSCOPE_TAIL_BUFFER": "42", "MQSCOPE_LOG_LEVEL": "debug", "MQSCOPE_DEMO_PREFIX": "x:"}, wantDemo: true,
			check: func(t *testing.T, c *Config) {
				if c.Theme != "light" || c.Refresh != 500*time.Millisecond || c.TailBuffer != 42 || c.LogLevel != -4 || c.DemoRedisPrefix != "x:" {
					t.Errorf("theme=%q refresh=%v tail=%d level=%v prefix=%q", c.Theme, c.Refresh, c.TailBuffer, c.LogLevel, c.DemoRedisPrefix)
				}
			}},
		{name: "env console settings override each context's", flags: Flags{NATSURL: "nats://a:4222"}, wantInit: "nats", wantNames: []string{"nats", "nats-core"}, env: map[string]string{"MQSCOPE_REFRESH": "750ms", "MQSCOPE_TAIL_BUFFER": "77"},
			check: func(t *testing.T, c *Config) {
				for _, x := range c.Contexts {
					if x.Refresh != 750*time.Millisecond || x.TailBuffer != 77 {
						t.Errorf("context %s: refresh=%v tail=%d", x.Name, x.Refresh, x.TailBuffer)
					}
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			for k, v := range tt.env {
				s.env[k] = v
			}
			c := s.mustLoad(tt.flags)
			if c.Demo != tt.wantDemo || c.Initial != tt.wantInit {
				t.Fatalf("demo=%v initial=%q, want demo=%v initial=%q", c.Demo, c.Initial, tt.wantDemo, tt.wantInit)
			}
			if got := c.Names(); !reflect.DeepEqual(got, tt.wantNames) && !(len(got) == 0 && len(tt.wantNames) == 0) {
				t.Errorf("contexts = %v, want %v", got, tt.wantNames)
			}
			if c.DemoRedisURL != tt.wantDemoR {
				t.Errorf("demo redis = %q, want %q", c.DemoRedisURL, tt.wantDemoR)
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
}

func TestFileContexts(t *testing.T) {
	s := newSandbox(t)
	path := s.write("conf/mq.toml", `
default_context = "b"
dlq_suffix = ".dead"
refresh = "3s"
tail_buffer = 500
theme = "light"
[stuck]
pending_idle = "45s"

[contexts.zeta]
backend = "nats_core"

[contexts.b]
backend = "nats_jetstream"
url = "nats://a:1, nats://b:2"
user = "ops"
password_file = "secret/pw"
read_only = true
create_streams = true
consumer = "me"
refresh = "7s"
[contexts.b.stuck]
consumer_idle = "90s"
[contexts.b.tls]
ca = "~/ca.pem"
[contexts.b.queries]
big-eur = 'jq:.amount > 100 and .currency == "EUR"'
retried = "jq:$meta.deliveries > 3"

[contexts.r]
backend = "redis_stream"
url = "rediss://:pw@r.example:6380/3"
dlq_suffix = "-dlq"
tail_buffer = 7
`)
	c := s.mustLoad(Flags{ConfigFile: path})
	if got, want := c.Names(), []string{"zeta", "b", "r"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("contexts in file order = %v, want %v", got, want)
	}
	if c.Initial != "b" || c.Demo || c.File != path {
		t.Fatalf("initial=%q demo=%v file=%q", c.Initial, c.Demo, c.File)
	}
	b, _ := c.Lookup("b")
	want := Context{
		Name: "b", Backend: core.DriverJetStream, URL: "nats://a:1, nats://b:2", User: "ops",
		PasswordFile: filepath.Join(s.home, "conf", "secret", "pw"),
		TLS:          TLS{CA: filepath.Join(s.home, "ca.pem")},
		ReadOnly:     true, CreateStreams: true, Consumer: "me", DLQSuffix: ".dead",
		Refresh: 7 * time.Second, Timeout: DefaultTimeout, TailBuffer: 500, Theme: "light",
		Stuck:   core.StuckThresholds{PendingIdle: 45 * time.Second, ConsumerIdle: 90 * time.Second},
		Queries: map[string]string{"big-eur": `jq:.amount > 100 and .currency == "EUR"`, "retried": "jq:$meta.deliveries > 3"},
		Source:  path,
	}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("context b:\n got %+v\nwant %+v", b, want)
	}
	// Console settings follow the initial context.
	if c.Refresh != 7*time.Second || c.TailBuffer != 500 || c.Theme != "light" {
		t.Errorf("console settings refresh=%v tail=%d theme=%q", c.Refresh, c.TailBuffer, c.Theme)
	}
	r, _ := c.Lookup("r")
	if r.DLQSuffix != "-dlq" || r.TailBuffer != 7 || r.Refresh != 3*time.Second || r.Stuck.PendingIdle != 45*time.Second {
		t.Errorf("context r: %+v", r)
	}
	z, _ := c.Lookup("zeta")
	if z.URL != core.DefaultNATSURL || z.ReadOnly {
		t.Errorf("context zeta: %+v", z)
	}
	cc := b.CoreConfig()
	if cc.Driver != core.DriverJetStream || cc.DLQSuffix != ".dead" || !cc.ReadOnly || !cc.CreateStreams || cc.Consumer != "me" {
		t.Errorf("core config: %+v", cc)
	}

	// Without default_context the first context opens; --context overrides.
	p2 := s.write("two.toml", "[contexts.x]\nbackend = \"redis_stream\"\n[contexts.y]\nbackend = \"nats_core\"\n")
	if c := s.mustLoad(Flags{ConfigFile: p2}); c.Initial != "x" {
		t.Errorf("initial = %q, want x", c.Initial)
	}
	if c := s.mustLoad(Flags{ConfigFile: p2, Context: "y"}); c.Initial != "y" {
		t.Errorf("initial = %q, want y", c.Initial)
	}
	s.env["MQSCOPE_CONTEXT"] = "y"
	if c := s.mustLoad(Flags{ConfigFile: p2}); c.Initial != "y" {
		t.Errorf("MQSCOPE_CONTEXT: initial = %q, want y", c.Initial)
	}
	delete(s.env, "MQSCOPE_CONTEXT")
	s.env["MQSCOPE_CONFIG"] = p2
	if c := s.mustLoad(Flags{}); c.File != p2 {
		t.Errorf("MQSCOPE_CONFIG: file = %q", c.File)
	}
	// A global read_only makes every context read-only.
	p3 := s.write("ro.toml", "read_only = true\n[contexts.x]\nbackend = \"redis_stream\"\n")
	if c := s.mustLoad(Flags{ConfigFile: p3}); !c.ReadOnly || !c.Contexts[0].ReadOnly {
		t.Errorf("global read_only: %v %v", c.ReadOnly, c.Contexts[0].ReadOnly)
	}
	// A --nats context shadows a file context of the same name.
	p4 := s.write("nats.toml", "[contexts.nats]\nbackend = \"redis_stream\"\n")
	c = s.mustLoad(Flags{ConfigFile: p4, NATSURL: "nats://f:1"})
	if n, _ := c.Lookup("nats"); n.Backend != core.DriverJetStream || len(c.Contexts) != 2 {
		t.Errorf("shadowing: %+v (%v)", n, c.Names())
	}
}

func TestNATSCLIContexts(t *testing.T) {
	s := newSandbox(t)
	s.write(".config/nats/context/prod.json", `{
  "description": "prod",
  "url": "nats://prod:4222",
  "user": "u", "password": "p",
  "creds": "~/creds/prod.creds",
  "nkey": "",
  "ca": "ca.pem", "cert": "c.pem", "key": "k.pem",
  "tls_first": true,
  "jetstream_domain": "hub",
  "color_scheme": "blue"
}`)
	s.write(".config/nats/context/dev.json", `{"url": "", "token": "tok"}`)
	s.write(".config/nats/context/notes.txt", "ignored")
	s.write(".config/nats/context.txt", "prod\n")

	c := s.mustLoad(Flags{})
	if c.Demo || c.Initial != "prod" {
		t.Fatalf("selected natscli context: demo=%v initial=%q", c.Demo, c.Initial)
	}
	if got := c.Names(); !reflect.DeepEqual(got, []string{"dev", "prod"}) {
		t.Fatalf("names = %v", got)
	}
	p, _ := c.Lookup("prod")
	dir := filepath.Join(s.home, ".config", "nats", "context")
	if p.Backend != core.DriverJetStream || p.URL != "nats://prod:4222" || p.User != "u" || p.password != "p" ||
		p.CredsFile != filepath.Join(s.home, "creds", "prod.creds") || p.TLS.CA != filepath.Join(dir, "ca.pem") ||
		p.TLS.Cert != filepath.Join(dir, "c.pem") || p.TLS.Key != filepath.Join(dir, "k.pem") || !p.TLS.HandshakeFirst {
		t.Errorf("prod: %+v", p)
	}
	d, _ := c.Lookup("dev")
	if d.URL != core.DefaultNATSURL || d.token != "tok" {
		t.Errorf("dev: %+v", d)
	}

	// A file context with the same name wins; the file's first context opens.
	cfgPath := s.write("m.toml", "[contexts.prod]\nbackend = \"redis_stream\"\n")
	c = s.mustLoad(Flags{ConfigFile: cfgPath})
	if p, _ := c.Lookup("prod"); p.Backend != core.DriverRedisStream || c.Initial != "prod" || len(c.Contexts) != 2 {
		t.Errorf("clash: %+v, names %v", p, c.Names())
	}
	// natscli_contexts = false hides them.
	off := s.write("off.toml", "natscli_contexts = false\n")
	if c := s.mustLoad(Flags{ConfigFile: off}); len(c.Contexts) != 0 || !c.Demo {
		t.Errorf("natscli_contexts=false: %v demo=%v", c.Names(), c.Demo)
	}
	// No selection: the demo opens, natscli contexts are still offered.
	os.Remove(filepath.Join(s.home, ".config", "nats", "context.txt"))
	if c := s.mustLoad(Flags{}); !c.Demo || len(c.Contexts) != 2 {
		t.Errorf("no selection: demo=%v names=%v", c.Demo, c.Names())
	}
	// A broken natscli file is skipped with a warning naming it and the
	// line; the other contexts still load, even with --redis given.
	bad := s.write(".config/nats/context/bad.json", "{\n  \"url\": \"nats://x\",\n  \"user\" 1\n}")
	c = s.mustLoad(Flags{RedisURL: "redis://127.0.0.1:6379"})
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], bad+":3") || len(c.Contexts) != 3 {
		t.Fatalf("bad natscli context: warnings %q, names %v", c.Warnings, c.Names())
	}
	s.write(".config/nats/context/bad.json", `{"url": 5}`)
	if c := s.mustLoad(Flags{}); len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "url") {
		t.Fatalf("wrong type in natscli context: %q", c.Warnings)
	}
	os.Remove(bad)

	// Secret references as natscli resolves them: env:// and file:// become
	// password_env/token_env and *_file; op:// is refused by name.
	s.write(".config/nats/context/envs.json", `{"user": "u", "password": "env://NATS_PW"}`)
	s.write(".config/nats/context/tokf.json", `{"token": "file://tok.txt"}`)
	opc := s.write(".config/nats/context/opref.json", `{"user": "u", "password": "op://vault/item/pw"}`)
	c = s.mustLoad(Flags{})
	e, _ := c.Lookup("envs")
	if e.PasswordEnv != "NATS_PW" || e.password != "" {
		t.Errorf("env:// password: %+v", e)
	}
	tf, _ := c.Lookup("tokf")
	if tf.TokenFile != filepath.Join(dir, "tok.txt") || tf.token != "" {
		t.Errorf("file:// token: %+v", tf)
	}
	if _, ok := c.Lookup("opref"); ok || len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], opc) || !strings.Contains(c.Warnings[0], "op://") {
		t.Errorf("op:// reference: warnings %q", c.Warnings)
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct {
		name string
		toml string
		// want: each "line:key:substring" must appear as one error.
		want []string
	}{
		{"syntax", "read_only = true\nrefresh = \"2s\n", []string{`2::`}},
		{"unknown top-level key", "read_only = true\nrefrsh = \"2s\"\n", []string{`2:refrsh:unknown key (did you mean "refresh"?)`}},
		{"unknown context key", "[contexts.a]\nbackend = \"nats_core\"\n\n# c\npasword_env = \"X\"\n", []string{`5:contexts.a.pasword_env:unknown key (did you mean "password_env"?)`}},
		{"unknown table reported once", "[contexts.a]\nbackend = \"nats_core\"\n[contexts.a.tlz]\nca = \"x\"\ncert = \"y\"\n", []string{`3:contexts.a.tlz:unknown key`}},
		{"a top-level key in [serve]", "[serve]\nlog_file = \"/tmp/x.log\"\n", []string{`2:serve.log_file:unknown key (log_file is a top-level setting, not one of [serve])`}},
		{"a misspelt serve key", "[serve]\nmax_session = 3\n", []string{`2:serve.max_session:unknown key (did you mean "max_sessions"?)`}},
		{"unknown dotted key", "[contexts.a]\nbackend = \"nats_core\"\ntls.cafile = \"x\"\n", []string{`3:contexts.a.tls.cafile:unknown key`}},
		{"bad backend", "[contexts.a]\nbackend = \"kafka\"\n", []string{`2:contexts.a.backend:unknown backend "kafka"`}},
		{"bad duration", "[stuck]\npending_idle = \"soon\"\n", []string{`2:stuck.pending_idle:not a duration`}},
		{"negative duration", "timeout = \"-1s\"\n", []string{`1:timeout:negative`}},
		{"wrong type", "\n\ntail_buffer = \"many\"\n", []string{`3:tail_buffer:incompatible types`}},
		{"duration as number", "refresh = 5\n", []string{`1:refresh:not a duration`}},
		{"bad theme", "[contexts.a]\nbackend = \"nats_core\"\ntheme = \"pink\"\n", []string{`3:contexts.a.theme:unknown theme "pink"`}},
		{"bad log level", "log_level = \"loud\"\n", []string{`1:log_level:unknown log level`}},
		{"inline password", "[contexts.a]\nbackend = \"redis_stream\"\npassword = \"hunter2\"\n", []string{`3:contexts.a.password:use password_env`}},
		{"inline token", "[contexts.a]\nbackend = \"nats_core\"\ntoken = \"t\"\n", []string{`3:contexts.a.token:use token_env`}},
		{"missing backend", "[contexts.a]\nurl = \"nats://x\"\n", []string{`1:contexts.a:backend is required`}},
		{"both password sources", "[contexts.a]\nbackend = \"nats_core\"\nuser = \"u\"\npassword_env = \"A\"\npassword_file = \"f\"\n", []string{`5:contexts.a.password_file:not both`}},
		{"password without user on NATS", "[contexts.a]\nbackend = \"nats_core\"\npassword_env = \"A\"\n", []string{`3:contexts.a.password_env:needs user`}},
		{"token with user", "[contexts.a]\nbackend = \"nats_jetstream\"\nuser = \"u\"\ntoken_env = \"T\"\n", []string{`4:contexts.a.token_env:cannot be combined`}},
		{"creds and nkey", "[contexts.a]\nbackend = \"nats_jetstream\"\ncreds_file = \"c\"\nnkey_file = \"n\"\n", []string{`4:contexts.a.nkey_file:not both`}},
		{"cert without key", "[contexts.a]\nbackend = \"nats_core\"\n[contexts.a.tls]\ncert = \"c.pem\"\n", []string{`4:contexts.a.tls.cert:needs tls.key`}},
		{"redis with creds", "[contexts.a]\nbackend = \"redis_stream\"\ncreds_file = \"x\"\n", []string{`3:contexts.a.creds_file:only NATS contexts`}},
		{"redis with create_streams", "[contexts.a]\nbackend = \"redis_stream\"\ncreate_streams = true\n", []string{`3:contexts.a.create_streams:only nats_jetstream`}},
		{"core with create_streams", "[contexts.a]\nbackend = \"nats_core\"\ncreate_streams = true\n", []string{`3:contexts.a.create_streams:NATS Core has no streams`}},
		{"cluster on NATS", "[contexts.a]\nbackend = \"nats_jetstream\"\ncluster = true\n", []string{`3:contexts.a.cluster:only redis_stream`}},
		{"bad cluster url", "[contexts.a]\nbackend = \"redis_stream\"\ncluster = true\nurl = \"nats://x:1\"\n", []string{`4:contexts.a.url:for a cluster`}},
		{"bad nats url", "[contexts.a]\nbackend = \"nats_core\"\nurl = \"http://x:1\"\n", []string{`3:contexts.a.url:scheme "http"`}},
		{"bad redis url", "[contexts.a]\nbackend = \"redis_stream\"\nurl = \"nats://x:1\"\n", []string{`3:contexts.a.url:invalid URL scheme`}},
		{"negative tail buffer", "[contexts.a]\nbackend = \"redis_stream\"\ntail_buffer = -3\n", []string{`3:contexts.a.tail_buffer:from 1 to 1000000`}},
		{"huge tail buffer", "tail_buffer = 99999999999\n", []string{`1:tail_buffer:from 1 to 1000000`}},
		{"refresh too fast", "refresh = \"1ms\"\n", []string{`1:refresh:too fast`}},
		{"dlq suffix with wildcard", "dlq_suffix = \".>\"\n", []string{`1:dlq_suffix:wildcards`}},
		{"bad saved query", "[contexts.a]\nbackend = \"nats_core\"\n[contexts.a.queries]\nbig = \"jq:.amount > )\"\n", []string{`4:contexts.a.queries.big:jq: unexpected token ")" at column 11`}},
		{"undefined default context", "default_context = \"nope\"\n[contexts.a]\nbackend = \"nats_core\"\n", []string{`1:default_context:context "nope" is not defined; known contexts: a`}},
		{"several errors at once", "colour = 1\n[contexts.a]\nbackend = \"nats_core\"\nurll = \"x\"\n[contexts.b]\n", []string{
			`1:colour:unknown key`, `4:contexts.a.urll:unknown key (did you mean "url"?)`, `5:contexts.b:backend is required`}},
	}
	lineKey := regexp.MustCompile(`^config (.+?)(?::(\d+))?: (?:([^ :]+): )?(.*)$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSandbox(t)
			path := s.write("bad.toml", tt.toml)
			_, err := s.load(Flags{ConfigFile: path})
			if err == nil {
				t.Fatalf("no error for:\n%s", tt.toml)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("error does not name the file %s: %v", path, err)
			}
			var lines []string
			for _, l := range strings.Split(msg, "\n") {
				lines = append(lines, l)
			}
			for _, w := range tt.want {
				parts := strings.SplitN(w, ":", 3)
				found := false
				for _, l := range lines {
					m := lineKey.FindStringSubmatch(l)
					if m == nil || m[1] != path {
						continue
					}
					if m[2] == parts[0] && (parts[1] == "" || m[3] == parts[1]) && strings.Contains(m[4], parts[2]) {
						found = true
					}
				}
				if !found {
					t.Errorf("want an error at line %s key %q containing %q; got:\n%v", parts[0], parts[1], parts[2], msg)
				}
			}
			if len(lines) != len(tt.want) {
				t.Errorf("want %d errors, got %d:\n%v", len(tt.want), len(lines), msg)
			}
		})
	}
}

func TestOtherErrors(t *testing.T) {
	s := newSandbox(t)
	if _, err := s.load(Flags{ConfigFile: filepath.Join(s.home, "missing.toml")}); err == nil || !strings.Contains(err.Error(), "missing.toml") {
		t.Errorf("explicit missing file: %v", err)
	}
	if _, err := s.load(Flags{Context: "ghost"}); err == nil || !strings.Contains(err.Error(), `context "ghost" is not configured`) {
		t.Errorf("unknown --context: %v", err)
	}
	p := s.write("c.toml", "[contexts.a]\nbackend = \"nats_core\"\n[contexts.b]\nbackend = \"nats_core\"\n")
	if _, err := s.load(Flags{ConfigFile: p, Context: "c"}); err == nil || !strings.Contains(err.Error(), "known contexts: a, b") {
		t.Errorf("unknown --context lists the known ones: %v", err)
	}
	demos := []string{"demo-jetstream", "demo-redis"}
	if _, err := Load(LoadOptions{Flags: Flags{ConfigFile: p, Context: "c"}, Getenv: s.getenv, DemoContexts: demos}); err == nil || !strings.Contains(err.Error(), "demo contexts: demo-jetstream, demo-redis") {
		t.Errorf("unknown --context lists the demo's too: %v", err)
	}
	// --context naming a demo context opens the demo on it, even with
	// contexts configured; a configured context of that name wins.
	c, err := Load(LoadOptions{Flags: Flags{ConfigFile: p, Context: "demo-redis"}, Getenv: s.getenv, DemoContexts: demos})
	if err != nil || !c.Demo || c.Initial != "demo-redis" {
		t.Errorf("--context demo-redis: demo=%v initial=%q err=%v", c != nil && c.Demo, initialOf(c), err)
	}
	p2 := s.write("d.toml", "[contexts.demo-redis]\nbackend = \"nats_core\"\n")
	c, err = Load(LoadOptions{Flags: Flags{ConfigFile: p2, Context: "demo-redis", RedisURL: "redis://r:6379"}, Getenv: s.getenv, DemoContexts: demos})
	if err != nil || c.Demo || c.Initial != "demo-redis" || c.DemoRedisURL != "" {
		t.Errorf("a configured context named like a demo one: demo=%v initial=%q err=%v", c != nil && c.Demo, initialOf(c), err)
	}
	if _, ok := c.Lookup(FlagRedisContext); !ok {
		t.Errorf("--redis beside a configured demo-named context must stay a context of its own: %v", c.Names())
	}
	for _, tc := range []struct{ k, v, want string }{
		{"MQSCOPE_READ_ONLY", "maybe", "MQSCOPE_READ_ONLY"},
		{"MQSCOPE_THEME", "pink", "MQSCOPE_THEME"},
		{"MQSCOPE_REFRESH", "fast", "MQSCOPE_REFRESH"},
		{"MQSCOPE_TAIL_BUFFER", "-1", "MQSCOPE_TAIL_BUFFER"},
		{"MQSCOPE_TAIL_BUFFER", "1000000000", "from 1 to 1000000"},
		{"MQSCOPE_LOG_LEVEL", "loud", "MQSCOPE_LOG_LEVEL"},
	} {
		s := newSandbox(t)
		s.env[tc.k] = tc.v
		if _, err := s.load(Flags{}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: %v", tc.k, tc.v, err)
		}
	}
	if _, err := s.load(Flags{NATSURL: "http://x"}); err == nil || !strings.Contains(err.Error(), "--nats") {
		t.Errorf("bad --nats: %v", err)
	}
	if _, err := s.load(Flags{RedisURL: "nats://x"}); err == nil || !strings.Contains(err.Error(), "--redis") {
		t.Errorf("bad --redis: %v", err)
	}
}

// TestExampleConfig keeps config.example.toml honest: it must load without
// error (so it has no unknown or invalid key), and every key the file format
// knows must be documented in it.
func TestExampleConfig(t *testing.T) {
	s := newSandbox(t)
	path, err := filepath.Abs("../../config.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.load(Flags{ConfigFile: path})
	if err != nil {
		t.Fatalf("config.example.toml does not load: %v", err)
	}
	if c.Initial != "local-jetstream" || len(c.Contexts) != 5 {
		t.Errorf("example: initial=%q contexts=%v", c.Initial, c.Names())
	}
	src, _ := os.ReadFile(path)
	var keys []string
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		for i := 0; i < rt.NumField(); i++ {
			f := rt.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			tag := f.Tag.Get("toml")
			if tag == "" || tag == "-" {
				continue
			}
			keys = append(keys, tag)
			ft := f.Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Map {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft.PkgPath() == rt.PkgPath() && ft.NumField() > 0 && ft.Name() != "Level" {
				walk(ft)
			}
		}
	}
	walk(reflect.TypeOf(file{}))
	for _, k := range keys {
		if k == "password" || k == "token" {
			continue // refused on purpose
		}
		if !regexp.MustCompile(`(?m)(^|[#\s\[.])` + regexp.QuoteMeta(k) + `(\s*=|\]|\.)`).Match(src) {
			t.Errorf("config.example.toml does not document %q", k)
		}
	}
	if len(keys) < 30 {
		t.Fatalf("walked only %d keys: %v", len(keys), keys)
	}
}

func TestKeyLine(t *testing.T) {
	src := []byte(`# top
a = 1 # x = 2
[t]
b = "#not a comment"
"quoted.key" = 3
c.d = 4
[ 'u' . "v" ]
e = { f = 1 }
[[arr]]
g = 1
`)
	for key, want := range map[string]int{"a": 2, "x": 0, "t": 3, "t.b": 4, `t."quoted.key"`: 5, "t.c.d": 6, "u.v": 7, "u.v.e": 8, "u.v.e.f": 8, "arr.g": 10} {
		k := splitKey(key)
		if got := keyLine(src, k); got != want {
			t.Errorf("keyLine(%s) = %d, want %d", key, got, want)
		}
	}
}

func initialOf(c *Config) string {
	if c == nil {
		return ""
	}
	return c.Initial
}

// TestSecretsNotEchoed: a URL that fails validation is named, redacted, by
// where it came from; the password never appears in the error.
func TestSecretsNotEchoed(t *testing.T) {
	s := newSandbox(t)
	p := s.write("c.toml", "[contexts.x]\nbackend = \"redis_stream\"\nurl = \"redis://admin:hunter2@h:6379/notadb\"\n"+
		"[contexts.y]\nbackend = \"nats_core\"\nurl = \"http://t0ken-s3cret@h:4222\"\n")
	_, err := s.load(Flags{ConfigFile: p})
	if err == nil {
		t.Fatal("bad URLs accepted")
	}
	for _, secret := range []string{"hunter2", "t0ken-s3cret"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("config error shows the secret %q: %v", secret, err)
		}
	}
	if !strings.Contains(err.Error(), "contexts.x.url") || !strings.Contains(err.Error(), "contexts.y.url") {
		t.Errorf("error does not name both keys: %v", err)
	}

	s.env["MQSCOPE_REDIS_URL"] = "redis://admin:hunter2@h:notaport"
	_, err = s.load(Flags{})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "MQSCOPE_REDIS_URL") || strings.Contains(err.Error(), "--redis") {
		t.Errorf("env override error: %v", err)
	}
	delete(s.env, "MQSCOPE_REDIS_URL")
	s.env["MQSCOPE_NATS_URL"] = "http://t0ken-s3cret@h:4222"
	_, err = s.load(Flags{})
	if err == nil || strings.Contains(err.Error(), "t0ken-s3cret") || !strings.Contains(err.Error(), "MQSCOPE_NATS_URL") {
		t.Errorf("env override error: %v", err)
	}
}

// TestEmptyURL: url = "" is a mistake, not the default server.
func TestEmptyURL(t *testing.T) {
	s := newSandbox(t)
	p := s.write("c.toml", "[contexts.x]\nbackend = \"redis_stream\"\nurl = \"\"\n")
	if _, err := s.load(Flags{ConfigFile: p}); err == nil || !strings.Contains(err.Error(), "contexts.x.url") || !strings.Contains(err.Error(), "url is empty") {
		t.Errorf("url = \"\": %v", err)
	}
	p = s.write("d.toml", "[contexts.x]\nbackend = \"redis_stream\"\n")
	c := s.mustLoad(Flags{ConfigFile: p})
	if x, _ := c.Lookup("x"); x.URL != core.DefaultRedisURL {
		t.Errorf("no url: %q, want the default", x.URL)
	}
}

func TestServeSection(t *testing.T) {
	s := newSandbox(t)
	c := s.mustLoad(Flags{})
	if want := filepath.Join(s.home, ".local", "state", "mqscope", "ssh_host_ed25519_key"); c.Serve.HostKey != want {
		t.Fatalf("default host key %q, want %q", c.Serve.HostKey, want)
	}
	s.write(".config/mqscope/config.toml", `[serve]
listen = "0.0.0.0:2200"
authorized_keys = "team_keys"
host_key = "~/hk"
max_sessions = 7
idle_timeout = "15m"
`)
	c = s.mustLoad(Flags{})
	want := Serve{Listen: "0.0.0.0:2200", AuthorizedKeys: filepath.Join(s.home, ".config", "mqscope", "team_keys"),
		HostKey: filepath.Join(s.home, "hk"), MaxSessions: 7, IdleTimeout: 15 * time.Minute}
	if c.Serve != want {
		t.Fatalf("serve = %+v, want %+v", c.Serve, want)
	}
	s.write(".config/mqscope/config.toml", "[serve]\nmax_sessions = -1\nidle = \"1m\"\n")
	_, err := s.load(Flags{})
	if err == nil || !strings.Contains(err.Error(), "serve.max_sessions") || !strings.Contains(err.Error(), "serve.idle") {
		t.Fatalf("want errors naming serve.max_sessions and serve.idle, got %v", err)
	}
}

func TestHistoryAndTrends(t *testing.T) {
	s := newSandbox(t)
	path := s.write("conf/mq.toml", `
[trends]
window = "3m"
[history]
persist = true
retention = "30m"
dir = "hist"
spark = "5m"

[contexts.a]
backend = "redis_stream"
[contexts.a.trends]
stalled = "90s"

[contexts.b]
backend = "redis_stream"
`)
	c := s.mustLoad(Flags{ConfigFile: path})
	if c.History != (HistoryConfig{Persist: true, Retention: 30 * time.Minute, Dir: filepath.Join(s.home, "conf", "hist"), Spark: 5 * time.Minute}) {
		t.Errorf("history %+v", c.History)
	}
	if c.Trends.Window != 3*time.Minute || c.Trends.Stalled != 0 {
		t.Errorf("top-level trends %+v", c.Trends)
	}
	a, _ := c.Lookup("a")
	b, _ := c.Lookup("b")
	if a.Trends.Window != 3*time.Minute || a.Trends.Stalled != 90*time.Second {
		t.Errorf("context a trends %+v, want window from the top, stalled its own", a.Trends)
	}
	if b.Trends.Window != 3*time.Minute || b.Trends.Stalled != 0 {
		t.Errorf("context b trends %+v", b.Trends)
	}

	// no [history]: in memory, the default directory named for when it is turned on
	s2 := newSandbox(t)
	c2 := s2.mustLoad(Flags{ConfigFile: s2.write("c.toml", "[contexts.x]\nbackend = \"redis_stream\"\n")})
	if c2.History.Persist || c2.History.Dir != filepath.Join(s2.home, ".local", "state", "mqscope", "history") {
		t.Errorf("default history %+v", c2.History)
	}
}
