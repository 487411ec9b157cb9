package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/mqscope/mqscope/core"
)

// How a forward Browse page is read. One get per message costs a round
// trip each (~86 µs on loopback: 86 s for a million), so longer reads use
// what the server offers to stream many messages on one request.
type browsePlan int

const (
	// planGets: one get by sequence per message (next_by_subj): no
	// consumer, any server, any retention. Small pages on old servers.
	planGets browsePlan = iota
	// planDirectBatch: one batched direct get ($JS.API.DIRECT.GET with
	// "batch", nats-server ≥ 2.11, stream with AllowDirect) streams the
	// whole page: no consumer, any retention.
	planDirectBatch
	// planOrdered: an ordered consumer (ephemeral, no acks, short inactive
	// threshold, deleted when the page is read) starting at the page's
	// first sequence. Only on Limits streams: on a WorkQueue stream the
	// server refuses it (and an acking one would remove messages), and on
	// an Interest stream a consumer is interest, which would keep new
	// messages stored while it exists.
	planOrdered
)

func (p browsePlan) String() string {
	return [...]string{"gets", "direct-batch", "ordered-consumer"}[p]
}

// orderedMinPage is the smallest forward page read with an ordered
// consumer: below it, creating and deleting the consumer (two API round
// trips plus the consumer's own) costs more than the gets it saves.
const orderedMinPage = 200

// hasDirectBatch: direct get takes "batch" from nats-server 2.11. Older
// servers ignore the field and answer one message, which must not be
// mistaken for a short batch.
func (o *operator) hasDirectBatch() bool {
	maj, min, _ := serverVersion(o.b.nc.ConnectedServerVersion())
	return maj > 2 || (maj == 2 && min >= 11)
}

func (o *operator) forwardPlan(cfg jetstream.StreamConfig, limit int) browsePlan {
	switch {
	case cfg.AllowDirect && o.hasDirectBatch():
		return planDirectBatch
	case limit >= orderedMinPage && cfg.Retention == jetstream.LimitsPolicy:
		return planOrdered
	}
	return planGets
}

// directGetRequest is the batched form of the get request.
type directGetRequest struct {
	Seq     uint64 `json:"seq"`
	NextFor string `json:"next_by_subj,omitempty"`
	Batch   int    `json:"batch"`
}

// directHeaders are what a batched direct get appends, in this order, after
// the stored headers (nats-server stream.go, getDirectRequest).
var directHeaders = [...]string{"Nats-Stream", "Nats-Subject", "Nats-Sequence", "Nats-Time-Stamp", "Nats-Num-Pending", "Nats-Last-Sequence"}

// pageReader reads a forward browse page after page: each read continues
// where the previous one ended. A reader left open between pages (parked,
// see cursor.go) already has the next page on its way.
type pageReader interface {
	// read returns up to limit records numbered at most last.
	read(ctx context.Context, last uint64, limit int) ([]core.Record, error)
	// prefetch asks for the next page of limit records ahead of read.
	prefetch(limit int)
	close()
}

// directReader reads with batched direct gets: one request a batch,
// answered by a stream of messages and an end-of-batch status. The server
// may end a batch early (max bytes); the next request continues after the
// last message. No consumer exists.
type directReader struct {
	o        *operator
	t        target
	sub      *nats.Subscription
	seq      uint64       // where the next request starts
	inflight bool         // a batch is still arriving on sub
	done     bool         // the server said nothing more matches
	held     *core.Record // read past the last page's end, for the next
}

func (o *operator) newDirectReader(t target, from uint64) (*directReader, error) {
	sub, err := o.b.nc.SubscribeSync(o.b.nc.NewInbox())
	if err != nil {
		return nil, fmt.Errorf("jetstream: stream %q: browse: subscribe to direct get replies: %w", t.streamName(), err)
	}
	_ = sub.SetPendingLimits(-1, -1) // bounded by the batches asked for
	return &directReader{o: o, t: t, sub: sub, seq: from}, nil
}

func (d *directReader) request(n int) error {
	body, _ := json.Marshal(directGetRequest{Seq: d.seq, NextFor: d.t.filter, Batch: n})
	if err := d.o.b.nc.PublishRequest("$JS.API.DIRECT.GET."+d.t.streamName(), d.sub.Subject, body); err != nil {
		return fmt.Errorf("jetstream: stream %q: direct get batch from %d: %w", d.t.streamName(), d.seq, err)
	}
	d.inflight = true
	return nil
}

