package jetstream

import (
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// SetAsyncAckTimeoutForTest shortens PublishAsync's ack timeout and sweep
// period for publishers made from now on; the returned func restores them.
// Only for tests that do not run in parallel.
func SetAsyncAckTimeoutForTest(timeout, sweep time.Duration) (restore func()) {
	ot, os := asyncAckTimeout, asyncSweep
	asyncAckTimeout, asyncSweep = timeout, sweep
	return func() { asyncAckTimeout, asyncSweep = ot, os }
}

// BrowsePlanForTest names how Browse reads a forward page of limit records
// of a stream configured as cfg on nc's server.
func BrowsePlanForTest(nc *nats.Conn, cfg jetstream.StreamConfig, limit int) string {
	return (&operator{b: &Backend{nc: nc}}).forwardPlan(cfg, limit).String()
}
