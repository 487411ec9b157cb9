package testbroker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// ClusterMasters is how many masters the private Redis Cluster has.
const ClusterMasters = 3

var (
	clusterOnce  sync.Once
	clusterAddrs []string
	clusterErr   error
)

// RedisClusterAddrs returns the seed addresses ("127.0.0.1:port") of a Redis
// Cluster for tests, found once per test binary: MQSCOPE_TEST_REDIS_CLUSTER
// (comma-separated addresses of a running cluster), else a private cluster of
// ClusterMasters redis-server processes (no replicas, no persistence) started
// in a temporary directory; they die with the test binary. It fails, never
// skips, when redis-server or redis-cli is missing.
func RedisClusterAddrs(t testing.TB) []string {
	t.Helper()
	clusterOnce.Do(func() { clusterAddrs, clusterErr = findCluster() })
	if clusterErr != nil {
		t.Fatalf("testbroker: Redis Cluster: %v", clusterErr)
	}
	return clusterAddrs
}

// RedisClusterOptions returns options for a cluster client of the test
// cluster; name, when set, is every connection's CLIENT SETNAME (see
// KillRedisClusterClients).
func RedisClusterOptions(t testing.TB, name string) *redis.ClusterOptions {
	t.Helper()
	return &redis.ClusterOptions{Addrs: RedisClusterAddrs(t), ClientName: name}
}

// RedisCluster returns a client of the test cluster, closed when t ends.
func RedisCluster(t testing.TB) *redis.ClusterClient {
	t.Helper()
	c := redis.NewClusterClient(RedisClusterOptions(t, ""))
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func findCluster() ([]string, error) {
	if v := os.Getenv("MQSCOPE_TEST_REDIS_CLUSTER"); v != "" {
		addrs := strings.Split(v, ",")
		for i := range addrs {
			addrs[i] = strings.TrimSpace(addrs[i])
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := waitClusterOK(ctx, addrs); err != nil {
			return nil, fmt.Errorf("MQSCOPE_TEST_REDIS_CLUSTER=%s: %v", v, err)
		}
		return addrs, nil
	}
	server, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server is not on PATH, and MQSCOPE_TEST_REDIS_CLUSTER is not set: the cluster tests start a private 3-master Redis Cluster and need redis-server and redis-cli ≥ 6.2 (apt-get install redis-server redis-tools), or point MQSCOPE_TEST_REDIS_CLUSTER at a running cluster (host:port,…)")
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, errors.New("redis-cli is not on PATH, and MQSCOPE_TEST_REDIS_CLUSTER is not set: the cluster tests create their private Redis Cluster with redis-cli --cluster create (apt-get install redis-tools), or point MQSCOPE_TEST_REDIS_CLUSTER at a running cluster (host:port,…)")
	}
	removeStaleClusterDirs()
	dir, err := os.MkdirTemp("", "mqscope-rcluster-")
	if err != nil {
		return nil, err
	}
	// Marks the directory as this process's, so that a later run can remove
	// it once this process is gone (the servers die with it; the directory
	// must stay while they run: they rewrite their nodes.conf).
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	var (
		addrs []string
		procs []*os.Process
	)
	fail := func(err error) ([]string, error) {
		for _, p := range procs {
			_ = p.Kill()
		}
		return nil, fmt.Errorf("%w (logs in %s)", err, dir)
	}
	used := map[int]bool{} // a node not yet listening leaves its port looking free
	for i := 0; i < ClusterMasters; i++ {
		port, err := freeClusterPort()
		for try := 0; err == nil && (used[port] || used[port+10000]) && try < 50; try++ {
			port, err = freeClusterPort()
		}
		if err == nil && (used[port] || used[port+10000]) {
			err = fmt.Errorf("no free port for cluster node %d", i)
		}
		if err != nil {
			return fail(err)
		}
		used[port], used[port+10000] = true, true // its cluster bus port too
		nodeDir := filepath.Join(dir, strconv.Itoa(port))
		if err := os.Mkdir(nodeDir, 0o755); err != nil {
			return fail(err)
		}
		cmd := exec.Command(server, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
			"--save", "", "--appendonly", "no", "--dir", nodeDir, "--logfile", filepath.Join(nodeDir, "redis.log"))
		// The private servers die with the test binary.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return fail(fmt.Errorf("start redis-server (cluster node on port %d): %v", port, err))
		}
		procs = append(procs, cmd.Process)
		go func() { _ = cmd.Wait() }()
		addrs = append(addrs, "127.0.0.1:"+strconv.Itoa(port))
	}
	for _, a := range addrs {
		if err := waitPing(a, 5*time.Second); err != nil {
			return fail(fmt.Errorf("cluster node %s did not answer: %v", a, err))
		}
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		return fail(fmt.Errorf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out))
	}
	if err := waitClusterOK(ctx, addrs); err != nil {
		return fail(err)
	}
	return addrs, nil
}

