package natscore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/natsubject"
)

func init() {
	core.Register(core.DriverNATSCore, New)
}

// Client-side pending limits of every subscription (messages received from
// the server but not yet handled). Past them nats.go drops messages instead
// of blocking its reader, so the server never cuts the connection as a slow
// consumer; the drops are counted and logged.
const (
	PendingMsgsLimit  = 512 * 1024
	PendingBytesLimit = 64 << 20
)

// pendingLimits are the limits in force; tests lower them (export_test.go).
var pendingLimits atomic.Pointer[[2]int]

func init() { pendingLimits.Store(&[2]int{PendingMsgsLimit, PendingBytesLimit}) }

// dropCheckInterval is how often drops of subscriptions are looked for.
const dropCheckInterval = 2 * time.Second

// Backend implements core.Backend for NATS Core.
type Backend struct {
	nc     *nats.Conn
	cfg    core.Config
	logger *slog.Logger

	mu      sync.Mutex
	closed  bool
	subs    map[*subscription]struct{}
	tails   map[*tail]struct{}
	sampler *sampler
	dropped uint64 // drops of subscriptions already stopped

	stop chan struct{}
	wg   sync.WaitGroup
}

var (
	_ core.Backend        = (*Backend)(nil)
	_ core.DataPublisher  = (*Backend)(nil)
	_ core.AsyncPublisher = (*Backend)(nil)
)

// New is the driver's factory; it uses deps.NATS and never closes it.
func New(ctx context.Context, deps core.Deps) (core.Backend, error) {
	if deps.NATS == nil {
		return nil, errors.New("nats core: no NATS connection (use core.WithNATSConnector or Config.NATSURL)")
	}
	if deps.NATS.IsClosed() {
		return nil, fmt.Errorf("nats core: connection is closed: %w", nats.ErrConnectionClosed)
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &Backend{
		nc:     deps.NATS,
		cfg:    deps.Config,
		logger: logger,
		subs:   map[*subscription]struct{}{},
		tails:  map[*tail]struct{}{},
		stop:   make(chan struct{}),
	}
	b.wg.Add(1)
	go b.watchDrops()
	return b, nil
}

// ValidateTopic applies NATS subject rules: non-empty tokens separated by
// dots, no whitespace or control characters, and the wildcards "*" (one
// token) and ">" (the rest, last token only) only where patterns are allowed.
func (b *Backend) ValidateTopic(topic string, wildcard bool) error {
	return natsubject.Validate(topic, wildcard)
}

// Publish writes the message to the connection and returns: NATS Core does
// not confirm receipt. m.MsgID travels as the Nats-Msg-Id header only.
func (b *Backend) Publish(ctx context.Context, topic string, m *core.OutgoingMessage) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("nats core: publish to %q: %w", topic, err)
	}
	var err error
	if len(m.Header) == 0 && m.MsgID == "" {
		err = b.nc.Publish(topic, m.Data) // PUB: no header block, no *nats.Msg
	} else {
		h := m.Header
		if h == nil {
			h = core.Header{}
		}
		if m.MsgID != "" {
			h.Set(core.HeaderMsgID, m.MsgID)
		}
		err = b.nc.PublishMsg(&nats.Msg{Subject: topic, Data: m.Data, Header: nats.Header(h)})
	}
	if err != nil {
		return fmt.Errorf("nats core: publish to %q: %w", topic, err)
	}
	return nil
}

// PublishData is Publish without headers (core.DataPublisher): a plain PUB
// with no allocation of its own.
func (b *Backend) PublishData(ctx context.Context, topic string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("nats core: publish to %q: %w", topic, err)
	}
	if err := b.nc.Publish(topic, data); err != nil {
		return fmt.Errorf("nats core: publish to %q: %w", topic, err)
	}
	return nil
}

