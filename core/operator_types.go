package core

import (
	"context"
	"time"
)

// Op names an operation whose support varies by backend.
type Op string

const (
	OpHistory        Op = "history"         // messages are stored and can be read again
	OpTopics         Op = "topics"          // list topics with counts
	OpGroups         Op = "groups"          // list groups/consumers of a topic
	OpPending        Op = "pending"         // per-message pending list of a group
	OpBrowse         Op = "browse"          // read stored messages without side effects
	OpGet            Op = "get"             // read one stored message
	OpTail           Op = "tail"            // follow new messages without side effects
	OpAck            Op = "ack"             // ack pending messages as an operator
	OpNak            Op = "nak"             // ask for redelivery as an operator
	OpTerm           Op = "term"            // stop redelivery of a message
	OpClaim          Op = "claim"           // move pending messages to another consumer
	OpReplay         Op = "replay"          // republish stored messages
	OpRewind         Op = "rewind"          // move a group's position
	OpDeadLetter     Op = "dead_letter"     // move messages to the DLQ
	OpRedrive        Op = "redrive"         // move DLQ messages back
	OpDeleteGroup    Op = "delete_group"    // delete a group / durable consumer
	OpDeleteConsumer Op = "delete_consumer" // remove one member of a group
	OpPurge          Op = "purge"           // delete every message of a topic
	OpDedup          Op = "dedup"           // publish de-duplication by message id
	OpStartPosition  Op = "start_position"  // subscribe from a past position
	OpCreateDLQ      Op = "create_dlq"      // create storage for a DLQ topic
	OpCreateStream   Op = "create_stream"   // create storage for a topic before publishing to it
)

// AllOps lists every Op in display order.
var AllOps = []Op{OpHistory, OpTopics, OpGroups, OpPending, OpBrowse, OpGet, OpTail,
	OpAck, OpNak, OpTerm, OpClaim, OpReplay, OpRewind, OpDeadLetter, OpRedrive,
	OpDeleteGroup, OpDeleteConsumer, OpPurge, OpDedup, OpStartPosition, OpCreateDLQ, OpCreateStream}

// Mutating says whether an Op changes broker state (refused in read-only mode).
func (o Op) Mutating() bool {
	switch o {
	case OpAck, OpNak, OpTerm, OpClaim, OpReplay, OpRewind, OpDeadLetter, OpRedrive,
		OpDeleteGroup, OpDeleteConsumer, OpPurge, OpCreateDLQ, OpCreateStream:
		return true
	}
	return false
}

// Support is one capability: whether it works and, either way, a sentence
// for the operator ("NATS Core keeps no history").
type Support struct {
	Supported bool
	Reason    string
}

// Capabilities describes what a backend (at the connected server's version)
// can do.
type Capabilities struct {
	Driver        Driver
	ServerVersion string
	Ops           map[Op]Support
}

// Can reports whether op is supported and why (or why not).
func (c Capabilities) Can(op Op) (bool, string) {
	s, ok := c.Ops[op]
	if !ok {
		return false, "not implemented by the " + string(c.Driver) + " backend"
	}
	return s.Supported, s.Reason
}

// ServerInfo describes the connected broker.
type ServerInfo struct {
	Driver  Driver
	Version string
	Address string
	Name    string
	// Connected is false while the client is reconnecting or down.
	Connected bool
	State     string // "connected", "reconnecting", "down"
	Extra     map[string]string
}

// TopicInfo is one topic: a Redis stream, a JetStream stream (Subjects
// lists what it captures) or an observed NATS Core subject.
type TopicInfo struct {
	Name      string
	Subjects  []string
	Messages  uint64
	Bytes     uint64 // 0 when the backend does not say
	FirstID   string
	LastID    string
	FirstTime time.Time
	LastTime  time.Time
	Groups    int
	// Rate is messages per second, from the change of Messages between two
	// Topics calls (core computes it) or observed directly (NATS Core).
	Rate float64
	// Extra holds backend details worth showing (retention, storage, ...).
	Extra map[string]string
}

