// Package coretest is mqscope's one conformance suite: the same cases run
// against every backend, on real brokers, with the capabilities the backend
// declares. A case a backend cannot run is skipped visibly, by capability
// (t.Skipf("history: NATS Core keeps no history")) or because the backend's
// harness lacks a fault-injection hook; never silently.
//
// A backend's test file builds a Harness (NATS and Redis give one ready-made)
// and calls RunMQ and RunOperator:
//
//	func TestConformance(t *testing.T) {
//		h := coretest.NATS(t, core.DriverJetStream)
//		coretest.RunMQ(t, h)
//		coretest.RunOperator(t, h)
//	}
package coretest

import (
	"context"
	"testing"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// Harness is what the suite needs from one backend. Only Driver and
// NewClient are required; a nil hook skips the cases that need it, saying so.
type Harness struct {
	Driver core.Driver

	// NewClient builds a client for cfg (Driver already set by the suite)
	// with opts added: the harness fills in how to reach the broker (URL or
	// injected connection) and anything the backend needs for arbitrary
	// topics (JetStream: Config.CreateStreams). The suite closes the client
	// when the test ends.
	NewClient func(t testing.TB, cfg core.Config, opts ...core.Option) (*core.Client, error)

	// Topic returns a topic unique to t that is valid for the backend and
	// cleaned up when t ends. Default: testbroker.Name(t, "ct").
	Topic func(t testing.TB) string

	// InvalidTopics are topics the backend must refuse with
	// core.ErrInvalidTopic on Publish (besides "", which every backend
	// refuses).
	InvalidTopics []string

	// MaxPayload is the broker's configured message size limit when it is
	// below what the suite sends (1 MiB); 0 means no such limit.
	MaxPayload int

	// Wildcard, when set, turns a topic into a pattern matching topic+".x"
	// for Tail and Subscribe (NATS: ".*"). Empty skips the wildcard cases.
	Wildcard string

	// BatchRequests starts watching the broker for the fetches subscribers
	// make on topic (Redis XREADGROUP COUNT via MONITOR; JetStream pull
	// request batch) and returns what it has seen so far. Nil: the batch
	// case checks only what handlers can see.
	BatchRequests func(t testing.TB, topic string) func() []int

	// Connect opens a connection owned by the test, to inject into New.
	// Nil skips "injected connection survives Close" and "consumer killed
	// mid-message".
	Connect func(t testing.TB) Conn

	// NewDisruptable builds a client (as NewClient) whose connection can be
	// cut: disrupt drops it mid-flight and returns at once (embedded NATS:
	// the server is restarted; Redis: CLIENT KILL on the client's named
	// connections). The client reconnects by itself. Nil skips "broker
	// restart mid-load".
	NewDisruptable func(t testing.TB, cfg core.Config, opts ...core.Option) (c *core.Client, disrupt func(), err error)

	// DeleteGroupRaw deletes a group behind the library's back with the
	// broker's own client (Redis XGROUP DESTROY, JetStream consumer delete).
	// Nil skips "group deleted under a running subscriber".
	DeleteGroupRaw func(ctx context.Context, topic, group string) error

	// DeleteTopicRaw deletes the topic's storage behind the library's back
	// (Redis DEL of the stream). Nil skips the "stream deleted" variant.
	DeleteTopicRaw func(ctx context.Context, topic string) error

	// TrimTopicRaw removes every stored message of topic but keeps the topic
	// and its groups (Redis XTRIM MAXLEN 0; JetStream stream purge), so pending entries point at
	// trimmed messages. Nil skips "trimmed pending entry".
	TrimTopicRaw func(ctx context.Context, topic string) error
	// TrimLogged says the library itself finds and settles pending entries
	// whose messages were trimmed, so it must log each (Redis). False where
	// the broker drops them from the pending list itself (JetStream purge).
	TrimLogged bool

	// HoldRaw sets up group on topic with the broker's own client, not
	// mqscope, and leaves n of the topic's stored messages (the first n)
	// delivered to it and unacknowledged (JetStream: a durable pull consumer
	// with AckWait 5m, Fetch without ack; Redis: XGROUP CREATE at 0 and
	// XREADGROUP). The cases that act on one chosen message check the rest
	// with it. Nil skips them, saying so.
	HoldRaw func(t testing.TB, topic, group string, n int) RawGroup
}

// RawGroup is a group set up and read back with the broker's own client.
type RawGroup struct {
	// IDs are the held messages' ids, in delivery order.
	IDs []string
	// State reads the group's counters.
	State func(ctx context.Context) (RawState, error)
	// Deliveries returns how many times each held message that is still
	// pending had been delivered (Redis: XPENDING). JetStream reports that
	// only on a delivery: the held deliveries are naked and fetched again,
	// reading NumDelivered-1, so call it last.
	Deliveries func(ctx context.Context) (map[string]int64, error)
}

// RawState is a group's position and pending count as the broker reports
// them.
type RawState struct {
	// Delivered is the group's delivered position (JetStream: consumer and
	// stream sequence of the last delivery; Redis: last-delivered-id and
	// entries-read).
	Delivered string
	// Pending is the count of delivered, unacknowledged messages.
	Pending int64
	// Undelivered is how many stored messages the group has yet to deliver
	// (JetStream: num_pending; Redis: lag).
	Undelivered int64
}

// Conn is a connection owned by the test.
type Conn struct {
	// Option injects it (core.WithNATSConnector / core.WithRedisConnector).
	Option core.Option
	// Alive returns nil when the connection still works (a round trip).
	Alive func(ctx context.Context) error
	// Close closes it, as a crashed process would lose it.
	Close func()
}

func (h *Harness) topic(t testing.TB) string {
	if h.Topic != nil {
		return h.Topic(t)
	}
	return testbroker.Name(t, "ct")
}

// client builds a client and closes it when t ends. Cleanups run last in,
// first out: register whatever unblocks handlers after calling client.
func (h *Harness) client(t testing.TB, cfg core.Config, opts ...core.Option) *core.Client {
	t.Helper()
	cfg.Driver = h.Driver
	c, err := h.NewClient(t, cfg, opts...)
	if err != nil {
		t.Fatalf("%s: New: %v", h.Driver, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