// PublishAsync implements core.AsyncPublisher. NATS Core has no
// confirmation, so it is fire-and-forget: the message is written to the
// connection (as Publish does) and done(nil) is called before it returns;
// a message the server drops (slow consumer, no subscriber) is not
// reported. Order is the connection's, so call order is kept.
func (b *Backend) PublishAsync(ctx context.Context, topic string, m *core.OutgoingMessage, done func(error)) error {
	if err := b.Publish(ctx, topic, m); err != nil {
		return err
	}
	done(nil)
	return nil
}

// Subscribe starts a queue subscription (spec.Group set) or a plain one and
// returns once the server has it. It always starts with new messages: core
// refuses a start the caller chose (OpStartPosition is unsupported), and a
// group's default start (all) means "what is stored", which is nothing.
func (b *Backend) Subscribe(ctx context.Context, spec *core.SubscribeSpec) (core.Subscription, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nats core: subscribe to %q: %w", spec.Topic, err)
	}
	s := &subscription{
		b:       b,
		spec:    spec,
		ctx:     ctx,
		retries: map[*time.Timer]struct{}{},
		logger:  b.logger.With("topic", spec.Topic, "group", spec.Group),
	}
	s.maxDeliveries = spec.Retry.MaxAttempts
	if s.maxDeliveries <= 0 {
		s.maxDeliveries = core.DefaultMaxAttempts
	}
	if spec.DeadLetter {
		// Room for the dead-letter publish to be retried if it fails.
		s.maxDeliveries += core.DefaultMaxAttempts
	}

	var (
		ns  *nats.Subscription
		err error
	)
	if spec.Group != "" {
		ns, err = b.nc.QueueSubscribe(spec.Topic, spec.Group, s.onMsg)
	} else {
		ns, err = b.nc.Subscribe(spec.Topic, s.onMsg)
	}
	if err == nil {
		s.ns = ns
		lim := pendingLimits.Load()
		err = ns.SetPendingLimits(lim[0], lim[1])
		if err == nil {
			err = flush(ctx, b.nc)
		}
	}
	if err != nil {
		if ns != nil {
			_ = ns.Unsubscribe()
		}
		if spec.Group != "" {
			return nil, fmt.Errorf("nats core: queue subscribe to %q group %q: %w", spec.Topic, spec.Group, err)
		}
		return nil, fmt.Errorf("nats core: subscribe to %q: %w", spec.Topic, err)
	}
	// Visible to Close and the drop watcher only once complete; stopCtx is
	// set under b.mu, which Unsubscribe takes before reading it.
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		_ = ns.Unsubscribe()
		return nil, core.ErrClosed
	}
	b.subs[s] = struct{}{}
	s.stopCtx = context.AfterFunc(ctx, func() { _ = s.Unsubscribe() })
	b.mu.Unlock()
	return s, nil
}

// flush makes sure the server has processed what was sent (a subscription's
// interest); it honours ctx and bounds the wait when ctx has no deadline.
func flush(ctx context.Context, nc *nats.Conn) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, core.DefaultDialTimeout)
		defer cancel()
	}
	if err := nc.FlushWithContext(ctx); err != nil {
		return fmt.Errorf("flush (is the server reachable?): %w", err)
	}
	return nil
}

