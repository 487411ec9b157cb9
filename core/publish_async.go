package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// AsyncPublisher is optionally implemented by a Backend that can publish
// without waiting for the broker's confirmation; Client.PublishAsync uses it
// (a backend without it gets a bounded pool of goroutines running Publish).
//
// PublishAsync sends m and returns without waiting for the broker. Its
// contract:
//   - It returns an error only when the message was not sent (ctx done
//     while waiting for room, backend closed, no stream…); done is then
//     never called.
//   - Otherwise done is called exactly once, from any goroutine, with the
//     broker's verdict (nil: stored). done is cheap and never blocks. m must
//     not be used after done is called.
//   - Messages passed by one goroutine for one topic are stored in that
//     order (a failed message may leave a gap, never a reordering).
//   - Messages in flight are bounded: when the bound is reached PublishAsync
//     blocks until there is room or ctx is done.
//   - Close calls done for every outstanding publish (with an error wrapping
//     ErrClosed when it does not wait for the broker's answer).
type AsyncPublisher interface {
	PublishAsync(ctx context.Context, topic string, m *OutgoingMessage, done func(error)) error
}

// PublishFuture is the outcome of one PublishAsync: it is resolved once the
// broker accepted the message (nil), refused it, or the outcome can no
// longer be known (an error wrapping ErrClosed when the Client was closed
// first; a timeout or disconnection error from the backend).
type PublishFuture struct {
	resolved atomic.Bool
	mu       sync.Mutex    // guards ch
	ch       chan struct{} // made on the first Done (most futures are only read after Flush)
	err      error
	msg      OutgoingMessage // handed to the backend; one allocation with the future
	c        *Client
	gen      *asyncGen
	// for metrics only
	topic string
	start time.Time
}

// closedCh is what Done returns for a future resolved before Done was called.
var closedCh = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// Done is closed once the future is resolved.
func (f *PublishFuture) Done() <-chan struct{} {
	if f.resolved.Load() {
		return closedCh
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch == nil {
		if f.resolved.Load() {
			return closedCh
		}
		f.ch = make(chan struct{})
	}
	return f.ch
}

// Err waits until the future is resolved and returns its error (nil: the
// broker stored the message).
func (f *PublishFuture) Err() error {
	if !f.resolved.Load() {
		<-f.Done()
	}
	return f.err
}

// Wait is Err bounded by ctx: it returns ctx's error if ctx is done first
// (the publish itself goes on; wait again or use Done to learn its outcome).
func (f *PublishFuture) Wait(ctx context.Context) error {
	if f.resolved.Load() {
		return f.err
	}
	select {
	case <-f.Done():
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *PublishFuture) resolve(err error) {
	f.err = err
	if m := f.c.metrics; m != nil {
		m.published(metricLabels{backend: string(f.c.cfg.Driver), topic: f.topic}, time.Since(f.start), err)
	}
	f.mu.Lock()
	f.resolved.Store(true)
	if f.ch != nil {
		close(f.ch)
	}
	f.mu.Unlock()
	f.gen.release()
}

// PublishAsync sends data to topic without waiting for the broker's
// confirmation; the returned future resolves when it arrives.
//
// A non-nil error means nothing was sent and there is no future: the
// Client is closed (ErrClosed), the topic or an option is invalid, ctx was
// done while waiting for room (the number of publishes in flight is
// bounded; PublishAsync blocks when it is reached), or the backend could
// not send (for JetStream: no stream captures topic, wrapping ErrNoStream).
// Once PublishAsync returned a future, cancelling ctx does not recall the
// message: the future resolves with the broker's answer.
//
// Per backend: JetStream resolves on the PubAck (up to 4 096 in flight, 30 s
// ack timeout); Redis Streams on the XADD reply (calls are coalesced into
// pipelines); NATS Core, which has no confirmation, resolves as soon as the
// message is written to the connection (fire-and-forget). Messages
// published with PublishAsync by one goroutine to one topic are stored in
// that order. A later Publish does not wait for earlier PublishAsync calls:
// call Flush first when that order matters.
//
// Metrics (published, publish errors, latency from call to confirmation)
// are recorded when the future resolves. Close waits up to
// Config.CloseTimeout for outstanding futures, then fails the rest with an
// error wrapping ErrClosed: every future is resolved.
func (c *Client) PublishAsync(ctx context.Context, topic string, data []byte, opts ...PublishOption) (*PublishFuture, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	if ctx == nil {
		return nil, errors.New("mq: PublishAsync: nil context")
	}
	if err := c.backend.ValidateTopic(topic, false); err != nil {
		return nil, err
	}
	f := &PublishFuture{c: c}
	f.msg.Data = data
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&f.msg); err != nil {
			return nil, err
		}
	}
	if c.metrics != nil {
		f.topic, f.start = topic, time.Now()
	}
	f.gen = c.acquireGen()
	var err error
	if c.asyncPub != nil {
		err = c.asyncPub.PublishAsync(ctx, topic, &f.msg, f.resolve)
	} else {
		err = c.fallbackPool().submit(ctx, topic, &f.msg, f.resolve)
	}
	if err != nil {
		f.gen.release()
		c.metrics.published(metricLabels{backend: string(c.cfg.Driver), topic: topic}, 0, err)
		return nil, err
	}
	return f, nil
}

