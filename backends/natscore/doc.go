// Package natscore is mqscope's NATS Core backend (driver core.DriverNATSCore);
// importing it (or github.com/mqscope/mqscope/backends) registers the driver.
//
// NATS Core is fire-and-forget pub/sub: the server stores nothing, keeps no
// consumer state and does not acknowledge messages. The backend maps core's
// API onto that honestly:
//
//   - Publish writes the message (with headers) to the connection and returns;
//     the server does not confirm it. While the connection is reconnecting,
//     nats.go buffers publishes in its reconnect buffer. WithMsgID is carried
//     as the Nats-Msg-Id header only: NATS Core does not de-duplicate.
//     PublishAsync is the same write, fire-and-forget: its future is
//     resolved (nil) before it returns.
//   - Subscribe uses QueueSubscribe for WithQueueGroup (each message goes to
//     one member of the group) and Subscribe otherwise (every subscriber gets
//     every message). It returns after a flush, so the interest is on the
//     server. Handlers run one at a time per subscription.
//   - Ack, Term and manual acking are no-ops: there is nothing to confirm.
//     Nak / a failing handler retries LOCALLY: the same message is handed to
//     the handler again after the retry delay, with Deliveries()+1. Without
//     WithRetry/WithDeadLetter the number of deliveries is capped at
//     core.DefaultMaxAttempts and the message is then dropped (logged), so a
//     failing handler cannot loop forever; with WithDeadLetter core publishes
//     it to the DLQ subject after the last attempt. Retries that are still
//     waiting for their delay when the subscription stops (Unsubscribe,
//     context cancel, Close) are abandoned and logged: NATS Core is
//     at-most-once, and waiting up to the backoff cap would make Close slow.
//     A retry whose handler is running is waited for. Unsubscribe (or Close)
//     called from inside the subscription's own handler does not wait for
//     that handler: it returns, and nothing is delivered after it.
//   - WithBatchSize is accepted and has no effect on the wire: NATS Core pushes
//     messages as they arrive (there is no fetch to batch), and nats.go already
//     reads the socket in large chunks into the subscription's pending buffer.
//   - Start positions other than "new" are refused: NATS Core keeps no history.
//   - The subscription's client-side pending buffer is bounded
//     (PendingMsgsLimit, PendingBytesLimit). The nats.go reader never waits for
//     a handler, so the server never cuts the connection as a slow consumer;
//     when a handler falls that far behind, nats.go drops messages, and the
//     backend counts and logs the drops (ServerInfo.Extra["dropped"]).
//
// The operator's view: Topics are the subjects seen by a wildcard sampling
// subscription (">" started on the first Topics call, bounded to
// MaxTrackedSubjects), with per-subject counts, bytes, last time and a rate
// over a sliding window (_INBOX.* and $-subjects are plumbing and are not
// listed). The sampler receives every message on the server through this
// connection, so while it runs the connection's inbound traffic includes the
// whole server's; it stops on Close. Tail is a plain subscription from now on. Everything
// that needs stored messages or server-side consumer state is reported
// unsupported with the reason.
package natscore