func (d *directReader) prefetch(limit int) {
	if !d.inflight && !d.done && d.held == nil {
		_ = d.request(limit) // an error shows again on the next read's request
	}
}

func (d *directReader) close() { _ = d.sub.Unsubscribe() }

func (d *directReader) read(ctx context.Context, last uint64, limit int) ([]core.Record, error) {
	recs := make([]core.Record, 0, min(limit, 1<<16))
	if d.held != nil {
		if d.held.Seq > last {
			return recs, nil
		}
		recs, d.held = append(recs, *d.held), nil
	}
	for len(recs) < limit {
		if !d.inflight {
			if d.done || d.seq > last {
				break
			}
			if err := d.request(min(limit-len(recs), int(min(last-d.seq+1, 1<<20)))); err != nil {
				return recs, err
			}
		}
		wait, err := nextWait(ctx)
		if err != nil {
			return recs, err
		}
		m, err := d.sub.NextMsg(wait)
		if err != nil {
			return recs, fmt.Errorf("jetstream: stream %q: direct get batch from %d: %w", d.t.streamName(), d.seq, err)
		}
		if m.Header.Get("Nats-Sequence") == "" { // a status: 204 EOB, 404 none
			d.inflight = false
			switch m.Header.Get("Status") {
			case "204":
				d.done = m.Header.Get("Nats-Num-Pending") == "0"
				continue
			case "404":
				d.done = true
				continue
			}
			return recs, fmt.Errorf("jetstream: stream %q: direct get batch from %d: status %s %s", d.t.streamName(), d.seq, m.Header.Get("Status"), m.Header.Get("Description"))
		}
		rec, err := directRecord(d.t.name, m)
		if err != nil {
			return recs, fmt.Errorf("jetstream: stream %q: direct get batch from %d: %w", d.t.streamName(), d.seq, err)
		}
		d.seq = rec.Seq + 1
		if rec.Seq > last {
			d.held = &rec
			break
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// directRecord turns a direct get reply into a record with the headers the
// message was stored with: the server appends its own (directHeaders) after
// them, so the last value of each of those keys is the server's.
func directRecord(topic string, m *nats.Msg) (core.Record, error) {
	h := m.Header
	var vals [len(directHeaders)]string
	for i, k := range directHeaders {
		v := h[k]
		if len(v) == 0 {
			return core.Record{}, fmt.Errorf("direct get reply without %s header", k)
		}
		vals[i] = v[len(v)-1]
		if len(v) == 1 {
			delete(h, k)
		} else {
			h[k] = v[:len(v)-1]
		}
	}
	subject, seqStr, tsStr := vals[1], vals[2], vals[3]
	seq, err := strconv.ParseUint(seqStr, 10, 64)
	if err != nil {
		return core.Record{}, fmt.Errorf("direct get reply: bad Nats-Sequence %q: %w", seqStr, err)
	}
	ts, err := time.Parse(time.RFC3339Nano, tsStr)
	if err != nil {
		return core.Record{}, fmt.Errorf("direct get reply: message %d: bad Nats-Time-Stamp %q: %w", seq, tsStr, err)
	}
	if len(h) == 0 {
		h = nil
	}
	return core.Record{
		Topic: topic, Subject: subject, ID: seqStr, Seq: seq,
		Data: m.Data, Header: core.Header(h), Time: ts, Size: len(m.Data),
	}, nil
}

// orderedReader reads with an ordered consumer (ephemeral, no acks, short
// inactive threshold) starting at the first page's first sequence; close
// deletes it. Its pulls run ahead of the pages by themselves.
type orderedReader struct {
	o    *operator
	t    target
	name string
	it   jetstream.MessagesContext
	done bool         // nothing was pending after the last message read
	held *core.Record // read past the last page's end, for the next
}

func (o *operator) newOrderedReader(ctx context.Context, t target, from uint64, limit int) (*orderedReader, error) {
	stream := t.streamName()
	cfg := jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from,
		InactiveThreshold: 2 * cursorIdle, NamePrefix: TailConsumerPrefix + "browse-" + nuid.Next(),
	}
	if t.filter != "" {
		cfg.FilterSubjects = []string{t.filter}
	}
	cctx, cancel := withOpTimeout(ctx)
	cons, err := t.stream.OrderedConsumer(cctx, cfg)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("jetstream: stream %q: browse from %d: ordered consumer: %w", stream, from, err)
	}
	r := &orderedReader{o: o, t: t}
	info := cons.CachedInfo()
	if info == nil {
		return nil, fmt.Errorf("jetstream: stream %q: browse from %d: ordered consumer without info", stream, from)
	}
	r.name = info.Name
	if info.NumPending == 0 {
		r.done = true
		return r, nil
	}
	r.it, err = cons.Messages(jetstream.PullMaxMessages(min(limit, 1000)))
	if err != nil {
		r.close()
		return nil, fmt.Errorf("jetstream: stream %q: browse from %d: consume: %w", stream, from, err)
	}
	return r, nil
}

func (r *orderedReader) prefetch(int) {}

func (r *orderedReader) close() {
	if r.it != nil {
		r.it.Stop()
	}
	if !r.o.b.nc.IsClosed() {
		dctx, cancel := withOpTimeout(context.Background())
		defer cancel()
		_ = r.o.b.js.DeleteConsumer(dctx, r.t.streamName(), r.name)
	}
}

func (r *orderedReader) read(ctx context.Context, last uint64, limit int) ([]core.Record, error) {
	var recs []core.Record
	if r.held != nil {
		if r.held.Seq > last {
			return recs, nil
		}
		recs, r.held = append(recs, *r.held), nil
	}
	for len(recs) < limit && !r.done {
		wait, err := nextWait(ctx)
		if err != nil {
			return recs, err
		}
		m, err := r.it.Next(jetstream.NextMaxWait(wait))
		if err != nil {
			return recs, fmt.Errorf("jetstream: stream %q: browse with consumer %s: %w", r.t.streamName(), r.name, err)
		}
		md, err := m.Metadata()
		if err != nil {
			return recs, fmt.Errorf("jetstream: stream %q: browse with consumer %s: %w", r.t.streamName(), r.name, err)
		}
		rec := core.Record{
			Topic: r.t.name, Subject: m.Subject(), ID: strconv.FormatUint(md.Sequence.Stream, 10), Seq: md.Sequence.Stream,
			Data: m.Data(), Header: core.Header(m.Headers()), Time: md.Timestamp, Size: len(m.Data()),
		}
		r.done = md.NumPending == 0
		if rec.Seq > last {
			r.held = &rec
			break
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// nextWait bounds the wait for one message of a page: opTimeout, or less
// when ctx ends sooner. (A context per message would cost more than the
// message; a cancel without deadline is seen at the next message.)
func nextWait(ctx context.Context) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	wait := opTimeout
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl))
	}
	if wait <= 0 {
		return 0, context.DeadlineExceeded
	}
	return wait, nil
}

