package main

// End-to-end: the real binary in tmux, driven with send-keys, asserted on
// capture-pane. It needs tmux (.ci/run installs it) and fails, not skips,
// without it. Run just this with ./scripts/e2e.sh (make e2e).

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mqscope/mqscope/internal/testbroker"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// mqscopeBinary builds the real binary once per test run (or uses
// MQSCOPE_E2E_BIN, which scripts/e2e.sh sets to bin/mqscope).
func mqscopeBinary(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("MQSCOPE_E2E_BIN"); b != "" {
		abs, err := filepath.Abs(b)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mqscope-e2e-bin-*")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "mqscope")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build mqscope: %v", buildErr)
	}
	return binPath
}

func requireTmux(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tmux")
	if err != nil {
		t.Fatalf("tmux is required for the end-to-end test and was not found in PATH: install it (Debian/Ubuntu: apt-get install -y tmux; macOS: brew install tmux); .ci/run installs it")
	}
	return p
}

// session is the binary running in its own tmux server.
type session struct {
	t      *testing.T
	tmux   string
	socket string
	home   string
	log    string
}

type sessionOpts struct {
	width, height int
	env           map[string]string
	args          []string
	// command, when set, runs instead of the binary (ssh to mqscope serve)
	command []string
}

func startSession(t *testing.T, o sessionOpts) *session {
	t.Helper()
	tmux := requireTmux(t)
	bin := mqscopeBinary(t)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	s := &session{t: t, tmux: tmux, socket: "mqscope-e2e-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(rnd[:]), home: t.TempDir()}
	s.log = filepath.Join(s.home, "mqscope.log")
	env := map[string]string{
		"HOME":                s.home,
		"XDG_CONFIG_HOME":     filepath.Join(s.home, "config"),
		"XDG_STATE_HOME":      filepath.Join(s.home, "state"),
		"TERM":                "xterm-256color",
		"MQSCOPE_DEMO_PREFIX": "mqscope-e2e-" + hex.EncodeToString(rnd[:]) + ":",
		// Debug logging makes a leak onto the screen likely if there is one.
		"MQSCOPE_LOG_LEVEL": "debug",
		"NO_COLOR":          "",
	}
	for k, v := range o.env {
		env[k] = v
	}
	// timeout: if this test process dies without its cleanup (killed, timed
	// out), the console still ends (SIGTERM: it cleans the demo up) and the
	// tmux server with it.
	cmd := []string{"timeout", "--foreground", "-s", "TERM", "300", "env", "-u", "NO_COLOR", "-u", "TMUX"}
	for k, v := range env {
		if k == "NO_COLOR" && v == "" {
			continue
		}
		cmd = append(cmd, k+"="+v)
	}
	if o.command != nil {
		cmd = append(cmd, o.command...)
	} else {
		cmd = append(cmd, bin, "--log-file", s.log)
		cmd = append(cmd, o.args...)
	}
	script := shellJoin(cmd) + `; echo "mqscope exited $?"; sleep 60`
	args := []string{"-L", s.socket, "-f", "/dev/null", "new-session", "-d", "-s", "e2e",
		"-x", strconv.Itoa(o.width), "-y", strconv.Itoa(o.height), "sh", "-c", script}
	if out, err := exec.Command(tmux, args...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	sockPath, _ := exec.Command(tmux, "-L", s.socket, "display-message", "-p", "#{socket_path}").Output()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last screen:\n%s", s.capture(false))
			if b, err := os.ReadFile(s.log); err == nil && len(b) > 0 {
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				if len(lines) > 15 {
					lines = lines[len(lines)-15:]
				}
				t.Logf("log tail:\n%s", strings.Join(lines, "\n"))
			}
		}
		// SIGHUP: mqscope shuts the demo down and deletes its Redis keys.
		_ = exec.Command(tmux, "-L", s.socket, "kill-server").Run()
		if p := strings.TrimSpace(string(sockPath)); p != "" {
			_ = os.Remove(p)
		}
	})
	return s
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func (s *session) capture(escapes bool) string {
	args := []string{"-L", s.socket, "capture-pane", "-p", "-t", "e2e"}
	if escapes {
		args = append(args, "-e")
	}
	out, err := exec.Command(s.tmux, args...).Output()
	if err != nil {
		return "(capture failed: " + err.Error() + ")"
	}
	return string(out)
}

