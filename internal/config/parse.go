package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/query"
)

// Error is one problem in a config file: where it is and which key.
type Error struct {
	File string
	Line int // 0 when unknown
	Key  string
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Key == "" {
		return fmt.Sprintf("config %s: %s", loc, e.Msg)
	}
	return fmt.Sprintf("config %s: %s: %s", loc, e.Key, e.Msg)
}

// parseFile decodes and validates a config file; it returns every problem
// found, each as an *Error, joined.
func parseFile(path string, src []byte, getenv func(string) string) (*file, []Context, error) {
	var f file
	md, err := toml.NewDecoder(strings.NewReader(string(src))).Decode(&f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, nil, &Error{File: path, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
		}
		// Type mismatches come as "toml: line N (last key "k"): ...".
		if m := typeErrRe.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			return nil, nil, &Error{File: path, Line: line, Key: m[2], Msg: m[3]}
		}
		return nil, nil, &Error{File: path, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
	}

	var errs []*Error
	add := func(key toml.Key, format string, args ...any) {
		errs = append(errs, &Error{File: path, Line: keyLine(src, key), Key: key.String(), Msg: fmt.Sprintf(format, args...)})
	}

	// Unknown keys: report the outermost unknown key of each subtree.
	und := md.Undecoded()
	undSet := map[string]bool{}
	for _, k := range und {
		undSet[k.String()] = true
	}
	for _, k := range und {
		parentUnknown := false
		for i := 1; i < len(k); i++ {
			if undSet[k[:i].String()] {
				parentUnknown = true
				break
			}
		}
		if !parentUnknown {
			add(k, "unknown key%s", suggest(k))
		}
	}

	validateSettings(toml.Key{}, f.Settings, add)
	if f.Serve.MaxSessions < 0 {
		add(toml.Key{"serve", "max_sessions"}, "must be 0 (no limit) or more, not %d", f.Serve.MaxSessions)
	}
	dir := filepath.Dir(path)

	// Contexts in file order.
	var order []string
	seen := map[string]bool{}
	for _, k := range md.Keys() {
		if len(k) >= 2 && k[0] == "contexts" && !seen[k[1]] {
			seen[k[1]] = true
			order = append(order, k[1])
		}
	}
	var out []Context
	for _, name := range order {
		fc := f.Contexts[name]
		if fc == nil {
			continue
		}
		base := toml.Key{"contexts", name}
		key := func(s ...string) toml.Key { return append(append(toml.Key{}, base...), s...) }
		if strings.TrimSpace(name) == "" || strings.ContainsAny(name, " \t") {
			add(base, "context names must not be empty or contain spaces")
		}
		c := Context{
			Name: name, Description: fc.Description, Backend: core.Driver(fc.Backend), URL: fc.URL,
			User:          fc.User,
			PasswordEnv:   fc.PasswordEnv,
			PasswordFile:  expandPath(fc.PasswordFile, dir, getenv),
			TokenEnv:      fc.TokenEnv,
			TokenFile:     expandPath(fc.TokenFile, dir, getenv),
			CredsFile:     expandPath(fc.CredsFile, dir, getenv),
			NKeyFile:      expandPath(fc.NKeyFile, dir, getenv),
			ReadOnly:      fc.ReadOnly,
			CreateStreams: fc.CreateStreams,
			Cluster:       fc.Cluster,
			Consumer:      fc.Consumer,
			Queries:       fc.Queries,
			Source:        path,
			TLS: TLS{
				CA: expandPath(fc.TLS.CA, dir, getenv), Cert: expandPath(fc.TLS.Cert, dir, getenv),
				Key: expandPath(fc.TLS.Key, dir, getenv), ServerName: fc.TLS.ServerName,
				InsecureSkipVerify: fc.TLS.InsecureSkipVerify, HandshakeFirst: fc.TLS.HandshakeFirst,
			},
		}
		applySettings(&c, f.Settings, fc.Settings)
		c.Decode = parseDecode(md, base, fc.Decode, dir, getenv, add)
		validateSettings(base, fc.Settings, add)
		for qn, qs := range fc.Queries {
			if strings.TrimSpace(qn) == "" || strings.ContainsAny(qn, " \t") {
				add(key("queries", qn), "query names must not be empty or contain spaces")
			}
			if e, ok := strings.CutPrefix(qs, query.Prefix); ok {
				if _, err := query.Compile(e); err != nil {
					add(key("queries", qn), "%v", err)
				}
			}
		}

		if fc.Password != "" {
			add(key("password"), "secrets are not read from the config file: use password_env (an environment variable) or password_file")
		}
		if fc.Token != "" {
			add(key("token"), "secrets are not read from the config file: use token_env (an environment variable) or token_file")
		}
		if fc.Backend == "" {
			add(base, "backend is required: %q, %q or %q", core.DriverNATSCore, core.DriverJetStream, core.DriverRedisStream)
			continue
		}
		if fc.PasswordEnv != "" && fc.PasswordFile != "" {
			add(key("password_file"), "give password_env or password_file, not both")
		}
		if fc.TokenEnv != "" && fc.TokenFile != "" {
			add(key("token_file"), "give token_env or token_file, not both")
		}
		if fc.TLS.Cert != "" && fc.TLS.Key == "" {
			add(key("tls", "cert"), "a client certificate needs tls.key too")
		}
		if fc.TLS.Key != "" && fc.TLS.Cert == "" {
			add(key("tls", "key"), "a client key needs tls.cert too")
		}
		if md.IsDefined(append(append([]string{}, base...), "url")...) && strings.TrimSpace(fc.URL) == "" {
			add(key("url"), "url is empty: give the server's address, or leave url out for the default (%s or %s)", core.DefaultNATSURL, core.DefaultRedisURL)
			continue
		}
		switch c.Backend {
		case core.DriverNATSCore, core.DriverJetStream:
			if c.URL == "" {
				c.URL = core.DefaultNATSURL
			} else if err := validateNATSURL(c.URL); err != nil {
				add(key("url"), "%v", err)
			}
			if fc.CredsFile != "" && fc.NKeyFile != "" {
				add(key("nkey_file"), "give creds_file or nkey_file, not both")
			}
			if (fc.TokenEnv != "" || fc.TokenFile != "") && (fc.User != "" || fc.CredsFile != "" || fc.NKeyFile != "") {
				add(key(firstSet(fc.TokenEnv, "token_env", "token_file")), "a token cannot be combined with user, creds_file or nkey_file")
			}
			if fc.User == "" && (fc.PasswordEnv != "" || fc.PasswordFile != "") {
				add(key(firstSet(fc.PasswordEnv, "password_env", "password_file")), "a password needs user too")
			}
		case core.DriverRedisStream:
			if c.URL == "" {
				c.URL = core.DefaultRedisURL
			} else if err := validateRedisURL(c.URL, fc.Cluster); err != nil {
				add(key("url"), "%v", err)
			}
			for k, v := range map[string]string{"creds_file": fc.CredsFile, "nkey_file": fc.NKeyFile, "token_env": fc.TokenEnv, "token_file": fc.TokenFile} {
				if v != "" {
					add(key(k), "only NATS contexts take %s; Redis uses user and password_env/password_file", k)
				}
			}
			if fc.CreateStreams {
				add(key("create_streams"), "only nats_jetstream contexts create streams (Redis creates them on demand)")
			}
			if fc.TLS.HandshakeFirst {
				add(key("tls", "handshake_first"), "only NATS contexts take handshake_first")
			}
		}
		if fc.Cluster && c.Backend != core.DriverRedisStream {
			add(key("cluster"), "only redis_stream contexts take cluster (NATS clusters are reached with a server list in url)")
		}
		if fc.CreateStreams && c.Backend == core.DriverNATSCore {
			add(key("create_streams"), "NATS Core has no streams; create_streams is for nats_jetstream")
		}
		out = append(out, c)
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		list := make([]error, len(errs))
		for i, e := range errs {
			list[i] = e
		}
		return nil, nil, errors.Join(list...)
	}
	return &f, out, nil
}

