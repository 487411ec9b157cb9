package natscore

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/natsconn"
	"github.com/mqscope/mqscope/internal/natsubject"
)

// Why operations are missing on NATS Core, in the operator's words.
const (
	reasonNoHistory   = "NATS Core keeps no history: messages go to current subscribers and are not stored"
	reasonNoState     = "NATS Core keeps no consumer state on the server: queue groups exist only as live subscriptions, with no positions or pending lists"
	reasonNoAcks      = "NATS Core has no acknowledgements: a message is delivered at most once and nothing waits for an ack"
	reasonNoPending   = "NATS Core has no acknowledgements, so nothing is pending and nothing can be claimed"
	reasonNoDedup     = "NATS Core does not de-duplicate: the Nats-Msg-Id header is carried but not enforced (use JetStream)"
	reasonNoDLQStore  = "NATS Core stores nothing: a dead-letter subject reaches only its current subscribers (use JetStream to keep dead letters)"
	reasonNoStoredMsg = "NATS Core keeps no history, so there are no stored messages to act on"
)

// Operator implements core.OperatorBackend for NATS Core: topics (sampled)
// and tails only. It implements none of core's optional operator
// interfaces; Capabilities says why for each.
func (b *Backend) Operator() core.OperatorBackend { return (*operator)(b) }

type operator Backend

var _ core.OperatorBackend = (*operator)(nil)

func (o *operator) Capabilities(ctx context.Context) core.Capabilities {
	no := func(r string) core.Support { return core.Support{Supported: false, Reason: r} }
	yes := func(r string) core.Support { return core.Support{Supported: true, Reason: r} }
	return core.Capabilities{
		Driver:        core.DriverNATSCore,
		ServerVersion: o.nc.ConnectedServerVersion(),
		Ops: map[core.Op]core.Support{
			core.OpHistory:        no(reasonNoHistory),
			core.OpTopics:         yes(fmt.Sprintf("NATS Core keeps no subject list: topics are the subjects seen by a \">\" sampling subscription since the first look (at most %d subjects)", MaxTrackedSubjects)),
			core.OpGroups:         no(reasonNoState),
			core.OpPending:        no(reasonNoPending),
			core.OpBrowse:         no(reasonNoHistory),
			core.OpGet:            no(reasonNoHistory),
			core.OpTail:           yes("plain subscription (wildcards allowed) from now on; NATS Core keeps no history to start earlier"),
			core.OpAck:            no(reasonNoAcks),
			core.OpNak:            no(reasonNoAcks),
			core.OpTerm:           no(reasonNoAcks),
			core.OpClaim:          no(reasonNoPending),
			core.OpReplay:         no(reasonNoStoredMsg),
			core.OpRewind:         no(reasonNoState),
			core.OpDeadLetter:     no(reasonNoStoredMsg + " (subscribers with WithDeadLetter still publish failed messages to the DLQ subject)"),
			core.OpRedrive:        no(reasonNoDLQStore),
			core.OpDeleteGroup:    no(reasonNoState + "; a group ends when its last member unsubscribes"),
			core.OpDeleteConsumer: no(reasonNoState + "; a member leaves by unsubscribing"),
			core.OpPurge:          no(reasonNoStoredMsg),
			core.OpDeleteMessages: no(reasonNoStoredMsg),
			core.OpDedup:          no(reasonNoDedup),
			core.OpStartPosition:  no(reasonNoHistory + ": subscriptions and tails start with new messages"),
			core.OpCreateDLQ:      no(reasonNoDLQStore),
			core.OpCreateStream:   no("NATS Core stores nothing: there is no stream to create (use JetStream to keep messages)"),
		},
	}
}

