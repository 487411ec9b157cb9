package core

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Operator is the operator's view of one broker: watching (topics, groups,
// pending, browse, get, tail) never changes anything; every mutating call is
// refused with ErrReadOnly in read-only mode and writes one audit line.
type Operator struct {
	c        *Client
	b        OperatorBackend
	logger   *slog.Logger
	stuck    StuckThresholds
	readOnly bool

	mu    sync.Mutex
	rates map[string]rateSample
}

type rateSample struct {
	count uint64
	at    time.Time
	rate  float64
}

func newOperator(c *Client, b OperatorBackend, s StuckThresholds) *Operator {
	if s.PendingIdle == 0 {
		s.PendingIdle = time.Minute
	}
	if s.ConsumerIdle == 0 {
		s.ConsumerIdle = 5 * time.Minute
	}
	return &Operator{c: c, b: b, logger: c.logger, stuck: s, readOnly: c.cfg.ReadOnly, rates: map[string]rateSample{}}
}

// With returns a view of the same broker client for one actor: its audit
// and log lines carry attrs (slog key/value pairs, e.g. the SSH user and
// key), and it is read-only when readOnly is true or o is. Views share the
// client and its connection; closing the client closes them all. Publish
// rates are computed per view, from that view's own previous calls.
func (o *Operator) With(readOnly bool, attrs ...any) *Operator {
	return &Operator{c: o.c, b: o.b, logger: o.logger.With(attrs...), stuck: o.stuck,
		readOnly: o.readOnly || readOnly, rates: map[string]rateSample{}}
}

// ReadOnly reports whether mutating calls are refused.
func (o *Operator) ReadOnly() bool { return o.readOnly }

// DLQSuffix is the configured dead-letter suffix.
func (o *Operator) DLQSuffix() string { return o.c.cfg.DLQSuffix }

// DLQName names topic's dead-letter topic with the configured suffix (see
// the package function DLQName).
func (o *Operator) DLQName(topic string) string { return DLQName(topic, o.c.cfg.DLQSuffix) }

// Driver names the backend.
func (o *Operator) Driver() Driver { return o.c.cfg.Driver }

// Capabilities reports what the backend can do; in read-only mode mutating
// operations are reported unsupported with that reason.
func (o *Operator) Capabilities(ctx context.Context) Capabilities {
	c := o.b.Capabilities(ctx)
	if c.Driver == "" {
		c.Driver = o.c.cfg.Driver
	}
	if o.readOnly {
		ops := make(map[Op]Support, len(c.Ops))
		for op, s := range c.Ops {
			if op.Mutating() && s.Supported {
				s = Support{Supported: false, Reason: "read-only mode"}
			}
			ops[op] = s
		}
		c.Ops = ops
	}
	return c
}

func (o *Operator) ServerInfo(ctx context.Context) (ServerInfo, error) {
	if err := o.c.checkOpen(); err != nil {
		return ServerInfo{}, err
	}
	return o.b.ServerInfo(ctx)
}

// Topics lists topics sorted by name, with publish rates computed from the
// previous call.
func (o *Operator) Topics(ctx context.Context) ([]TopicInfo, error) {
	if err := o.c.checkOpen(); err != nil {
		return nil, err
	}
	ts, err := o.b.Topics(ctx)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	o.mu.Lock()
	for i := range ts {
		ts[i].Rate = o.rateLocked(ts[i], now)
		defaultSubjects(&ts[i])
	}
	o.mu.Unlock()
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	return ts, nil
}

func (o *Operator) rateLocked(t TopicInfo, now time.Time) float64 {
	if t.Rate != 0 {
		return t.Rate // observed by the backend
	}
	prev, ok := o.rates[t.Name]
	r := prev.rate
	if ok && t.Messages >= prev.count {
		if dt := now.Sub(prev.at).Seconds(); dt >= 0.2 {
			r = float64(t.Messages-prev.count) / dt
		} else {
			return r // too soon: keep the last figure and the old sample
		}
	} else if ok {
		r = 0 // trimmed or purged
	}
	o.rates[t.Name] = rateSample{count: t.Messages, at: now, rate: r}
	return r
}

