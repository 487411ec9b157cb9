package serve

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/internal/redisproc"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// BenchmarkSessions runs the real binary's `mqscope serve` on an embedded
// NATS and a private redis-server and opens 1, then 10, then 50 console
// sessions over SSH (real x/crypto/ssh clients with ptys), a third on each
// context (nats, nats-core, redis). At each step it reports the server's
// resident memory (/proc/PID/status VmRSS) and the connections each broker
// counts itself (nats-server's client count, Redis CLIENT LIST).
//
//	go test -run '^$' -bench BenchmarkSessions -benchtime 1x ./serve
func BenchmarkSessions(b *testing.B) {
	for range b.N {
		benchSessions(b)
	}
}

func benchSessions(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "mqscope")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	nats := testbroker.StartNATS(b)
	rs, err := redisproc.Start(context.Background(), redisproc.Options{TCP: true})
	if err != nil {
		b.Fatalf("a private redis-server is needed: %v", err)
	}
	b.Cleanup(func() { _ = rs.Close() })
	ropt, _ := redis.ParseURL(rs.URL())
	rdb := redis.NewClient(ropt)
	b.Cleanup(func() { _ = rdb.Close() })

	alice, carol, dave := newUser(b, "alice"), newUser(b, "carol"), newUser(b, "dave")
	keys := filepath.Join(dir, "authorized_keys")
	lines := []string{
		`environment="MQSCOPE_CONTEXTS=nats" ` + alice.line,
		`environment="MQSCOPE_CONTEXTS=nats-core" ` + carol.line,
		`environment="MQSCOPE_CONTEXTS=redis" ` + dave.line,
	}
	if err := os.WriteFile(keys, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	srv := exec.Command(bin, "serve", "--listen", addr, "--authorized-keys", keys, "--host-key", filepath.Join(dir, "hk"),
		"--max-sessions", "100", "--log-file", filepath.Join(dir, "log"))
	srv.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "MQSCOPE_NATS_URL=" + nats.URL(), "MQSCOPE_REDIS_URL=" + rs.URL()}
	var out strings.Builder
	srv.Stdout, srv.Stderr = &out, &out
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	f := &fixture{t: b, addr: addr}
	eventually(b, "the server listens", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	natsBase := nats.Server().NumClients()
	redisClients := func() int {
		s, err := rdb.ClientList(context.Background()).Result()
		if err != nil {
			b.Fatal(err)
		}
		return strings.Count(strings.TrimSpace(s), "\n") + 1 - 1 // not our own
	}
	settle := func() { time.Sleep(3 * time.Second) } // a refresh or so: the sessions have drawn and polled
	settle()
	base := rss(b, srv.Process.Pid)
	b.Logf("0 sessions: server RSS %d KiB", base)
	users := []user{alice, carol, dave}
	ctxs := []string{"ctx nats │", "ctx nats-core", "ctx redis"}
	var terms []*term
	var at1 int
	for _, n := range []int{1, 10, 50} {
		for i := len(terms); i < n; i++ {
			tm := f.console(users[i%3], 100, 30)
			tm.waitFor(fmt.Sprintf("session %d", i+1), ctxs[i%3], "connected")
			terms = append(terms, tm)
		}
		settle()
		r := rss(b, srv.Process.Pid)
		nc, rc := nats.Server().NumClients()-natsBase, redisClients()
		b.Logf("%2d sessions: server RSS %6d KiB (+%d KiB over none); broker connections: NATS %d, Redis %d", n, r, r-base, nc, rc)
		b.ReportMetric(float64(nc), fmt.Sprintf("nats-conns@%d", n))
		b.ReportMetric(float64(rc), fmt.Sprintf("redis-conns@%d", n))
		b.ReportMetric(float64(r), fmt.Sprintf("rss-KiB@%d", n))
		if n == 1 {
			at1 = r
		} else {
			b.ReportMetric(float64(r-at1)/float64(n-1), fmt.Sprintf("KiB/extra-session@%d", n))
		}
	}
	for _, tm := range terms {
		tm.send("q")
	}
	for _, tm := range terms {
		tm.wait()
	}
}

// rss is a process's resident set in KiB.
func rss(b testing.TB, pid int) int {
	fh, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