var typeErrRe = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]*)"\): (.*)$`)

func timeDuration(d Duration) time.Duration { return time.Duration(d) }

func firstSet(v, ifSet, otherwise string) string {
	if v != "" {
		return ifSet
	}
	return otherwise
}

func validateSettings(base toml.Key, s Settings, add func(toml.Key, string, ...any)) {
	key := func(k ...string) toml.Key { return append(append(toml.Key{}, base...), k...) }
	if s.TailBuffer < 0 || s.TailBuffer > MaxTailBuffer {
		add(key("tail_buffer"), "must be a number of messages from 1 to %d, got %d", MaxTailBuffer, s.TailBuffer)
	}
	if s.DLQSuffix != "" && strings.ContainsAny(s.DLQSuffix, " \t*>") {
		add(key("dlq_suffix"), "%q must not contain spaces or wildcards", s.DLQSuffix)
	}
	if s.Refresh > 0 && s.Refresh < Duration(100e6) {
		add(key("refresh"), "%v is too fast; use at least 100ms", durationString(s.Refresh))
	}
}

func durationString(d Duration) string { return fmt.Sprint(timeDuration(d)) }

// suggest proposes the known key closest to an unknown one.
func suggest(k toml.Key) string {
	known := []string{"default_context", "read_only", "ascii", "mouse", "log_file", "log_level", "natscli_contexts",
		"dlq_suffix", "refresh", "timeout", "tail_buffer", "theme", "stuck", "pending_idle", "consumer_idle",
		"trends", "window", "stalled", "history", "persist", "retention", "dir", "spark",
		"contexts", "description", "backend", "url", "user", "password_env", "password_file", "token_env",
		"token_file", "creds_file", "nkey_file", "tls", "ca", "cert", "key", "server_name",
		"insecure_skip_verify", "handshake_first", "create_streams", "cluster", "consumer", "decode", "queries",
		"serve", "listen", "authorized_keys", "host_key", "max_sessions", "idle_timeout"}
	last := k[len(k)-1]
	if len(k) > 1 && slices.Contains(known, last) {
		// a real setting in the wrong table: "did you mean" itself would not help
		if slices.Contains([]string{"default_context", "log_file", "log_level", "natscli_contexts", "ascii", "mouse"}, last) {
			return fmt.Sprintf(" (%s is a top-level setting, not one of [%s])", last, strings.Join(k[:len(k)-1], "."))
		}
		return fmt.Sprintf(" (%s is not a setting of [%s]; see config.example.toml)", last, strings.Join(k[:len(k)-1], "."))
	}
	best, bestD := "", 3
	for _, c := range known {
		if d := editDistance(last, c); d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func validateNATSURL(s string) error {
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return fmt.Errorf("empty server in list %q", core.RedactURL(s))
		}
		if !strings.Contains(part, "://") {
			part = "nats://" + part
		}
		u, err := url.Parse(part)
		if err != nil {
			return fmt.Errorf("server %q: %s", core.RedactURL(part), core.RedactIn(err.Error(), part))
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return fmt.Errorf("server %q: scheme %q is not nats://, tls://, ws:// or wss://", core.RedactURL(part), u.Scheme)
		}
		if u.Host == "" {
			return fmt.Errorf("server %q has no host", core.RedactURL(part))
		}
	}
	return nil
}

