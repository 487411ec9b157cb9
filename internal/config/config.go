// Package config turns flags, MQSCOPE_* environment variables, the TOML
// config file and natscli contexts into the list of contexts the console can
// open, and connects one of them to a *core.Client.
//
// Precedence, highest first: flags, environment, the config file, natscli
// contexts, built-in defaults. With nothing configured at all the console
// runs the embedded demo (Config.Demo).
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
	"github.com/mqscope/mqscope/core/history"
)

// Built-in defaults for the console settings.
const (
	DefaultRefresh    = 2 * time.Second
	DefaultTimeout    = 5 * time.Second
	DefaultTailBuffer = 10000
	// MaxTailBuffer bounds the console's tail memory: every message kept
	// holds its payload (the preview is cut, the record is not).
	MaxTailBuffer = 1_000_000
	DefaultTheme  = "dark"
)

// Names of the contexts made from --nats / --redis (or MQSCOPE_NATS_URL /
// MQSCOPE_REDIS_URL). They replace a file context of the same name.
const (
	FlagNATSContext     = "nats"
	FlagNATSCoreContext = "nats-core"
	FlagRedisContext    = "redis"
)

// Flags are the command-line settings; zero values mean "not given".
type Flags struct {
	Context    string
	NATSURL    string
	RedisURL   string
	ConfigFile string
	LogFile    string
	ReadOnly   bool
	ASCII      bool
	Demo       bool
}

// LoadOptions are Load's inputs.
type LoadOptions struct {
	Flags Flags
	// Getenv reads the environment (os.Getenv when nil). Load reads HOME,
	// XDG_CONFIG_HOME, XDG_STATE_HOME, TERM, NO_COLOR and MQSCOPE_*.
	Getenv func(string) string
	// DemoContexts are the embedded demo's context names: --context may
	// name one (when no configured context has that name) to open the demo
	// on it.
	DemoContexts []string
}

// Context is one resolved, connectable context.
type Context struct {
	Name        string
	Description string
	Backend     core.Driver
	// URL: for NATS a comma-separated server list; for Redis a redis:// or
	// rediss:// URL.
	URL           string
	User          string
	PasswordEnv   string
	PasswordFile  string
	TokenEnv      string
	TokenFile     string
	CredsFile     string
	NKeyFile      string
	TLS           TLS
	ReadOnly      bool
	CreateStreams bool
	// Cluster: the Redis URL names seed nodes of a Redis Cluster
	// (redis://host:port?addr=host2:port2&addr=…).
	Cluster  bool
	Consumer string
	// Decode is the context's payload decoders from [contexts.NAME.decode]
	// (nil: none configured; Decoder() then gives auto).
	Decode     *decode.Set
	DLQSuffix  string
	Refresh    time.Duration
	Timeout    time.Duration
	TailBuffer int
	Theme      string
	Stuck      core.StuckThresholds
	Trends     history.Thresholds
	// Queries are the context's saved filters by name (`[contexts.X.queries]`).
	Queries map[string]string
	// Source says where the context came from, for error messages.
	Source string
	// FallbackToCore: a JetStream context whose backend was implied (--nats,
	// a natscli context) opens as NATS Core, with a notice, when the server
	// has no JetStream.
	FallbackToCore bool

	// Inline secrets, only from natscli contexts (which store them so).
	password string
	token    string
}