// getsInFlight bounds the gets of getMany sent before their replies are
// read.
const getsInFlight = 256

// getMany reads the messages numbered seqs with pipelined gets (all sent,
// then all replies read): one round trip for the lot instead of one each.
// got[i] is seqs[i]'s message, nil where it is deleted. No consumer.
func (b *Backend) getMany(ctx context.Context, stream string, seqs []uint64) ([]*jetstream.RawStreamMsg, error) {
	got := make([]*jetstream.RawStreamMsg, len(seqs))
	if len(seqs) == 0 {
		return got, nil
	}
	inbox := b.nc.NewInbox()
	sub, err := b.nc.SubscribeSync(inbox + ".*")
	if err != nil {
		return nil, fmt.Errorf("jetstream: stream %q: subscribe to get replies: %w", stream, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	_ = sub.SetPendingLimits(-1, -1) // bounded by len(seqs)
	subject := "$JS.API.STREAM.MSG.GET." + stream
	for i, seq := range seqs {
		if err := b.nc.PublishRequest(subject, inbox+"."+strconv.Itoa(i), fmt.Appendf(nil, `{"seq":%d}`, seq)); err != nil {
			return nil, fmt.Errorf("jetstream: stream %q: get %d: %w", stream, seq, err)
		}
	}
	for range seqs {
		wait, err := nextWait(ctx)
		if err != nil {
			return nil, err
		}
		m, err := sub.NextMsg(wait)
		if err != nil {
			return nil, fmt.Errorf("jetstream: stream %q: gets from %d: %w", stream, seqs[0], err)
		}
		i, err := strconv.Atoi(m.Subject[len(inbox)+1:])
		if err != nil || i < 0 || i >= len(seqs) {
			return nil, fmt.Errorf("jetstream: stream %q: get reply on unexpected subject %q", stream, m.Subject)
		}
		rm, err := decodeMsgGet(stream, m.Data)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("jetstream: stream %q: get %d: %w", stream, seqs[i], err)
		}
		got[i] = rm
	}
	return got, nil
}
