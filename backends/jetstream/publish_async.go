package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
)

var _ core.AsyncPublisher = (*Backend)(nil)

// Async publish tuning: at most asyncMaxPending publishes wait for their
// PubAck; one that gets none within asyncAckTimeout (checked every
// asyncSweep, so up to one sweep later) fails with an error wrapping
// jetstream.ErrAsyncPublishTimeout. A sweeper measures this rather than
// nats.go's per-message timer, which costs a timer per publish.
const asyncMaxPending = 4096

// Variables only so that a test can shorten them; each publisher copies
// them when it is made.
var (
	asyncAckTimeout = 30 * time.Second
	asyncSweep      = time.Second
)

// asyncPublisher sends with its own jetstream context (so the synchronous
// Publish and operator copies do not share its in-flight bound) whose ack
// and error handlers resolve each message's callback: no goroutine and no
// channel per message. pending maps the *nats.Msg nats.go hands back to
// the handlers to the caller's done.
type asyncPublisher struct {
	b       *Backend
	js      jetstream.JetStream
	quit    chan struct{}
	pmu     sync.Mutex
	pending map[*nats.Msg]*asyncMsg // at most asyncMaxPending: the in-flight bound
	room    chan struct{}           // closed when pending drops below the bound (made by a waiter)

	mu     sync.RWMutex // PublishAsync holds it shared while sending; close exclusively
	closed bool

	ackTimeout, sweepEvery time.Duration // asyncAckTimeout, asyncSweep
	tick                   atomic.Int64  // sweepEvery periods since the sweeper started
	sweepOnce              sync.Once     // the sweeper starts with the first PublishAsync, ends with close
}

type asyncMsg struct {
	msg  nats.Msg
	done func(error)
	sent int64 // tick when sent
}

func newAsyncPublisher(b *Backend) (*asyncPublisher, error) {
	p := &asyncPublisher{b: b, quit: make(chan struct{}),
		pending: make(map[*nats.Msg]*asyncMsg, asyncMaxPending), ackTimeout: asyncAckTimeout, sweepEvery: asyncSweep}
	js, err := jetstream.New(b.nc,
		// len(pending) is the bound. nats.go keeps a message we timed out
		// until its ack, a reconnect or close; the slack covers those.
		jetstream.WithPublishAsyncMaxPending(4*asyncMaxPending),
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, m *nats.Msg, _ *jetstream.PubAck) {
			p.resolve(m, nil)
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			p.resolve(m, err)
		}))
	if err != nil {
		return nil, fmt.Errorf("jetstream: new async publish context: %w", err)
	}
	p.js = js
	return p, nil
}

// PublishAsync implements core.AsyncPublisher: the stream lookup (cached;
// its error, e.g. no stream, is returned) and the send happen now, done is
// called from the PubAck (or the error: rejected, ack timeout, disconnected,
// closed). A message whose cached stream went away fails with an error
// wrapping core.ErrNoStream and is not retried (a retry could reorder);
// the next publish looks the stream up again.
func (b *Backend) PublishAsync(ctx context.Context, topic string, m *core.OutgoingMessage, done func(error)) error {
	p := b.apub
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("jetstream: publish to %q: %w", topic, err)
	}
	if _, err := b.streamFor(ctx, topic, b.cfg.CreateStreams); err != nil {
		return err
	}
	p.sweepOnce.Do(func() { go p.sweep() })
	msgID := m.MsgID // m is not ours once the message is pending (done may run at once)
	am := &asyncMsg{msg: nats.Msg{Subject: topic, Data: m.Data}, done: done, sent: p.tick.Load()}
	if len(m.Header) > 0 || m.MsgID != "" {
		am.msg.Header = make(nats.Header, len(m.Header)+1)
		for k, v := range m.Header {
			am.msg.Header[k] = append([]string(nil), v...)
		}
	}
	p.mu.RLock()
	for {
		if p.closed {
			p.mu.RUnlock()
			return fmt.Errorf("jetstream: publish to %q: %w", topic, core.ErrClosed)
		}
		p.pmu.Lock()
		if len(p.pending) < asyncMaxPending {
			p.pending[&am.msg] = am
			p.pmu.Unlock()
			break
		}
		// Back-pressure: wait for room (without blocking Close), or ctx.
		if p.room == nil {
			p.room = make(chan struct{})
		}
		room := p.room
		p.pmu.Unlock()
		p.mu.RUnlock()
		select {
		case <-room:
		case <-ctx.Done():
			return fmt.Errorf("jetstream: publish to %q: waiting for room (%d acks outstanding): %w", topic, asyncMaxPending, ctx.Err())
		case <-p.quit:
			return fmt.Errorf("jetstream: publish to %q: %w", topic, core.ErrClosed)
		}
		p.mu.RLock()
	}
	var err error
	if msgID != "" {
		_, err = p.js.PublishMsgAsync(&am.msg, jetstream.WithMsgID(msgID))
	} else {
		_, err = p.js.PublishMsgAsync(&am.msg)
	}
	p.mu.RUnlock()
	if err != nil {
		if p.take(&am.msg) != nil {
			return fmt.Errorf("jetstream: publish to %q: %w", topic, err)
		}
		// Already resolved through the error handler.
	}
	return nil
}