func (o *operator) ServerInfo(ctx context.Context) (core.ServerInfo, error) {
	nc := o.nc
	info := core.ServerInfo{
		Driver:  core.DriverNATSCore,
		Version: nc.ConnectedServerVersion(),
		Address: core.RedactURL(nc.ConnectedUrl()),
		Name:    nc.ConnectedServerName(),
		State:   natsconn.State(nc.Status()),
		Extra:   map[string]string{},
	}
	if id := nc.ConnectedServerId(); id != "" {
		info.Extra["server_id"] = id
	}
	if cl := nc.ConnectedClusterName(); cl != "" {
		info.Extra["cluster"] = cl
	}
	if mp := nc.MaxPayload(); mp > 0 {
		info.Extra["max_payload"] = strconv.FormatInt(mp, 10)
	}
	st := nc.Stats()
	info.Extra["in_msgs"] = strconv.FormatUint(st.InMsgs, 10)
	info.Extra["out_msgs"] = strconv.FormatUint(st.OutMsgs, 10)
	info.Extra["reconnects"] = strconv.FormatUint(st.Reconnects, 10)
	info.Extra["status"] = nc.Status().String()
	info.Extra["dropped"] = strconv.FormatUint((*Backend)(o).Dropped(), 10)
	o.mu.Lock()
	smp := o.sampler
	o.mu.Unlock()
	if smp != nil {
		info.Extra["sampling"] = smp.note()
	}
	return info, nil
}

// Topics lists the subjects seen by the sampling subscription, which starts
// on the first call (so the first list is usually empty).
func (o *operator) Topics(ctx context.Context) ([]core.TopicInfo, error) {
	smp, err := o.startSampler(ctx)
	if err != nil {
		return nil, err
	}
	return smp.topics(time.Now()), nil
}

func (o *operator) Topic(ctx context.Context, name string) (core.TopicInfo, error) {
	if err := natsubject.Validate(name, false); err != nil {
		return core.TopicInfo{}, err
	}
	smp, err := o.startSampler(ctx)
	if err != nil {
		return core.TopicInfo{}, err
	}
	ti, ok := smp.topic(name, time.Now())
	if !ok {
		return core.TopicInfo{}, fmt.Errorf("nats core: subject %q: not seen since sampling started at %s: %w",
			name, smp.started.Format(time.RFC3339), core.ErrNotFound)
	}
	return ti, nil
}

func (o *operator) startSampler(ctx context.Context) (*sampler, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil, core.ErrClosed
	}
	if o.sampler != nil {
		return o.sampler, nil
	}
	// Holding o.mu during the subscribe keeps concurrent first calls from
	// starting two samplers; it is one round trip, bounded by flush.
	smp, err := newSampler(ctx, o.nc, o.logger)
	if err != nil {
		return nil, err
	}
	o.sampler = smp
	return smp, nil
}

// Tail subscribes to q.Pattern (wildcards allowed) and feeds sink from
// nats.go's delivery goroutine until ctx ends. It always starts with new
// messages: core refuses another start (OpStartPosition is unsupported).
func (o *operator) Tail(ctx context.Context, q core.TailQuery, sink func(core.Record)) error {
	if err := natsubject.Validate(q.Pattern, true); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("nats core: tail %q: %w", q.Pattern, err)
	}
	t := &tail{b: (*Backend)(o), pattern: q.Pattern, lost: q.Lost}
	var seen uint64
	ns, err := o.nc.Subscribe(q.Pattern, func(m *nats.Msg) {
		// Drops happen while this handler is behind, so it notices them
		// within the next few messages (stop reports the last ones).
		if seen++; seen%1024 == 0 {
			t.reportLost()
		}
		sink(core.Record{
			Topic:  m.Subject,
			ID:     msgID(m),
			Data:   m.Data,
			Header: core.Header(m.Header),
			Time:   time.Now(), // observed: NATS Core carries no timestamp
			Size:   len(m.Data),
		})
	})
	if err == nil {
		t.lostMu.Lock()
		t.ns = ns
		t.lostMu.Unlock()
		// The sink never blocks (a ring buffer), so these limits only bound
		// a burst; past them nats.go drops rather than stalling the reader.
		lim := tailPendingLimits.Load()
		err = ns.SetPendingLimits(lim[0], lim[1])
		if err == nil {
			err = flush(ctx, o.nc)
		}
	}
	if err != nil {
		if ns != nil {
			_ = ns.Unsubscribe()
		}
		return fmt.Errorf("nats core: tail %q: %w", q.Pattern, err)
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		_ = ns.Unsubscribe()
		return core.ErrClosed
	}
	o.tails[t] = struct{}{}
	t.stopCtx = context.AfterFunc(ctx, t.stop)
	o.mu.Unlock()
	if q.Lost != nil {
		// Drops show while the handler is behind; this says so when it
		// handles too few messages to notice.
		go func() {
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					t.reportLost()
				}
			}
		}()
	}
	return nil
}

