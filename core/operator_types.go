package core

import (
	"context"
	"fmt"
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
	OpDeleteMessages Op = "delete_messages" // delete chosen stored messages of a topic
	OpDedup          Op = "dedup"           // publish de-duplication by message id
	OpStartPosition  Op = "start_position"  // subscribe from a past position
	OpCreateDLQ      Op = "create_dlq"      // create storage for a DLQ topic
	OpCreateStream   Op = "create_stream"   // create storage for a topic before publishing to it
)

// AllOps lists every Op in display order.
var AllOps = []Op{OpHistory, OpTopics, OpGroups, OpPending, OpBrowse, OpGet, OpTail,
	OpAck, OpNak, OpTerm, OpClaim, OpReplay, OpRewind, OpDeadLetter, OpRedrive,
	OpDeleteGroup, OpDeleteConsumer, OpPurge, OpDeleteMessages, OpDedup, OpStartPosition, OpCreateDLQ, OpCreateStream}

// Mutating says whether an Op changes broker state (refused in read-only mode).
func (o Op) Mutating() bool {
	switch o {
	case OpAck, OpNak, OpTerm, OpClaim, OpReplay, OpRewind, OpDeadLetter, OpRedrive,
		OpDeleteGroup, OpDeleteConsumer, OpPurge, OpDeleteMessages, OpCreateDLQ, OpCreateStream:
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

// ConnState is the state of the client's connection to the broker. The
// zero value is ConnDown.
type ConnState uint8

const (
	ConnDown         ConnState = iota // closed, or the broker does not answer
	ConnConnected                     // connected and usable
	ConnReconnecting                  // lost, trying again (or connecting for the first time)
	ConnDraining                      // the connection is being drained on its way to closed
)

func (s ConnState) String() string {
	switch s {
	case ConnConnected:
		return "connected"
	case ConnReconnecting:
		return "reconnecting"
	case ConnDraining:
		return "draining"
	}
	return "down"
}

// ServerInfo describes the connected broker.
type ServerInfo struct {
	Driver  Driver
	Version string
	Address string
	Name    string
	State   ConnState
	Extra   map[string]string
}

// Connected reports whether the connection is up and usable.
func (s ServerInfo) Connected() bool { return s.State == ConnConnected }

// TopicInfo is one topic: a Redis stream, a JetStream stream (Subjects
// lists what it captures) or an observed NATS Core subject.
type TopicInfo struct {
	Name     string
	Subjects []string
	// PublishSubject is where a message for this topic is published: the
	// stream's first literal subject (JetStream), else Name.
	PublishSubject string
	// TailPattern is what a tail of this topic follows: the stream's one
	// subject (JetStream, wildcards allowed), else Name.
	TailPattern string
	Messages    uint64
	Bytes       uint64 // 0 when the backend does not say
	FirstID     string
	LastID      string
	FirstTime   time.Time
	LastTime    time.Time
	Groups      int
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

// GroupKind says what a group is.
type GroupKind uint8

const (
	// GroupDurable is a group that lives on without members: a Redis
	// consumer group, a JetStream durable consumer.
	GroupDurable GroupKind = iota
	// GroupEphemeral is a consumer the broker removes once its client goes
	// (a JetStream ephemeral consumer).
	GroupEphemeral
	// GroupTail is mqscope's own tail: an ordered, ack-less consumer that
	// only watches (JetStream). It holds nothing and is never acted on.
	GroupTail
)

func (k GroupKind) String() string {
	switch k {
	case GroupEphemeral:
		return "ephemeral"
	case GroupTail:
		return "tail"
	}
	return "durable"
}

// GroupInfo is a consumer group (Redis) or a consumer (JetStream).
type GroupInfo struct {
	Topic         string
	Name          string
	Kind          GroupKind
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
	// Stored is when the message was stored, set where the backend reads
	// the message to list it (JetStream, which keeps no per-message owner
	// or idle time); then Subject and Size (payload bytes) are set too.
	Stored  time.Time
	Subject string
	Size    int
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
	Consumer string   // for Claim: the new owner
	IDs      []string // ids / sequences
	MinIdle  time.Duration
	Reason   string
	// Delay, for Nak where the backend supports it (JetStream), is how long
	// before a naked message may be delivered again; 0 = at once.
	Delay time.Duration
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

// MaxResultErrors bounds Result.Errors: a bulk action over thousands of
// messages keeps the first reasons for the operator and counts the rest.
const MaxResultErrors = 10

// Fail counts one failed item and keeps its reason (the first
// MaxResultErrors are kept).
func (r *Result) Fail(err error) {
	r.Failed++
	r.Note(err)
}

// Failf is Fail with a formatted reason.
func (r *Result) Failf(format string, args ...any) { r.Fail(fmt.Errorf(format, args...)) }

// Note keeps a reason without counting a failure: for an item counted as
// skipped, say why.
func (r *Result) Note(err error) {
	if len(r.Errors) < MaxResultErrors {
		r.Errors = append(r.Errors, err.Error())
	}
}

// Notef is Note with a formatted reason.
func (r *Result) Notef(format string, args ...any) { r.Note(fmt.Errorf(format, args...)) }

// Report tells progress (which may be nil) how many of the requested items
// are settled so far: done, failed or skipped.
func (r *Result) Report(progress func(done, total int)) {
	if progress != nil {
		progress(r.Done+r.Failed+r.Skipped, r.Requested)
	}
}

// PublishResult says what the broker did with one message the operator
// published.
type PublishResult struct {
	Topic string
	// Stored is true when the broker keeps the message: false on a broker
	// that stores nothing (NATS Core) and for a duplicate.
	Stored bool
	ID     string // what it is stored under (of the original, for a duplicate)
	Seq    uint64 // JetStream stream sequence (0 elsewhere)
	Stream string // JetStream stream
	// Duplicate is true when JetStream dropped the message as a duplicate
	// of Seq (same Nats-Msg-Id within the stream's duplicate window).
	Duplicate bool
	// Detail says why the message was not stored, when it was not.
	Detail string
}

// String is the sentence for the operator: "stored as seq 42 in stream
// ORDERS", "duplicate of seq 42 in stream ORDERS, not stored", ...
func (r PublishResult) String() string {
	switch {
	case r.Duplicate:
		return fmt.Sprintf("duplicate of seq %d in stream %s, not stored", r.Seq, r.Stream)
	case r.Stored && r.Seq > 0:
		return fmt.Sprintf("stored as seq %d in stream %s", r.Seq, r.Stream)
	case r.Stored && r.ID != "":
		return "stored as id " + r.ID
	case r.Stored:
		return "stored"
	case r.Detail != "":
		return "not stored: " + r.Detail
	}
	return "published"
}

// DeleteRequest deletes stored messages of a topic by id (a poison
// message, a secret published by mistake). Groups that still hold one as
// pending keep its id; a read of it then finds nothing.
type DeleteRequest struct {
	Topic    string
	IDs      []string
	Progress func(done, total int)
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

// OperatorBackend is what every backend implements for the operator's
// view: what it can do, the server, its topics, and a tail. Everything else
// is one optional interface per operation below (the way database/sql/driver
// does it): a backend implements only what it supports, and core.Operator
// checks, in this order, that the client is open, that read-only mode
// allows the operation, that Capabilities declares it supported (else the
// call fails with an *UnsupportedError carrying Capabilities' reason), and
// that the backend implements it. So a backend writes each reason once, in
// Capabilities, and never a stub that repeats it.
type OperatorBackend interface {
	// Capabilities may depend on the connected server's version; it does no
	// I/O (core calls it before every gated operation).
	Capabilities(ctx context.Context) Capabilities
	ServerInfo(ctx context.Context) (ServerInfo, error)
	Topics(ctx context.Context) ([]TopicInfo, error)
	Topic(ctx context.Context, name string) (TopicInfo, error)
	// Tail starts following; it calls sink for every message from its own
	// goroutine until ctx is cancelled. sink never blocks. It returns once
	// the tail is established on the broker. A start other than PosNew is
	// only asked for when OpStartPosition is supported.
	Tail(ctx context.Context, q TailQuery, sink func(Record)) error
}

// Optional operator interfaces, one per operation (the Op they serve in
// brackets). Core calls them only after the checks described at
// OperatorBackend, and after validating the request.
type (
	// GroupLister lists a topic's groups [OpGroups].
	GroupLister interface {
		Groups(ctx context.Context, topic string) ([]GroupInfo, error)
	}
	// PendingLister pages through a group's pending list [OpPending].
	PendingLister interface {
		Pending(ctx context.Context, q PendingQuery) (PendingPage, error)
	}
	// Browser reads stored messages without side effects [OpBrowse].
	Browser interface {
		Browse(ctx context.Context, q BrowseQuery) (BrowsePage, error)
	}
	// Getter reads one stored message [OpGet].
	Getter interface {
		Get(ctx context.Context, topic, id string) (Record, error)
	}
	// Acker acks pending messages as the operator [OpAck].
	Acker interface {
		Ack(ctx context.Context, r ActionRequest) (Result, error)
	}
	// Naker asks for redelivery [OpNak].
	Naker interface {
		Nak(ctx context.Context, r ActionRequest) (Result, error)
	}
	// Termer stops redelivery [OpTerm].
	Termer interface {
		Term(ctx context.Context, r ActionRequest) (Result, error)
	}
	// Claimer moves pending messages to another consumer [OpClaim].
	Claimer interface {
		Claim(ctx context.Context, r ActionRequest) (Result, error)
	}
	// Replayer republishes stored messages [OpReplay].
	Replayer interface {
		Replay(ctx context.Context, r ReplayRequest) (Result, error)
	}
	// Rewinder moves a group's position [OpRewind].
	Rewinder interface {
		Rewind(ctx context.Context, r RewindRequest) (Result, error)
	}
	// DeadLetterer moves messages to a dead-letter topic [OpDeadLetter].
	DeadLetterer interface {
		MoveToDLQ(ctx context.Context, r MoveRequest) (Result, error)
	}
	// Redriver moves dead-lettered messages back [OpRedrive].
	Redriver interface {
		Redrive(ctx context.Context, r RedriveRequest) (Result, error)
	}
	// GroupDeleter deletes a group [OpDeleteGroup].
	GroupDeleter interface {
		DeleteGroup(ctx context.Context, topic, group string) error
	}
	// ConsumerDeleter removes one member of a group [OpDeleteConsumer].
	ConsumerDeleter interface {
		DeleteConsumer(ctx context.Context, topic, group, consumer string) error
	}
	// Purger deletes every message of a topic [OpPurge].
	Purger interface {
		Purge(ctx context.Context, topic string) (Result, error)
	}
	// MessageDeleter deletes chosen stored messages of a topic
	// [OpDeleteMessages]; an id that is not stored is skipped, with why.
	MessageDeleter interface {
		DeleteMessages(ctx context.Context, r DeleteRequest) (Result, error)
	}
	// PublishReporter publishes like Backend.Publish and says what the
	// broker stored (Operator.Publish; no Op gates it). Without it, core
	// publishes through the client and reports only whether the backend
	// keeps history.
	PublishReporter interface {
		PublishReport(ctx context.Context, topic string, m *OutgoingMessage) (PublishResult, error)
	}
	// StreamEnsurer makes sure messages published to topic are stored
	// (JetStream: a stream capturing it is created when none does; a no-op
	// where storage is implicit) [OpCreateStream, and OpCreateDLQ for a
	// dead-letter topic].
	StreamEnsurer interface {
		EnsureStream(ctx context.Context, topic string) error
	}
)
