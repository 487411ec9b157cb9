package config

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
)

// Conn is a connected context: the client, and what to close.
type Conn struct {
	Client *core.Client
	// Address is the server address without credentials, for the header.
	Address string
	// Notice says what Connect did that the operator did not ask for (a
	// JetStream context opened as NATS Core on a server without JetStream).
	Notice string
	nc     *nats.Conn
	rdb    redis.UniversalClient
}

// Close closes the client, then the connection Connect dialled.
func (c *Conn) Close() error {
	err := c.Client.Close()
	if c.nc != nil {
		c.nc.Close()
	}
	if c.rdb != nil {
		if cerr := c.rdb.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// CoreConfig is the core.Config of the context.
func (c Context) CoreConfig() core.Config {
	return core.Config{
		Driver:        c.Backend,
		NATSURL:       c.URL,
		RedisURL:      c.URL,
		DialTimeout:   c.Timeout,
		CreateStreams: c.CreateStreams,
		Consumer:      c.Consumer,
		DLQSuffix:     c.DLQSuffix,
		ReadOnly:      c.ReadOnly,
	}
}

// Connect dials the context's broker with its auth and TLS settings and
// builds a core.Client on that connection. Cancelling ctx abandons the dial.
// A failure is logged at warn (auth and connection problems must show in the
// log at its default level).
func (c Context) Connect(ctx context.Context, logger *slog.Logger, extra ...core.Option) (*Conn, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	conn, err := c.connect(ctx, logger, extra...)
	if err != nil && ctx.Err() == nil {
		logger.Warn("connect failed", "context", c.Name, "backend", string(c.Backend), "url", core.RedactURL(c.URL), "err", err)
	}
	return conn, err
}

func (c Context) connect(ctx context.Context, logger *slog.Logger, extra ...core.Option) (*Conn, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	opts := append([]core.Option{core.WithLogger(logger.With("context", c.Name)), core.WithStuckThresholds(c.Stuck)}, extra...)
	cfg := c.CoreConfig()
	cfg.DialTimeout = timeout
	switch c.Backend {
	case core.DriverNATSCore, core.DriverJetStream:
		nopts, err := c.natsOptions(timeout)
		if err != nil {
			return nil, err
		}
		nc, err := dial(ctx, func() (*nats.Conn, error) { return nats.Connect(c.URL, nopts...) }, func(nc *nats.Conn) { nc.Close() })
		if err != nil {
			return nil, fmt.Errorf("context %s: connect to NATS at %s: %w", c.Name, core.RedactURL(c.URL), err)
		}
		addr := core.RedactURL(nc.ConnectedUrl())
		if addr == "" {
			addr = core.RedactURL(c.URL)
		}
		var notice string
		cl, err := core.New(&cfg, append(opts, core.WithNATSConnector(nc))...)
		if err != nil && c.FallbackToCore && JetStreamDisabled(err) {
			// Plain NATS is common: open what the server offers and say why.
			cfg.Driver = core.DriverNATSCore
			cl, err = core.New(&cfg, append(opts, core.WithNATSConnector(nc))...)
			notice = fmt.Sprintf("JetStream is not enabled on %s: opened as NATS Core (no stored history or groups)", addr)
			logger.Warn("context opened as NATS Core: the server has no JetStream", "context", c.Name, "server", addr)
		}
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("context %s: %w", c.Name, err)
		}
		return &Conn{Client: cl, Address: addr, Notice: notice, nc: nc}, nil
	case core.DriverRedisStream:
		rdb, err := c.redisClient(timeout)
		if err != nil {
			return nil, err
		}
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err = rdb.Ping(pctx).Err()
		cancel()
		if err != nil {
			rdb.Close()
			hint := ""
			if strings.HasPrefix(c.URL, "redis://") && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
				hint = " (the server closed the connection: does it speak TLS? try rediss://)"
			}
			return nil, fmt.Errorf("context %s: connect to Redis at %s: %w%s", c.Name, core.RedactURL(c.URL), err, hint)
		}
		cl, err := core.New(&cfg, append(opts, core.WithRedisConnector(rdb))...)
		if err != nil {
			rdb.Close()
			return nil, fmt.Errorf("context %s: %w", c.Name, err)
		}
		return &Conn{Client: cl, Address: core.RedactURL(c.URL), rdb: rdb}, nil
	}
	return nil, fmt.Errorf("context %s: unknown backend %q", c.Name, c.Backend)
}

// JetStreamDisabled reports whether err says the server (or the account)
// has no JetStream.
func JetStreamDisabled(err error) bool {
	return errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount)
}

