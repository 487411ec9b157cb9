// Package demo is the console's embedded demo: an in-process nats-server
// with JetStream in a temporary directory, a private redis-server (or the
// Redis the operator names with --redis), and a
// workload that keeps every pane alive — an orders stream with steady
// traffic (JSON and some binary payloads), a healthy group, a stuck consumer
// holding pending messages, a failing consumer dead-lettering to orders.dlq,
// and a NATS Core telemetry firehose.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	_ "github.com/mqscope/mqscope/backends" // the demo needs every driver
	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/natsembed"
	"github.com/mqscope/mqscope/internal/redisproc"
)

// Context names the demo offers.
const (
	ContextJetStream = "demo-jetstream"
	ContextNATSCore  = "demo-core"
	ContextRedis     = "demo-redis"
)

// Names of what the workload creates (JetStream side; the Redis side uses
// the same names under Options.RedisPrefix).
const (
	StreamOrders    = "orders"     // subjects orders.created, .paid, .shipped, .cancelled
	StreamOrdersDLQ = "orders_dlq" // subject orders.dlq
	StreamInventory = "inventory"  // subjects inventory.>
	DLQSubject      = "orders.dlq"
	GroupHealthy    = "fulfillment"
	GroupShipping   = "shipping-notifier"
	GroupStuck      = "billing"
	GroupFailing    = "fraud-check"
	ConsumerStuck   = "billing-1"
	// StuckPending is how many messages the stuck consumer holds.
	StuckPending = 16
)

// DefaultRedisPrefix prefixes every Redis key the demo writes.
const DefaultRedisPrefix = "mqscope-demo:"

// Options configure Start.
type Options struct {
	// RedisURL is a Redis the operator asked the demo to seed (--demo
	// --redis URL); one that does not answer is an error. "" starts a
	// private redis-server (a unix socket in a temporary directory, removed
	// on Close) when one is on PATH, else the demo runs without Redis and
	// RedisUnavailable says why. The demo never writes into a Redis it was
	// not given or did not start.
	RedisURL string
	// NoRedis skips Redis entirely.
	NoRedis bool
	// RedisPrefix prefixes every Redis key (default DefaultRedisPrefix); the
	// keys are deleted on Close.
	RedisPrefix string
	// Rate is orders per second (default 8).
	Rate float64
	// Backfill is how many orders exist before the console opens (default 300).
	Backfill int
	Logger   *slog.Logger
	// Stuck thresholds for the clients Open returns (core defaults when zero).
	Stuck core.StuckThresholds
	// ReadOnly makes the clients Open returns refuse every mutating call
	// (the workload itself keeps running).
	ReadOnly bool
}

// Demo is a running demo.
type Demo struct {
	opts     Options
	logger   *slog.Logger
	dir      string
	srv      *server.Server
	natsURL  string
	redisURL string // "" without Redis
	redisWhy string // why there is no Redis demo
	redisSrv *redisproc.Server
	prefix   string

	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closers []func() error // workload clients and connections, closed in reverse
	closed  bool
}

// Start runs the embedded server and the workload. ctx bounds the demo's
// life: cancelling it stops every demo goroutine (Close still cleans up).
func Start(ctx context.Context, o Options) (_ *Demo, err error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Rate <= 0 {
		o.Rate = 8
	}
	if o.Backfill == 0 {
		o.Backfill = 300
	}
	if o.RedisPrefix == "" {
		o.RedisPrefix = DefaultRedisPrefix
	}
	d := &Demo{opts: o, logger: o.Logger.With("component", "demo"), prefix: o.RedisPrefix}
	defer func() {
		if err != nil {
			_ = d.Close()
		}
	}()

	d.dir, err = os.MkdirTemp("", "mqscope-demo-*")
	if err != nil {
		return nil, fmt.Errorf("demo: temp dir: %w", err)
	}
	d.srv, err = natsembed.Start(natsembed.Options{StoreDir: d.dir})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	d.natsURL = d.srv.ClientURL()

	switch {
	case o.NoRedis:
		d.redisWhy = "the demo was started without Redis"
	case o.RedisURL != "":
		if perr := redisproc.Ping(ctx, o.RedisURL); perr != nil {
			return nil, fmt.Errorf("demo: Redis at %s does not answer: %w", core.RedactURL(o.RedisURL), perr)
		}
		d.redisURL = o.RedisURL
	default:
		srv, serr := redisproc.Start(ctx, redisproc.Options{})
		if serr != nil {
			d.redisWhy = "no private Redis for the demo: " + serr.Error()
			d.logger.Info("demo: Redis demo disabled", "reason", d.redisWhy)
			break
		}
		d.redisSrv, d.redisURL = srv, srv.URL()
	}

	wctx, cancel := context.WithCancel(ctx)
	d.cancel = cancel
	if err := d.startNATS(wctx); err != nil {
		return nil, err
	}
	if d.redisURL != "" {
		if err := d.startRedis(wctx); err != nil {
			return nil, err
		}
	}
	d.logger.Info("demo: running", "nats", d.natsURL, "redis", d.redisURL, "dir", d.dir)
	return d, nil
}

