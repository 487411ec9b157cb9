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
	vals, err := encodeValues(m)
	if err != nil {
		return fmt.Errorf("redis stream %q: xadd: %w", topic, err)
	}
	if _, err := b.pub.xadd(ctx, topic, vals, len(m.Data)); err != nil {
		return fmt.Errorf("redis stream %q: xadd: %w", topic, err)
	}
	return nil
}

// xaddNow is an XADD outside the pipeliner returning the new id (operator
// copies, which must know the id they wrote).
func (b *Backend) xaddNow(ctx context.Context, stream string, vals []any) (string, error) {
	id, err := b.rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: vals}).Result()
	if err != nil {
		return "", fmt.Errorf("redis stream %q: xadd: %w", stream, err)
	}
	return id, nil
}

// Publisher tuning: at most pubFlushers pipelines in flight, each with at
// most pubMaxBatch commands or pubMaxBytes of payload.
const (
	pubFlushers   = 2
	pubMaxBatch   = 256
	pubMaxBytes   = 1 << 20
	pubExecBudget = 30 * time.Second
)

// publisher is a small bounded auto-pipeliner. Publish calls queue a
// request; a few flusher goroutines each take whatever is queued (up to a
// bound) and send it as one pipeline, then hand every caller its own reply.
// One caller alone pays a channel hand-off on top of the round trip; many
// callers share round trips, so throughput grows with concurrency instead of
// being capped at one XADD per round trip per connection.
type publisher struct {
	rdb    redis.UniversalClient
	logger *slog.Logger
	reqs   chan *pubReq
	quit   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	pool   sync.Pool

	callers atomic.Int64 // Publish calls in progress
}

type pubReq struct {
	ctx    context.Context
	stream string
	vals   []any
	size   int
	id     string
	done   chan error
}

func newPublisher(rdb redis.UniversalClient, logger *slog.Logger) *publisher {
	p := &publisher{rdb: rdb, logger: logger, reqs: make(chan *pubReq, pubMaxBatch*pubFlushers), quit: make(chan struct{})}
	p.pool.New = func() any { return &pubReq{done: make(chan error, 1)} }
	p.wg.Add(pubFlushers)
	for i := 0; i < pubFlushers; i++ {
		go p.flusher()
	}
	return p
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
	select {
	case p.reqs <- r:
	case <-ctx.Done():
		p.put(r)
		return "", ctx.Err()
	case <-p.quit:
		p.put(r)
		return "", core.ErrClosed
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

func (p *publisher) put(r *pubReq) {
	r.ctx, r.vals, r.stream, r.id = nil, nil, "", ""
	p.pool.Put(r)
}

func (p *publisher) close() {
	p.once.Do(func() { close(p.quit) })
	p.wg.Wait()
}

func (p *publisher) flusher() {
	defer p.wg.Done()
	batch := make([]*pubReq, 0, pubMaxBatch)
	cmds := make([]*redis.StringCmd, 0, pubMaxBatch)
	for {
		var first *pubReq
		select {
		case first = <-p.reqs:
		case <-p.quit:
			// Fail what is still queued; callers see ErrClosed.
			for {
				select {
				case r := <-p.reqs:
					r.done <- core.ErrClosed
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
		size := first.size
	fill:
		for len(batch) < pubMaxBatch && size < pubMaxBytes {
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
			r.done <- err
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
		r.done <- err
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
		r.done <- err
	}
	return cmds
}
