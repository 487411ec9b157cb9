package config

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mqscope/mqscope/core"
)

// Duration is a TOML string such as "2s" or "15m".
type Duration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler; the toml package turns
// its error into one that names the line and key.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("not a duration like \"2s\" or \"15m\": %q", b)
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", b)
	}
	*d = Duration(v)
	return nil
}

// Backend is a driver name as written in the file.
type Backend core.Driver

// UnmarshalText accepts the three driver names.
func (b *Backend) UnmarshalText(t []byte) error {
	switch d := core.Driver(strings.TrimSpace(string(t))); d {
	case core.DriverNATSCore, core.DriverJetStream, core.DriverRedisStream:
		*b = Backend(d)
		return nil
	}
	return fmt.Errorf("unknown backend %q: want %q, %q or %q", t, core.DriverNATSCore, core.DriverJetStream, core.DriverRedisStream)
}

// Theme is the console colour theme.
type Theme string

// UnmarshalText accepts "dark" and "light".
func (th *Theme) UnmarshalText(t []byte) error {
	switch v := strings.TrimSpace(string(t)); v {
	case "dark", "light":
		*th = Theme(v)
		return nil
	}
	return fmt.Errorf("unknown theme %q: want \"dark\" or \"light\"", t)
}

// Level is a log level name.
type Level struct {
	slog.Level
	set bool
}

// UnmarshalText accepts debug, info, warn and error.
func (l *Level) UnmarshalText(t []byte) error {
	lv, err := parseLevel(string(t))
	if err != nil {
		return err
	}
	l.Level, l.set = lv, true
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q: want debug, info, warn or error", s)
}

// Stuck are the thresholds for marking groups and consumers stuck.
type Stuck struct {
	PendingIdle  Duration `toml:"pending_idle"`
	ConsumerIdle Duration `toml:"consumer_idle"`
}

// Trends are the thresholds of the trend signals (see core/history).
type Trends struct {
	// Window: the stretch of recent samples a signal's rates are measured
	// over (default 2m).
	Window Duration `toml:"window"`
	// Stalled: how long the backlog must grow with nothing acked to call
	// the group stalled (default 5m).
	Stalled Duration `toml:"stalled"`
}

// History is the [history] table: what the console keeps of its samples.
type History struct {
	// Persist keeps each context's samples in a file under Dir, so that a
	// restart keeps the last Retention of them.
	Persist bool `toml:"persist"`
	// Retention is how far back the history reaches (default 1h).
	Retention Duration `toml:"retention"`
	// Dir is where persisted files go (default $XDG_STATE_HOME/mqscope/history).
	Dir string `toml:"dir"`
	// Spark is how far back the sparklines of Topics and Groups reach
	// (default 10m).
	Spark Duration `toml:"spark"`
}

// Settings can be given at the top of the file (defaults for every context)
// and inside a context (overriding them).
type Settings struct {
	DLQSuffix  string   `toml:"dlq_suffix"`
	Refresh    Duration `toml:"refresh"`
	Timeout    Duration `toml:"timeout"`
	TailBuffer int      `toml:"tail_buffer"`
	Theme      Theme    `toml:"theme"`
	Stuck      Stuck    `toml:"stuck"`
	Trends     Trends   `toml:"trends"`
}

// TLS configures a TLS connection; paths may start with ~/ and relative
// paths are relative to the config file.
type TLS struct {
	CA                 string `toml:"ca"`
	Cert               string `toml:"cert"`
	Key                string `toml:"key"`
	ServerName         string `toml:"server_name"`
	InsecureSkipVerify bool   `toml:"insecure_skip_verify"`
	// Handshake first (nats-server "handshake_first"); NATS only.
	HandshakeFirst bool `toml:"handshake_first"`
}

func (t TLS) enabled() bool {
	return t.CA != "" || t.Cert != "" || t.Key != "" || t.ServerName != "" || t.InsecureSkipVerify || t.HandshakeFirst
}

// fileContext is one [contexts.NAME] table as written.
type fileContext struct {
	Description   string  `toml:"description"`
	Backend       Backend `toml:"backend"`
	URL           string  `toml:"url"`
	User          string  `toml:"user"`
	PasswordEnv   string  `toml:"password_env"`
	PasswordFile  string  `toml:"password_file"`
	TokenEnv      string  `toml:"token_env"`
	TokenFile     string  `toml:"token_file"`
	CredsFile     string  `toml:"creds_file"`
	NKeyFile      string  `toml:"nkey_file"`
	TLS           TLS     `toml:"tls"`
	ReadOnly      bool    `toml:"read_only"`
	CreateStreams bool    `toml:"create_streams"`
	Cluster       bool    `toml:"cluster"`
	Consumer      string  `toml:"consumer"`
	// Decode maps topic globs to payload formats, with the protobuf schema
	// sources (see decode.go).
	Decode map[string]any `toml:"decode"`
	// Queries are saved filters by name ("jq:.amount > 100", or any
	// filter the console's / takes).
	Queries map[string]string `toml:"queries"`
	Settings

	// Inline secrets are refused (decoded only to say so precisely).
	Password string `toml:"password"`
	Token    string `toml:"token"`
}

// file is the whole config file as written.
type file struct {
	DefaultContext  string  `toml:"default_context"`
	ReadOnly        bool    `toml:"read_only"`
	ASCII           bool    `toml:"ascii"`
	Mouse           bool    `toml:"mouse"`
	LogFile         string  `toml:"log_file"`
	LogLevel        Level   `toml:"log_level"`
	NATSCLIContexts *bool   `toml:"natscli_contexts"`
	History         History `toml:"history"`
	Settings
	Contexts map[string]*fileContext `toml:"contexts"`
	Serve    fileServe               `toml:"serve"`
}

// fileServe is the [serve] table as written (mqscope serve).
type fileServe struct {
	Listen         string   `toml:"listen"`
	AuthorizedKeys string   `toml:"authorized_keys"`
	HostKey        string   `toml:"host_key"`
	MaxSessions    int      `toml:"max_sessions"`
	IdleTimeout    Duration `toml:"idle_timeout"`
}
