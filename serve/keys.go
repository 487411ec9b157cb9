package serve

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	gossh "golang.org/x/crypto/ssh"
)

// Role is what a key may do.
type Role string

const (
	// Viewer watches: every mutating action is refused (in core).
	Viewer Role = "viewer"
	// Operator may act as well.
	Operator Role = "operator"
)

// Key is one authorized_keys line.
type Key struct {
	Key         gossh.PublicKey
	Fingerprint string // SHA256:…
	Comment     string
	Role        Role
	// Contexts the key may open; nil means all.
	Contexts []string
	Line     int
}

// May reports whether the key may open the context.
func (k Key) May(context string) bool {
	return k.Contexts == nil || slices.Contains(k.Contexts, context)
}

// Keys is a parsed authorized_keys file.
type Keys struct {
	byKey map[string]Key // by the key's wire form
}

// Lookup finds the entry for a public key.
func (ks *Keys) Lookup(k gossh.PublicKey) (Key, bool) {
	e, ok := ks.byKey[string(k.Marshal())]
	return e, ok
}

// Len is the number of keys.
func (ks *Keys) Len() int { return len(ks.byKey) }

// The environment options mqscope reads from a key's line.
const (
	envRole     = "MQSCOPE_ROLE"
	envContexts = "MQSCOPE_CONTEXTS"
)

// harmless are OpenSSH options whose restriction serve already keeps: it
// forwards nothing and runs no rc file.
var harmless = map[string]bool{
	"restrict": true, "no-port-forwarding": true, "no-agent-forwarding": true,
	"no-x11-forwarding": true, "no-user-rc": true,
}

// LoadKeys reads an OpenSSH authorized_keys file. A key's role and
// contexts are environment options on its line:
//
//	environment="MQSCOPE_ROLE=operator",environment="MQSCOPE_CONTEXTS=prod,staging" ssh-ed25519 AAAA… alice
//
// No role means viewer. Options serve cannot honour (from=, command=,
// expiry-time=, …) are an error rather than silently ignored, and every
// error names the file and line.
func LoadKeys(path string) (*Keys, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	return ParseKeys(path, src)
}

// ParseKeys parses authorized_keys content; path is for error messages.
func ParseKeys(path string, src []byte) (*Keys, error) {
	ks := &Keys{byKey: map[string]Key{}}
	var errs []error
	for i, line := range bytes.Split(src, []byte("\n")) {
		n := i + 1
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' {
			continue
		}
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("%s:%d: %s", path, n, fmt.Sprintf(format, a...)))
		}
		pk, comment, opts, rest, err := gossh.ParseAuthorizedKey(t)
		if err != nil {
			bad("not an OpenSSH public key line (%v)", err)
			continue
		}
		if len(bytes.TrimSpace(rest)) > 0 {
			bad("one key per line")
			continue
		}
		k := Key{Key: pk, Fingerprint: gossh.FingerprintSHA256(pk), Comment: comment, Role: Viewer, Line: n}
		var role string
		for _, o := range opts {
			name, val, hasVal := strings.Cut(o, "=")
			switch {
			case strings.EqualFold(name, "environment") && hasVal:
				v, err := unquote(val)
				if err != nil {
					bad("%s: %v", o, err)
					continue
				}
				ev, evVal, _ := strings.Cut(v, "=")
				switch ev {
				case envRole:
					role = evVal
				case envContexts:
					k.Contexts = []string{}
					for _, c := range strings.Split(evVal, ",") {
						if c = strings.TrimSpace(c); c != "" {
							k.Contexts = append(k.Contexts, c)
						}
					}
					if len(k.Contexts) == 0 {
						bad("%s is empty: name the contexts the key may open, or leave it out for all", envContexts)
					}
				default:
					if strings.HasPrefix(ev, "MQSCOPE_") {
						bad("unknown %s: want %s or %s", ev, envRole, envContexts)
					}
					// other variables mean nothing to mqscope
				}
			case harmless[strings.ToLower(name)] && !hasVal:
			default:
				bad("option %q is not supported by mqscope serve (it would be ignored); use only environment=\"%s=…\", environment=\"%s=…\" and restrict/no-*-forwarding", o, envRole, envContexts)
			}
		}
		switch Role(role) {
		case "":
		case Viewer, Operator:
			k.Role = Role(role)
		default:
			bad("%s=%q: want %q or %q", envRole, role, Viewer, Operator)
		}
		if prev, dup := ks.byKey[string(pk.Marshal())]; dup {
			bad("key %s is already on line %d", k.Fingerprint, prev.Line)
			continue
		}
		ks.byKey[string(pk.Marshal())] = k
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	return ks, nil
}

// unquote strips the double quotes of an option value ("a\"b" → a"b).
func unquote(s string) (string, error) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", errors.New("the value must be in double quotes")
	}
	return strings.ReplaceAll(s[1:len(s)-1], `\"`, `"`), nil
}

func fingerprint(k gossh.PublicKey) string { return gossh.FingerprintSHA256(k) }

func hostFingerprint(s gossh.Signer) string { return gossh.FingerprintSHA256(s.PublicKey()) }
