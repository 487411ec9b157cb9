package core

// ForceAsyncFallback makes c's PublishAsync use the bounded goroutine pool
// even when the backend implements AsyncPublisher (tests of the fallback
// against real backends). Call it before the first PublishAsync.
func ForceAsyncFallback(c *Client) { c.asyncPub = nil }
