package core

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
)

// Option configures New.
type Option func(*clientOptions) error

type clientOptions struct {
	nats    *nats.Conn
	redis   redis.UniversalClient
	logger  *slog.Logger
	metrics *Metrics
	stuck   StuckThresholds
}

// WithNATSConnector injects a NATS connection. It belongs to the caller:
// Close never closes it.
func WithNATSConnector(nc *nats.Conn) Option {
	return func(o *clientOptions) error {
		if nc == nil {
			return errors.New("mq: WithNATSConnector: nil *nats.Conn")
		}
		o.nats = nc
		return nil
	}
}

// WithRedisConnector injects a Redis client (a *redis.Client,
// *redis.ClusterClient or *redis.Ring). It belongs to the caller.
func WithRedisConnector(rdb redis.UniversalClient) Option {
	return func(o *clientOptions) error {
		if rdb == nil {
			return errors.New("mq: WithRedisConnector: nil redis client")
		}
		o.redis = rdb
		return nil
	}
}

// WithLogger sets the slog logger (default: discard, so the library is quiet).
func WithLogger(l *slog.Logger) Option {
	return func(o *clientOptions) error {
		if l == nil {
			return errors.New("mq: WithLogger: nil logger")
		}
		o.logger = l
		return nil
	}
}

// WithMetrics records into m; register m with a prometheus.Registerer.
func WithMetrics(m *Metrics) Option {
	return func(o *clientOptions) error {
		if m == nil {
			return errors.New("mq: WithMetrics: nil *Metrics")
		}
		o.metrics = m
		return nil
	}
}

// WithStuckThresholds sets when the operator view marks a group as stuck.
func WithStuckThresholds(s StuckThresholds) Option {
	return func(o *clientOptions) error {
		if s.PendingIdle < 0 || s.ConsumerIdle < 0 {
			return errors.New("mq: WithStuckThresholds: negative threshold")
		}
		o.stuck = s
		return nil
	}
}

// PublishOption configures one Publish.
type PublishOption func(*OutgoingMessage) error

// OutgoingMessage is what a backend publishes.
type OutgoingMessage struct {
	Data   []byte
	Header Header
	// MsgID asks JetStream to de-duplicate (Nats-Msg-Id); other backends
	// carry it as a header only.
	MsgID string
}

// WithHeader adds one header.
func WithHeader(key, value string) PublishOption {
	return func(m *OutgoingMessage) error {
		if err := validHeaderKey(key); err != nil {
			return err
		}
		if m.Header == nil {
			m.Header = Header{}
		}
		m.Header.Add(key, value)
		return nil
	}
}

// WithHeaders adds all of h.
func WithHeaders(h Header) PublishOption {
	return func(m *OutgoingMessage) error {
		for k, vs := range h {
			if err := validHeaderKey(k); err != nil {
				return err
			}
			if m.Header == nil {
				m.Header = Header{}
			}
			m.Header[k] = append(m.Header[k], vs...)
		}
		return nil
	}
}

// WithMsgID sets the de-duplication id (JetStream Nats-Msg-Id).
func WithMsgID(id string) PublishOption {
	return func(m *OutgoingMessage) error {
		if id == "" {
			return errors.New("mq: WithMsgID: empty id")
		}
		m.MsgID = id
		return nil
	}
}

func validHeaderKey(k string) error {
	if k == "" {
		return errors.New("mq: header key is empty")
	}
	for _, r := range k {
		if r <= ' ' || r == ':' || r == 0x7f {
			return fmt.Errorf("mq: header key %q: contains %q (spaces, colons and control characters are not allowed)", k, r)
		}
	}
	return nil
}

// SubscribeOption configures one Subscribe.
type SubscribeOption func(*SubscribeSpec) error

// WithQueueGroup makes the subscriber a member of a group: each message is
// handled by one member of each group (NATS queue group, JetStream shared
// durable consumer, Redis consumer group).
func WithQueueGroup(name string) SubscribeOption {
	return func(s *SubscribeSpec) error {
		if name == "" {
			return errors.New("mq: WithQueueGroup: empty group name")
		}
		s.Group = name
		return nil
	}
}

// WithAutoAck acks when the handler returns nil (the default).
func WithAutoAck() SubscribeOption {
	return func(s *SubscribeSpec) error { s.ManualAck = false; return nil }
}