func validateRedisURL(s string, cluster bool) error {
	if cluster {
		if _, err := redis.ParseClusterURL(s); err != nil {
			return fmt.Errorf("%q: %s (want redis://[user:password@]host:port?addr=host2:port2 for a cluster)", core.RedactURL(s), core.RedactIn(err.Error(), s))
		}
		return nil
	}
	if _, err := redis.ParseURL(s); err != nil {
		return fmt.Errorf("%q: %s (want redis://[user:password@]host:port/db or rediss://…)", core.RedactURL(s), core.RedactIn(err.Error(), s))
	}
	return nil
}

// keyLine finds the line where key is set, with a small line scanner that
// follows [table] headers and dotted keys; 0 when not found.
func keyLine(src []byte, key toml.Key) int {
	want := key.String()
	var table []string
	for i, line := range strings.Split(string(src), "\n") {
		l := strings.TrimSpace(stripComment(line))
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "[") {
			h := strings.TrimSpace(strings.Trim(l, "[]"))
			table = splitKey(h)
			if toml.Key(table).String() == want {
				return i + 1
			}
			continue
		}
		eq := strings.Index(l, "=")
		if eq < 0 {
			continue
		}
		full := append(append([]string{}, table...), splitKey(strings.TrimSpace(l[:eq]))...)
		fs := toml.Key(full).String()
		if fs == want || strings.HasPrefix(want, fs+".") {
			return i + 1
		}
	}
	return 0
}

func stripComment(s string) string {
	inS, inD := false, false
	for i, r := range s {
		switch {
		case r == '\'' && !inD:
			inS = !inS
		case r == '"' && !inS:
			inD = !inD
		case r == '#' && !inS && !inD:
			return s[:i]
		}
	}
	return s
}

func splitKey(s string) []string {
	var parts []string
	var b strings.Builder
	quote := rune(0)
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				b.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '.':
			parts = append(parts, strings.TrimSpace(b.String()))
			b.Reset()
		case r == ' ' || r == '\t':
		default:
			b.WriteRune(r)
		}
	}
	return append(parts, strings.TrimSpace(b.String()))
}
