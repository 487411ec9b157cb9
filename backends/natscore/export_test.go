package natscore

// SetPendingLimitsForTest lowers the pending limits of subscriptions made
// from now on; the returned func restores them. Only for tests that do not
// run in parallel with others.
func SetPendingLimitsForTest(msgs, bytes int) (restore func()) {
	old := pendingLimits.Swap(&[2]int{msgs, bytes})
	return func() { pendingLimits.Store(old) }
}

// SetTailPendingLimitsForTest lowers the pending limits of tails started
// from now on; the returned func restores them. Only for tests that do not
// run in parallel with others.
func SetTailPendingLimitsForTest(msgs, bytes int) (restore func()) {
	old := tailPendingLimits.Swap(&[2]int{msgs, bytes})
	return func() { tailPendingLimits.Store(old) }
}
