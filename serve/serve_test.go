package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mqscope/mqscope/internal/testbroker"
	"github.com/mqscope/mqscope/tui"
)

// TestMain fails the package when a session leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, append(testbroker.LeakOptions(),
		// a program that quits with a tick in flight leaves its timer to finish
		goleak.IgnoreAnyFunction("charm.land/bubbletea/v2.Tick.func1"),
		goleak.IgnoreAnyFunction("charm.land/bubbletea/v2.(*Program).execBatchMsg"),
	)...)
}

func operatorLine(u user) string { return `environment="MQSCOPE_ROLE=operator" ` + u.line }

// publish puts n messages on a fresh JetStream topic and returns its name.
func publish(t *testing.T, f *fixture, n int) string {
	t.Helper()
	// short enough to show whole in the NAME column
	topic := fmt.Sprintf("sv%08x", rand.Uint32())
	nc := f.nats.Connect(t)
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AddStream(&nats.StreamConfig{Name: topic, Subjects: []string{topic}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if _, err := js.Publish(topic, []byte(`{"n":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	return topic
}

func TestConsoleOpensForAnAcceptedKey(t *testing.T) {
	t.Parallel()
	alice := newUser(t, "alice")
	f := newFixture(t, []string{operatorLine(alice)}, nil)
	topic := publish(t, f, 3)
	tm := f.console(alice, 100, 30)
	s := tm.waitFor("the console's header and topics", "mqscope", "ctx nats", "connected", topic)
	if strings.Contains(s, "READ-ONLY") {
		t.Errorf("an operator's console says READ-ONLY:\n%s", tail(s, 2000))
	}
	// an action from the console is audited with the SSH user and key
	tm.send("P")
	tm.waitFor("the purge dialog", "type the topic name to confirm")
	tm.send(topic + "\r")
	tm.waitFor("the purge result", "purged 3 messages")
	fp := gossh.FingerprintSHA256(alice.signer.PublicKey())
	if log := f.log.String(); !strings.Contains(log, "ssh_user=alice ssh_key="+fp+" op=purge target="+topic) {
		t.Errorf("no audit line for the console's purge naming alice and %s:\n%s", fp, log)
	}
	tm.send("q")
	if code := tm.wait(); code != 0 {
		t.Errorf("exit %d after q", code)
	}
}

func TestUnknownKeyAndPasswordRefused(t *testing.T) {
	t.Parallel()
	alice, mallory := newUser(t, "alice"), newUser(t, "mallory")
	f := newFixture(t, []string{alice.line}, nil)
	if c, err := f.dial(mallory); err == nil {
		c.Close()
		t.Fatalf("an unknown key was let in")
	} else if !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("unknown key: %v, want an authentication failure", err)
	}
	if !strings.Contains(f.log.String(), "unknown key refused") || !strings.Contains(f.log.String(), gossh.FingerprintSHA256(mallory.signer.PublicKey())) {
		t.Errorf("the log does not name the refused key:\n%s", f.log.String())
	}
	for name, auth := range map[string]gossh.AuthMethod{
		"password": gossh.Password("secret"),
		"keyboard-interactive": gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			return []string{"secret"}, nil
		}),
	} {
		if c, err := f.dial(alice, auth); err == nil {
			c.Close()
			t.Errorf("%s authentication was accepted", name)
		} else if !strings.Contains(err.Error(), "no supported methods remain") && !strings.Contains(err.Error(), "unable to authenticate") {
			t.Errorf("%s: %v, want an authentication failure", name, err)
		}
	}
	// the same user with its key gets in
	f.mustDial(alice).Close()
}

func TestViewerCannotAct(t *testing.T) {
	t.Parallel()
	bob := newUser(t, "bob")
	f := newFixture(t, []string{bob.line}, nil) // no role: a viewer
	topic := publish(t, f, 2)
	tm := f.console(bob, 100, 30)
	tm.waitFor("a viewer's console", "READ-ONLY", topic, "publish✗")
	tm.send("?")
	tm.waitFor("help with the reason", "your key's role is viewer")
	tm.send("\x1b")
	time.Sleep(300 * time.Millisecond) // ESC then q at once reads as alt+q
	tm.send("q")
	tm.wait()

	out, errOut, code := f.run(bob, "purge --yes "+topic)
	if code != 3 || !strings.Contains(errOut, "read-only") {
		t.Errorf("viewer purge over SSH: exit %d, stderr %q, stdout %q; want 3 and read-only", code, errOut, out)
	}
	if !strings.Contains(f.log.String(), "audit: refused in read-only mode") || !strings.Contains(f.log.String(), "ssh_user=bob") {
		t.Errorf("no audit line naming bob for the refused purge:\n%s", f.log.String())
	}
	// nothing was purged
	out, errOut, code = f.run(bob, "topics -o json")
	if code != 0 || !strings.Contains(out, `"`+topic+`"`) {
		t.Fatalf("topics -o json: exit %d, stderr %q", code, errOut)
	}
	var ts []struct {
		Name     string `json:"name"`
		Messages uint64 `json:"messages"`
	}
	if err := json.Unmarshal([]byte(out), &ts); err != nil {
		t.Fatalf("topics -o json is not JSON: %v\n%s", err, out)
	}
	for _, x := range ts {
		if x.Name == topic && x.Messages != 2 {
			t.Errorf("%s has %d messages after a refused purge, want 2", topic, x.Messages)
		}
	}
}

func TestOperatorActsAndTheAuditNamesTheKey(t *testing.T) {
	t.Parallel()
	alice := newUser(t, "alice")
	f := newFixture(t, []string{operatorLine(alice)}, nil)
	topic := publish(t, f, 2)
	out, errOut, code := f.run(alice, "purge --yes "+topic)
	if code != 0 {
		t.Fatalf("operator purge: exit %d: %s%s", code, out, errOut)
	}
	fp := gossh.FingerprintSHA256(alice.signer.PublicKey())
	var audit string
	for _, l := range strings.Split(f.log.String(), "\n") {
		if strings.Contains(l, "msg=audit") && strings.Contains(l, "op=purge") {
			audit = l
		}
	}
	if !strings.Contains(audit, "ssh_user=alice") || !strings.Contains(audit, "ssh_key="+fp) || !strings.Contains(audit, "result=ok") {
		t.Errorf("audit line %q does not name alice and %s", audit, fp)
	}
	// without --yes nothing asks on a terminal: refused
	_, errOut, code = f.run(alice, "purge "+topic)
	if code != 3 || !strings.Contains(errOut, "--yes") {
		t.Errorf("purge without --yes over SSH: exit %d, %q; want 3 asking for --yes", code, errOut)
	}
	// flags that would reach the server's files or other brokers
	for _, cmd := range []string{"topics --config /etc/passwd", "topics --nats nats://10.0.0.1:4222", "topics --log-file /tmp/x", "pub --from /etc/passwd --to " + topic} {
		if _, errOut, code := f.run(alice, cmd); code != 2 || !strings.Contains(errOut, "server") {
			t.Errorf("%q over SSH: exit %d, %q; want 2 saying it is the server's", cmd, code, errOut)
		}
	}
}

func TestContextRestriction(t *testing.T) {
	t.Parallel()
	carol := newUser(t, "carol")
	f := newFixture(t, []string{`environment="MQSCOPE_ROLE=operator",environment="MQSCOPE_CONTEXTS=nats-core" ` + carol.line}, nil)
	if got := f.cfg.Names(); len(got) < 2 {
		t.Fatalf("the fixture needs two contexts, has %v", got)
	}
	_, errOut, code := f.run(carol, "topics --context nats")
	if code != 3 || !strings.Contains(errOut, "not allowed") {
		t.Errorf("a context the key may not open: exit %d, %q; want 3, not allowed", code, errOut)
	}
	if _, errOut, code := f.run(carol, "topics"); code != 0 {
		t.Errorf("topics on the key's own context: exit %d: %s", code, errOut)
	}
	tm := f.console(carol, 100, 30)
	tm.waitFor("the console on the allowed context", "ctx nats-core", "connected")
	tm.reset()
	tm.send(":ctx nats\r")
	tm.waitFor("the refusal", `no context "nats"`)
	tm.send("q")
	tm.wait()
}

func TestSessionsRenderAtTheirOwnSizes(t *testing.T) {
	t.Parallel()
	alice, bob := newUser(t, "alice"), newUser(t, "bob")
	f := newFixture(t, []string{operatorLine(alice), bob.line}, nil)
	topic := publish(t, f, 1)
	narrow := f.console(bob, 80, 24, "NO_COLOR=1")
	wide := f.console(alice, 160, 48)
	// at 80x24 one pane with a tab bar; at 160x48 the four panes side by side
	ns := narrow.waitFor("the 80x24 console", topic, "[1 Topics]")
	wide.waitFor("the 160x48 console", topic, "2 Groups", "3 Pending", "4 Tail")
	if strings.Contains(ns, "╭─ 2 Groups") {
		t.Errorf("the narrow console shows the wide one's panes")
	}
	// colour: the NO_COLOR session draws no colour at all, the other does
	if strings.Contains(narrow.raw(), "\x1b[38;") || strings.Contains(narrow.raw(), "\x1b[3") && strings.Contains(narrow.raw(), ";2;") {
		t.Errorf("the NO_COLOR session got colours")
	}
	if !strings.Contains(wide.raw(), "\x1b[38;") && !strings.Contains(wide.raw(), "\x1b[3") {
		t.Errorf("the colour session drew no colour")
	}
	// a resize reaches only its own console
	wide.reset()
	narrow.reset()
	if err := wide.s.WindowChange(24, 80); err != nil {
		t.Fatal(err)
	}
	wide.waitFor("the resized console", "[1 Topics]")
	if s := narrow.screen(); strings.Contains(s, "[1 Topics]") {
		t.Errorf("the other console redrew its tab bar on someone else's resize:\n%s", s)
	}
	narrow.send("q")
	wide.send("q")
	narrow.wait()
	wide.wait()
}

func TestOneBrokerConnectionPerContext(t *testing.T) {
	t.Parallel()
	alice, bob := newUser(t, "alice"), newUser(t, "bob")
	f := newFixture(t, []string{operatorLine(alice), bob.line}, nil)
	topic := publish(t, f, 1)
	base := f.nats.Server().NumClients() // the test's own publisher
	var terms []*term
	for i, u := range []user{alice, bob, alice} {
		tm := f.console(u, 100, 30)
		tm.waitFor("console "+string(rune('1'+i)), topic)
		terms = append(terms, tm)
	}
	if n := f.nats.Server().NumClients() - base; n != 1 {
		t.Errorf("three sessions on one context: the broker sees %d more connections, want 1", n)
	}
	f.mu.Lock()
	opens := f.opens
	f.mu.Unlock()
	if opens != 1 {
		t.Errorf("the server opened the context %d times, want once", opens)
	}
	for _, tm := range terms[:2] {
		tm.send("q")
		tm.wait()
	}
	if n := f.nats.Server().NumClients() - base; n != 1 {
		t.Errorf("with one session left the broker sees %d more connections, want 1", n)
	}
	terms[2].send("q")
	terms[2].wait()
	eventually(t, "the shared connection closes with the last session", func() bool {
		return f.nats.Server().NumClients() == base && f.srv.pool.clients() == 0
	})
}

func TestMaxSessions(t *testing.T) {
	t.Parallel()
	alice := newUser(t, "alice")
	f := newFixture(t, []string{operatorLine(alice)}, func(o *Options) { o.MaxSessions = 1 })
	first := f.console(alice, 80, 24)
	first.waitFor("the first console", "ctx nats")
	_, errOut, code := f.run(alice, "topics")
	if code != 3 || !strings.Contains(errOut, "limit of 1 sessions") {
		t.Errorf("a session beyond the limit: exit %d, %q", code, errOut)
	}
	first.send("q")
	first.wait()
	eventually(t, "a session is possible again", func() bool { return f.srv.active.Load() == 0 })
	if _, errOut, code := f.run(alice, "topics"); code != 0 {
		t.Errorf("after the first left: exit %d: %s", code, errOut)
	}
}

func TestIdleConsoleIsDisconnected(t *testing.T) {
	t.Parallel()
	alice := newUser(t, "alice")
	f := newFixture(t, []string{operatorLine(alice)}, func(o *Options) { o.IdleTimeout = 300e6 })
	tm := f.console(alice, 80, 24)
	tm.wait()
	if !strings.Contains(tm.screen(), "disconnected after 300ms with no input") {
		t.Errorf("the idle session was not told why:\n%s", tail(tm.screen(), 500))
	}
}

func TestHostKeyKeptAndReused(t *testing.T) {
	t.Parallel()
	alice := newUser(t, "alice")
	f := newFixture(t, []string{alice.line}, nil)
	path := f.srv.o.HostKey
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("host key mode %04o, want 0600", m)
	}
	seen := func() string {
		var fp string
		c, err := gossh.Dial("tcp", f.srv.Addr(), &gossh.ClientConfig{User: "alice", Auth: []gossh.AuthMethod{gossh.PublicKeys(alice.signer)},
			HostKeyCallback: func(_ string, _ net.Addr, k gossh.PublicKey) error { fp = gossh.FingerprintSHA256(k); return nil }})
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		return fp
	}
	first := seen()
	// a second server on the same path: the same host key
	o := f.srv.o
	f.start(o)
	if second := seen(); second != first {
		t.Errorf("host key changed across restarts: %s then %s", first, second)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := HostKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a host key others can read: %v", err)
	}
	if _, created, err := HostKey(filepath.Join(t.TempDir(), "new", "key")); err != nil || !created {
		t.Errorf("a missing host key is generated: created %v, %v", created, err)
	}
}

// TestStoppingServerEndsSessions: a stopping server quits each console the
// way its user would (restoring their terminal), says why, and waits.
func TestStoppingServerEndsSessions(t *testing.T) {
	t.Parallel()
	alice := newUser(t, "alice")
	f := newFixture(t, []string{operatorLine(alice)}, nil)
	tm := f.console(alice, 80, 24)
	tm.waitFor("the console", "ctx nats", "connected")
	f.stop()
	if code := tm.wait(); code != 0 {
		t.Errorf("exit %d", code)
	}
	if !strings.Contains(tm.screen(), "the server is stopping") {
		t.Errorf("the session was not told why it ended:\n%s", tail(tm.screen(), 500))
	}
	if !strings.Contains(tm.raw(), "\x1b[?1049l") {
		t.Errorf("the console did not leave the alternate screen before the connection closed")
	}
}

// TestQuitWhileConnecting: a console that quits while its context is still
// being opened gives the shared client back when the open completes (the
// console itself never sees that connect, so it cannot close it).
func TestQuitWhileConnecting(t *testing.T) {
	t.Parallel()
	alice := newUser(t, "alice")
	gate := make(chan struct{})
	var started sync.Once
	opening := make(chan struct{})
	f := newFixture(t, []string{operatorLine(alice)}, func(o *Options) {
		open := o.Open
		o.Open = func(ctx context.Context, name string) (*tui.Target, error) {
			started.Do(func() { close(opening) })
			<-gate // the broker is slow to answer
			return open(ctx, name)
		}
	})
	base := f.nats.Server().NumClients()
	tm := f.console(alice, 100, 30)
	<-opening
	tm.send("q")
	tm.wait()
	close(gate)
	eventually(t, "the client opened after the console quit is closed", func() bool {
		return f.nats.Server().NumClients() == base && f.srv.pool.clients() == 0
	})
}

// `contexts` over SSH lists what the key may open, as the key may use it:
// a viewer restricted to one context neither sees the others (their URLs
// are the server's business) nor reads "read_only: false" for its own.
func TestContextsCommandShowsTheKeysView(t *testing.T) {
	t.Parallel()
	bob := newUser(t, "bob")
	f := newFixture(t, []string{`environment="MQSCOPE_CONTEXTS=nats-core" ` + bob.line}, nil)
	if got := f.cfg.Names(); len(got) < 2 {
		t.Fatalf("the fixture needs two contexts, has %v", got)
	}
	out, errOut, code := f.run(bob, "contexts -o json")
	if code != 0 {
		t.Fatalf("contexts -o json: exit %d: %s", code, errOut)
	}
	var rows []struct {
		Name     string `json:"name"`
		ReadOnly bool   `json:"read_only"`
		Current  bool   `json:"current"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("contexts -o json is not JSON: %v\n%s", err, out)
	}
	if len(rows) != 1 || rows[0].Name != "nats-core" || !rows[0].ReadOnly || !rows[0].Current {
		t.Errorf("a viewer of nats-core sees %+v, want only nats-core, read-only and current", rows)
	}
}
