package redisstream

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
)

// Publish implements core.Backend: one XADD, coalesced with concurrent
// Publish calls into one pipeline (see publisher).
func (b *Backend) Publish(ctx context.Context, topic string, m *core.OutgoingMessage) error {
	_, err := b.publish(ctx, topic, m)
	return err
}

// PublishReport implements core.PublishReporter: the entry id XADD gave.
func (b *Backend) PublishReport(ctx context.Context, topic string, m *core.OutgoingMessage) (core.PublishResult, error) {
	id, err := b.publish(ctx, topic, m)
	if err != nil {
		return core.PublishResult{}, err
	}
	return core.PublishResult{Stored: true, ID: id}, nil
}

func (b *Backend) publish(ctx context.Context, topic string, m *core.OutgoingMessage) (string, error) {
	vals, err := encodeValues(m)
	if err != nil {
		return "", fmt.Errorf("redis stream %q: xadd: %w", topic, err)
	}
	id, err := b.pub.xadd(ctx, topic, vals, len(m.Data))
	if err != nil {
		return "", fmt.Errorf("redis stream %q: xadd: %w", topic, err)
	}
	return id, nil
}

var _ core.AsyncPublisher = (*Backend)(nil)

// xaddNow is an XADD outside the pipeliner returning the new id (operator
// copies, which must know the id they wrote).
func (b *Backend) xaddNow(ctx context.Context, stream string, vals []any) (string, error) {
	id, err := b.rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: vals}).Result()
	if err != nil {
		return "", fmt.Errorf("redis stream %q: xadd: %w", stream, err)
	}
	return id, nil
}

// PublishAsync implements core.AsyncPublisher: the XADD is queued for the
// auto-pipeliner and done gets its reply. All of one topic's requests go
// through one flusher, which sends one pipeline at a time, so a
// publisher's messages to a topic are stored in call order. ctx bounds
// only the wait for room: at most pubQueue requests wait per flusher, and
// PublishAsync blocks beyond that until ctx is done; a queued request is
// sent even if ctx is cancelled afterwards.
func (b *Backend) PublishAsync(ctx context.Context, topic string, m *core.OutgoingMessage, done func(error)) error {
	vals, err := encodeValues(m)
	if err != nil {
		return fmt.Errorf("redis stream %q: xadd: %w", topic, err)
	}
	if err := b.pub.xaddAsync(ctx, topic, vals, len(m.Data), done); err != nil {
		return fmt.Errorf("redis stream %q: xadd: %w", topic, err)
	}
	return nil
}

// Publisher tuning: at most pubFlushers pipelines in flight, each with at
// most pubMaxBatch commands or pubMaxBytes of payload; each flusher has a
// queue of pubQueue ordered (PublishAsync) requests.
const (
	pubFlushers   = 2
	pubMaxBatch   = 256
	pubMaxBytes   = 1 << 20
	pubQueue      = 2 * pubMaxBatch
	pubExecBudget = 30 * time.Second
)

// publisher is a small bounded auto-pipeliner. Publish calls queue a
// request; a few flusher goroutines each take whatever is queued (up to a
// bound) and send it as one pipeline, then hand every caller its own reply.
// One caller alone pays a channel hand-off on top of the round trip; many
// callers share round trips, so throughput grows with concurrency instead of
// being capped at one XADD per round trip per connection. PublishAsync
// requests go to the queue of the flusher their stream hashes to (order).
type publisher struct {
	rdb     redis.UniversalClient
	logger  *slog.Logger
	reqs    chan *pubReq
	ordered [pubFlushers]chan *pubReq
	quit    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
	pool    sync.Pool

	mu     sync.RWMutex // held shared while queueing; close takes it to stop queueing
	closed bool

	callers atomic.Int64 // Publish calls in progress
}

type pubReq struct {
	ctx    context.Context
	stream string
	vals   []any
	size   int
	id     string
	done   chan error
	cb     func(error) // PublishAsync: called instead of sending on done
}

func newPublisher(rdb redis.UniversalClient, logger *slog.Logger) *publisher {
	p := &publisher{rdb: rdb, logger: logger, reqs: make(chan *pubReq, pubMaxBatch*pubFlushers), quit: make(chan struct{})}
	p.pool.New = func() any { return &pubReq{done: make(chan error, 1)} }
	p.wg.Add(pubFlushers)
	for i := 0; i < pubFlushers; i++ {
		p.ordered[i] = make(chan *pubReq, pubQueue)
		go p.flusher(p.ordered[i])
	}
	return p
}

// enqueue hands r to a flusher, waiting for room until ctx is done or the
// publisher closes.
func (p *publisher) enqueue(ctx context.Context, q chan *pubReq, r *pubReq) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return core.ErrClosed
	}
	select {
	case q <- r:
		return nil
	default:
	}
	select {
	case q <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-p.quit:
		return core.ErrClosed
	}
}

