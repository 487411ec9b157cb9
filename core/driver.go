package core

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
)

// Driver names a backend.
type Driver string

const (
	DriverNATSCore    Driver = "nats_core"
	DriverJetStream   Driver = "nats_jetstream"
	DriverRedisStream Driver = "redis_stream"
)

// Config selects and configures a backend. Zero values are safe defaults.
type Config struct {
	Driver Driver

	// NATSURL / RedisURL are dialled by New when no connection is injected
	// with WithNATSConnector / WithRedisConnector. Defaults:
	// nats://127.0.0.1:4222 and redis://127.0.0.1:6379/0.
	NATSURL  string
	RedisURL string
	// DialTimeout bounds New's dial (default 5s).
	DialTimeout time.Duration

	// CreateStreams lets the JetStream backend create a stream for a topic
	// that no stream captures (one stream per topic, file storage). Without
	// it, publishing or subscribing to such a topic is an error that says so.
	CreateStreams bool

	// Consumer names this process's consumer inside groups (Redis consumer
	// name; JetStream ignores it). Default: "<hostname>-<pid>".
	Consumer string

	// DLQSuffix is appended to a topic to name its dead-letter topic
	// (default ".dlq").
	DLQSuffix string

	// ReadOnly makes every mutating operator call fail with ErrReadOnly.
	// Publish and Subscribe are not affected.
	ReadOnly bool

	// CloseTimeout bounds how long Close waits for outstanding PublishAsync
	// futures to be confirmed before the backend fails the rest with an
	// error wrapping ErrClosed (default 5s; negative: do not wait).
	CloseTimeout time.Duration
}

// Defaults applied by New.
const (
	DefaultNATSURL     = "nats://127.0.0.1:4222"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
	DefaultDLQSuffix   = ".dlq"
	DefaultDialTimeout = 5 * time.Second
	// DefaultCloseTimeout is Config.CloseTimeout's default.
	DefaultCloseTimeout = 5 * time.Second
)

// DLQName names topic's dead-letter topic: topic followed by suffix
// (DefaultDLQSuffix when empty). A topic that already ends with the suffix
// is a dead-letter topic itself and is returned unchanged, so the suffix is
// never doubled ("orders.dlq.dlq").
func DLQName(topic, suffix string) string {
	if suffix == "" {
		suffix = DefaultDLQSuffix
	}
	if strings.HasSuffix(topic, suffix) {
		return topic
	}
	return topic + suffix
}

// Deps is what New hands a backend factory: the resolved config, the
// connection (injected or dialled) and the shared logger and metrics.
type Deps struct {
	Config  Config
	NATS    *nats.Conn            // set for the NATS drivers
	Redis   redis.UniversalClient // set for the Redis driver
	Logger  *slog.Logger
	Metrics *Metrics // may be nil
}

// Backend is what a driver implements. Core validates input, enforces
// Close/ErrClosed, records metrics and runs handlers (see SubscribeSpec);
// the backend does the broker I/O.
type Backend interface {
	// ValidateTopic says whether topic is usable; wildcard says whether
	// patterns are allowed (subscribe/tail on NATS).
	ValidateTopic(topic string, wildcard bool) error
	Publish(ctx context.Context, topic string, m *OutgoingMessage) error
	// Subscribe starts delivering to spec.Deliver. It returns once the
	// subscription is established on the broker (so a message published
	// after Subscribe returns is received).
	Subscribe(ctx context.Context, spec *SubscribeSpec) (Subscription, error)
	// Operator returns the backend's operator implementation.
	Operator() OperatorBackend
	// Close is called once core has unsubscribed every subscription (and
	// drained their handlers): the backend refuses new ones, stops what it
	// keeps itself (tails, publishers) and closes connections it owns
	// (never Deps' injected ones; core closes those it dialled).
	Close() error
}

// DataPublisher is optionally implemented by a Backend that can publish a
// bare payload (no headers, no message id) without an OutgoingMessage; the
// Client uses it for Publish calls without options. It must behave exactly
// like Publish with &OutgoingMessage{Data: data}.
type DataPublisher interface {
	PublishData(ctx context.Context, topic string, data []byte) error
}

// AsyncPublisher (optional, for Client.PublishAsync) is in publish_async.go.

// Factory builds a Backend.
type Factory func(ctx context.Context, deps Deps) (Backend, error)

var (
	registryMu sync.RWMutex
	registry   = map[Driver]Factory{}
)

// Register makes a driver available to New. Backends call it from init.
func Register(d Driver, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if f == nil {
		panic("core.Register: nil factory for " + string(d))
	}
	registry[d] = f
}

// Drivers lists the registered drivers.
func Drivers() []Driver {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]Driver, 0, len(registry))
	for d := range registry {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func lookup(d Driver) (Factory, error) {
	switch d {
	case DriverNATSCore, DriverJetStream, DriverRedisStream:
	case "":
		return nil, fmt.Errorf("mq: Config.Driver is empty: want %q, %q or %q", DriverNATSCore, DriverJetStream, DriverRedisStream)
	default:
		return nil, fmt.Errorf("mq: unknown driver %q: want %q, %q or %q", d, DriverNATSCore, DriverJetStream, DriverRedisStream)
	}
	registryMu.RLock()
	f := registry[d]
	registryMu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("mq: driver %q is not registered: add  import _ \"github.com/mqscope/mqscope/backends\"  to your program", d)
	}
	return f, nil
}
