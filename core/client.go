package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
)

// Client is the MQ returned by New. It also gives the operator's view
// (Operator) of the same connection.
type Client struct {
	cfg     Config
	backend Backend
	logger  *slog.Logger
	metrics *Metrics
	op      *Operator

	dataPub DataPublisher // the backend's fast path, when it has one

	// PublishAsync (publish_async.go)
	asyncPub AsyncPublisher // the backend's, when it has one
	gen      atomic.Pointer[asyncGen]
	genMu    sync.Mutex // serialises Flush's generation switch
	poolOnce sync.Once
	pool     atomic.Pointer[asyncPool] // fallback when asyncPub is nil

	ownedNATS  *nats.Conn
	ownedRedis redis.UniversalClient

	mu     sync.RWMutex
	closed bool
	// isClosed mirrors closed for the hot paths (Publish): an RWMutex read
	// lock is a contended atomic when many goroutines publish.
	isClosed atomic.Bool
	subs     map[*clientSub]struct{}
}

var _ MQ = (*Client)(nil)

// New builds an MQ for cfg.Driver, as in the design's section 5:
//
//	q, err := core.New(&core.Config{Driver: core.DriverRedisStream},
//		core.WithRedisConnector(rdb), core.WithLogger(logger))
func New(cfg *Config, opts ...Option) (*Client, error) {
	if cfg == nil {
		return nil, errors.New("mq: New: nil *Config")
	}
	c := *cfg
	factory, err := lookup(c.Driver)
	if err != nil {
		return nil, err
	}
	var o clientOptions
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.DLQSuffix == "" {
		c.DLQSuffix = DefaultDLQSuffix
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = DefaultCloseTimeout
	}
	if c.Consumer == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "mq"
		}
		c.Consumer = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	cl := &Client{cfg: c, logger: o.logger.With("backend", string(c.Driver)), metrics: o.metrics, subs: map[*clientSub]struct{}{}}
	deps := Deps{Config: c, Logger: cl.logger, Metrics: o.metrics}

	switch c.Driver {
	case DriverNATSCore, DriverJetStream:
		if o.redis != nil {
			return nil, fmt.Errorf("mq: driver %q takes a NATS connection, not a Redis one", c.Driver)
		}
		deps.NATS = o.nats
		if deps.NATS == nil {
			url := c.NATSURL
			if url == "" {
				url = DefaultNATSURL
			}
			nc, err := nats.Connect(url, nats.Name("mqscope"), nats.Timeout(c.DialTimeout),
				nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
			if err != nil {
				return nil, fmt.Errorf("mq: connect to NATS at %s: %w", url, err)
			}
			cl.ownedNATS, deps.NATS = nc, nc
		}
	case DriverRedisStream:
		if o.nats != nil {
			return nil, fmt.Errorf("mq: driver %q takes a Redis connection, not a NATS one", c.Driver)
		}
		deps.Redis = o.redis
		if deps.Redis == nil {
			url := c.RedisURL
			if url == "" {
				url = DefaultRedisURL
			}
			ropts, err := redis.ParseURL(url)
			if err != nil {
				return nil, fmt.Errorf("mq: Redis URL %q: %w", url, err)
			}
			ropts.DialTimeout = c.DialTimeout
			rdb := redis.NewClient(ropts)
			ctx, cancel := context.WithTimeout(context.Background(), c.DialTimeout)
			err = rdb.Ping(ctx).Err()
			cancel()
			if err != nil {
				rdb.Close()
				return nil, fmt.Errorf("mq: connect to Redis at %s: %w", url, err)
			}
			cl.ownedRedis, deps.Redis = rdb, rdb
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), c.DialTimeout)
	defer cancel()
	b, err := factory(ctx, deps)
	if err != nil {
		cl.closeOwned()
		return nil, err
	}
	cl.backend = b
	cl.dataPub, _ = b.(DataPublisher)
	cl.asyncPub, _ = b.(AsyncPublisher)
	cl.gen.Store(newAsyncGen())
	cl.op = newOperator(cl, b.Operator(), o.stuck)
	return cl, nil
}

// Config returns the resolved configuration (defaults filled in).
func (c *Client) Config() Config { return c.cfg }

// Driver returns the backend's driver name.
func (c *Client) Driver() Driver { return c.cfg.Driver }

// Operator returns the operator's view of this client's broker.
func (c *Client) Operator() *Operator { return c.op }

// DeadLetterTopic names topic's dead-letter topic (see DLQName).
func (c *Client) DeadLetterTopic(topic string) string { return DLQName(topic, c.cfg.DLQSuffix) }