// ConsumerInfo is one member of a group.
type ConsumerInfo struct {
	Name    string
	Pending int64
	// Idle is the time since its last interaction with the broker; any
	// read resets it, even one that returns nothing, so it does not tell
	// whether the consumer makes progress.
	Idle time.Duration
	// OldestPendingIdle is the longest idle time among this consumer's own
	// pending entries: what stuck detection judges the consumer by. 0 when
	// it holds none or the backend cannot tell (then core judges by Idle).
	OldestPendingIdle time.Duration
	// OldestPendingLowerBound says the backend looked at only part of a
	// long pending list, so OldestPendingIdle is a lower bound.
	OldestPendingLowerBound bool
	Stuck                   []string
}

// GroupInfo is a consumer group (Redis) or durable consumer (JetStream).
type GroupInfo struct {
	Topic         string
	Name          string
	Consumers     []ConsumerInfo
	Pending       int64  // delivered, not acked
	Lag           int64  // not yet delivered; -1 when unknown
	LastDelivered string // id / sequence
	AckFloor      string
	Redelivered   int64 // -1 when unknown
	WaitingPulls  int
	MaxAckPending int
	MaxDeliver    int
	// OldestPendingIdle is the longest idle time among the group's pending
	// messages (not the idle time of the lowest pending id: a claim or a
	// redelivery makes that one fresh while others stay stuck); 0 when none
	// or unknown.
	OldestPendingIdle time.Duration
	// OldestPendingLowerBound says the backend looked at only part of a
	// long pending list (Extra["idle-scan"] says which), so
	// OldestPendingIdle is a lower bound.
	OldestPendingLowerBound bool
	// Stuck lists human reasons the group looks stuck, worst first; filled
	// by core from StuckThresholds.
	Stuck []string
	Extra map[string]string
}

// StuckThresholds decides when a group or consumer is marked stuck.
type StuckThresholds struct {
	PendingIdle  time.Duration // a pending message of the group idle longer than this (default 1m)
	ConsumerIdle time.Duration // a pending message of the consumer idle longer than this (default 5m)
}

// PendingQuery pages through a group's pending list.
type PendingQuery struct {
	Topic    string
	Group    string
	Consumer string        // "" = all consumers
	MinIdle  time.Duration // only entries idle at least this long
	Cursor   string        // "" = first page; else PendingPage.Next
	Limit    int           // default 100
}

// PendingEntry is one pending message.
type PendingEntry struct {
	ID         string
	Consumer   string
	Idle       time.Duration
	Deliveries int
}

// PendingPage is one page of a pending list.
type PendingPage struct {
	Entries []PendingEntry
	Next    string // "" when there is no further page
	Total   int64  // pending count of the group (or consumer)
	// Note says what the list can and cannot tell on this backend.
	Note string
}

// Record is a stored or observed message as the operator sees it.
type Record struct {
	Topic   string // the stream / topic
	Subject string // the concrete subject (NATS) when it differs from Topic
	ID      string
	Seq     uint64 // JetStream sequence (0 elsewhere)
	Data    []byte
	Header  Header
	Time    time.Time
	// Size is len(Data) unless the payload was truncated for display.
	Size int
}

// BrowseQuery reads stored messages without side effects.
type BrowseQuery struct {
	Topic   string
	From    Position // PosAll = oldest (newest when Reverse); PosNew not allowed
	Reverse bool
	Limit   int // default 50
	// Subject filters JetStream messages by subject (wildcards allowed).
	Subject string
}

// BrowsePage is one page of browsing.
type BrowsePage struct {
	Records []Record
	// Next is the position to continue from (zero Position when done).
	Next Position
	More bool
}

// TailQuery follows a topic or pattern without side effects.
type TailQuery struct {
	Pattern string   // topic, or NATS wildcard subject
	From    Position // PosNew (default), PosLast, PosTime, PosSeq, PosID
	Buffer  int      // ring buffer size (default 10000)
	// Lost is set by Operator.Tail: a backend calls it with the number of
	// messages it lost before they reached the sink (a client pending
	// limit, a slow-consumer cut), so that Tail.Dropped counts every loss,
	// not only the ring buffer's.
	Lost func(n uint64)
}