// Close stops every subscription, tail and the sampler, waiting for
// in-flight handlers. It never closes the injected connection.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := make([]*subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	tails := make([]*tail, 0, len(b.tails))
	for t := range b.tails {
		tails = append(tails, t)
	}
	smp := b.sampler
	b.sampler = nil
	b.mu.Unlock()

	var errs []error
	for _, s := range subs {
		if err := s.Unsubscribe(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, t := range tails {
		t.stop()
	}
	if smp != nil {
		smp.stop()
	}
	close(b.stop)
	b.wg.Wait()
	return errors.Join(errs...)
}

// watchDrops logs messages nats.go dropped because a handler fell more than
// the pending limits behind.
func (b *Backend) watchDrops() {
	defer b.wg.Done()
	t := time.NewTicker(dropCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
		b.mu.Lock()
		subs := make([]*subscription, 0, len(b.subs))
		for s := range b.subs {
			subs = append(subs, s)
		}
		b.mu.Unlock()
		for _, s := range subs {
			s.checkDrops()
		}
	}
}

// Dropped is the number of messages nats.go dropped for this backend's
// subscriptions because their handlers were too slow (client-side pending
// limits reached).
func (b *Backend) Dropped() uint64 {
	b.mu.Lock()
	n := b.dropped
	subs := make([]*subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		n += s.checkDrops()
	}
	return n
}

// subscription is one running subscription. Handlers run under mu, so they
// are sequential even when a local retry fires while a new message arrives.
type subscription struct {
	b             *Backend
	spec          *core.SubscribeSpec
	ctx           context.Context
	ns            *nats.Subscription
	logger        *slog.Logger
	maxDeliveries int
	stopCtx       func() bool

	mu     sync.Mutex  // held while a handler runs
	closed atomic.Bool // checked under mu before every handler call
	// handlerG is the goroutine running a handler (0 when none), so that
	// Unsubscribe called from inside the handler does not wait for itself.
	handlerG atomic.Uint64 // a retry's goroutine while it runs the handler
	// readerG is nats.go's delivery goroutine of this subscription (one per
	// async subscription): it runs nothing but handlers, so Unsubscribe
	// called on it is called by a handler.
	readerG atomic.Uint64

	retryMu     sync.Mutex
	retries     map[*time.Timer]struct{}
	retryClosed bool
	retryWG     sync.WaitGroup

	dropMu      sync.Mutex
	dropsLogged int

	// The message in flight on the untracked path (see onMsg): cur is it,
	// turn is its turn number<<2 | how it was settled (turnAcked,
	// turnNaked; turnDone once the handler returned). Written only by the
	// reader goroutine, cur before turn.
	cur  atomic.Pointer[nats.Msg]
	turn atomic.Uint64
	// tracked sends every later message down the allocating path: set once
	// a handler asked a bare message for its local ID, which then lives in
	// the delivery instead of the ids table.
	tracked atomic.Bool

	once sync.Once
}

const (
	turnAcked = 1 << iota
	turnNaked
	turnDone
	turnBits = 3 // bits under the turn number
)

func (s *subscription) Topic() string { return s.spec.Topic }

// onMsg hands a message to the handler. Without ManualAck (an Ack is a
// no-op on NATS Core and the message is settled when the handler returns)
// and until a handler asks for a local ID, the handler gets a bareMsg, which
// allocates nothing: the settle state of the one message in flight lives
// here (cur, turn). Otherwise it gets a delivery with core's settle tracking.
func (s *subscription) onMsg(m *nats.Msg) {
	s.mu.Lock()
	if !s.closed.Load() {
		if s.readerG.Load() == 0 { // once
			s.readerG.Store(goid())
			subs.Store(m.Sub, s)
		}
		if s.spec.ManualAck || s.tracked.Load() {
			s.spec.DeliverTracked(s.ctx, &newDelivery(m, s, 1).t)
		} else {
			s.cur.Store(m)
			s.turn.Store((s.turn.Load()>>turnBits + 1) << turnBits)
			s.spec.DeliverUntracked(s.ctx, bareMsg{m}, s)
		}
	}
	s.mu.Unlock()
}

// Finish implements core.Untracked: it closes the turn of the message in
// flight, so a later Ack or Nak of it does nothing, and says how the
// handler settled it.
func (s *subscription) Finish() (acked, naked bool) {
	for {
		t := s.turn.Load()
		if s.turn.CompareAndSwap(t, t|turnDone) {
			return t&turnAcked != 0, t&turnNaked != 0
		}
	}
}

// Full implements core.Untracked: the message in flight as a first
// delivery, with the ID a handler may already have seen.
func (s *subscription) Full() core.Delivery { return bareDelivery(s.cur.Load(), s) }

// bareDelivery is bare message m as a first delivery, keeping the local ID
// a handler may have been given.
func bareDelivery(m *nats.Msg, s *subscription) *delivery {
	d := newDelivery(m, s, 1)
	if id, ok := localIDs.get(m); ok {
		d.id.Store(&id)
	}
	return d
}

// settleBare records an Ack or Nak (bit) of bare message m: only while m is
// the message in flight and not yet settled, so it reports whether it did.
func (s *subscription) settleBare(m *nats.Msg, bit uint64) bool {
	for {
		t := s.turn.Load() // before cur: a new turn's cur is already stored
		if s.cur.Load() != m || t&(turnAcked|turnNaked|turnDone) != 0 {
			return false
		}
		if s.turn.CompareAndSwap(t, t|bit) {
			return true
		}
	}
}

// Unsubscribe removes the interest, waits for the handler in flight and
// abandons local retries still waiting for their delay.
func (s *subscription) Unsubscribe() error {
	var err error
	s.once.Do(func() {
		s.b.mu.Lock()
		stopCtx := s.stopCtx
		s.b.mu.Unlock()
		if stopCtx != nil {
			stopCtx()
		}
		drops := s.checkDrops()
		if uerr := s.ns.Unsubscribe(); uerr != nil && !errors.Is(uerr, nats.ErrConnectionClosed) && !errors.Is(uerr, nats.ErrBadSubscription) {
			err = fmt.Errorf("nats core: unsubscribe from %q: %w", s.spec.Topic, uerr)
		}
		s.closed.Store(true)
		// Called by our own handler, it must not wait for itself (its
		// goroutine holds mu) nor for retries queued behind it on mu.
		g := goid()
		self := g == s.readerG.Load() || g == s.handlerG.Load()
		if !self {
			s.mu.Lock() // waits for the handler in flight
			s.mu.Unlock()
		}

		s.retryMu.Lock()
		s.retryClosed = true
		abandoned := 0
		for t := range s.retries {
			if t.Stop() {
				abandoned++
				s.retryWG.Done()
			}
		}
		clear(s.retries)
		s.retryMu.Unlock()
		if !self {
			s.retryWG.Wait()
		}
		if abandoned > 0 {
			s.logger.Warn("nats core: subscription stopped with local retries pending; those messages are dropped", "abandoned", abandoned)
		}

		subs.Delete(s.ns)
		s.b.mu.Lock()
		delete(s.b.subs, s)
		s.b.dropped += drops
		s.b.mu.Unlock()
	})
	return err
}

// checkDrops returns how many messages nats.go dropped and logs new drops.
func (s *subscription) checkDrops() uint64 {
	n, err := s.ns.Dropped()
	if err != nil || n <= 0 {
		return 0
	}
	s.dropMu.Lock()
	if n > s.dropsLogged {
		s.logger.Warn("nats core: handler too slow, messages dropped at the client's pending limit", "dropped_total", n, "new", n-s.dropsLogged, "pending_msgs_limit", pendingLimits.Load()[0])
		s.dropsLogged = n
	}
	s.dropMu.Unlock()
	return uint64(n)
}

// retry hands d to the handler again after delay, with one more delivery;
// past the bound it drops the message (logged).
func (s *subscription) retry(d *delivery, delay time.Duration) error {
	if d.n >= s.maxDeliveries {
		s.logger.Warn("nats core: dropping message after local retries (NATS Core cannot redeliver; use WithDeadLetter to keep it)",
			"id", d.ID(), "deliveries", d.n)
		return nil
	}
	id := d.ID()
	next := newDelivery(d.m, s, d.n+1)
	next.id.Store(&id)
	s.retryMu.Lock()
	defer s.retryMu.Unlock()
	if s.retryClosed {
		return fmt.Errorf("nats core: retry on %q: %w", s.spec.Topic, core.ErrClosed)
	}
	s.retryWG.Add(1)
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		defer s.retryWG.Done()
		s.retryMu.Lock()
		delete(s.retries, t)
		s.retryMu.Unlock()
		s.mu.Lock()
		if !s.closed.Load() {
			s.handlerG.Store(goid())
			s.spec.DeliverTracked(s.ctx, &next.t)
			s.handlerG.Store(0)
		}
		s.mu.Unlock()
	})
	// The timer's func takes retryMu first, so it cannot read t or touch
	// the map before this registration is done.
	s.retries[t] = struct{}{}
	return nil
}