// Publish implements MQ.
func (c *Client) Publish(ctx context.Context, topic string, data []byte, opts ...PublishOption) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	if ctx == nil {
		return errors.New("mq: Publish: nil context")
	}
	if err := c.backend.ValidateTopic(topic, false); err != nil {
		return err
	}
	if len(opts) == 0 && c.dataPub != nil {
		// No options: skip building an OutgoingMessage (its allocation is
		// a quarter of a NATS Core publish).
		if c.metrics == nil {
			return c.dataPub.PublishData(ctx, topic, data)
		}
		start := time.Now()
		err := c.dataPub.PublishData(ctx, topic, data)
		c.metrics.published(metricLabels{backend: string(c.cfg.Driver), topic: topic}, time.Since(start), err)
		return err
	}
	m := &OutgoingMessage{Data: data}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(m); err != nil {
			return err
		}
	}
	if c.metrics == nil {
		// Reading the clock twice costs a NATS Core publish ~20%; skip it
		// when nothing records the latency.
		return c.backend.Publish(ctx, topic, m)
	}
	start := time.Now()
	err := c.backend.Publish(ctx, topic, m)
	c.metrics.published(metricLabels{backend: string(c.cfg.Driver), topic: topic}, time.Since(start), err)
	return err
}

// Subscribe implements MQ.
func (c *Client) Subscribe(ctx context.Context, topic string, handler Handler, opts ...SubscribeOption) (Subscription, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	if ctx == nil {
		return nil, errors.New("mq: Subscribe: nil context")
	}
	if handler == nil {
		return nil, errNilHandler
	}
	if err := c.backend.ValidateTopic(topic, true); err != nil {
		return nil, err
	}
	spec := &SubscribeSpec{Topic: topic, BatchSize: 1, Consumer: c.cfg.Consumer, ClaimIdle: DefaultClaimIdle}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(spec); err != nil {
			return nil, err
		}
	}
	if spec.StartSet && spec.Start.Kind != PosNew {
		// The backend's reason, from Capabilities (read-only mode does
		// not apply: subscribing changes no broker state it guards).
		if ok, why := c.op.b.Capabilities(ctx).Can(OpStartPosition); !ok {
			return nil, &UnsupportedError{Op: OpStartPosition, Reason: why + " (asked for " + spec.Start.String() + ")"}
		}
	}
	if !spec.StartSet {
		if spec.Group != "" {
			spec.Start = StartAll()
		} else {
			spec.Start = StartNew()
		}
	}
	if spec.DeadLetter {
		if spec.DeadLetterTopic == "" {
			spec.DeadLetterTopic = c.DeadLetterTopic(topic)
		}
		if spec.Retry.MaxAttempts == 0 {
			spec.Retry.MaxAttempts = DefaultMaxAttempts
		}
		if spec.DeadLetterTopic == topic {
			return nil, fmt.Errorf("mq: subscribe %q: the dead-letter topic is the topic itself (a failed message would come straight back): give another with WithDeadLetterTopic", topic)
		}
		if err := c.backend.ValidateTopic(spec.DeadLetterTopic, false); err != nil {
			return nil, fmt.Errorf("mq: dead-letter topic: %w", err)
		}
	}
	spec.handler = handler
	spec.client = c
	spec.met = c.metrics.forSubscription(metricLabels{backend: string(c.cfg.Driver), topic: topic, group: spec.Group})
	// Every line about this subscription carries its topic and group once.
	spec.logger = c.logger.With("topic", topic, "group", spec.Group)

	sub, err := c.backend.Subscribe(ctx, spec)
	if err != nil {
		return nil, err
	}
	cs := &clientSub{Subscription: sub, c: c}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = sub.Unsubscribe()
		return nil, ErrClosed
	}
	c.subs[cs] = struct{}{}
	c.mu.Unlock()
	return cs, nil
}

type clientSub struct {
	Subscription
	c    *Client
	once sync.Once
	err  error
}

func (s *clientSub) Unsubscribe() error {
	s.once.Do(func() {
		s.err = s.Subscription.Unsubscribe()
		s.c.mu.Lock()
		delete(s.c.subs, s)
		s.c.mu.Unlock()
	})
	return s.err
}

// Close implements MQ: it stops every subscription (waiting for in-flight
// handlers), waits up to Config.CloseTimeout for outstanding PublishAsync
// futures, closes the backend (which fails the futures still outstanding
// with an error wrapping ErrClosed), and closes only connections New
// dialled.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.isClosed.Store(true)
	subs := make([]*clientSub, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()

	var errs []error
	for _, s := range subs {
		if err := s.Unsubscribe(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.cfg.CloseTimeout > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.CloseTimeout)
		_ = c.Flush(ctx) // what is left is failed below
		cancel()
	}
	pool := c.pool.Load()
	if pool != nil {
		pool.signal()
	}
	if err := c.backend.Close(); err != nil {
		errs = append(errs, err)
	}
	if pool != nil {
		pool.finish()
	}
	c.closeOwned()
	return errors.Join(errs...)
}

func (c *Client) closeOwned() {
	if c.ownedNATS != nil {
		_ = c.ownedNATS.Drain()
		c.ownedNATS.Close()
	}
	if c.ownedRedis != nil {
		_ = c.ownedRedis.Close()
	}
}

func (c *Client) checkOpen() error {
	if c.isClosed.Load() {
		return ErrClosed
	}
	return nil
}