// MessageRef names messages in a group for acting on them.
type ActionRequest struct {
	Topic    string
	Group    string
	Consumer string   // for Claim: the new owner; for JetStream fetch-as-consumer
	IDs      []string // ids / sequences
	MinIdle  time.Duration
	Reason   string
	// Progress, when set, is called as items complete (done, total).
	Progress func(done, total int)
}

// Result counts what a bulk action did.
type Result struct {
	Requested int
	Done      int
	Failed    int
	Skipped   int
	Errors    []string // first few errors, for the operator
	// Detail is a sentence about what happened (for example what was lost
	// by a recreate).
	Detail string
}

// ReplayRequest republishes stored messages.
type ReplayRequest struct {
	Topic string
	IDs   []string // explicit selection; or a range with From/To
	From  Position
	To    Position // inclusive end (PosID/PosSeq/PosTime); zero = up to now
	Limit int      // bound for a range (default 1000)
	// Target topic; "" = the same topic.
	Target   string
	Progress func(done, total int)
}

// RewindRequest moves a group's delivery position.
type RewindRequest struct {
	Topic string
	Group string
	To    Position
	// Confirmed must be true when the backend can only rewind by recreating
	// the consumer; without it the call returns ErrNeedsConfirmation whose
	// text says what is lost.
	Confirmed bool
}

// MoveRequest moves messages to a dead-letter topic.
type MoveRequest struct {
	Topic    string
	Group    string // "" = stored messages, not pending ones
	IDs      []string
	Reason   string
	DLQ      string // "" = Topic + DLQ suffix
	Progress func(done, total int)
}

// RedriveRequest moves dead-lettered messages back to where they came from.
type RedriveRequest struct {
	DLQ    string
	IDs    []string
	Target string // "" = each message's Mq-Origin-Topic header
	// Remove deletes the DLQ copy after the origin has it (default true via
	// the console; scripts choose).
	Remove   bool
	Progress func(done, total int)
}

// OperatorBackend is what each backend implements for the operator's view.
// Core wraps it (see Operator) to enforce read-only mode, audit, rates and
// stuck detection; unsupported operations return an *UnsupportedError.
type OperatorBackend interface {
	Capabilities(ctx context.Context) Capabilities
	ServerInfo(ctx context.Context) (ServerInfo, error)
	Topics(ctx context.Context) ([]TopicInfo, error)
	Topic(ctx context.Context, name string) (TopicInfo, error)
	Groups(ctx context.Context, topic string) ([]GroupInfo, error)
	Pending(ctx context.Context, q PendingQuery) (PendingPage, error)
	Browse(ctx context.Context, q BrowseQuery) (BrowsePage, error)
	Get(ctx context.Context, topic, id string) (Record, error)
	// Tail starts following; it calls sink for every message from its own
	// goroutine until ctx is cancelled. sink never blocks. It returns once
	// the tail is established on the broker.
	Tail(ctx context.Context, q TailQuery, sink func(Record)) error

	Ack(ctx context.Context, r ActionRequest) (Result, error)
	Nak(ctx context.Context, r ActionRequest) (Result, error)
	Term(ctx context.Context, r ActionRequest) (Result, error)
	Claim(ctx context.Context, r ActionRequest) (Result, error)
	Replay(ctx context.Context, r ReplayRequest) (Result, error)
	Rewind(ctx context.Context, r RewindRequest) (Result, error)
	MoveToDLQ(ctx context.Context, r MoveRequest) (Result, error)
	Redrive(ctx context.Context, r RedriveRequest) (Result, error)
	DeleteGroup(ctx context.Context, topic, group string) error
	DeleteConsumer(ctx context.Context, topic, group, consumer string) error
	Purge(ctx context.Context, topic string) (Result, error)
	// EnsureDLQ makes sure messages published to dlq are stored (JetStream:
	// create a stream capturing it); a no-op where storage is implicit.
	EnsureDLQ(ctx context.Context, dlq string) error
}