const (
	tailPendingMsgs  = 64 * 1024
	tailPendingBytes = 64 << 20
)

// tailPendingLimits are the tail subscriptions' pending limits (tests lower
// them).
var tailPendingLimits atomic.Pointer[[2]int]

func init() { tailPendingLimits.Store(&[2]int{tailPendingMsgs, tailPendingBytes}) }

func msgID(m *nats.Msg) string {
	if v := m.Header.Get(core.HeaderMsgID); v != "" {
		return v
	}
	return localID()
}

type tail struct {
	b       *Backend
	pattern string
	ns      *nats.Subscription
	stopCtx func() bool
	once    sync.Once
	// lost (TailQuery.Lost) hears of messages nats.go dropped at the
	// pending limit; reported counts how many it was told of.
	lost     func(uint64)
	lostMu   sync.Mutex
	reported uint64
}

// reportLost tells the tail's owner of new drops at the client's pending
// limit.
func (t *tail) reportLost() uint64 {
	t.lostMu.Lock()
	defer t.lostMu.Unlock()
	if t.ns == nil { // the first messages arrive before Subscribe returns
		return 0
	}
	n, err := t.ns.Dropped()
	if err != nil || n < 0 {
		return t.reported
	}
	if d := uint64(n); d > t.reported {
		if t.lost != nil {
			t.lost(d - t.reported)
		}
		t.reported = d
	}
	return t.reported
}

func (t *tail) stop() {
	t.once.Do(func() {
		t.b.mu.Lock()
		stopCtx := t.stopCtx
		t.b.mu.Unlock()
		if stopCtx != nil {
			stopCtx()
		}
		if n := t.reportLost(); n > 0 {
			t.b.logger.Warn("nats core: tail dropped messages at the client's pending limit", "pattern", t.pattern, "dropped", n)
		}
		_ = t.ns.Unsubscribe()
		t.b.mu.Lock()
		delete(t.b.tails, t)
		t.b.mu.Unlock()
	})
}

// Sampling: subjects observed by a ">" subscription.

// MaxTrackedSubjects bounds the subjects the sampler keeps; messages on
// further subjects are counted as untracked.
const MaxTrackedSubjects = 10000

// rateWindow is the sliding window over which TopicInfo.Rate is computed, in
// one-second buckets.
const rateWindow = 10

const (
	samplerPendingMsgs  = 256 * 1024
	samplerPendingBytes = 64 << 20
)

type subjectStats struct {
	msgs, bytes uint64
	first, last time.Time
	// buckets[i] counts messages in second bucketSec[i] (a ring).
	buckets   [rateWindow]uint64
	bucketSec [rateWindow]int64
}

type sampler struct {
	ns      *nats.Subscription
	started time.Time

	mu        sync.Mutex
	subjects  map[string]*subjectStats
	untracked uint64
}