// Topic is one topic, with its publish rate computed from the previous
// Topics or Topic call (a console refreshing only its visible rows keeps
// their rates current).
func (o *Operator) Topic(ctx context.Context, name string) (TopicInfo, error) {
	if err := o.c.checkOpen(); err != nil {
		return TopicInfo{}, err
	}
	t, err := o.b.Topic(ctx, name)
	if err != nil {
		return t, err
	}
	defaultSubjects(&t)
	o.mu.Lock()
	t.Rate = o.rateLocked(t, time.Now())
	o.mu.Unlock()
	return t, nil
}

// defaultSubjects fills what a backend left empty: where the topic's name is
// also its subject (Redis, NATS Core), both are the name.
func defaultSubjects(t *TopicInfo) {
	if t.PublishSubject == "" {
		t.PublishSubject = t.Name
	}
	if t.TailPattern == "" {
		t.TailPattern = t.Name
	}
}

// Groups lists a topic's groups with stuck reasons filled in; stuck groups
// sort first.
func (o *Operator) Groups(ctx context.Context, topic string) ([]GroupInfo, error) {
	b, err := require[GroupLister](ctx, o, OpGroups, topic)
	if err != nil {
		return nil, err
	}
	gs, err := b.Groups(ctx, topic)
	if err != nil {
		return nil, err
	}
	for i := range gs {
		o.markStuck(&gs[i])
	}
	sort.SliceStable(gs, func(i, j int) bool {
		if (len(gs[i].Stuck) > 0) != (len(gs[j].Stuck) > 0) {
			return len(gs[i].Stuck) > 0
		}
		return gs[i].Name < gs[j].Name
	})
	return gs, nil
}

func (o *Operator) markStuck(g *GroupInfo) {
	g.Stuck = g.Stuck[:0:0]
	if g.Pending > 0 && g.OldestPendingIdle >= o.stuck.PendingIdle {
		g.Stuck = append(g.Stuck, "a pending message idle "+idleText(g.OldestPendingIdle, g.OldestPendingLowerBound))
	}
	if g.MaxAckPending > 0 && g.Pending >= int64(g.MaxAckPending) {
		g.Stuck = append(g.Stuck, "ack pending at max ("+strconv.Itoa(g.MaxAckPending)+")")
	}
	for i := range g.Consumers {
		c := &g.Consumers[i]
		c.Stuck = c.Stuck[:0:0]
		// Judged by its own pending entries where the backend knows them:
		// XINFO CONSUMERS' idle is reset by any read, even an empty one.
		idle, what := c.Idle, "idle "+HumanDuration(c.Idle)
		if c.OldestPendingIdle > 0 {
			idle, what = c.OldestPendingIdle, "one idle "+idleText(c.OldestPendingIdle, c.OldestPendingLowerBound)
		}
		if c.Pending > 0 && idle >= o.stuck.ConsumerIdle {
			c.Stuck = append(c.Stuck, fmt.Sprintf("holds %d pending, %s", c.Pending, what))
			g.Stuck = append(g.Stuck, fmt.Sprintf("consumer %s holds %d pending, %s", c.Name, c.Pending, what))
		}
	}
	sort.SliceStable(g.Consumers, func(i, j int) bool {
		if (len(g.Consumers[i].Stuck) > 0) != (len(g.Consumers[j].Stuck) > 0) {
			return len(g.Consumers[i].Stuck) > 0
		}
		return g.Consumers[i].Name < g.Consumers[j].Name
	})
}

// HumanDuration prints a duration the way an operator reads it: 14m, 2h5m, 3d.
func HumanDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		h := int(d.Hours())
		m := int(d.Minutes()) - h*60
		if m == 0 {
			return strconv.Itoa(h) + "h"
		}
		return strconv.Itoa(h) + "h" + strconv.Itoa(m) + "m"
	default:
		return strconv.Itoa(int(d.Hours()/24)) + "d"
	}
}