// delivery is one delivery of a NATS Core message to a handler.
type delivery struct {
	m  *nats.Msg
	s  *subscription
	n  int
	id atomic.Pointer[string] // resolved on first ID() call; set for retries
	// t is what the handler is given: core's settle tracking, allocated
	// with the delivery (a named field, so no method of core.Delivery is
	// promoted from it by mistake).
	t core.Tracked
}

func newDelivery(m *nats.Msg, s *subscription, n int) *delivery {
	d := &delivery{m: m, s: s, n: n}
	d.t.Delivery = d
	return d
}

var _ core.Delivery = (*delivery)(nil)

// ID is the Nats-Msg-Id header when the publisher set one, else a
// process-local unique id (stable across local retries).
func (d *delivery) ID() string {
	if p := d.id.Load(); p != nil {
		return *p
	}
	id := d.m.Header.Get(core.HeaderMsgID)
	if id == "" {
		id = localID()
	}
	if !d.id.CompareAndSwap(nil, &id) {
		return *d.id.Load() // a concurrent first call won
	}
	return id
}

func (d *delivery) Topic() string        { return d.m.Subject }
func (d *delivery) Data() []byte         { return d.m.Data }
func (d *delivery) Header() core.Header  { return core.Header(d.m.Header) }
func (d *delivery) Timestamp() time.Time { return time.Time{} } // NATS Core does not say
func (d *delivery) Deliveries() int      { return d.n }