// Flush waits until every PublishAsync that returned before Flush was
// called is resolved, or ctx is done (then it returns ctx's error). It does
// not wait for publishes started during the call. It works after Close too.
func (c *Client) Flush(ctx context.Context) error {
	if ctx == nil {
		return errors.New("mq: Flush: nil context")
	}
	c.genMu.Lock()
	old := c.gen.Load()
	ng := newAsyncGen()
	ng.prev.Store(old)
	c.gen.Store(ng)
	c.genMu.Unlock()
	old.release() // drop the "current generation" reference
	for g := old; g != nil; g = g.prev.Load() {
		select {
		case <-g.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	old.prev.Store(nil) // everything older is resolved: let it go
	return nil
}

// asyncGen counts the async publishes started between two Flush calls. n
// holds one extra reference while the generation is current; done is
// closed when n reaches 0 (the generation is sealed and all resolved).
type asyncGen struct {
	n    atomic.Int64
	done chan struct{}
	prev atomic.Pointer[asyncGen]
}

func newAsyncGen() *asyncGen {
	g := &asyncGen{done: make(chan struct{})}
	g.n.Store(1)
	return g
}

func (c *Client) acquireGen() *asyncGen {
	for {
		g := c.gen.Load()
		n := g.n.Load()
		if n > 0 && g.n.CompareAndSwap(n, n+1) {
			return g
		}
		// n == 0: sealed by a Flush that has installed a new one already.
	}
}

func (g *asyncGen) release() {
	if g.n.Add(-1) == 0 {
		close(g.done)
	}
}

// The fallback for backends without AsyncPublisher: fallbackWorkers
// goroutines, each owning a queue; a topic always goes to the same worker,
// so one publisher's messages to one topic keep their order (and a topic's
// throughput is that of Publish one at a time — the caller just does not
// wait).
const (
	fallbackWorkers = 16
	fallbackQueue   = 256
)

type asyncJob struct {
	ctx   context.Context
	topic string
	m     *OutgoingMessage
	done  func(error)
}

type asyncPool struct {
	backend Backend
	queues  [fallbackWorkers]chan asyncJob
	quit    chan struct{}
	wg      sync.WaitGroup
	mu      sync.RWMutex // submit holds it shared; close exclusively
	closed  bool
	stop    sync.Once
}

func (c *Client) fallbackPool() *asyncPool {
	c.poolOnce.Do(func() {
		p := &asyncPool{backend: c.backend, quit: make(chan struct{})}
		for i := range p.queues {
			p.queues[i] = make(chan asyncJob, fallbackQueue)
			p.wg.Add(1)
			go p.work(p.queues[i])
		}
		c.pool.Store(p)
	})
	return c.pool.Load()
}

func (p *asyncPool) submit(ctx context.Context, topic string, m *OutgoingMessage, done func(error)) error {
	h := uint32(2166136261)
	for i := 0; i < len(topic); i++ {
		h = (h ^ uint32(topic[i])) * 16777619
	}
	q := p.queues[h%fallbackWorkers]
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return ErrClosed
	}
	select {
	case q <- asyncJob{ctx: ctx, topic: topic, m: m, done: done}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mq: publish to %q: waiting for room: %w", topic, ctx.Err())
	case <-p.quit:
		return ErrClosed
	}
}

func (p *asyncPool) work(q chan asyncJob) {
	defer p.wg.Done()
	for {
		select {
		case j := <-q:
			// The caller's ctx bounded the wait for room; once queued the
			// message is sent whatever happens to ctx (values are kept).
			j.done(p.backend.Publish(context.WithoutCancel(j.ctx), j.topic, j.m))
		case <-p.quit:
			return
		}
	}
}

// signal stops the workers taking jobs and refuses new ones; finish waits
// for the workers (each finishes the Publish it is in) and fails what is
// still queued with ErrClosed.
func (p *asyncPool) signal() {
	p.stop.Do(func() {
		close(p.quit)
		p.mu.Lock() // no submit in progress from here on
		p.closed = true
		p.mu.Unlock()
	})
}

func (p *asyncPool) finish() {
	p.signal()
	p.wg.Wait()
	for _, q := range p.queues {
		for {
			select {
			case j := <-q:
				j.done(fmt.Errorf("mq: publish to %q: closed before it was sent: %w", j.topic, ErrClosed))
				continue
			default:
			}
			break
		}
	}
}
