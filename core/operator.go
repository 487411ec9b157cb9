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

// ReadOnly reports whether mutating calls are refused.
func (o *Operator) ReadOnly() bool { return o.readOnly }

// DLQSuffix is the configured dead-letter suffix.
func (o *Operator) DLQSuffix() string { return o.c.cfg.DLQSuffix }

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
	o.mu.Lock()
	t.Rate = o.rateLocked(t, time.Now())
	o.mu.Unlock()
	return t, nil
}

// Groups lists a topic's groups with stuck reasons filled in; stuck groups
// sort first.
func (o *Operator) Groups(ctx context.Context, topic string) ([]GroupInfo, error) {
	if err := o.c.checkOpen(); err != nil {
		return nil, err
	}
	gs, err := o.b.Groups(ctx, topic)
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
	if err := o.c.checkOpen(); err != nil {
		return PendingPage{}, err
	}
	if q.Topic == "" || q.Group == "" {
		return PendingPage{}, fmt.Errorf("mq: pending: topic and group are required")
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	return o.b.Pending(ctx, q)
}

func (o *Operator) Browse(ctx context.Context, q BrowseQuery) (BrowsePage, error) {
	if err := o.c.checkOpen(); err != nil {
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
	return o.b.Browse(ctx, q)
}

func (o *Operator) Get(ctx context.Context, topic, id string) (Record, error) {
	if err := o.c.checkOpen(); err != nil {
		return Record{}, err
	}
	if topic == "" || id == "" {
		return Record{}, fmt.Errorf("mq: get: topic and id are required")
	}
	return o.b.Get(ctx, topic, id)
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
	if q.Buffer <= 0 {
		q.Buffer = 10000
	}
	tctx, cancel := context.WithCancel(ctx)
	t := newTail(q.Buffer, cancel)
	if err := o.b.Tail(tctx, q, t.push); err != nil {
		cancel()
		return nil, err
	}
	return t, nil
}

func (o *Operator) mutate(ctx context.Context, op Op, where string, fn func() (Result, error)) (Result, error) {
	if err := o.c.checkOpen(); err != nil {
		return Result{}, err
	}
	if o.readOnly {
		o.logger.Warn("audit: refused in read-only mode", "op", string(op), "target", where)
		return Result{}, fmt.Errorf("%s %s: %w", op, where, ErrReadOnly)
	}
	start := time.Now()
	r, err := fn()
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

func (o *Operator) action(ctx context.Context, op Op, r ActionRequest, fn func(context.Context, ActionRequest) (Result, error)) (Result, error) {
	return o.mutate(ctx, op, target(r.Topic, r.Group, r.IDs), func() (Result, error) {
		if r.Topic == "" || r.Group == "" {
			return Result{}, fmt.Errorf("mq: %s: topic and group are required", op)
		}
		if len(r.IDs) == 0 {
			return Result{}, fmt.Errorf("mq: %s: no message ids given", op)
		}
		return fn(ctx, r)
	})
}

func (o *Operator) Ack(ctx context.Context, r ActionRequest) (Result, error) {
	return o.action(ctx, OpAck, r, o.b.Ack)
}

func (o *Operator) Nak(ctx context.Context, r ActionRequest) (Result, error) {
	return o.action(ctx, OpNak, r, o.b.Nak)
}

func (o *Operator) Term(ctx context.Context, r ActionRequest) (Result, error) {
	return o.action(ctx, OpTerm, r, o.b.Term)
}

func (o *Operator) Claim(ctx context.Context, r ActionRequest) (Result, error) {
	return o.action(ctx, OpClaim, r, func(ctx context.Context, r ActionRequest) (Result, error) {
		if r.Consumer == "" {
			return Result{}, fmt.Errorf("mq: claim: the consumer to claim to is required")
		}
		return o.b.Claim(ctx, r)
	})
}

func (o *Operator) Replay(ctx context.Context, r ReplayRequest) (Result, error) {
	return o.mutate(ctx, OpReplay, target(r.Topic, "", r.IDs)+" -> "+r.Target, func() (Result, error) {
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
		return o.b.Replay(ctx, r)
	})
}

func (o *Operator) Rewind(ctx context.Context, r RewindRequest) (Result, error) {
	return o.mutate(ctx, OpRewind, target(r.Topic, r.Group, nil)+" to "+r.To.String(), func() (Result, error) {
		if r.Topic == "" || r.Group == "" {
			return Result{}, fmt.Errorf("mq: rewind: topic and group are required")
		}
		if err := r.To.Validate(); err != nil {
			return Result{}, err
		}
		return o.b.Rewind(ctx, r)
	})
}

func (o *Operator) MoveToDLQ(ctx context.Context, r MoveRequest) (Result, error) {
	if r.DLQ == "" {
		r.DLQ = r.Topic + o.c.cfg.DLQSuffix
	}
	return o.mutate(ctx, OpDeadLetter, target(r.Topic, r.Group, r.IDs)+" -> "+r.DLQ, func() (Result, error) {
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
		return o.b.MoveToDLQ(ctx, r)
	})
}

func (o *Operator) Redrive(ctx context.Context, r RedriveRequest) (Result, error) {
	return o.mutate(ctx, OpRedrive, target(r.DLQ, "", r.IDs)+" -> "+orDefault(r.Target, "origin"), func() (Result, error) {
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
		return o.b.Redrive(ctx, r)
	})
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (o *Operator) DeleteGroup(ctx context.Context, topic, group string) error {
	_, err := o.mutate(ctx, OpDeleteGroup, target(topic, group, nil), func() (Result, error) {
		if topic == "" || group == "" {
			return Result{}, fmt.Errorf("mq: delete group: topic and group are required")
		}
		return Result{Requested: 1, Done: 1}, o.b.DeleteGroup(ctx, topic, group)
	})
	return err
}

func (o *Operator) DeleteConsumer(ctx context.Context, topic, group, consumer string) error {
	_, err := o.mutate(ctx, OpDeleteConsumer, target(topic, group, nil)+" consumer "+consumer, func() (Result, error) {
		if topic == "" || group == "" || consumer == "" {
			return Result{}, fmt.Errorf("mq: delete consumer: topic, group and consumer are required")
		}
		return Result{Requested: 1, Done: 1}, o.b.DeleteConsumer(ctx, topic, group, consumer)
	})
	return err
}

func (o *Operator) Purge(ctx context.Context, topic string) (Result, error) {
	return o.mutate(ctx, OpPurge, topic, func() (Result, error) {
		if topic == "" {
			return Result{}, fmt.Errorf("mq: purge: topic is required")
		}
		return o.b.Purge(ctx, topic)
	})
}

func (o *Operator) EnsureDLQ(ctx context.Context, dlq string) error {
	_, err := o.mutate(ctx, OpCreateDLQ, dlq, func() (Result, error) {
		if err := o.c.backend.ValidateTopic(dlq, false); err != nil {
			return Result{}, err
		}
		return Result{Requested: 1, Done: 1}, o.b.EnsureDLQ(ctx, dlq)
	})
	return err
}

// EnsureStream makes sure something stores topic (JetStream: a file
// stream capturing the subject, created when none does), so that a publish
// to it is kept. Refused in read-only mode; audited.
func (o *Operator) EnsureStream(ctx context.Context, topic string) error {
	_, err := o.mutate(ctx, OpCreateStream, topic, func() (Result, error) {
		if err := o.c.backend.ValidateTopic(topic, false); err != nil {
			return Result{}, err
		}
		if s := o.b.Capabilities(ctx).Ops[OpCreateStream]; !s.Supported {
			return Result{}, &UnsupportedError{Op: OpCreateStream, Reason: s.Reason}
		}
		return Result{Requested: 1, Done: 1}, o.b.EnsureDLQ(ctx, topic)
	})
	return err
}

// Publish lets the console publish through the same client (not audited as
// an operator mutation, but refused in read-only mode).
func (o *Operator) Publish(ctx context.Context, topic string, data []byte, h Header) error {
	if o.readOnly {
		return fmt.Errorf("publish %s: %w", topic, ErrReadOnly)
	}
	err := o.c.Publish(ctx, topic, data, WithHeaders(h))
	if err != nil {
		o.logger.Warn("audit", "op", "publish", "target", topic, "bytes", len(data), "result", "error", "err", err)
	} else {
		o.logger.Info("audit", "op", "publish", "target", topic, "bytes", len(data), "result", "ok")
	}
	return err
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