// resolve is called by nats.go's handlers, once per message.
func (p *asyncPublisher) resolve(m *nats.Msg, err error) {
	am := p.take(m)
	if am == nil {
		return // failed at send time, or already failed by close
	}
	if err != nil {
		err = p.wrapErr(m.Subject, err)
	}
	am.done(err)
}

// sweep fails the publishes that got no ack within asyncAckTimeout.
func (p *asyncPublisher) sweep() {
	t := time.NewTicker(p.sweepEvery)
	defer t.Stop()
	limit := int64(p.ackTimeout / p.sweepEvery)
	var late []*nats.Msg
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
		}
		now := p.tick.Add(1)
		late = late[:0]
		p.pmu.Lock()
		for m, am := range p.pending {
			if now-am.sent > limit {
				late = append(late, m)
			}
		}
		p.pmu.Unlock()
		for _, m := range late {
			p.resolve(m, fmt.Errorf("no ack within %v: %w", p.ackTimeout, jetstream.ErrAsyncPublishTimeout))
		}
	}
}

// take removes and returns m's entry (nil if gone): whoever takes it
// resolves it.
func (p *asyncPublisher) take(m *nats.Msg) *asyncMsg {
	p.pmu.Lock()
	am := p.pending[m]
	if am != nil {
		delete(p.pending, m)
		if p.room != nil {
			close(p.room)
			p.room = nil
		}
	}
	p.pmu.Unlock()
	return am
}

func (p *asyncPublisher) wrapErr(subject string, err error) error {
	switch {
	case errors.Is(err, jetstream.ErrNoStreamResponse):
		p.b.forgetStream(subject)
		return fmt.Errorf("%w (%w)", p.b.errNoStream(subject), err)
	case errors.Is(err, jetstream.ErrJetStreamPublisherClosed):
		return fmt.Errorf("jetstream: publish to %q: closed before the ack arrived: %w (%w)", subject, core.ErrClosed, err)
	}
	return fmt.Errorf("jetstream: publish to %q: %w", subject, err)
}

// close fails every publish still waiting for its ack (core's Close has
// already waited Config.CloseTimeout for them) and drops the reply
// subscription from the caller's connection.
func (p *asyncPublisher) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.quit)
	p.mu.Unlock()

	p.js.CleanupPublisher() // calls the error handler for each pending ack
	p.pmu.Lock()
	left := make([]*nats.Msg, 0, len(p.pending))
	for m := range p.pending {
		left = append(left, m)
	}
	p.pmu.Unlock()
	for _, m := range left {
		p.resolve(m, jetstream.ErrJetStreamPublisherClosed)
	}
}