// Ack is a no-op: NATS Core has no acknowledgements.
func (d *delivery) Ack() error { return nil }

// Nak retries locally at once.
func (d *delivery) Nak() error { return d.s.retry(d, 0) }

// NakWithDelay retries locally after delay.
func (d *delivery) NakWithDelay(delay time.Duration) error { return d.s.retry(d, delay) }

// Term drops the message: nothing would redeliver it anyway.
func (d *delivery) Term() error { return nil }

// bareMsg is a NATS Core message given to a handler without an allocation
// of its own (one pointer fits an interface value). Its subscription keeps
// the settle state while it is in flight; once the handler has returned it
// is settled, so Ack and Nak do nothing. It may be kept after the handler
// returns: it holds only the *nats.Msg, never reused.
type bareMsg struct{ m *nats.Msg }

var _ core.Message = bareMsg{}

// ID is the Nats-Msg-Id header when the publisher set one, else a
// process-local unique id, kept for as long as the message lives.
func (b bareMsg) ID() string {
	if id := b.m.Header.Get(core.HeaderMsgID); id != "" {
		return id
	}
	if s := subOf(b.m); s != nil {
		s.tracked.Store(true) // this handler wants IDs: allocate them with deliveries
	}
	return localIDs.of(b.m)
}

func (b bareMsg) Topic() string        { return b.m.Subject }
func (b bareMsg) Data() []byte         { return b.m.Data }
func (b bareMsg) Header() core.Header  { return core.Header(b.m.Header) }
func (b bareMsg) Timestamp() time.Time { return time.Time{} } // NATS Core does not say
func (b bareMsg) Deliveries() int      { return 1 }

// Ack is a no-op (NATS Core has no acknowledgements) that the dispatcher
// sees: a handler that acks and then fails is not retried.
func (b bareMsg) Ack() error {
	if s := subOf(b.m); s != nil {
		s.settleBare(b.m, turnAcked)
	}
	return nil
}

// Nak retries locally at once, if the message is still in flight and not
// yet settled.
func (b bareMsg) Nak() error {
	s := subOf(b.m)
	if s == nil || !s.settleBare(b.m, turnNaked) {
		return nil
	}
	return s.retry(bareDelivery(b.m, s), 0)
}
