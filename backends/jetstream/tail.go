package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/mqscope/mqscope/core"
)

// TailConsumerPrefix starts the name of every ordered consumer a tail
// creates, so consoles can tell their own tails from the application's
// consumers. A random part follows (two tails must never share a name:
// the second would update the first's consumer), then nats.go's serial:
// "mqscope-tail-<nuid>_1".
const TailConsumerPrefix = "mqscope-tail-"

type tailHandle struct {
	once sync.Once
	fn   func()
	done chan struct{}
}

func (t *tailHandle) stop() { t.once.Do(func() { t.fn(); close(t.done) }) }

// Tail implements core.OperatorBackend: an ordered consumer (ephemeral, no
// acks, never durable) on the stream capturing the pattern; a plain NATS
// subscription for live messages where no stream captures it (or where the
// pattern spans several streams and only new messages are asked for).
func (o *operator) Tail(ctx context.Context, q core.TailQuery, sink func(core.Record)) error {
	b := o.b
	if b.isClosed() {
		return core.ErrClosed
	}
	t, err := o.resolve(ctx, q.Pattern)
	if errors.Is(err, core.ErrNoStream) {
		return o.tailCore(ctx, q, sink)
	}
	if err != nil {
		return err
	}
	if t.filter != "" && q.From.Kind == core.PosNew && !streamCaptures(t.stream.CachedInfo().Config.Subjects, t.filter) {
		return o.tailCore(ctx, q, sink)
	}
	cfg := jetstream.OrderedConsumerConfig{InactiveThreshold: 30 * time.Second, NamePrefix: TailConsumerPrefix + nuid.Next()}
	if t.filter != "" {
		cfg.FilterSubjects = []string{t.filter}
	}
	switch q.From.Kind {
	case core.PosNew:
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	case core.PosAll:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	case core.PosSeq:
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, q.From.Seq
	case core.PosID:
		seq, err := parseSeq(q.From.ID)
		if err != nil {
			return err
		}
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, seq
	case core.PosTime:
		ts := q.From.Time
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &ts
	case core.PosLast:
		seq, err := b.lastNStartIn(ctx, t, t.stream.CachedInfo().State, q.From.N)
		if err != nil {
			return err
		}
		if seq == 0 {
			cfg.DeliverPolicy = jetstream.DeliverAllPolicy
		} else {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, seq
		}
	}
	cons, err := t.stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("jetstream: tail %q: ordered consumer on stream %q: %w", q.Pattern, t.streamName(), err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		rec := core.Record{Topic: q.Pattern, Subject: m.Subject(), Data: m.Data(), Header: core.Header(m.Headers()), Size: len(m.Data())}
		if md, err := m.Metadata(); err == nil {
			rec.Seq = md.Sequence.Stream
			rec.ID = strconv.FormatUint(rec.Seq, 10)
			rec.Time = md.Timestamp
		}
		sink(rec)
	}, jetstream.PullMaxMessages(500),
		// A missed heartbeat makes the ordered consumer re-create itself on a
		// live server: with the default (half the 30 s pull expiry) a tail
		// stalled 11-30 s after the stream leader's server stopped.
		jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(time.Second))
	if err != nil {
		return fmt.Errorf("jetstream: tail %q: consume from stream %q: %w", q.Pattern, t.streamName(), err)
	}
	stream := t.streamName()
	b.runTail(ctx, func() {
		cc.Stop()
		// The server would drop the consumer after InactiveThreshold; do it
		// now so a finished tail leaves nothing behind.
		if info := cons.CachedInfo(); info != nil && !b.nc.IsClosed() {
			dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = b.js.DeleteConsumer(dctx, stream, info.Name)
		}
	})
	return nil
}

func streamCaptures(subjects []string, filter string) bool {
	for _, s := range subjects {
		if subjectSubset(filter, s) {
			return true
		}
	}
	return false
}

func (o *operator) tailCore(ctx context.Context, q core.TailQuery, sink func(core.Record)) error {
	b := o.b
	sub, err := b.nc.Subscribe(q.Pattern, func(m *nats.Msg) {
		sink(core.Record{Topic: q.Pattern, Subject: m.Subject, Data: m.Data, Header: core.Header(m.Header), Time: time.Now(), Size: len(m.Data)})
	})
	if err != nil {
		return fmt.Errorf("jetstream: tail %q: subscribe: %w", q.Pattern, err)
	}
	// The sink never blocks, so the client keeps up; big limits keep a
	// burst from being dropped as a local slow consumer.
	_ = sub.SetPendingLimits(1<<20, 256<<20)
	if err := b.nc.FlushTimeout(5 * time.Second); err != nil {
		_ = sub.Unsubscribe()
		return fmt.Errorf("jetstream: tail %q: flush subscription: %w", q.Pattern, err)
	}
	b.runTail(ctx, func() { _ = sub.Unsubscribe() })
	return nil
}

func (b *Backend) runTail(ctx context.Context, stop func()) {
	h := &tailHandle{done: make(chan struct{})}
	h.fn = func() {
		stop()
		b.mu.Lock()
		delete(b.tails, h)
		b.mu.Unlock()
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		stop()
		return
	}
	b.tails[h] = struct{}{}
	b.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
			h.stop()
		case <-h.done:
		}
	}()
}