// freeClusterPort finds a port that is free along with its cluster bus port
// (port+10000).
func freeClusterPort() (int, error) {
	for try := 0; try < 50; try++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if port+10000 > 65535 {
			l.Close()
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		l.Close()
		if err != nil {
			continue
		}
		bus.Close()
		return port, nil
	}
	return 0, errors.New("no free port pair (port, port+10000) for a cluster node")
}

func waitPing(addr string, d time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitClusterOK waits until every node reports cluster_state:ok and knows
// all the nodes (so that every node agrees on the slot map).
func waitClusterOK(ctx context.Context, addrs []string) error {
	var last string
	for {
		ok := true
		for _, a := range addrs {
			c := redis.NewClient(&redis.Options{Addr: a, DialTimeout: time.Second, MaxRetries: -1})
			info, err := c.ClusterInfo(ctx).Result()
			c.Close()
			if err != nil {
				ok, last = false, fmt.Sprintf("%s: CLUSTER INFO: %v", a, err)
				break
			}
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_assigned:16384") {
				ok, last = false, fmt.Sprintf("%s: %s", a, firstLines(info, 3))
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster did not reach cluster_state:ok: %s", last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(strings.TrimSpace(s), "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.ReplaceAll(strings.Join(lines, "; "), "\r", "")
}

// removeStaleClusterDirs removes the directories of earlier runs whose
// process is gone.
func removeStaleClusterDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "mqscope-rcluster-*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if syscall.Kill(pid, 0) == nil || pid == os.Getpid() {
			continue // still running (or a pid reused: leave it)
		}
		_ = os.RemoveAll(d)
	}
}

// CleanupRedisClusterKeys deletes every key matching pattern on every master
// of the cluster (SCAN per master, DEL per key: keys live in different
// slots) when t ends.
func CleanupRedisClusterKeys(t testing.TB, cc *redis.ClusterClient, pattern string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var mu sync.Mutex
		var keys []string
		_ = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
			for iter.Next(ctx) {
				mu.Lock()
				keys = append(keys, iter.Val())
				mu.Unlock()
			}
			return iter.Err()
		})
		pipe := cc.Pipeline()
		for _, k := range keys {
			pipe.Del(ctx, k)
		}
		if len(keys) > 0 {
			_, _ = pipe.Exec(ctx)
		}
	})
}

// KillRedisClusterClients kills, on every node of the cluster, each
// connection whose CLIENT SETNAME is name (redis.ClusterOptions.ClientName),
// simulating dropped links without touching other tests' connections. It
// returns how many it killed.
func KillRedisClusterClients(ctx context.Context, cc *redis.ClusterClient, name string) (int, error) {
	var mu sync.Mutex
	total := 0
	err := cc.ForEachShard(ctx, func(ctx context.Context, c *redis.Client) error {
		n, err := KillRedisClients(ctx, c, name)
		mu.Lock()
		total += n
		mu.Unlock()
		if err != nil {
			return fmt.Errorf("%s: %w", c.Options().Addr, err)
		}
		return nil
	})
	return total, err
}