func newSampler(ctx context.Context, nc *nats.Conn, logger *slog.Logger) (*sampler, error) {
	s := &sampler{started: time.Now(), subjects: map[string]*subjectStats{}}
	ns, err := nc.Subscribe(">", s.observe)
	if err == nil {
		err = ns.SetPendingLimits(samplerPendingMsgs, samplerPendingBytes)
		if err == nil {
			err = flush(ctx, nc)
		}
	}
	if err != nil {
		if ns != nil {
			_ = ns.Unsubscribe()
		}
		return nil, fmt.Errorf("nats core: start the \">\" sampling subscription for the topic list: %w", err)
	}
	s.ns = ns
	logger.Debug("nats core: sampling subjects with a \">\" subscription")
	return s, nil
}

// ignoredSubject says whether a subject is plumbing rather than a topic:
// request/reply inboxes and the server's and JetStream's own "$" subjects.
func ignoredSubject(s string) bool {
	return strings.HasPrefix(s, "_INBOX.") || strings.HasPrefix(s, "$")
}

func (s *sampler) observe(m *nats.Msg) {
	if ignoredSubject(m.Subject) {
		return
	}
	now := time.Now()
	sec := now.Unix()
	s.mu.Lock()
	st := s.subjects[m.Subject]
	if st == nil {
		if len(s.subjects) >= MaxTrackedSubjects {
			s.untracked++
			s.mu.Unlock()
			return
		}
		st = &subjectStats{first: now}
		s.subjects[m.Subject] = st
	}
	st.msgs++
	st.bytes += uint64(len(m.Data))
	st.last = now
	i := sec % rateWindow
	if st.bucketSec[i] != sec {
		st.bucketSec[i] = sec
		st.buckets[i] = 0
	}
	st.buckets[i]++
	s.mu.Unlock()
}

// rate is messages per second over the last rateWindow seconds (or since
// sampling started, if later). Caller holds s.mu.
func (s *sampler) rate(st *subjectStats, now time.Time) float64 {
	sec := now.Unix()
	var n uint64
	for i := range st.buckets {
		if st.bucketSec[i] > sec-rateWindow {
			n += st.buckets[i]
		}
	}
	from := time.Unix(sec-rateWindow+1, 0)
	if s.started.After(from) {
		from = s.started
	}
	el := now.Sub(from).Seconds()
	if el < 0.25 {
		el = 0.25 // avoid absurd rates right after sampling starts
	}
	return float64(n) / el
}

func (s *sampler) info(name string, st *subjectStats, now time.Time, note string) core.TopicInfo {
	return core.TopicInfo{
		Name:      name,
		Messages:  st.msgs,
		Bytes:     st.bytes,
		FirstTime: st.first,
		LastTime:  st.last,
		Rate:      s.rate(st, now),
		Extra:     map[string]string{"observed": note},
	}
}

func (s *sampler) noteLocked() string {
	n := "seen by a \">\" sampling subscription since " + s.started.Format(time.RFC3339) + "; counts are since then; rate over the last " + strconv.Itoa(rateWindow) + "s"
	if s.untracked > 0 {
		n += fmt.Sprintf("; subject limit %d reached: %d messages on further subjects not listed", MaxTrackedSubjects, s.untracked)
	}
	if d, err := s.ns.Dropped(); err == nil && d > 0 {
		n += fmt.Sprintf("; %d messages missed by the sampler (too much traffic)", d)
	}
	return n
}

func (s *sampler) note() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.noteLocked()
}

func (s *sampler) topics(now time.Time) []core.TopicInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	note := s.noteLocked()
	out := make([]core.TopicInfo, 0, len(s.subjects))
	for name, st := range s.subjects {
		out = append(out, s.info(name, st, now, note))
	}
	return out
}

func (s *sampler) topic(name string, now time.Time) (core.TopicInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.subjects[name]
	if st == nil {
		return core.TopicInfo{}, false
	}
	return s.info(name, st, now, s.noteLocked()), true
}

func (s *sampler) stop() { _ = s.ns.Unsubscribe() }