// WithManualAck leaves acking to the handler (msg.Ack()). A handler error
// still naks / retries.
func WithManualAck() SubscribeOption {
	return func(s *SubscribeSpec) error { s.ManualAck = true; return nil }
}

// WithBatchSize sets how many messages one broker round trip may fetch
// (XREADGROUP COUNT n, JetStream Fetch/PullMaxMessages). Default 1.
func WithBatchSize(n int) SubscribeOption {
	return func(s *SubscribeSpec) error {
		if n < 1 {
			return fmt.Errorf("mq: WithBatchSize(%d): batch size must be at least 1", n)
		}
		s.BatchSize = n
		return nil
	}
}

// RetryPolicy bounds redelivery of a failing message. The n-th retry waits
// Backoff·2^(n-1), capped at MaxBackoff.
type RetryPolicy struct {
	MaxAttempts int           // deliveries in all, including the first; 0 = unlimited
	Backoff     time.Duration // first retry delay (0 = redeliver at once)
	MaxBackoff  time.Duration // cap (default 30s, or Backoff if larger)
}

// Delay returns how long to wait before redelivering after delivery number
// `delivered` failed.
func (p RetryPolicy) Delay(delivered int) time.Duration {
	if p.Backoff <= 0 || delivered < 1 {
		return 0
	}
	maxB := p.MaxBackoff
	if maxB <= 0 {
		maxB = 30 * time.Second
	}
	if maxB < p.Backoff {
		maxB = p.Backoff
	}
	d := p.Backoff
	for i := 1; i < delivered; i++ {
		d *= 2
		if d >= maxB {
			return maxB
		}
	}
	return d
}

// DefaultMaxAttempts is used by WithDeadLetter when no WithRetry is given.
const DefaultMaxAttempts = 5

// WithRetry bounds and paces redelivery of failing messages.
func WithRetry(p RetryPolicy) SubscribeOption {
	return func(s *SubscribeSpec) error {
		if p.MaxAttempts < 0 || p.Backoff < 0 || p.MaxBackoff < 0 {
			return fmt.Errorf("mq: WithRetry: negative value in %+v", p)
		}
		s.Retry = p
		s.retrySet = true
		return nil
	}
}

// WithDeadLetter moves a message that failed its last attempt to the
// dead-letter topic (default "<topic>"+DLQSuffix) with origin headers, then
// acks the original. Without WithRetry, DefaultMaxAttempts apply.
func WithDeadLetter() SubscribeOption {
	return func(s *SubscribeSpec) error { s.DeadLetter = true; return nil }
}

// WithDeadLetterTopic is WithDeadLetter with an explicit topic.
func WithDeadLetterTopic(topic string) SubscribeOption {
	return func(s *SubscribeSpec) error {
		if topic == "" {
			return errors.New("mq: WithDeadLetterTopic: empty topic")
		}
		s.DeadLetter = true
		s.DeadLetterTopic = topic
		return nil
	}
}

// WithStartPosition chooses where a new subscription (or a group created by
// it) starts. Default: StartAll for a group that does not exist yet,
// StartNew without a group. Backends without history accept only StartNew.
func WithStartPosition(p Position) SubscribeOption {
	return func(s *SubscribeSpec) error {
		if err := p.Validate(); err != nil {
			return err
		}
		s.Start = p
		s.StartSet = true
		return nil
	}
}

// WithConsumerName overrides Config.Consumer for this subscription.
func WithConsumerName(name string) SubscribeOption {
	return func(s *SubscribeSpec) error {
		if name == "" {
			return errors.New("mq: WithConsumerName: empty name")
		}
		s.Consumer = name
		return nil
	}
}

// WithClaimIdle sets after how long a message pending at another (possibly
// dead) consumer is reclaimed by this one (Redis XAUTOCLAIM min-idle;
// JetStream AckWait). Default 30s.
func WithClaimIdle(d time.Duration) SubscribeOption {
	return func(s *SubscribeSpec) error {
		if d <= 0 {
			return fmt.Errorf("mq: WithClaimIdle(%v): must be positive", d)
		}
		s.ClaimIdle = d
		return nil
	}
}

// DefaultClaimIdle is the default for WithClaimIdle.
const DefaultClaimIdle = 30 * time.Second