// NATSURL is the embedded server's client URL.
func (d *Demo) NATSURL() string { return d.natsURL }

// RedisURL is the seeded Redis ("" when the demo runs without Redis).
func (d *Demo) RedisURL() string { return d.redisURL }

// RedisUnavailable says why the demo runs without Redis ("" when it has it).
func (d *Demo) RedisUnavailable() string { return d.redisWhy }

// RedisPrefix prefixes the demo's Redis keys.
func (d *Demo) RedisPrefix() string { return d.prefix }

// Dir is the embedded server's storage directory (removed by Close).
func (d *Demo) Dir() string { return d.dir }

// Contexts lists the demo's contexts, JetStream first.
func (d *Demo) Contexts() []string {
	out := []string{ContextJetStream, ContextNATSCore}
	if d.redisURL != "" {
		out = append(out, ContextRedis)
	}
	return out
}

// Has reports whether name is one of the demo's contexts.
func (d *Demo) Has(name string) bool {
	for _, c := range d.Contexts() {
		if c == name {
			return true
		}
	}
	return false
}

// Conn is a client of the demo, opened for the console.
type Conn struct {
	Client  *core.Client
	Address string
	closeFn func() error
}

// Close closes the client and its connection.
func (c *Conn) Close() error { return c.closeFn() }

// Open connects a new client to one of the demo's contexts; the caller
// closes it. The workload keeps running.
func (d *Demo) Open(ctx context.Context, name string, extra ...core.Option) (*Conn, error) {
	opts := append([]core.Option{core.WithLogger(d.opts.Logger.With("context", name)), core.WithStuckThresholds(d.opts.Stuck)}, extra...)
	switch name {
	case ContextJetStream, ContextNATSCore:
		drv := core.DriverJetStream
		if name == ContextNATSCore {
			drv = core.DriverNATSCore
		}
		nc, err := nats.Connect(d.natsURL, nats.Name("mqscope"), nats.MaxReconnects(-1), nats.Timeout(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("demo %s: connect to %s: %w", name, d.natsURL, err)
		}
		cl, err := core.New(&core.Config{Driver: drv, ReadOnly: d.opts.ReadOnly}, append(opts, core.WithNATSConnector(nc))...)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("demo %s: %w", name, err)
		}
		return &Conn{Client: cl, Address: d.natsURL, closeFn: func() error {
			err := cl.Close()
			nc.Close()
			return err
		}}, nil
	case ContextRedis:
		if d.redisURL == "" {
			return nil, fmt.Errorf("demo %s: no Redis answered when the demo started", name)
		}
		ro, err := redis.ParseURL(d.redisURL)
		if err != nil {
			return nil, fmt.Errorf("demo %s: %w", name, err)
		}
		ro.ClientName = "mqscope"
		rdb := redis.NewClient(ro)
		if err := rdb.Ping(ctx).Err(); err != nil {
			rdb.Close()
			return nil, fmt.Errorf("demo %s: connect to %s: %w", name, d.redisURL, err)
		}
		cl, err := core.New(&core.Config{Driver: core.DriverRedisStream, ReadOnly: d.opts.ReadOnly}, append(opts, core.WithRedisConnector(rdb))...)
		if err != nil {
			rdb.Close()
			return nil, fmt.Errorf("demo %s: %w", name, err)
		}
		return &Conn{Client: cl, Address: d.redisAddress(ro), closeFn: func() error {
			err := cl.Close()
			_ = rdb.Close()
			return err
		}}, nil
	}
	return nil, fmt.Errorf("demo: no context %q (have %v)", name, d.Contexts())
}

func (d *Demo) addCloser(f func() error) {
	d.mu.Lock()
	d.closers = append(d.closers, f)
	d.mu.Unlock()
}

// goLoop runs fn in a demo goroutine that Close waits for.
func (d *Demo) goLoop(fn func()) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		fn()
	}()
}

// Close stops the workload, deletes the Redis keys, shuts the server down
// and removes the temporary directory. It is safe to call twice.
func (d *Demo) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	closers := d.closers
	d.closers = nil
	d.mu.Unlock()

	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	var errs []error
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i](); err != nil && !errors.Is(err, core.ErrClosed) {
			errs = append(errs, err)
		}
	}
	switch {
	case d.redisSrv != nil:
		if err := d.redisSrv.Close(); err != nil {
			errs = append(errs, fmt.Errorf("demo: private redis-server: %w", err))
		}
	case d.redisURL != "":
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := CleanupRedis(ctx, d.redisURL, d.prefix); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	if d.srv != nil {
		d.srv.Shutdown()
		d.srv.WaitForShutdown()
	}
	if d.dir != "" {
		if err := os.RemoveAll(d.dir); err != nil {
			errs = append(errs, fmt.Errorf("demo: remove %s: %w", d.dir, err))
		}
	}
	return errors.Join(errs...)
}

// redisAddress is what the header shows for the demo's Redis.
func (d *Demo) redisAddress(ro *redis.Options) string {
	if d.redisSrv != nil {
		return "private redis-server (demo)"
	}
	return ro.Addr
}