func (o *Operator) Pending(ctx context.Context, q PendingQuery) (PendingPage, error) {
	b, err := require[PendingLister](ctx, o, OpPending, target(q.Topic, q.Group, nil))
	if err != nil {
		return PendingPage{}, err
	}
	if q.Topic == "" || q.Group == "" {
		return PendingPage{}, fmt.Errorf("mq: pending: topic and group are required")
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	return b.Pending(ctx, q)
}

func (o *Operator) Browse(ctx context.Context, q BrowseQuery) (BrowsePage, error) {
	b, err := require[Browser](ctx, o, OpBrowse, q.Topic)
	if err != nil {
		return BrowsePage{}, err
	}
	if q.Topic == "" {
		return BrowsePage{}, fmt.Errorf("mq: browse: topic is required")
	}
	if q.From.Kind == PosNew && !q.Reverse {
		q.From = StartAll()
	}
	if err := q.From.Validate(); err != nil {
		return BrowsePage{}, err
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	return b.Browse(ctx, q)
}

func (o *Operator) Get(ctx context.Context, topic, id string) (Record, error) {
	b, err := require[Getter](ctx, o, OpGet, topic)
	if err != nil {
		return Record{}, err
	}
	if topic == "" || id == "" {
		return Record{}, fmt.Errorf("mq: get: topic and id are required")
	}
	return b.Get(ctx, topic, id)
}

// Tail starts following q.Pattern. Messages go into a bounded ring buffer;
// the caller drains it (the console on a tick). When the caller is slower
// than the broker the oldest messages are dropped and counted.
func (o *Operator) Tail(ctx context.Context, q TailQuery) (*Tail, error) {
	if err := o.c.checkOpen(); err != nil {
		return nil, err
	}
	if q.Pattern == "" {
		return nil, fmt.Errorf("mq: tail: pattern is required")
	}
	if err := o.c.backend.ValidateTopic(q.Pattern, true); err != nil {
		return nil, err
	}
	if err := q.From.Validate(); err != nil {
		return nil, err
	}
	if q.From.Kind != PosNew {
		if _, err := require[OperatorBackend](ctx, o, OpStartPosition, q.Pattern+" from "+q.From.String()); err != nil {
			return nil, err
		}
	}
	if q.Buffer <= 0 {
		q.Buffer = 10000
	}
	tctx, cancel := context.WithCancel(ctx)
	t := newTail(q.Buffer, cancel)
	q.Lost = func(n uint64) { t.dropped.Add(n) }
	if err := o.b.Tail(tctx, q, t.push); err != nil {
		cancel()
		return nil, err
	}
	return t, nil
}

// require is the one gate every operation but the always-supported ones
// (server info, topics, a tail from now) passes, in this order: the client
// is open; read-only mode refuses a mutating op; Capabilities must declare
// op supported (else its reason is the error); the backend must implement
// T, the op's interface. A refused mutation is logged as an audit line.
func require[T any](ctx context.Context, o *Operator, op Op, where string) (T, error) {
	var impl T
	if err := o.c.checkOpen(); err != nil {
		return impl, err
	}
	if op.Mutating() && o.readOnly {
		o.logger.Warn("audit: refused in read-only mode", "op", string(op), "target", where)
		return impl, fmt.Errorf("%s %s: %w", op, where, ErrReadOnly)
	}
	ok, why := o.b.Capabilities(ctx).Can(op)
	if ok {
		impl, ok = o.b.(T)
		if !ok {
			why = fmt.Sprintf("the %s backend declares %s supported but does not implement it", o.c.cfg.Driver, op)
		}
	}
	if !ok {
		if op.Mutating() {
			o.logger.Warn("audit: refused, unsupported", "op", string(op), "target", where, "reason", why)
		}
		return impl, &UnsupportedError{Op: op, Reason: why}
	}
	return impl, nil
}

// mutate runs fn with the backend's implementation of op (see require) and
// writes one audit line.
func mutate[T any](ctx context.Context, o *Operator, op Op, where string, fn func(T) (Result, error)) (Result, error) {
	b, err := require[T](ctx, o, op, where)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	r, err := fn(b)
	attrs := []any{"op", string(op), "target", where, "requested", r.Requested, "done", r.Done, "failed", r.Failed, "took", time.Since(start).Round(time.Millisecond)}
	if err != nil {
		o.logger.Warn("audit", append(attrs, "result", "error", "err", err)...)
	} else {
		o.logger.Info("audit", append(attrs, "result", "ok")...)
	}
	return r, err
}

func target(topic, group string, ids []string) string {
	s := topic
	if group != "" {
		s += " group " + group
	}
	if len(ids) > 0 {
		if len(ids) <= 3 {
			s += " ids " + strings.Join(ids, ",")
		} else {
			s += fmt.Sprintf(" ids %s…(%d)", ids[0], len(ids))
		}
	}
	return s
}

// action runs a bulk action on a group's pending messages.
func action[T any](ctx context.Context, o *Operator, op Op, r ActionRequest, fn func(T, context.Context, ActionRequest) (Result, error)) (Result, error) {
	where := target(r.Topic, r.Group, r.IDs)
	if op == OpClaim && r.Consumer != "" {
		where += " -> " + r.Consumer // the audit line says where they went
	}
	if r.Delay > 0 {
		where += " delay " + r.Delay.String() // now and in an hour are different actions
	}
	return mutate(ctx, o, op, where, func(b T) (Result, error) {
		if r.Topic == "" || r.Group == "" {
			return Result{}, fmt.Errorf("mq: %s: topic and group are required", op)
		}
		if len(r.IDs) == 0 {
			return Result{}, fmt.Errorf("mq: %s: no message ids given", op)
		}
		if r.Delay < 0 {
			return Result{}, fmt.Errorf("mq: %s: delay %s is negative", op, r.Delay)
		}
		if r.Delay > 0 && op != OpNak {
			return Result{}, fmt.Errorf("mq: %s: a delay applies to nak only", op)
		}
		if op == OpClaim && r.Consumer == "" {
			return Result{}, fmt.Errorf("mq: claim: the consumer to claim to is required")
		}
		return fn(b, ctx, r)
	})
}

func (o *Operator) Ack(ctx context.Context, r ActionRequest) (Result, error) {
	return action(ctx, o, OpAck, r, Acker.Ack)
}

func (o *Operator) Nak(ctx context.Context, r ActionRequest) (Result, error) {
	return action(ctx, o, OpNak, r, Naker.Nak)
}

func (o *Operator) Term(ctx context.Context, r ActionRequest) (Result, error) {
	return action(ctx, o, OpTerm, r, Termer.Term)
}

func (o *Operator) Claim(ctx context.Context, r ActionRequest) (Result, error) {
	return action(ctx, o, OpClaim, r, Claimer.Claim)
}

func (o *Operator) Replay(ctx context.Context, r ReplayRequest) (Result, error) {
	return mutate(ctx, o, OpReplay, target(r.Topic, "", r.IDs)+" -> "+r.Target, func(b Replayer) (Result, error) {
		if r.Topic == "" {
			return Result{}, fmt.Errorf("mq: replay: topic is required")
		}
		if r.Target == "" {
			r.Target = r.Topic
		}
		if err := o.c.backend.ValidateTopic(r.Target, false); err != nil {
			return Result{}, fmt.Errorf("mq: replay target: %w", err)
		}
		if len(r.IDs) == 0 {
			if err := r.From.Validate(); err != nil {
				return Result{}, err
			}
			if r.Limit <= 0 {
				r.Limit = 1000
			}
		}
		return b.Replay(ctx, r)
	})
}

func (o *Operator) Rewind(ctx context.Context, r RewindRequest) (Result, error) {
	return mutate(ctx, o, OpRewind, target(r.Topic, r.Group, nil)+" to "+r.To.String(), func(b Rewinder) (Result, error) {
		if r.Topic == "" || r.Group == "" {
			return Result{}, fmt.Errorf("mq: rewind: topic and group are required")
		}
		if err := r.To.Validate(); err != nil {
			return Result{}, err
		}
		return b.Rewind(ctx, r)
	})
}

func (o *Operator) MoveToDLQ(ctx context.Context, r MoveRequest) (Result, error) {
	if r.DLQ == "" {
		r.DLQ = o.DLQName(r.Topic)
	}
	return mutate(ctx, o, OpDeadLetter, target(r.Topic, r.Group, r.IDs)+" -> "+r.DLQ, func(b DeadLetterer) (Result, error) {
		if r.Topic == "" {
			return Result{}, fmt.Errorf("mq: move to DLQ: topic is required")
		}
		if len(r.IDs) == 0 {
			return Result{}, fmt.Errorf("mq: move to DLQ: no message ids given")
		}
		if r.DLQ == r.Topic {
			return Result{}, fmt.Errorf("mq: move to DLQ: dead-letter topic %q is the topic itself", r.DLQ)
		}
		if err := o.c.backend.ValidateTopic(r.DLQ, false); err != nil {
			return Result{}, fmt.Errorf("mq: dead-letter topic: %w", err)
		}
		return b.MoveToDLQ(ctx, r)
	})
}

func (o *Operator) Redrive(ctx context.Context, r RedriveRequest) (Result, error) {
	return mutate(ctx, o, OpRedrive, target(r.DLQ, "", r.IDs)+" -> "+orDefault(r.Target, "origin"), func(b Redriver) (Result, error) {
		if r.DLQ == "" {
			return Result{}, fmt.Errorf("mq: redrive: DLQ topic is required")
		}
		if len(r.IDs) == 0 {
			return Result{}, fmt.Errorf("mq: redrive: no message ids given")
		}
		if r.Target != "" {
			if err := o.c.backend.ValidateTopic(r.Target, false); err != nil {
				return Result{}, fmt.Errorf("mq: redrive target: %w", err)
			}
		}
		return b.Redrive(ctx, r)
	})
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (o *Operator) DeleteGroup(ctx context.Context, topic, group string) error {
	_, err := mutate(ctx, o, OpDeleteGroup, target(topic, group, nil), func(b GroupDeleter) (Result, error) {
		if topic == "" || group == "" {
			return Result{}, fmt.Errorf("mq: delete group: topic and group are required")
		}
		return one(b.DeleteGroup(ctx, topic, group))
	})
	return err
}

func (o *Operator) DeleteConsumer(ctx context.Context, topic, group, consumer string) error {
	_, err := mutate(ctx, o, OpDeleteConsumer, target(topic, group, nil)+" consumer "+consumer, func(b ConsumerDeleter) (Result, error) {
		if topic == "" || group == "" || consumer == "" {
			return Result{}, fmt.Errorf("mq: delete consumer: topic, group and consumer are required")
		}
		return one(b.DeleteConsumer(ctx, topic, group, consumer))
	})
	return err
}

func (o *Operator) Purge(ctx context.Context, topic string) (Result, error) {
	return mutate(ctx, o, OpPurge, topic, func(b Purger) (Result, error) {
		if topic == "" {
			return Result{}, fmt.Errorf("mq: purge: topic is required")
		}
		return b.Purge(ctx, topic)
	})
}

// DeleteMessages deletes the chosen stored messages of a topic.
func (o *Operator) DeleteMessages(ctx context.Context, r DeleteRequest) (Result, error) {
	return mutate(ctx, o, OpDeleteMessages, target(r.Topic, "", r.IDs), func(b MessageDeleter) (Result, error) {
		if r.Topic == "" {
			return Result{}, fmt.Errorf("mq: delete messages: topic is required")
		}
		if len(r.IDs) == 0 {
			return Result{}, fmt.Errorf("mq: delete messages: no message ids given")
		}
		return b.DeleteMessages(ctx, r)
	})
}

// EnsureDLQ makes sure messages dead-lettered to dlq are kept (see
// EnsureStream). Refused in read-only mode; audited.
func (o *Operator) EnsureDLQ(ctx context.Context, dlq string) error {
	return o.ensure(ctx, OpCreateDLQ, dlq)
}

// EnsureStream makes sure something stores topic (JetStream: a file
// stream capturing the subject, created when none does), so that a publish
// to it is kept. Refused in read-only mode; audited.
func (o *Operator) EnsureStream(ctx context.Context, topic string) error {
	return o.ensure(ctx, OpCreateStream, topic)
}

func (o *Operator) ensure(ctx context.Context, op Op, topic string) error {
	_, err := mutate(ctx, o, op, topic, func(b StreamEnsurer) (Result, error) {
		if err := o.c.backend.ValidateTopic(topic, false); err != nil {
			return Result{}, err
		}
		return one(b.EnsureStream(ctx, topic))
	})
	return err
}

// one is the Result of a single-item operation.
func one(err error) (Result, error) {
	if err != nil {
		return Result{Requested: 1, Failed: 1}, err
	}
	return Result{Requested: 1, Done: 1}, nil
}

// Publish lets the console publish through the same client and says what
// the broker did with the message. It is refused in read-only mode and
// writes an audit line.
func (o *Operator) Publish(ctx context.Context, topic string, data []byte, h Header) (PublishResult, error) {
	if err := o.c.checkOpen(); err != nil {
		return PublishResult{}, err
	}
	if o.readOnly {
		return PublishResult{}, fmt.Errorf("publish %s: %w", topic, ErrReadOnly)
	}
	res, err := o.publish(ctx, topic, data, h)
	res.Topic = topic
	if err != nil {
		o.logger.Warn("audit", "op", "publish", "target", topic, "bytes", len(data), "result", "error", "err", err)
	} else {
		o.logger.Info("audit", "op", "publish", "target", topic, "bytes", len(data), "result", res.String())
	}
	return res, err
}

func (o *Operator) publish(ctx context.Context, topic string, data []byte, h Header) (PublishResult, error) {
	p, ok := o.b.(PublishReporter)
	if !ok {
		if err := o.c.Publish(ctx, topic, data, WithHeaders(h)); err != nil {
			return PublishResult{}, err
		}
		if ok, why := o.b.Capabilities(ctx).Can(OpHistory); !ok {
			return PublishResult{Detail: why}, nil
		}
		return PublishResult{Stored: true}, nil // the backend does not say under which id
	}
	if err := o.c.backend.ValidateTopic(topic, false); err != nil {
		return PublishResult{}, err
	}
	m := &OutgoingMessage{Data: data}
	if err := WithHeaders(h)(m); err != nil {
		return PublishResult{}, err
	}
	start := time.Now()
	res, err := p.PublishReport(ctx, topic, m)
	if o.c.metrics != nil {
		o.c.metrics.published(metricLabels{backend: string(o.c.cfg.Driver), topic: topic}, time.Since(start), err)
	}
	return res, err
}

// DeadLetterHeader builds the headers of a DLQ copy of rec.
func DeadLetterHeader(rec Record, group, consumer string, deliveries int, reason string, now time.Time) Header {
	h := rec.Header.Clone()
	if h == nil {
		h = Header{}
	}
	delete(h, HeaderMsgID)
	h.Set(HeaderOriginTopic, orDefault(rec.Subject, rec.Topic))
	h.Set(HeaderOriginID, rec.ID)
	if group != "" {
		h.Set(HeaderOriginGroup, group)
	}
	if consumer != "" {
		h.Set(HeaderOriginConsumer, consumer)
	}
	if deliveries > 0 {
		h.Set(HeaderDeliveries, strconv.Itoa(deliveries))
	}
	h.Set(HeaderReason, orDefault(reason, "moved by operator"))
	h.Set(HeaderDeadLetteredAt, now.UTC().Format(time.RFC3339Nano))
	return h
}

// RedriveHeader builds the headers of a message redriven from a DLQ: the
// dead-letter headers are dropped, and where it came from is added.
func RedriveHeader(rec Record, now time.Time) Header {
	h := rec.Header.Clone()
	if h == nil {
		h = Header{}
	}
	for _, k := range []string{HeaderOriginTopic, HeaderOriginID, HeaderOriginGroup, HeaderOriginConsumer,
		HeaderDeliveries, HeaderLastError, HeaderReason, HeaderDeadLetteredAt, HeaderMsgID} {
		delete(h, k)
	}
	h.Set(HeaderRedrivenFrom, orDefault(rec.Subject, rec.Topic)+"/"+rec.ID)
	h.Set(HeaderReplayedAt, now.UTC().Format(time.RFC3339Nano))
	return h
}

// ReplayHeader builds the headers of a replayed copy of rec.
func ReplayHeader(rec Record, now time.Time) Header {
	h := rec.Header.Clone()
	if h == nil {
		h = Header{}
	}
	delete(h, HeaderMsgID)
	h.Set(HeaderReplayedFrom, orDefault(rec.Subject, rec.Topic)+"/"+rec.ID)
	h.Set(HeaderReplayedAt, now.UTC().Format(time.RFC3339Nano))
	return h
}
