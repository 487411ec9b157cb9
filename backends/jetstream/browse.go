package jetstream

import (
	"context"
	"encoding/json"
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

// forwardDirect reads up to limit messages at or after from (at most last)
// with batched direct gets: one request a batch, answered by a stream of
// messages and an end-of-batch status. The server may end a batch early
// (max bytes); the next request continues after the last message.
func (o *operator) forwardDirect(ctx context.Context, t target, from, last uint64, limit int) ([]core.Record, uint64, bool, error) {
	stream := t.streamName()
	inbox := o.b.nc.NewInbox()
	sub, err := o.b.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, 0, false, fmt.Errorf("jetstream: stream %q: browse: subscribe to direct get replies: %w", stream, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	_ = sub.SetPendingLimits(-1, -1) // bounded by the batch asked for
	recs := make([]core.Record, 0, min(limit, 1<<16))
	seq := from
	for len(recs) < limit && seq <= last {
		want := min(limit-len(recs), int(min(last-seq+1, 1<<20)))
		body, _ := json.Marshal(directGetRequest{Seq: seq, NextFor: t.filter, Batch: want})
		if err := o.b.nc.PublishRequest("$JS.API.DIRECT.GET."+stream, inbox, body); err != nil {
			return recs, 0, false, fmt.Errorf("jetstream: stream %q: direct get batch from %d: %w", stream, seq, err)
		}
		got, end, err := o.readDirectBatch(ctx, sub, t, last, &recs)
		if err != nil {
			return recs, 0, false, fmt.Errorf("jetstream: stream %q: direct get batch from %d: %w", stream, seq, err)
		}
		if got > 0 {
			seq = recs[len(recs)-1].Seq + 1
		}
		if end || got == 0 {
			return recs, seq, false, nil
		}
	}
	return recs, seq, len(recs) == limit && seq <= last, nil
}

// readDirectBatch appends one batch's messages to recs (only those up to
// last). end reports that nothing more matches: "no results", or a
// message past last, or the server's count of pending ones reaching 0.
func (o *operator) readDirectBatch(ctx context.Context, sub *nats.Subscription, t target, last uint64, recs *[]core.Record) (got int, end bool, err error) {
	for {
		mctx, cancel := withOpTimeout(ctx)
		m, err := sub.NextMsgWithContext(mctx)
		cancel()
		if err != nil {
			return got, false, err
		}
		if m.Header.Get("Nats-Sequence") == "" { // a status: 204 EOB, 404 none
			switch m.Header.Get("Status") {
			case "204":
				return got, m.Header.Get("Nats-Num-Pending") == "0", nil
			case "404":
				return got, true, nil
			}
			return got, false, fmt.Errorf("status %s %s", m.Header.Get("Status"), m.Header.Get("Description"))
		}
		rec, err := directRecord(t.name, m)
		if err != nil {
			return got, false, err
		}
		if rec.Seq > last {
			end = true // drain to the EOB, keep nothing past the snapshot
			continue
		}
		if end {
			continue
		}
		*recs = append(*recs, rec)
		got++
	}
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

// forwardOrdered reads up to limit messages at or after from (at most last)
// with an ordered consumer that is deleted when the page is read.
func (o *operator) forwardOrdered(ctx context.Context, t target, from, last uint64, limit int) ([]core.Record, uint64, bool, error) {
	stream := t.streamName()
	cfg := jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from,
		InactiveThreshold: 5 * time.Second, NamePrefix: TailConsumerPrefix + "browse-" + nuid.Next(),
	}
	if t.filter != "" {
		cfg.FilterSubjects = []string{t.filter}
	}
	cctx, cancel := withOpTimeout(ctx)
	cons, err := t.stream.OrderedConsumer(cctx, cfg)
	cancel()
	if err != nil {
		return nil, 0, false, fmt.Errorf("jetstream: stream %q: browse from %d: ordered consumer: %w", stream, from, err)
	}
	info := cons.CachedInfo()
	defer func() {
		if info != nil && !o.b.nc.IsClosed() {
			dctx, cancel := withOpTimeout(context.Background())
			defer cancel()
			_ = o.b.js.DeleteConsumer(dctx, stream, info.Name)
		}
	}()
	var recs []core.Record
	seq := from
	if info == nil || info.NumPending == 0 {
		return recs, seq, false, nil
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(min(limit, 1000)))
	if err != nil {
		return nil, 0, false, fmt.Errorf("jetstream: stream %q: browse from %d: consume: %w", stream, from, err)
	}
	defer it.Stop()
	for len(recs) < limit && seq <= last {
		if err := ctx.Err(); err != nil {
			return recs, 0, false, err
		}
		m, err := it.Next(jetstream.NextMaxWait(opTimeout))
		if err != nil {
			return recs, 0, false, fmt.Errorf("jetstream: stream %q: browse after %d: %w", stream, seq-1, err)
		}
		md, err := m.Metadata()
		if err != nil {
			return recs, 0, false, fmt.Errorf("jetstream: stream %q: browse after %d: %w", stream, seq-1, err)
		}
		if md.Sequence.Stream > last {
			break
		}
		recs = append(recs, core.Record{
			Topic: t.name, Subject: m.Subject(), ID: strconv.FormatUint(md.Sequence.Stream, 10), Seq: md.Sequence.Stream,
			Data: m.Data(), Header: core.Header(m.Headers()), Time: md.Timestamp, Size: len(m.Data()),
		})
		seq = md.Sequence.Stream + 1
		if md.NumPending == 0 {
			return recs, seq, false, nil
		}
	}
	return recs, seq, len(recs) == limit && seq <= last, nil
}
