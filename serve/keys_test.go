package serve

import (
	"slices"
	"strings"
	"testing"
)

func TestParseKeys(t *testing.T) {
	a, b, c := newUser(t, "alice"), newUser(t, "bob"), newUser(t, "carol")
	src := strings.Join([]string{
		"# the team",
		"",
		`environment="MQSCOPE_ROLE=operator",environment="MQSCOPE_CONTEXTS=prod, staging" ` + a.line,
		b.line,
		`restrict,environment="LANG=C",environment="MQSCOPE_ROLE=viewer" ` + c.line,
	}, "\n")
	ks, err := ParseKeys("keys", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ka, _ := ks.Lookup(a.signer.PublicKey())
	kb, _ := ks.Lookup(b.signer.PublicKey())
	kc, ok := ks.Lookup(c.signer.PublicKey())
	if !ok || ks.Len() != 3 {
		t.Fatalf("want 3 keys, got %d", ks.Len())
	}
	if ka.Role != Operator || !slices.Equal(ka.Contexts, []string{"prod", "staging"}) || ka.Line != 3 || !ka.May("prod") || ka.May("dev") {
		t.Errorf("alice: %+v", ka)
	}
	if kb.Role != Viewer || kb.Contexts != nil || !kb.May("anything") || !strings.HasPrefix(kb.Fingerprint, "SHA256:") {
		t.Errorf("bob (no options) should be a viewer of every context: %+v", kb)
	}
	if kc.Role != Viewer || kc.Comment != "carol" {
		t.Errorf("carol: %+v", kc)
	}
}

func TestParseKeysErrorsNameTheLine(t *testing.T) {
	a := newUser(t, "alice")
	for _, tc := range []struct{ line, want string }{
		{"ssh-ed25519 notbase64 x", "keys:2: not an OpenSSH public key line"},
		{`environment="MQSCOPE_ROLE=admin" ` + a.line, `keys:2: MQSCOPE_ROLE="admin": want "viewer" or "operator"`},
		{`environment="MQSCOPE_ROLES=operator" ` + a.line, "keys:2: unknown MQSCOPE_ROLES"},
		{`environment="MQSCOPE_CONTEXTS=" ` + a.line, "keys:2: MQSCOPE_CONTEXTS is empty"},
		{`from="10.0.0.0/8" ` + a.line, `keys:2: option "from=\"10.0.0.0/8\"" is not supported`},
		{`command="ls" ` + a.line, `keys:2: option "command=\"ls\"" is not supported`},
	} {
		_, err := ParseKeys("keys", []byte("# first\n"+tc.line+"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %q", tc.line, err, tc.want)
		}
	}
	_, err := ParseKeys("keys", []byte(a.line+"\n"+`environment="MQSCOPE_ROLE=operator" `+a.line+"\n"))
	if err == nil || !strings.Contains(err.Error(), "keys:2: key SHA256:") || !strings.Contains(err.Error(), "already on line 1") {
		t.Errorf("a key twice: %v", err)
	}
}
