// Package redisstream is mqscope's Redis Streams backend; importing it
// registers core.DriverRedisStream with core.
//
// Mapping:
//
//   - One stream per topic. An entry has field "data" (the payload, binary
//     safe) and, when there are headers, "headers" (JSON of core.Header). A
//     message id (core.WithMsgID) is carried as the Nats-Msg-Id header only:
//     Redis does not de-duplicate. Entries written by other producers
//     (fields other than data/headers) are delivered as a JSON object of
//     their fields, with no headers. Timestamps come from the entry id.
//   - Publish is XADD through a small auto-pipeliner: concurrent Publish
//     calls share pipelines (at most 2 in flight, 256 commands or 1 MiB
//     each), every caller still gets its own reply. PublishAsync queues the
//     XADD for the same pipeliner; a topic's async requests all go through
//     one flusher (one pipeline at a time), so call order is stored order;
//     the future resolves with the XADD's reply.
//   - With a group: XGROUP CREATE … MKSTREAM at the start position (an
//     existing group keeps its own position; a concurrent BUSYGROUP is
//     fine), XREADGROUP COUNT BatchSize with a bounded BLOCK (500ms, so a
//     stop never waits longer), handlers run one at a time per
//     subscription. Acks made while a batch runs are collected and sent as
//     one XACK pipelined with the next read: an Ack that returned nil may
//     still be lost if the process dies right then, and the entry is then
//     redelivered (at least once). An Ack after the batch is sent at once.
//   - A failed message stays pending. Nak/NakWithDelay(d) claim it back
//     with XCLAIM (min-idle d) when due; delays are capped at ClaimIdle, after
//     which any member may reclaim it anyway. Every ClaimIdle/4 (20ms..5s) a
//     sweep XAUTOCLAIMs entries idle ≥ ClaimIdle (crashed consumers, replies
//     lost with a killed connection); before Redis 7.0 the sweep is XPENDING
//     (IDLE from 6.2) + XCLAIM, since 6.2's XAUTOCLAIM answers nil for
//     trimmed entries and 6.0 has none. Deliveries() is the pending list's delivery count. Pending
//     entries whose message was trimmed are XACKed and logged.
//   - NOGROUP (group or stream deleted under a subscriber) recreates the
//     group with MKSTREAM at the last id this subscription saw, with
//     backoff; other errors (killed connections, restarts) retry with
//     backoff 50ms..2s.
//   - Consumer names: Config.Consumer or WithConsumerName; a second
//     subscription of the same process to the same topic and group gets
//     "<name>-2", and so on, so they never share a pending list.
//   - Without a group: XREAD from the resolved start, every subscriber gets
//     every message; acks are no-ops and a failed message is retried
//     locally.
//
// The operator's view uses SCAN … TYPE stream with pipelined XINFO STREAM,
// XINFO GROUPS/CONSUMERS, XPENDING (paged, never the whole list),
// XRANGE/XREVRANGE, XREAD (tail), XACK, XCLAIM, XGROUP SETID, and
// MULTI/EXEC for dead-letter moves and redrives on a single node.
//
// Redis Cluster (a *redis.ClusterClient through core.WithRedisConnector):
// every command names one stream, so go-redis routes it (and follows
// MOVED/ASK while slots move). Topics SCANs every master. The server
// version is the lowest of the masters'. A dead-letter move or redrive is
// one MULTI/EXEC only when its keys share a hash slot (hash tags:
// "{orders}" and "{orders}.dlq"); otherwise copies are written and
// confirmed before the originals are acked or deleted, and after a lost
// reply the target is read back from where it ended so that copies that
// landed are not written twice. go-redis' cluster client itself resends a
// command or pipeline after a network error (ClusterOptions.MaxRedirects,
// default 3), which can duplicate an XADD (Publish, DLQ copies); set
// MaxRedirects: -1 to leave recovery to mqscope (MOVED is then not
// followed either). Tested against a private 3-master cluster
// (conformance_cluster_test.go).
package redisstream
