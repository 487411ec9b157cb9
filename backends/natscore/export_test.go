package natscore

// SetPendingLimitsForTest lowers the pending limits of subscriptions made
// from now on; the returned func restores them. Only for tests that do not
// run in parallel with others.
func SetPendingLimitsForTest(msgs, bytes int) (restore func()) {
	old := pendingLimits.Swap(&[2]int{msgs, bytes})
	return func() { pendingLimits.Store(old) }
}
