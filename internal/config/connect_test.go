package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	_ "github.com/mqscope/mqscope/backends"
	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// authServer runs a real nats-server that wants user/password or a token.
func authServer(t *testing.T, o *server.Options) string {
	t.Helper()
	o.Host, o.Port, o.NoLog, o.NoSigs = "127.0.0.1", server.RANDOM_PORT, true, true
	o.JetStream, o.StoreDir = true, t.TempDir()
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}

func connect(t *testing.T, c Context) (*Conn, error) {
	t.Helper()
	if c.Timeout == 0 {
		c.Timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := c.Connect(ctx, nil)
	if err == nil {
		t.Cleanup(func() { _ = conn.Close() })
	}
	return conn, err
}

func TestConnectNATSAuth(t *testing.T) {
	t.Parallel()
	url := authServer(t, &server.Options{Username: "ops", Password: "s3cret"})
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	envName := "MQSCOPE_TEST_PW_" + strings.ToUpper(testbroker.Name(t, "x"))
	envName = strings.NewReplacer("-", "_", ".", "_").Replace(envName)
	os.Setenv(envName, "s3cret") // unique name: safe with parallel tests
	t.Cleanup(func() { os.Unsetenv(envName) })

	base := Context{Name: "auth", Backend: core.DriverJetStream, URL: url, User: "ops", DLQSuffix: ".dlq"}
	tests := []struct {
		name    string
		mod     func(c *Context)
		wantErr string
	}{
		{"password_file", func(c *Context) { c.PasswordFile = pwFile }, ""},
		{"password_env", func(c *Context) { c.PasswordEnv = envName }, ""},
		{"natscli inline password", func(c *Context) { c.password = "s3cret" }, ""},
		{"wrong password", func(c *Context) { c.password = "nope" }, "context auth: connect to NATS"},
		{"unset env", func(c *Context) { c.PasswordEnv = envName + "_UNSET" }, "environment variable " + envName + "_UNSET is not set"},
		{"missing file", func(c *Context) { c.PasswordFile = filepath.Join(dir, "none") }, "password_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.mod(&c)
			conn, err := connect(t, c)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			if conn.Client.Driver() != core.DriverJetStream || strings.Contains(conn.Address, "s3cret") {
				t.Errorf("driver %s address %q", conn.Client.Driver(), conn.Address)
			}
			info, err := conn.Client.Operator().ServerInfo(context.Background())
			if err != nil || !info.Connected() {
				t.Errorf("server info: %+v %v", info, err)
			}
		})
	}
}

func TestConnectNATSToken(t *testing.T) {
	t.Parallel()
	url := authServer(t, &server.Options{Authorization: "tok-123"})
	tokFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokFile, []byte("tok-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Context{Name: "tok", Backend: core.DriverNATSCore, URL: url, TokenFile: tokFile}
	if _, err := connect(t, c); err != nil {
		t.Fatalf("token_file: %v", err)
	}
	c.TokenFile = ""
	if _, err := connect(t, c); err == nil {
		t.Fatal("connected without the token")
	}
}

func TestConnectNATSTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	caPEM, certFile, keyFile := selfSigned(t, dir)
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	url := authServer(t, &server.Options{TLSConfig: tc, TLS: true})
	c := Context{Name: "tls", Backend: core.DriverNATSCore, URL: strings.Replace(url, "nats://", "tls://", 1), TLS: TLS{CA: caPEM}}
	conn, err := connect(t, c)
	if err != nil {
		t.Fatalf("TLS with ca: %v", err)
	}
	if conn.Client.Driver() != core.DriverNATSCore {
		t.Errorf("driver %s", conn.Client.Driver())
	}
	// Without the CA the certificate is not trusted...
	c.TLS = TLS{ServerName: "127.0.0.1"}
	if _, err := connect(t, c); err == nil {
		t.Fatal("TLS without the CA connected")
	}
	// ...unless verification is skipped on purpose.
	c.TLS = TLS{InsecureSkipVerify: true}
	if _, err := connect(t, c); err != nil {
		t.Fatalf("insecure_skip_verify: %v", err)
	}
	c.TLS = TLS{CA: filepath.Join(dir, "missing.pem")}
	if _, err := connect(t, c); err == nil || !strings.Contains(err.Error(), "tls.ca") {
		t.Fatalf("missing CA file: %v", err)
	}
}