func (p *publisher) xadd(ctx context.Context, stream string, vals []any, size int) (string, error) {
	// A caller alone sends its XADD itself (no hand-off latency); callers
	// that overlap with others go through the flushers and share pipelines.
	if p.callers.Add(1) == 1 {
		defer p.callers.Add(-1)
		select {
		case <-p.quit:
			return "", core.ErrClosed
		default:
		}
		return p.rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: vals}).Result()
	}
	defer p.callers.Add(-1)
	r := p.pool.Get().(*pubReq)
	r.ctx, r.stream, r.vals, r.size = ctx, stream, vals, size
	if err := p.enqueue(ctx, p.reqs, r); err != nil {
		p.put(r)
		return "", err
	}
	select {
	case err := <-r.done:
		id := r.id
		p.put(r)
		return id, err
	case <-ctx.Done():
		// The request may still be sent: the flusher owns r now and
		// drops it afterwards (never reused).
		return "", ctx.Err()
	}
}

func (p *publisher) xaddAsync(ctx context.Context, stream string, vals []any, size int, cb func(error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h := uint32(2166136261) // FNV-1a
	for i := 0; i < len(stream); i++ {
		h = (h ^ uint32(stream[i])) * 16777619
	}
	r := p.pool.Get().(*pubReq)
	// ctx bounds only the wait for room: once queued, the XADD is sent
	// (core's contract: a returned future is not recalled by ctx).
	r.ctx, r.stream, r.vals, r.size, r.cb = context.Background(), stream, vals, size, cb
	if err := p.enqueue(ctx, p.ordered[h%pubFlushers], r); err != nil {
		p.put(r)
		return err
	}
	return nil
}

// finish gives r its outcome.
func (p *publisher) finish(r *pubReq, err error) {
	if r.cb == nil {
		r.done <- err
		return
	}
	cb := r.cb
	if err != nil {
		err = fmt.Errorf("redis stream %q: xadd: %w", r.stream, err)
	}
	p.put(r)
	cb(err)
}

func (p *publisher) put(r *pubReq) {
	r.ctx, r.vals, r.stream, r.id, r.cb = nil, nil, "", "", nil
	p.pool.Put(r)
}

// close stops the flushers (each finishes the pipeline it is sending) and
// fails what is still queued with ErrClosed.
func (p *publisher) close() {
	p.once.Do(func() {
		close(p.quit)
		p.mu.Lock() // nothing is being queued from here on
		p.closed = true
		p.mu.Unlock()
		p.wg.Wait()
		for _, q := range append([]chan *pubReq{p.reqs}, p.ordered[:]...) {
			for {
				select {
				case r := <-q:
					p.finish(r, core.ErrClosed)
					continue
				default:
				}
				break
			}
		}
	})
}

func (p *publisher) flusher(own chan *pubReq) {
	defer p.wg.Done()
	batch := make([]*pubReq, 0, pubMaxBatch)
	cmds := make([]*redis.StringCmd, 0, pubMaxBatch)
	for {
		select {
		case <-p.quit:
			return // do not start another pipeline once closing
		default:
		}
		var first *pubReq
		select {
		case first = <-own:
		case first = <-p.reqs:
		case <-p.quit:
			return // close fails what is queued
		}
		batch = append(batch[:0], first)
		size := first.size
	fill:
		for len(batch) < pubMaxBatch && size < pubMaxBytes {
			select {
			case r := <-own:
				batch = append(batch, r)
				size += r.size
				continue
			default:
			}
			select {
			case r := <-p.reqs:
				batch = append(batch, r)
				size += r.size
			default:
				break fill
			}
		}
		cmds = p.exec(batch, cmds[:0])
	}
}

func (p *publisher) exec(batch []*pubReq, cmds []*redis.StringCmd) []*redis.StringCmd {
	live := batch[:0:len(batch)]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			p.finish(r, err)
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return cmds
	}
	ctx, cancel := context.WithTimeout(context.Background(), pubExecBudget)
	defer cancel()
	if len(live) == 1 {
		r := live[0]
		id, err := p.rdb.XAdd(ctx, &redis.XAddArgs{Stream: r.stream, Values: r.vals}).Result()
		r.id = id
		p.finish(r, err)
		return cmds
	}
	pipe := p.rdb.Pipeline()
	for _, r := range live {
		cmds = append(cmds, pipe.XAdd(ctx, &redis.XAddArgs{Stream: r.stream, Values: r.vals}))
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	for i, r := range live {
		id, err := cmds[i].Result()
		r.id = id
		p.finish(r, err)
	}
	return cmds
}
