package jetstream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
)

var _ core.AsyncPublisher = (*Backend)(nil)

// Async publish tuning: at most asyncMaxPending publishes wait for their
// PubAck; one that gets none within asyncAckTimeout fails with
// jetstream.ErrAsyncPublishTimeout.
const (
	asyncMaxPending = 4096
	asyncAckTimeout = 30 * time.Second
)

// asyncPublisher sends with its own jetstream context (so the synchronous
// Publish and operator copies do not share its in-flight bound) whose ack
// and error handlers resolve each message's callback: no goroutine and no
// channel per message. pending maps the *nats.Msg nats.go hands back to
// the handlers to the caller's done.
type asyncPublisher struct {
	b       *Backend
	js      jetstream.JetStream
	sem     chan struct{} // one token per publish in flight
	quit    chan struct{}
	pmu     sync.Mutex
	pending map[*nats.Msg]*asyncMsg

	mu     sync.RWMutex // PublishAsync holds it shared while sending; close exclusively
	closed bool
}

type asyncMsg struct {
	msg  nats.Msg
	done func(error)
}

func newAsyncPublisher(b *Backend) (*asyncPublisher, error) {
	p := &asyncPublisher{b: b, sem: make(chan struct{}, asyncMaxPending), quit: make(chan struct{}), pending: make(map[*nats.Msg]*asyncMsg, asyncMaxPending)}
	js, err := jetstream.New(b.nc,
		// Never stalls: our semaphore, released after nats.go forgets a
		// message, keeps its count at or below ours.
		jetstream.WithPublishAsyncMaxPending(asyncMaxPending),
		jetstream.WithPublishAsyncTimeout(asyncAckTimeout),
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
	// Back-pressure: wait for room, or ctx.
	select {
	case p.sem <- struct{}{}:
	default:
		select {
		case p.sem <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("jetstream: publish to %q: waiting for room (%d acks outstanding): %w", topic, asyncMaxPending, ctx.Err())
		case <-p.quit:
			return fmt.Errorf("jetstream: publish to %q: %w", topic, core.ErrClosed)
		}
	}
	am := &asyncMsg{msg: nats.Msg{Subject: topic, Data: m.Data}, done: done}
	if len(m.Header) > 0 || m.MsgID != "" {
		am.msg.Header = make(nats.Header, len(m.Header)+1)
		for k, v := range m.Header {
			am.msg.Header[k] = append([]string(nil), v...)
		}
	}
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		<-p.sem
		return fmt.Errorf("jetstream: publish to %q: %w", topic, core.ErrClosed)
	}
	p.pmu.Lock()
	p.pending[&am.msg] = am
	p.pmu.Unlock()
	var err error
	if m.MsgID != "" {
		_, err = p.js.PublishMsgAsync(&am.msg, jetstream.WithMsgID(m.MsgID))
	} else {
		_, err = p.js.PublishMsgAsync(&am.msg)
	}
	p.mu.RUnlock()
	if err != nil {
		if p.take(&am.msg) != nil {
			<-p.sem
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
	<-p.sem
	if err != nil {
		err = p.wrapErr(m.Subject, err)
	}
	am.done(err)
}

// take removes and returns m's entry (nil if gone): whoever takes it
// resolves it.
func (p *asyncPublisher) take(m *nats.Msg) *asyncMsg {
	p.pmu.Lock()
	am := p.pending[m]
	if am != nil {
		delete(p.pending, m)
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