// Config is the resolved configuration.
type Config struct {
	// File is the config file read ("" when none).
	File string
	// Contexts in display order: flag/env contexts, then the file's in file
	// order, then natscli contexts by name.
	Contexts []Context
	// Initial is the context opened at start ("" in demo mode: the demo
	// chooses).
	Initial string
	// Demo: nothing is configured, or --demo was given.
	Demo bool
	// DemoRedisURL is the Redis the demo seeds (--redis / MQSCOPE_REDIS_URL
	// in demo mode; "" = try the local Redis).
	DemoRedisURL string
	// DemoRedisPrefix prefixes the demo's Redis keys (MQSCOPE_DEMO_PREFIX;
	// "" = the demo's default). Tests and scripts use it to run demos side
	// by side.
	DemoRedisPrefix string

	// Warnings are problems that did not stop Load (a natscli context file
	// that was skipped); the caller logs and shows them.
	Warnings []string

	ReadOnly bool
	ASCII    bool
	NoColor  bool
	Mouse    bool
	LogFile  string
	LogLevel slog.Level
	// QueriesFile keeps the queries saved from the console, by context
	// ($XDG_STATE_HOME/mqscope/queries.json).
	QueriesFile string
	// Serve is the [serve] table (mqscope serve); paths are expanded.
	Serve Serve

	// Console settings of the initial context (or the file's top level).
	Refresh    time.Duration
	Timeout    time.Duration
	TailBuffer int
	Theme      string
	// Trends are the file's top-level thresholds (a context's own are in
	// Context.Trends).
	Trends history.Thresholds
	// History is what the console keeps of its samples ([history]).
	History HistoryConfig
}

// HistoryConfig is the resolved [history] table.
type HistoryConfig struct {
	Persist   bool
	Retention time.Duration
	Dir       string // where persisted files go (resolved, absolute)
	Spark     time.Duration
}

// DefaultHistoryDir is $XDG_STATE_HOME/mqscope/history.
func DefaultHistoryDir(getenv func(string) string) string {
	return filepath.Join(stateHome(getenv), "mqscope", "history")
}

// Lookup finds a context by name.
func (c *Config) Lookup(name string) (Context, bool) {
	for _, x := range c.Contexts {
		if x.Name == name {
			return x, true
		}
	}
	return Context{}, false
}

// Names lists the context names in display order.
func (c *Config) Names() []string {
	out := make([]string, 0, len(c.Contexts))
	for _, x := range c.Contexts {
		out = append(out, x.Name)
	}
	return out
}

// Serve configures mqscope serve; zero values mean "not given" (the
// command's flags and defaults apply).
type Serve struct {
	Listen         string
	AuthorizedKeys string
	HostKey        string // default DefaultHostKey
	MaxSessions    int
	IdleTimeout    time.Duration
}

// DefaultHostKey is $XDG_STATE_HOME/mqscope/ssh_host_ed25519_key, where
// mqscope serve keeps the host key it generated.
func DefaultHostKey(getenv func(string) string) string {
	return filepath.Join(stateHome(getenv), "mqscope", "ssh_host_ed25519_key")
}

// DefaultPath is $XDG_CONFIG_HOME/mqscope/config.toml.
func DefaultPath(getenv func(string) string) string {
	return filepath.Join(configHome(getenv), "mqscope", "config.toml")
}

// DefaultLogFile is $XDG_STATE_HOME/mqscope/mqscope.log.
func DefaultLogFile(getenv func(string) string) string {
	return filepath.Join(stateHome(getenv), "mqscope", "mqscope.log")
}

func configHome(getenv func(string) string) string {
	if d := getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(home(getenv), ".config")
}

func stateHome(getenv func(string) string) string {
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(home(getenv), ".local", "state")
}

func home(getenv func(string) string) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return "."
}

// expandPath resolves ~/ and makes relative paths relative to dir.
func expandPath(p, dir string, getenv func(string) string) string {
	if p == "" {
		return ""
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		return filepath.Join(home(getenv), p[1:])
	}
	if !filepath.IsAbs(p) && dir != "" {
		return filepath.Join(dir, p)
	}
	return p
}

// env is the MQSCOPE_* overrides, read once.
type env struct {
	config, context, natsURL, redisURL, logFile, theme string
	readOnly, ascii, demo                              *bool
	logLevel                                           *slog.Level
	refresh                                            time.Duration
	tailBuffer                                         int
}

