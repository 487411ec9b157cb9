package jetstream

import "time"

// SetAsyncAckTimeoutForTest shortens PublishAsync's ack timeout and sweep
// period for publishers made from now on; the returned func restores them.
// Only for tests that do not run in parallel.
func SetAsyncAckTimeoutForTest(timeout, sweep time.Duration) (restore func()) {
	ot, os := asyncAckTimeout, asyncSweep
	asyncAckTimeout, asyncSweep = timeout, sweep
	return func() { asyncAckTimeout, asyncSweep = ot, os }
}