func TestConnectRedis(t *testing.T) {
	t.Parallel()
	url := testbroker.RedisURL(t)
	c := Context{Name: "r", Backend: core.DriverRedisStream, URL: url, DLQSuffix: "-dead", ReadOnly: true,
		Stuck: core.StuckThresholds{PendingIdle: time.Second}}
	conn, err := connect(t, c)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	op := conn.Client.Operator()
	if conn.Client.Driver() != core.DriverRedisStream || !op.ReadOnly() || op.DLQSuffix() != "-dead" {
		t.Errorf("driver %s read-only %v suffix %q", conn.Client.Driver(), op.ReadOnly(), op.DLQSuffix())
	}
	if _, err := op.Purge(context.Background(), testbroker.Name(t, "s")); err == nil {
		t.Error("a read-only context allowed a purge")
	}
	// A dead address fails within the timeout, naming the context.
	dead := Context{Name: "dead", Backend: core.DriverRedisStream, URL: "redis://127.0.0.1:1/0", Timeout: time.Second}
	start := time.Now()
	if _, err := connect(t, dead); err == nil || !strings.Contains(err.Error(), "context dead") {
		t.Fatalf("dead redis: %v", err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("dead redis took %v", d)
	}
	// An ACL user that does not exist is refused by the server: user and
	// password really are sent.
	bad := c
	bad.User, bad.password = "no-such-user-"+testbroker.Name(t, "u"), "x"
	if _, err := connect(t, bad); err == nil || !strings.Contains(err.Error(), "context r") {
		t.Errorf("AUTH as a user that does not exist: %v", err)
	}
}

// TestConnectRedisCluster connects a cluster = true context to a real
// private 3-master cluster from seed nodes in the URL, and publishes to topics
// that land on different masters.
func TestConnectRedisCluster(t *testing.T) {
	t.Parallel()
	addrs := testbroker.RedisClusterAddrs(t)
	url := "redis://" + addrs[0]
	for _, a := range addrs[1:] {
		url += map[bool]string{true: "?", false: "&"}[!strings.Contains(url, "?")] + "addr=" + a
	}
	c := Context{Name: "rc", Backend: core.DriverRedisStream, URL: url, Cluster: true}
	conn, err := connect(t, c)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	info, err := conn.Client.Operator().ServerInfo(context.Background())
	if err != nil || !info.Connected() {
		t.Fatalf("ServerInfo: %+v %v", info, err)
	}
	admin := testbroker.RedisCluster(t)
	for i := 0; i < 6; i++ { // six names spread over the three masters
		topic := testbroker.Name(t, "rc")
		testbroker.CleanupRedisClusterKeys(t, admin, topic)
		if err := conn.Client.Publish(context.Background(), topic, []byte("x")); err != nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
		if n := admin.XLen(context.Background(), topic).Val(); n != 1 {
			t.Fatalf("%s holds %d entries, want 1", topic, n)
		}
	}
	// A single-node context would refuse the cluster URL's addr= parameters.
	single := c
	single.Cluster = false
	if _, err := connect(t, single); err == nil {
		t.Error("a cluster URL was accepted by a single-node context")
	}
}

func TestConnectCancel(t *testing.T) {
	t.Parallel()
	// A listener that accepts and never answers: the NATS dial hangs until
	// ctx is cancelled.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c := Context{Name: "hang", Backend: core.DriverNATSCore, URL: "nats://" + ln.Addr().String(), Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Connect(ctx, nil)
	if err == nil {
		t.Fatal("connected to a silent listener")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v to take effect", d)
	}
}

// selfSigned writes a CA-less self-signed certificate for 127.0.0.1 and
// returns the PEM path (used as the CA), the cert and the key paths.
func selfSigned(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, cert, key
}

// TestConnectNATSWithoutJetStream: --nats (or a natscli context) to a plain
// NATS server opens as NATS Core and says so; a context that declares
// nats_jetstream is not changed behind its back.
func TestConnectNATSWithoutJetStream(t *testing.T) {
	t.Parallel()
	o := &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(s.Shutdown)

	implied := Context{Name: "plain", Backend: core.DriverJetStream, URL: s.ClientURL(), FallbackToCore: true}
	conn, err := connect(t, implied)
	if err != nil {
		t.Fatalf("Connect with fallback: %v", err)
	}
	if conn.Client.Driver() != core.DriverNATSCore {
		t.Errorf("driver %s, want %s", conn.Client.Driver(), core.DriverNATSCore)
	}
	if !strings.Contains(conn.Notice, "JetStream is not enabled") || !strings.Contains(conn.Notice, "NATS Core") {
		t.Errorf("notice %q does not say what happened", conn.Notice)
	}
	caps := conn.Client.Operator().Capabilities(context.Background())
	if ok, why := caps.Can(core.OpHistory); ok || why == "" {
		t.Errorf("history on the fallback: %v %q", ok, why)
	}

	declared := implied
	declared.Name, declared.FallbackToCore = "declared", false
	if _, err := connect(t, declared); err == nil || !JetStreamDisabled(err) || !strings.Contains(err.Error(), "JetStream disabled") {
		t.Errorf("declared nats_jetstream on a plain server: %v", err)
	}
}

// TestConnectPlainRedisToTLSPort: redis:// to a port that speaks TLS says
// so, instead of a bare EOF.
func TestConnectPlainRedisToTLSPort(t *testing.T) {
	t.Parallel()
	_, certFile, keyFile := selfSigned(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = c.Read(make([]byte, 64)); c.Close() }() // the handshake fails on RESP bytes
		}
	}()
	c := Context{Name: "tlsport", Backend: core.DriverRedisStream, URL: "redis://" + ln.Addr().String(), Timeout: 2 * time.Second}
	if _, err := connect(t, c); err == nil || !strings.Contains(err.Error(), "try rediss://") {
		t.Errorf("plain redis:// to a TLS port: %v", err)
	}
}

// TestTokenInURLNotShown: a token in the URL (nats://TOKEN@host) connects
// but shows nowhere: not in the header's address, not in ServerInfo, not in
// the error of a wrong one.
func TestTokenInURLNotShown(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-t0ken"
	url := authServer(t, &server.Options{Authorization: secret})
	withTok := strings.Replace(url, "nats://", "nats://"+secret+"@", 1)
	for _, drv := range []core.Driver{core.DriverNATSCore, core.DriverJetStream} {
		conn, err := connect(t, Context{Name: "tok", Backend: drv, URL: withTok})
		if err != nil {
			t.Fatalf("%s with the token in the URL: %v", drv, err)
		}
		si, err := conn.Client.Operator().ServerInfo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(conn.Address, secret) || strings.Contains(si.Address, secret) || si.Address == "" {
			t.Errorf("%s: address %q / server info %q shows the token", drv, conn.Address, si.Address)
		}
	}
	wrong := strings.Replace(url, "nats://", "nats://wrong-"+secret+"@", 1)
	if _, err := connect(t, Context{Name: "tok", Backend: core.DriverNATSCore, URL: wrong}); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("a wrong token: %v", err)
	}
}