func (s *session) keys(keys ...string) {
	s.t.Helper()
	for _, k := range keys {
		if out, err := exec.Command(s.tmux, "-L", s.socket, "send-keys", "-t", "e2e", k).CombinedOutput(); err != nil {
			s.t.Fatalf("tmux send-keys %q: %v\n%s", k, err, out)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// literal types text as-is (no key-name lookup).
func (s *session) literal(text string) {
	s.t.Helper()
	if out, err := exec.Command(s.tmux, "-L", s.socket, "send-keys", "-t", "e2e", "-l", text).CombinedOutput(); err != nil {
		s.t.Fatalf("tmux send-keys -l %q: %v\n%s", text, err, out)
	}
	time.Sleep(150 * time.Millisecond)
}

// waitFor polls the screen until match reports true; it returns the screen.
func (s *session) waitFor(what string, timeout time.Duration, match func(screen string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		scr := s.capture(false)
		if match(scr) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s: not on screen within %v", what, timeout)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *session) waitText(timeout time.Duration, texts ...string) string {
	s.t.Helper()
	return s.waitFor(strings.Join(texts, " + "), timeout, func(scr string) bool {
		for _, x := range texts {
			if !strings.Contains(scr, x) {
				return false
			}
		}
		return true
	})
}

// logLeak matches slog text lines and common library log prefixes.
var logLeak = regexp.MustCompile(`level=(DEBUG|INFO|WARN|ERROR)|time=20\d\d-|msg=|redis: 20\d\d/|\[(INF|WRN|ERR|DBG)\]`)

func (s *session) assertNoLogOnScreen(scr string) {
	s.t.Helper()
	if m := logLeak.FindString(scr); m != "" {
		s.t.Errorf("log output on the screen (%q):\n%s", m, scr)
	}
}

func (s *session) quit() {
	s.t.Helper()
	s.keys("Escape")
	s.literal(":q")
	s.keys("Enter")
	s.waitText(20*time.Second, "mqscope exited 0")
}

// colourSGR finds SGR sequences that set a foreground/background colour.
var sgr = regexp.MustCompile(`\x1b\[([0-9;:]*)m`)

func hasColour(screen string) bool {
	for _, m := range sgr.FindAllStringSubmatch(screen, -1) {
		for _, p := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ';' || r == ':' }) {
			n, _ := strconv.Atoi(p)
			if (n >= 30 && n <= 38) || (n >= 40 && n <= 48) || (n >= 90 && n <= 97) || (n >= 100 && n <= 107) {
				return true
			}
		}
	}
	return false
}

func TestE2EDemo(t *testing.T) {
	s := startSession(t, sessionOpts{width: 80, height: 24})

	// The demo opens, says so, and lists its topics.
	scr := s.waitText(45*time.Second, "demo-jetstream", "connected", "orders", "inventory", "orders_dlq")
	header := strings.SplitN(scr, "\n", 2)[0]
	if !strings.Contains(header, "demo") || !strings.Contains(header, "nats_jetstream") {
		t.Errorf("header does not say demo / backend: %q", header)
	}
	if strings.Contains(header, "READ-ONLY") {
		t.Errorf("read-only badge without --read-only: %q", header)
	}
	// 80x24 fits: the header is the first row and the key hints the last
	// (an overflowing layout scrolls the header away or pushes the footer off).
	rows := strings.Split(strings.TrimRight(scr, "\n"), "\n")
	if len(rows) != 24 || !strings.HasPrefix(rows[0], "mqscope") || !strings.Contains(rows[23], "help") {
		t.Errorf("80x24 layout: %d rows, first %q, last %q", len(rows), rows[0], rows[len(rows)-1])
	}
	s.assertNoLogOnScreen(scr)
	if !hasColour(s.capture(true)) {
		t.Errorf("no colour on a 256-colour terminal without NO_COLOR")
	}

	// `/` filters the list; clearing the filter brings everything back.
	s.keys("/")
	s.literal("inv")
	s.keys("Enter")
	scr = s.waitFor("filtered topics", 10*time.Second, func(scr string) bool {
		return strings.Contains(scr, "inventory") && !strings.Contains(scr, "orders_dlq")
	})
	s.keys("/", "BSpace", "BSpace", "BSpace", "Enter")
	s.waitText(10*time.Second, "orders_dlq", "inventory")

	// Navigate: topics → orders → its groups, with the stuck one first.
	s.keys("g", "Down")
	s.keys("Enter")
	scr = s.waitText(20*time.Second, "billing", "fulfillment", "fraud-check")
	if !strings.Contains(scr, "! billing") && !strings.Contains(scr, "STUCK") {
		t.Errorf("stuck group not marked:\n%s", scr)
	}
	if bi, fi := strings.Index(scr, "billing"), strings.Index(scr, "fulfillment"); bi > fi {
		t.Errorf("stuck group billing is not sorted first:\n%s", scr)
	}
	s.assertNoLogOnScreen(scr)

	// The tail shows live order messages.
	s.keys("4")
	scr = s.waitText(20*time.Second, "orders.", `"order_id"`)
	s.assertNoLogOnScreen(scr)

	// `?` shows full help; esc closes it.
	// At 80x24 help scrolls: the pane's own keys first, G reaches the
	// global ones at the end.
	s.keys("?")
	s.waitText(10*time.Second, "Help", "Tail", "more below")
	s.keys("G")
	s.waitText(10*time.Second, "Help", "quit", "refresh", "end (k/pgup")
	s.keys("Escape")
	s.waitFor("help closed", 10*time.Second, func(scr string) bool { return !strings.Contains(scr, "scroll this help") })

	// :ctx switches to the demo's NATS Core context: the telemetry firehose
	// shows up as observed subjects.
	s.literal(":ctx demo-core")
	s.keys("Enter")
	s.waitText(30*time.Second, "ctx demo-core", "nats_core", "connected")
	s.keys("1")
	scr = s.waitText(30*time.Second, "telemetry.")
	s.assertNoLogOnScreen(scr)
	// ...and to the Redis one when the local Redis answers (the demo seeds it
	// only then).
	if c, err := net.DialTimeout("tcp", "127.0.0.1:6379", time.Second); err == nil {
		c.Close()
		s.literal(":ctx demo-redis")
		s.keys("Enter")
		scr = s.waitText(30*time.Second, "ctx demo-redis", "redis_stream", "connected")
		s.assertNoLogOnScreen(scr)
	}

	// `:q` quits cleanly, and the log went to the file, not the screen.
	s.quit()
	s.assertNoLogOnScreen(s.capture(false))
	b, err := os.ReadFile(s.log)
	if err != nil {
		t.Fatalf("log file: %v", err)
	}
	if !strings.Contains(string(b), "mqscope starting") || !strings.Contains(string(b), "demo: running") || !strings.Contains(string(b), "mqscope stopped") {
		t.Errorf("log file lacks the expected lines:\n%s", b)
	}
}

func TestE2EReadOnlyNoColorASCII(t *testing.T) {
	s := startSession(t, sessionOpts{width: 80, height: 24, env: map[string]string{"NO_COLOR": "1"}, args: []string{"--read-only", "--ascii"}})
	scr := s.waitText(45*time.Second, "demo-jetstream", "connected", "orders")
	if header := strings.SplitN(scr, "\n", 2)[0]; !strings.Contains(header, "READ-ONLY") {
		t.Errorf("no read-only badge in the header: %q", header)
	}
	if esc := s.capture(true); hasColour(esc) {
		t.Errorf("colour escapes with NO_COLOR set:\n%q", esc)
	}
	if strings.ContainsAny(scr, "╭╮╰╯─") {
		t.Errorf("box-drawing borders with --ascii:\n%s", scr)
	}

	// Publishing is refused, with the reason.
	s.keys("p")
	scr = s.waitText(10*time.Second, "read-only")
	if strings.Contains(scr, "Publish to") {
		t.Errorf("publish dialog opened in read-only mode:\n%s", scr)
	}
	s.assertNoLogOnScreen(scr)
	s.quit()
}

// TestE2EConfigContexts runs against real brokers from a config file (no
// demo): the embedded NATS for JetStream and the local Redis, switching
// contexts with :ctx.
func TestE2EConfigContexts(t *testing.T) {
	nats := testbroker.StartNATS(t)
	redisURL := testbroker.RedisURL(t)
	cfg := filepath.Join(t.TempDir(), "config.toml")
	conf := fmt.Sprintf(`default_context = "js"
[contexts.js]
backend = "nats_jetstream"
url = %q
[contexts.red]
backend = "redis_stream"
url = %q
read_only = true
`, nats.URL(), redisURL)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startSession(t, sessionOpts{width: 100, height: 30, args: []string{"--config", cfg}})
	scr := s.waitText(30*time.Second, "ctx js", "connected", "nats_jetstream")
	header := strings.SplitN(scr, "\n", 2)[0]
	if strings.Contains(header, "demo") {
		t.Errorf("a configured context is labelled demo: %q", header)
	}
	s.literal(":ctx red")
	s.keys("Enter")
	scr = s.waitText(30*time.Second, "ctx red", "redis_stream", "connected")
	if header := strings.SplitN(scr, "\n", 2)[0]; !strings.Contains(header, "READ-ONLY") {
		t.Errorf("context with read_only = true has no read-only badge: %q", header)
	}
	s.assertNoLogOnScreen(scr)
	s.quit()
}

// TestE2EDumbTerminal: TERM=dumb gets plain-ASCII borders without --ascii.
func TestE2EDumbTerminal(t *testing.T) {
	s := startSession(t, sessionOpts{width: 80, height: 24, env: map[string]string{"TERM": "dumb"}})
	scr := s.waitText(45*time.Second, "demo-jetstream", "connected", "orders", "+-")
	if strings.ContainsAny(scr, "╭╮╰╯─│") {
		t.Errorf("box-drawing characters on a dumb terminal:\n%s", scr)
	}
	s.assertNoLogOnScreen(scr)
	s.quit()
}

// TestE2EServeOverSSH: mqscope serve on a NATS context, reached with the
// real ssh client in tmux; an operator's console, then a viewer's command.
func TestE2EServeOverSSH(t *testing.T) {
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Fatalf("the OpenSSH client (ssh) is required for the serve end-to-end test and was not found in PATH: install it (Debian/Ubuntu: apt-get install -y openssh-client; macOS: it comes with the system)")
	}
	nats := testbroker.StartNATS(t)
	dir := t.TempDir()
	key := func(name string) (string, string) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		block, err := gossh.MarshalPrivateKey(priv, name)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		signer, _ := gossh.NewSignerFromKey(priv)
		return path, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + name
	}
	opKey, opLine := key("alice")
	viewKey, viewLine := key("bob")
	keys := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(keys, []byte(`environment="MQSCOPE_ROLE=operator" `+opLine+"\n"+viewLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_ = l.Close()
	logFile := filepath.Join(dir, "serve.log")
	srv := exec.Command(mqscopeBinary(t), "serve", "--nats", nats.URL(), "--listen", "127.0.0.1:"+port,
		"--authorized-keys", keys, "--host-key", filepath.Join(dir, "host_key"), "--log-file", logFile)
	srv.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_STATE_HOME="+filepath.Join(dir, "state"))
	var srvOut strings.Builder
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	ssh := func(key string, extra ...string) []string {
		return append([]string{sshBin, "-i", key, "-p", port, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-o", "ConnectionAttempts=30"}, extra...)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mqscope serve is not listening on %s: %v\n%s", port, err, srvOut.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	s := startSession(t, sessionOpts{width: 100, height: 30, command: ssh(opKey, "-t", "alice@127.0.0.1")})
	scr := s.waitText(30*time.Second, "ctx nats", "connected", "nats_jetstream")
	if strings.Contains(strings.SplitN(scr, "\n", 2)[0], "READ-ONLY") {
		t.Errorf("the operator's console is read-only:\n%s", scr)
	}
	s.assertNoLogOnScreen(scr)
	s.quit()

	v := startSession(t, sessionOpts{width: 100, height: 30, command: ssh(viewKey, "bob@127.0.0.1", "--", "purge", "--yes", "orders")})
	v.waitText(30*time.Second, "read-only", "mqscope exited 3")
	b, _ := os.ReadFile(logFile)
	if !strings.Contains(string(b), "ssh_user=bob") || !strings.Contains(string(b), "audit: refused in read-only mode") {
		t.Errorf("the server's log has no audit line naming bob:\n%s", b)
	}
}
