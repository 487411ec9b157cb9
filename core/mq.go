// Package core is mqscope's library: one Publish/Subscribe API over NATS Core,
// NATS JetStream and Redis Streams, and the operator's view (inspect, browse,
// tail, ack, claim, replay, rewind, dead-letter) used by the console and by
// scripts. Backends live in github.com/mqscope/mqscope/backends and register
// themselves when that package is imported, like database/sql drivers.
package core

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"
)

// MQ is the whole application-facing API (the design's section 2.1).
type MQ interface {
	// Publish sends data to topic. It returns once the broker has accepted
	// the message (JetStream publish ack, XADD reply) or, for NATS Core, once
	// the message is written to the connection.
	Publish(ctx context.Context, topic string, data []byte, opts ...PublishOption) error
	// Subscribe starts delivering messages of topic to handler until ctx is
	// cancelled, the Subscription is stopped, or the MQ is closed.
	Subscribe(ctx context.Context, topic string, handler Handler, opts ...SubscribeOption) (Subscription, error)
	// Close stops every subscription, waits for in-flight handlers and closes
	// only the connections New opened itself.
	Close() error
}

// Handler processes one message. Returning an error means "not processed":
// the message is retried (and dead-lettered when configured); with auto-ack
// (the default) returning nil acks it.
type Handler func(Message) error

// Message is one delivered message.
type Message interface {
	// ID is the broker's identity of the message: the Redis entry id
	// ("1700000000000-0"), the JetStream stream sequence as a decimal
	// string, or a process-local id for NATS Core.
	ID() string
	Topic() string
	Data() []byte
	Header() Header
	// Timestamp is when the broker stored the message (zero when unknown).
	Timestamp() time.Time
	// Deliveries counts this delivery: 1 the first time (0 when unknown).
	Deliveries() int
	// Ack confirms the message. Acking twice is harmless.
	Ack() error
	// Nak asks for redelivery as soon as the backend allows.
	Nak() error
}

// Subscription is one running subscription.
type Subscription interface {
	Topic() string
	// Unsubscribe stops receiving and waits for the handler in flight.
	Unsubscribe() error
}

// Header carries message metadata; keys are case-sensitive, values ordered.
type Header map[string][]string

// Get returns the first value of key, or "".
func (h Header) Get(key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set replaces the values of key.
func (h Header) Set(key, value string) { h[key] = []string{value} }

// Add appends a value to key.
func (h Header) Add(key, value string) { h[key] = append(h[key], value) }

// Clone returns a deep copy (nil for nil).
func (h Header) Clone() Header {
	if h == nil {
		return nil
	}
	c := make(Header, len(h))
	for k, v := range h {
		c[k] = append([]string(nil), v...)
	}
	return c
}

// Keys lists the header's keys sorted, for showing them in a stable order.
func (h Header) Keys() []string {
	return slices.Sorted(maps.Keys(h))
}

// Headers that mqscope writes on dead-lettered and replayed messages.
const (
	HeaderOriginTopic    = "Mq-Origin-Topic"
	HeaderOriginID       = "Mq-Origin-Id"
	HeaderOriginGroup    = "Mq-Origin-Group"
	HeaderOriginConsumer = "Mq-Origin-Consumer"
	HeaderDeliveries     = "Mq-Deliveries"
	HeaderLastError      = "Mq-Last-Error"
	HeaderReason         = "Mq-Reason"
	HeaderDeadLetteredAt = "Mq-Dead-Lettered-At"
	HeaderReplayedFrom   = "Mq-Replayed-From" // "<topic>/<id>"
	HeaderReplayedAt     = "Mq-Replayed-At"   // RFC3339Nano
	HeaderRedrivenFrom   = "Mq-Redriven-From" // "<dlq topic>/<id>"
	HeaderMsgID          = "Nats-Msg-Id"      // de-duplication id (JetStream's own header name)
)

// Sentinel errors; test with errors.Is.
var (
	ErrClosed       = errors.New("mq: closed")
	ErrUnsupported  = errors.New("mq: not supported by this backend")
	ErrReadOnly     = errors.New("mq: read-only mode")
	ErrInvalidTopic = errors.New("mq: invalid topic")
	ErrNoStream     = errors.New("mq: no stream captures this subject")
	ErrNotFound     = errors.New("mq: not found")
	// ErrNeedsConfirmation is returned by an operation that would lose
	// something unless the request says Confirmed; the error text says what.
	ErrNeedsConfirmation = errors.New("mq: needs explicit confirmation")
)

// UnsupportedError says which operation a backend lacks and why. It matches
// ErrUnsupported with errors.Is.
type UnsupportedError struct {
	Op     Op
	Reason string
}

func (e *UnsupportedError) Error() string {
	return "mq: " + string(e.Op) + " not supported: " + e.Reason
}

func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }
