package testbroker

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// NATSCluster is a cluster of in-process nats-servers with JetStream,
// routed to each other on loopback; each keeps its store in t.TempDir().
type NATSCluster struct {
	t       testing.TB
	mu      sync.Mutex
	servers []*server.Server
	opts    []*server.Options
}

// StartNATSCluster starts n servers (3 for R3 streams) and waits until
// JetStream has a meta leader; they are shut down when t ends.
func StartNATSCluster(t testing.TB, n int) *NATSCluster {
	t.Helper()
	clientPorts, routePorts := make([]int, n), make([]int, n)
	for i := range n {
		clientPorts[i], routePorts[i] = freePort(t), freePort(t)
	}
	var routes []*url.URL
	for _, p := range routePorts {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	c := &NATSCluster{t: t}
	name := Name(t, "c")
	dir := t.TempDir()
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("%s-%d", name, i), Host: "127.0.0.1", Port: clientPorts[i],
			JetStream: true, StoreDir: filepath.Join(dir, fmt.Sprint(i)), NoLog: true, NoSigs: true,
			Cluster: server.ClusterOpts{Name: name, Host: "127.0.0.1", Port: routePorts[i]},
			Routes:  routes,
		}
		c.opts = append(c.opts, o)
		c.servers = append(c.servers, c.start(o))
	}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, s := range c.servers {
			s.Shutdown()
			s.WaitForShutdown()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !c.ready() {
		if time.Now().After(deadline) {
			t.Fatalf("testbroker: NATS cluster of %d has no JetStream meta leader after 30s", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

func (c *NATSCluster) start(o *server.Options) *server.Server {
	c.t.Helper()
	cp := o.Clone()
	s, err := server.NewServer(cp)
	if err != nil {
		c.t.Fatalf("testbroker: cluster server %s: %v", o.ServerName, err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		c.t.Fatalf("testbroker: cluster server %s not ready", o.ServerName)
	}
	return s
}

func (c *NATSCluster) ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.servers {
		if s.Running() && s.JetStreamIsLeader() {
			return true
		}
	}
	return false
}

// URLs is the comma-separated client URLs of every server, as a user gives
// a server list.
func (c *NATSCluster) URLs() string {
	var out []string
	for _, o := range c.opts {
		out = append(out, fmt.Sprintf("nats://127.0.0.1:%d", o.Port))
	}
	return strings.Join(out, ",")
}

// URL is the client URL of server i.
func (c *NATSCluster) URL(i int) string { return fmt.Sprintf("nats://127.0.0.1:%d", c.opts[i].Port) }

// Index is the server whose client port is in addr ("" or unknown: -1).
func (c *NATSCluster) Index(addr string) int {
	for i, o := range c.opts {
		if strings.HasSuffix(addr, fmt.Sprintf(":%d", o.Port)) {
			return i
		}
	}
	return -1
}

// Shutdown stops server i.
func (c *NATSCluster) Shutdown(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.servers[i].Shutdown()
	c.servers[i].WaitForShutdown()
}

// Restart starts server i again with its store.
func (c *NATSCluster) Restart(i int) {
	c.t.Helper()
	s := c.start(c.opts[i])
	c.mu.Lock()
	c.servers[i] = s
	c.mu.Unlock()
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testbroker: free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ServerName is the name of server i (as JetStream names a stream leader).
func (c *NATSCluster) ServerName(i int) string { return c.opts[i].ServerName }