// dial runs a blocking connect so that ctx can abandon it; a connection
// that arrives late is closed.
func dial[T any](ctx context.Context, connect func() (T, error), closeFn func(T)) (T, error) {
	type res struct {
		v   T
		err error
	}
	ch := make(chan res, 1)
	go func() {
		v, err := connect()
		ch <- res{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.err == nil {
				closeFn(r.v)
			}
		}()
		var zero T
		return zero, ctx.Err()
	}
}

func (c Context) natsOptions(timeout time.Duration) ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Name("mqscope"),
		nats.Timeout(timeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
	}
	password, err := c.secret("password", c.password, c.PasswordEnv, c.PasswordFile)
	if err != nil {
		return nil, err
	}
	token, err := c.secret("token", c.token, c.TokenEnv, c.TokenFile)
	if err != nil {
		return nil, err
	}
	if c.User != "" {
		opts = append(opts, nats.UserInfo(c.User, password))
	}
	if token != "" {
		opts = append(opts, nats.Token(token))
	}
	if c.CredsFile != "" {
		if err := readable(c.CredsFile); err != nil {
			return nil, fmt.Errorf("context %s: creds_file: %w", c.Name, err)
		}
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	if c.NKeyFile != "" {
		o, err := nats.NkeyOptionFromSeed(c.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("context %s: nkey_file %s: %w", c.Name, c.NKeyFile, err)
		}
		opts = append(opts, o)
	}
	if c.TLS.enabled() {
		tc, err := c.tlsConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(tc))
		if c.TLS.HandshakeFirst {
			opts = append(opts, nats.TLSHandshakeFirst())
		}
	}
	return opts, nil
}

// redisClient builds a single-node client, or a cluster client when the
// context says cluster = true (seed nodes from the URL and its addr=
// parameters; the rest are discovered).
func (c Context) redisClient(timeout time.Duration) (redis.UniversalClient, error) {
	if !c.Cluster {
		o, err := redis.ParseURL(c.URL)
		if err != nil {
			return nil, fmt.Errorf("context %s: Redis URL %s: %w", c.Name, core.RedactURL(c.URL), err)
		}
		if o.Username, o.Password, o.TLSConfig, err = c.redisAuth(o.Username, o.Password, o.TLSConfig); err != nil {
			return nil, err
		}
		o.DialTimeout, o.ClientName = timeout, "mqscope"
		return redis.NewClient(o), nil
	}
	o, err := redis.ParseClusterURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("context %s: Redis Cluster URL %s: %w", c.Name, core.RedactURL(c.URL), err)
	}
	if o.Username, o.Password, o.TLSConfig, err = c.redisAuth(o.Username, o.Password, o.TLSConfig); err != nil {
		return nil, err
	}
	o.DialTimeout, o.ClientName = timeout, "mqscope"
	return redis.NewClusterClient(o), nil
}

// redisAuth applies the context's user, password and TLS settings over
// what the URL said.
func (c Context) redisAuth(user, password string, urlTLS *tls.Config) (string, string, *tls.Config, error) {
	if c.User != "" {
		user = c.User
	}
	secret, err := c.secret("password", c.password, c.PasswordEnv, c.PasswordFile)
	if err != nil {
		return "", "", nil, err
	}
	if secret != "" {
		password = secret
	}
	if !c.TLS.enabled() {
		return user, password, urlTLS, nil
	}
	tc, err := c.tlsConfig()
	if err != nil {
		return "", "", nil, err
	}
	if urlTLS != nil && tc.ServerName == "" {
		tc.ServerName = urlTLS.ServerName
	}
	return user, password, tc, nil
}

func (c Context) tlsConfig() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.TLS.ServerName, InsecureSkipVerify: c.TLS.InsecureSkipVerify} //nolint:gosec // the operator asked for it
	if c.TLS.CA != "" {
		pem, err := os.ReadFile(c.TLS.CA)
		if err != nil {
			return nil, fmt.Errorf("context %s: tls.ca: %w", c.Name, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("context %s: tls.ca %s: no PEM certificate found", c.Name, c.TLS.CA)
		}
		tc.RootCAs = pool
	}
	if c.TLS.Cert != "" || c.TLS.Key != "" {
		cert, err := tls.LoadX509KeyPair(c.TLS.Cert, c.TLS.Key)
		if err != nil {
			return nil, fmt.Errorf("context %s: tls.cert/tls.key: %w", c.Name, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// secret resolves an inline (natscli), environment or file secret.
func (c Context) secret(what, inline, envName, file string) (string, error) {
	switch {
	case envName != "":
		v, ok := os.LookupEnv(envName)
		if !ok || v == "" {
			return "", fmt.Errorf("context %s: %s_env: environment variable %s is not set", c.Name, what, envName)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("context %s: %s_file: %w", c.Name, what, err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("context %s: %s_file %s is empty", c.Name, what, file)
		}
		return v, nil
	}
	return inline, nil
}

func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}