func readEnv(getenv func(string) string) (env, error) {
	var e env
	var errs []error
	e.config = getenv("MQSCOPE_CONFIG")
	e.context = getenv("MQSCOPE_CONTEXT")
	e.natsURL = getenv("MQSCOPE_NATS_URL")
	e.redisURL = getenv("MQSCOPE_REDIS_URL")
	e.logFile = getenv("MQSCOPE_LOG_FILE")
	boolVar := func(name string) *bool {
		v := getenv(name)
		if v == "" {
			return nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("environment %s=%q: want true or false", name, v))
			return nil
		}
		return &b
	}
	e.readOnly = boolVar("MQSCOPE_READ_ONLY")
	e.ascii = boolVar("MQSCOPE_ASCII")
	e.demo = boolVar("MQSCOPE_DEMO")
	if v := getenv("MQSCOPE_THEME"); v != "" {
		var th Theme
		if err := th.UnmarshalText([]byte(v)); err != nil {
			errs = append(errs, fmt.Errorf("environment MQSCOPE_THEME: %v", err))
		}
		e.theme = string(th)
	}
	if v := getenv("MQSCOPE_LOG_LEVEL"); v != "" {
		lv, err := parseLevel(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("environment MQSCOPE_LOG_LEVEL: %v", err))
		}
		e.logLevel = &lv
	}
	if v := getenv("MQSCOPE_REFRESH"); v != "" {
		var d Duration
		if err := d.UnmarshalText([]byte(v)); err != nil || d == 0 {
			errs = append(errs, fmt.Errorf("environment MQSCOPE_REFRESH=%q: want a positive duration like 2s", v))
		}
		e.refresh = time.Duration(d)
	}
	if v := getenv("MQSCOPE_TAIL_BUFFER"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxTailBuffer {
			errs = append(errs, fmt.Errorf("environment MQSCOPE_TAIL_BUFFER=%q: want a number of messages from 1 to %d", v, MaxTailBuffer))
		}
		e.tailBuffer = n
	}
	return e, errors.Join(errs...)
}

