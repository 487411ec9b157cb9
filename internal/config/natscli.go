package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mqscope/mqscope/core"
)

// natscliContext is the part of a natscli context file
// (~/.config/nats/context/NAME.json) that mqscope uses; other fields are
// ignored.
type natscliContext struct {
	Description string `json:"description"`
	URL         string `json:"url"`
	Token       string `json:"token"`
	User        string `json:"user"`
	Password    string `json:"password"`
	Creds       string `json:"creds"`
	NKey        string `json:"nkey"`
	Cert        string `json:"cert"`
	Key         string `json:"key"`
	CA          string `json:"ca"`
	TLSFirst    bool   `json:"tls_first"`
}

// NATSContextDir is where natscli keeps its contexts.
func NATSContextDir(getenv func(string) string) string {
	return filepath.Join(configHome(getenv), "nats", "context")
}

// loadNATSContexts reads natscli contexts as nats_jetstream contexts, sorted
// by name, and the one natscli has selected (context.txt). A context file
// that cannot be used is skipped with a warning: one bad file must not stop
// the console from opening the others.
func loadNATSContexts(getenv func(string) string) ([]Context, string, []string, error) {
	dir := NATSContextDir(getenv)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, "", nil, nil
	}
	if err != nil {
		return nil, "", nil, fmt.Errorf("natscli contexts: read %s: %w", dir, err)
	}
	var out []Context
	var warnings []string
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		c, err := readNATSContext(path, getenv)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("skipped: %v", err))
			continue
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	sel, _ := os.ReadFile(filepath.Join(filepath.Dir(dir), "context.txt"))
	return out, strings.TrimSpace(string(sel)), warnings, nil
}

func readNATSContext(path string, getenv func(string) string) (Context, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Context{}, fmt.Errorf("natscli context: %w", err)
	}
	var n natscliContext
	if err := json.Unmarshal(b, &n); err != nil {
		line := 0
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line = 1 + strings.Count(string(b[:min(int(se.Offset), len(b))]), "\n")
		case errors.As(err, &te):
			line = 1 + strings.Count(string(b[:min(int(te.Offset), len(b))]), "\n")
			return Context{}, &Error{File: path, Line: line, Key: te.Field, Msg: fmt.Sprintf("natscli context: want a %s", te.Type)}
		}
		return Context{}, &Error{File: path, Line: line, Msg: "natscli context: " + err.Error()}
	}
	dir := filepath.Dir(path)
	c := Context{
		Name:        strings.TrimSuffix(filepath.Base(path), ".json"),
		Description: n.Description,
		Backend:     core.DriverJetStream,
		URL:         n.URL,
		User:        n.User,
		password:    n.Password,
		token:       n.Token,
		CredsFile:   expandPath(n.Creds, dir, getenv),
		NKeyFile:    expandPath(n.NKey, dir, getenv),
		TLS: TLS{CA: expandPath(n.CA, dir, getenv), Cert: expandPath(n.Cert, dir, getenv),
			Key: expandPath(n.Key, dir, getenv), HandshakeFirst: n.TLSFirst},
		Source:         "natscli context " + path,
		FallbackToCore: true,
	}
	// natscli resolves secret references at connect time; env:// and
	// file:// map onto mqscope's own *_env / *_file, which do the same.
	for _, sec := range []struct {
		key          string
		val          *string
		envVar, file *string
	}{{"password", &c.password, &c.PasswordEnv, &c.PasswordFile}, {"token", &c.token, &c.TokenEnv, &c.TokenFile}} {
		v := *sec.val
		switch {
		case strings.HasPrefix(v, "env://"):
			*sec.envVar, *sec.val = strings.TrimPrefix(v, "env://"), ""
		case strings.HasPrefix(v, "file://"):
			*sec.file, *sec.val = expandPath(strings.TrimPrefix(v, "file://"), dir, getenv), ""
		case strings.HasPrefix(v, "op://"), strings.HasPrefix(v, "nsc://"):
			scheme, _, _ := strings.Cut(v, "://")
			return Context{}, &Error{File: path, Key: sec.key, Msg: fmt.Sprintf("natscli context: %s references (%s://…) are not supported by mqscope; use env:// or file://", sec.key, scheme)}
		}
	}
	if c.URL == "" {
		c.URL = core.DefaultNATSURL
	} else if err := validateNATSURL(c.URL); err != nil {
		return Context{}, &Error{File: path, Key: "url", Msg: err.Error()}
	}
	applySettings(&c, Settings{}, Settings{})
	return c, nil
}