// Load resolves the configuration. Errors in the config file name the file,
// the line and the key; all of them are reported at once.
func Load(o LoadOptions) (*Config, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	ev, err := readEnv(getenv)
	if err != nil {
		return nil, err
	}
	fl := o.Flags

	cfg := &Config{
		LogLevel:   slog.LevelInfo,
		Refresh:    DefaultRefresh,
		Timeout:    DefaultTimeout,
		TailBuffer: DefaultTailBuffer,
		Theme:      DefaultTheme,
	}

	// The config file: explicit (flag, env) must exist; the default may not.
	path, explicit := fl.ConfigFile, true
	if path == "" {
		path = ev.config
	}
	if path == "" {
		path, explicit = DefaultPath(getenv), false
	}
	path = expandPath(path, "", getenv)
	var f *file
	var fileContexts []Context
	src, rerr := os.ReadFile(path)
	switch {
	case rerr == nil:
		f, fileContexts, err = parseFile(path, src, getenv)
		if err != nil {
			return nil, err
		}
		cfg.File = path
	case explicit || !errors.Is(rerr, os.ErrNotExist):
		return nil, fmt.Errorf("config: read %s: %w", path, rerr)
	default:
		f = &file{}
	}

	// natscli contexts.
	var natsContexts []Context
	var natsSelected string
	if f.NATSCLIContexts == nil || *f.NATSCLIContexts {
		natsContexts, natsSelected, cfg.Warnings, err = loadNATSContexts(getenv)
		if err != nil {
			return nil, err
		}
		for i := range natsContexts {
			applySettings(&natsContexts[i], f.Settings, Settings{})
		}
	}

	// Contexts from flags / environment.
	var adhoc []Context
	natsURL := firstNonEmpty(fl.NATSURL, ev.natsURL)
	redisURL := firstNonEmpty(fl.RedisURL, ev.redisURL)
	demo := fl.Demo || (ev.demo != nil && *ev.demo)
	if want := firstNonEmpty(fl.Context, ev.context); slices.Contains(o.DemoContexts, want) &&
		!slices.ContainsFunc(slices.Concat(fileContexts, natsContexts), func(c Context) bool { return c.Name == want }) {
		demo = true // --context demo-redis: --redis is the Redis it seeds
	}
	if natsURL != "" {
		src := "--nats"
		if fl.NATSURL == "" {
			src = "MQSCOPE_NATS_URL"
		}
		if err := validateNATSURL(natsURL); err != nil {
			return nil, fmt.Errorf("%s %s: %w", src, core.RedactURL(natsURL), err)
		}
		adhoc = append(adhoc,
			Context{Name: FlagNATSContext, Backend: core.DriverJetStream, URL: natsURL, Source: src, FallbackToCore: true},
			Context{Name: FlagNATSCoreContext, Backend: core.DriverNATSCore, URL: natsURL, Source: src})
	}
	if redisURL != "" {
		src := "--redis"
		if fl.RedisURL == "" {
			src = "MQSCOPE_REDIS_URL"
		}
		if err := validateRedisURL(redisURL, false); err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		if demo && natsURL == "" {
			cfg.DemoRedisURL = redisURL
		} else {
			adhoc = append(adhoc, Context{Name: FlagRedisContext, Backend: core.DriverRedisStream, URL: redisURL, Source: src})
		}
	}
	for i := range adhoc {
		applySettings(&adhoc[i], f.Settings, Settings{})
	}

	// Merge, earlier wins on a name clash.
	seen := map[string]bool{}
	for _, list := range [][]Context{adhoc, fileContexts, natsContexts} {
		for _, c := range list {
			if seen[c.Name] {
				continue
			}
			seen[c.Name] = true
			cfg.Contexts = append(cfg.Contexts, c)
		}
	}

	// Global switches.
	cfg.ReadOnly = fl.ReadOnly || f.ReadOnly
	if ev.readOnly != nil && !fl.ReadOnly {
		cfg.ReadOnly = *ev.readOnly
	}
	cfg.ASCII = fl.ASCII || f.ASCII || (ev.ascii != nil && *ev.ascii)
	if getenv("TERM") == "dumb" {
		cfg.ASCII = true
	}
	cfg.NoColor = getenv("NO_COLOR") != ""
	cfg.DemoRedisPrefix = getenv("MQSCOPE_DEMO_PREFIX")
	cfg.Mouse = f.Mouse
	cfg.History = HistoryConfig{
		Persist:   f.History.Persist,
		Retention: time.Duration(f.History.Retention),
		Dir:       firstNonEmpty(expandPath(f.History.Dir, filepath.Dir(path), getenv), DefaultHistoryDir(getenv)),
		Spark:     time.Duration(f.History.Spark),
	}
	cfg.LogFile = firstNonEmpty(fl.LogFile, ev.logFile, expandPath(f.LogFile, filepath.Dir(path), getenv), DefaultLogFile(getenv))
	dir := filepath.Dir(path)
	cfg.Serve = Serve{
		Listen:         f.Serve.Listen,
		AuthorizedKeys: expandPath(f.Serve.AuthorizedKeys, dir, getenv),
		HostKey:        firstNonEmpty(expandPath(f.Serve.HostKey, dir, getenv), DefaultHostKey(getenv)),
		MaxSessions:    f.Serve.MaxSessions,
		IdleTimeout:    time.Duration(f.Serve.IdleTimeout),
	}
	cfg.QueriesFile = filepath.Join(stateHome(getenv), "mqscope", "queries.json")
	if f.LogLevel.set {
		cfg.LogLevel = f.LogLevel.Level
	}
	if ev.logLevel != nil {
		cfg.LogLevel = *ev.logLevel
	}
	if cfg.ReadOnly {
		for i := range cfg.Contexts {
			cfg.Contexts[i].ReadOnly = true
		}
	}

	// Which context opens first.
	want := firstNonEmpty(fl.Context, ev.context)
	switch {
	case want != "":
		if _, ok := cfg.Lookup(want); ok {
			cfg.Initial = want
		} else if slices.Contains(o.DemoContexts, want) {
			cfg.Demo, cfg.Initial = true, want
		} else {
			known := orNone(cfg.Names())
			if len(o.DemoContexts) > 0 {
				known += "; demo contexts: " + strings.Join(o.DemoContexts, ", ")
			}
			return nil, fmt.Errorf("context %q is not configured; known contexts: %s", want, known)
		}
	case demo:
		cfg.Demo = true
	case len(adhoc) > 0:
		cfg.Initial = adhoc[0].Name
	case f.DefaultContext != "":
		if _, ok := cfg.Lookup(f.DefaultContext); !ok {
			return nil, &Error{File: path, Line: keyLine(src, toml.Key{"default_context"}), Key: "default_context",
				Msg: fmt.Sprintf("context %q is not defined; known contexts: %s", f.DefaultContext, orNone(cfg.Names()))}
		}
		cfg.Initial = f.DefaultContext
	case len(fileContexts) > 0:
		cfg.Initial = fileContexts[0].Name
	case natsSelected != "":
		if _, ok := cfg.Lookup(natsSelected); ok {
			cfg.Initial = natsSelected
		} else {
			cfg.Demo = true
		}
	default:
		cfg.Demo = true
	}

	// Console settings: the initial context's, else the file's top level.
	top := Context{}
	applySettings(&top, f.Settings, Settings{})
	if c, ok := cfg.Lookup(cfg.Initial); ok {
		top = c
	}
	cfg.Refresh, cfg.Timeout, cfg.TailBuffer, cfg.Theme = top.Refresh, top.Timeout, top.TailBuffer, top.Theme
	cfg.Trends = history.Thresholds{Window: time.Duration(f.Trends.Window), Stalled: time.Duration(f.Trends.Stalled)}
	if ev.refresh > 0 {
		cfg.Refresh = ev.refresh
	}
	if ev.tailBuffer > 0 {
		cfg.TailBuffer = ev.tailBuffer
	}
	// The environment overrides every context's own value too (the console
	// applies a context's refresh, timeout and tail buffer when it opens).
	for i := range cfg.Contexts {
		if ev.refresh > 0 {
			cfg.Contexts[i].Refresh = ev.refresh
		}
		if ev.tailBuffer > 0 {
			cfg.Contexts[i].TailBuffer = ev.tailBuffer
		}
	}
	if ev.theme != "" {
		cfg.Theme = ev.theme
	}
	return cfg, nil
}

// applySettings fills c's settings from the context's own (ctxS) over the
// file's top level (top) over the built-in defaults.
func applySettings(c *Context, top, ctxS Settings) {
	c.DLQSuffix = firstNonEmpty(ctxS.DLQSuffix, top.DLQSuffix, core.DefaultDLQSuffix)
	c.Refresh = firstDuration(ctxS.Refresh, top.Refresh, DefaultRefresh)
	c.Timeout = firstDuration(ctxS.Timeout, top.Timeout, DefaultTimeout)
	c.TailBuffer = firstInt(ctxS.TailBuffer, top.TailBuffer, DefaultTailBuffer)
	c.Theme = firstNonEmpty(string(ctxS.Theme), string(top.Theme), DefaultTheme)
	c.Stuck = core.StuckThresholds{
		PendingIdle:  firstDuration(ctxS.Stuck.PendingIdle, top.Stuck.PendingIdle, 0),
		ConsumerIdle: firstDuration(ctxS.Stuck.ConsumerIdle, top.Stuck.ConsumerIdle, 0),
	}
	c.Trends = history.Thresholds{
		Window:  firstDuration(ctxS.Trends.Window, top.Trends.Window, 0),
		Stalled: firstDuration(ctxS.Trends.Stalled, top.Trends.Stalled, 0),
	}
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func firstDuration(ctxD, topD Duration, def time.Duration) time.Duration {
	switch {
	case ctxD > 0:
		return time.Duration(ctxD)
	case topD > 0:
		return time.Duration(topD)
	}
	return def
}

func firstInt(n ...int) int {
	for _, v := range n {
		if v > 0 {
			return v
		}
	}
	return 0
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "(none)"
	}
	s := slices.Clone(names)
	sort.Strings(s)
	return strings.Join(s, ", ")
}
