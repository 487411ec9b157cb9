package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/natsubject"
)

// pullConsumer looks up a group's consumer for acting as it.
func (o *operator) pullConsumer(ctx context.Context, op core.Op, t target, group string) (jetstream.Consumer, error) {
	c, err := o.consumer(ctx, t, group)
	if err != nil {
		return nil, err
	}
	ci := c.CachedInfo()
	if ci.Config.DeliverSubject != "" {
		return nil, &core.UnsupportedError{Op: op, Reason: fmt.Sprintf("consumer %q on stream %q is a push consumer: mqscope can only act as a pull consumer", ci.Name, t.streamName())}
	}
	if ci.Config.AckPolicy != jetstream.AckExplicitPolicy {
		return nil, &core.UnsupportedError{Op: op, Reason: fmt.Sprintf("consumer %q on stream %q has ack policy %s: there is nothing to ack", ci.Name, t.streamName(), ci.Config.AckPolicy)}
	}
	return c, nil
}

// takeDeliveries pulls the consumer's next deliveries until every wanted
// sequence is held or nothing more comes. It returns the wanted messages
// and the others, which the caller must nak back.
func (o *operator) takeDeliveries(ctx context.Context, c jetstream.Consumer, want map[uint64]bool) (map[uint64]jetstream.Msg, []jetstream.Msg, int, error) {
	got := map[uint64]jetstream.Msg{}
	var others []jetstream.Msg
	fetched := 0
	for len(got) < len(want) && fetched < 100000 {
		if err := ctx.Err(); err != nil {
			return got, others, fetched, err
		}
		mb, err := c.Fetch(256, jetstream.FetchMaxWait(700*time.Millisecond))
		if err != nil {
			return got, others, fetched, err
		}
		n := 0
		for m := range mb.Messages() {
			n++
			md, err := m.Metadata()
			if err == nil && want[md.Sequence.Stream] && got[md.Sequence.Stream] == nil {
				got[md.Sequence.Stream] = m
			} else {
				others = append(others, m)
			}
		}
		fetched += n
		if err := mb.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return got, others, fetched, err
		}
		if n == 0 {
			break
		}
	}
	return got, others, fetched, nil
}

func nakAll(ms []jetstream.Msg) {
	for _, m := range ms {
		_ = m.Nak()
	}
}

func (o *operator) wantedSeqs(r *core.Result, ids []string, ackFloor uint64) (map[uint64]bool, []uint64) {
	want := map[uint64]bool{}
	var order []uint64
	for _, id := range ids {
		seq, err := parseSeq(id)
		if err != nil {
			r.Failf("%v", err)
			continue
		}
		if want[seq] {
			r.Skipped++
			continue
		}
		if seq <= ackFloor {
			r.Skipped++
			r.Notef("sequence %d is at or below the ack floor %d: already acked", seq, ackFloor)
			continue
		}
		want[seq] = true
		order = append(order, seq)
	}
	return want, order
}

// settle acks, naks or terms messages as the group's pull consumer.
func (o *operator) settle(ctx context.Context, op core.Op, r core.ActionRequest, verb string, do func(context.Context, jetstream.Msg) error) (core.Result, error) {
	res := core.Result{Requested: len(r.IDs)}
	t, err := o.resolve(ctx, r.Topic)
	if err != nil {
		return res, err
	}
	c, err := o.pullConsumer(ctx, op, t, r.Group)
	if err != nil {
		return res, err
	}
	ci := c.CachedInfo()
	want, order := o.wantedSeqs(&res, r.IDs, ci.AckFloor.Stream)
	got, others, fetched, ferr := o.takeDeliveries(ctx, c, want)
	for _, seq := range order {
		m := got[seq]
		if m == nil {
			res.Failf("sequence %d was not among the next %d deliveries of consumer %q (a live subscriber may hold it until its AckWait of %v ends, or it was acked already)", seq, fetched, ci.Name, ci.Config.AckWait)
			res.Report(r.Progress)
			continue
		}
		if err := do(ctx, m); err != nil {
			res.Failf("%s sequence %d: %v", verb, seq, err)
		} else {
			res.Done++
		}
		res.Report(r.Progress)
	}
	nakAll(others)
	res.Detail = fmt.Sprintf("%s %d of %d as consumer %q; pulled %d deliveries, %d others naked back (their delivery count went up by one)", verb, res.Done, res.Requested, ci.Name, fetched, len(others))
	if ferr != nil && res.Done == 0 {
		return res, fmt.Errorf("jetstream: %s as consumer %q on stream %q: fetch: %w", verb, ci.Name, t.streamName(), ferr)
	}
	return res, nil
}

func (o *operator) Ack(ctx context.Context, r core.ActionRequest) (core.Result, error) {
	return o.settle(ctx, core.OpAck, r, "acked", func(ctx context.Context, m jetstream.Msg) error { return doubleAck(ctx, m) })
}

func (o *operator) Nak(ctx context.Context, r core.ActionRequest) (core.Result, error) {
	return o.settle(ctx, core.OpNak, r, "naked", func(ctx context.Context, m jetstream.Msg) error { return m.Nak() })
}

func (o *operator) Term(ctx context.Context, r core.ActionRequest) (core.Result, error) {
	return o.settle(ctx, core.OpTerm, r, "termed", func(ctx context.Context, m jetstream.Msg) error { return m.Term() })
}

// Replay implements core.OperatorBackend: get by sequence, publish a copy
// with replay headers, wait for the PubAck.
func (o *operator) Replay(ctx context.Context, r core.ReplayRequest) (core.Result, error) {
	var res core.Result
	t, err := o.resolve(ctx, r.Topic)
	if err != nil {
		return res, err
	}
	var recs []core.Record
	if len(r.IDs) > 0 {
		res.Requested = len(r.IDs)
		for _, id := range r.IDs {
			seq, err := parseSeq(id)
			if err != nil {
				res.Failf("%v", err)
				continue
			}
			rec, err := o.get(ctx, t, seq)
			if err != nil {
				res.Failf("%v", err)
				continue
			}
			recs = append(recs, rec)
		}
	} else {
		si, err := t.stream.Info(ctx)
		if err != nil {
			return res, fmt.Errorf("jetstream: stream %q: info: %w", t.streamName(), err)
		}
		st := si.State
		last := st.LastSeq // fixed now, so replaying into the same stream ends
		switch r.To.Kind {
		case core.PosSeq:
			last = min(last, r.To.Seq)
		case core.PosID:
			seq, err := parseSeq(r.To.ID)
			if err != nil {
				return res, err
			}
			last = min(last, seq)
		case core.PosTime:
			after, err := o.seqForTime(ctx, t, st, r.To.Time.Add(time.Nanosecond))
			if err != nil {
				return res, err
			}
			last = min(last, after-1)
		}
		if st.Msgs > 0 {
			start, err := o.startSeq(ctx, t, st, r.From, false)
			if err != nil {
				return res, err
			}
			limit := r.Limit
			if limit <= 0 {
				limit = 1000
			}
			recs, _, _, err = o.forward(ctx, t, start, last, limit)
			if err != nil {
				return res, err
			}
		}
		res.Requested = len(recs)
	}
	now := time.Now()
	for _, rec := range recs {
		subj := r.Target
		if subj == "" || subj == r.Topic {
			subj = rec.Subject
		}
		if _, err := o.b.streamFor(ctx, subj, o.b.cfg.CreateStreams); err != nil {
			res.Failf("replay %s to %q: %v", rec.ID, subj, err)
			res.Report(r.Progress)
			if errors.Is(err, core.ErrNoStream) {
				return res, err
			}
			continue
		}
		if _, err := o.publishAck(ctx, subj, rec.Data, core.ReplayHeader(rec, now), ""); err != nil {
			res.Failf("replay %s: %v", rec.ID, err)
		} else {
			res.Done++
		}
		res.Report(r.Progress)
	}
	res.Detail = fmt.Sprintf("replayed %d of %d", res.Done, res.Requested)
	return res, ctx.Err()
}

// rewindSeq maps a rewind position onto a stream sequence.
func (o *operator) rewindSeq(ctx context.Context, t target, p core.Position) (uint64, error) {
	si, err := t.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("jetstream: stream %q: info: %w", t.streamName(), err)
	}
	st := si.State
	switch p.Kind {
	case core.PosAll:
		return max(st.FirstSeq, 1), nil
	case core.PosNew:
		return st.LastSeq + 1, nil
	}
	seq, err := o.startSeq(ctx, t, st, p, false)
	if err != nil {
		return 0, err
	}
	return max(seq, 1), nil
}

// Rewind implements core.OperatorBackend: consumer reset where the server
// has it (≥ 2.14), else delete and recreate at the sequence after explicit
// confirmation.
func (o *operator) Rewind(ctx context.Context, r core.RewindRequest) (core.Result, error) {
	res := core.Result{Requested: 1}
	t, err := o.resolve(ctx, r.Topic)
	if err != nil {
		return res, err
	}
	c, err := o.consumer(ctx, t, r.Group)
	if err != nil {
		return res, err
	}
	ci := c.CachedInfo()
	seq, err := o.rewindSeq(ctx, t, r.To)
	if err != nil {
		return res, err
	}
	var resetErr error
	if o.hasConsumerReset() {
		rr, err := o.b.js.ResetConsumerToSequence(ctx, t.streamName(), ci.Name, seq)
		if err == nil {
			res.Done = 1
			res.Detail = fmt.Sprintf("consumer %q on stream %q reset in place to sequence %d (server reset); its pending acks and delivery counts restart from there", ci.Name, t.streamName(), rr.ResetSeq)
			return res, nil
		}
		if !errors.Is(err, jetstream.ErrConsumerInvalidReset) {
			return res, fmt.Errorf("jetstream: reset consumer %q on stream %q to %d: %w", ci.Name, t.streamName(), seq, err)
		}
		resetErr = err
	}
	if ci.Config.Durable == "" {
		return res, fmt.Errorf("jetstream: consumer %q on stream %q is ephemeral: it cannot be recreated under the same name, and the server cannot reset it (%v)", ci.Name, t.streamName(), resetErr)
	}
	why := "nats-server " + o.b.nc.ConnectedServerVersion() + " has no consumer reset (needs ≥ 2.14)"
	if resetErr != nil {
		why = fmt.Sprintf("the server refused a reset for deliver policy %s (%v)", ci.Config.DeliverPolicy, resetErr)
	}
	if !r.Confirmed {
		return res, fmt.Errorf("jetstream: rewinding consumer %q on stream %q to sequence %d means deleting and recreating it because %s: its %d pending (unacked) messages lose their ack state and are delivered again from the new position, every delivery count restarts at 1, redelivery and backoff state and the ack floor (%d) are lost, and clients pulling right now get errors until they re-bind: %w",
			ci.Name, t.streamName(), seq, why, ci.NumAckPending, ci.AckFloor.Stream, core.ErrNeedsConfirmation)
	}
	cfg := ci.Config
	cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
	cfg.OptStartSeq = seq
	cfg.OptStartTime = nil
	if err := o.b.js.DeleteConsumer(ctx, t.streamName(), ci.Name); err != nil {
		return res, fmt.Errorf("jetstream: rewind: delete consumer %q on stream %q: %w", ci.Name, t.streamName(), err)
	}
	if _, err := o.b.js.CreateConsumer(ctx, t.streamName(), cfg); err != nil {
		return res, fmt.Errorf("jetstream: rewind: consumer %q on stream %q was deleted but recreating it at %d failed (recreate it by hand): %w", ci.Name, t.streamName(), seq, err)
	}
	res.Done = 1
	res.Detail = fmt.Sprintf("consumer %q on stream %q deleted and recreated at sequence %d (%s): %d pending acks, delivery counts and redelivery state were dropped", ci.Name, t.streamName(), seq, why, ci.NumAckPending)
	return res, nil
}

func dlqMsgID(stream string, seq uint64) string {
	return "mqscope-dlq-" + stream + "-" + strconv.FormatUint(seq, 10)
}

// MoveToDLQ implements core.OperatorBackend. The copy is published and its
// PubAck awaited first; only then is the original removed:
//   - without a group, or on a WorkQueue stream: the message is deleted
//     from its stream (DeleteMsg), so no consumer gets it again;
//   - with a group on a Limits or Interest stream: it is acked as that
//     consumer (pulled as in Ack), so other consumers still have it.
//
// A crash in between leaves a duplicate (the DLQ copy is de-duplicated by
// Nats-Msg-Id within the DLQ stream's window), never a loss.
func (o *operator) MoveToDLQ(ctx context.Context, r core.MoveRequest) (core.Result, error) {
	res := core.Result{Requested: len(r.IDs)}
	t, err := o.resolve(ctx, r.Topic)
	if err != nil {
		return res, err
	}
	if _, err := o.b.streamFor(ctx, r.DLQ, o.b.cfg.CreateStreams); err != nil {
		return res, fmt.Errorf("jetstream: move to DLQ %q: %w", r.DLQ, err)
	}
	si := t.stream.CachedInfo()
	stream := si.Config.Name
	now := time.Now()
	if r.Group != "" && si.Config.Retention != jetstream.WorkQueuePolicy {
		return o.moveAsConsumer(ctx, t, r, res, now)
	}
	for _, id := range r.IDs {
		seq, err := parseSeq(id)
		if err != nil {
			res.Failf("%v", err)
			res.Report(r.Progress)
			continue
		}
		rec, err := o.get(ctx, t, seq)
		if err != nil {
			res.Failf("%v", err)
			res.Report(r.Progress)
			continue
		}
		h := core.DeadLetterHeader(rec, r.Group, "", 0, r.Reason, now)
		if _, err := o.publishAck(ctx, r.DLQ, rec.Data, h, dlqMsgID(stream, seq)); err != nil {
			res.Failf("copy %d to %q: %v (original kept)", seq, r.DLQ, err)
			res.Report(r.Progress)
			continue
		}
		if err := o.deleteMsg(ctx, t, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			res.Failf("copied %d to %q but deleting the original failed: %v (it is now in both)", seq, r.DLQ, err)
			res.Report(r.Progress)
			continue
		}
		res.Done++
		res.Report(r.Progress)
	}
	res.Detail = fmt.Sprintf("moved %d of %d from stream %q to %q (copy confirmed, then original deleted from the stream)", res.Done, res.Requested, stream, r.DLQ)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, nil
}

func (o *operator) moveAsConsumer(ctx context.Context, t target, r core.MoveRequest, res core.Result, now time.Time) (core.Result, error) {
	c, err := o.pullConsumer(ctx, core.OpDeadLetter, t, r.Group)
	if err != nil {
		return res, err
	}
	ci := c.CachedInfo()
	stream := t.streamName()
	want, order := o.wantedSeqs(&res, r.IDs, ci.AckFloor.Stream)
	got, others, fetched, ferr := o.takeDeliveries(ctx, c, want)
	defer nakAll(others)
	for _, seq := range order {
		m := got[seq]
		if m == nil {
			res.Failf("sequence %d was not among the next %d deliveries of consumer %q (a live subscriber may hold it until its AckWait of %v ends)", seq, fetched, ci.Name, ci.Config.AckWait)
			res.Report(r.Progress)
			continue
		}
		md, _ := m.Metadata()
		rec := core.Record{Topic: t.name, Subject: m.Subject(), ID: strconv.FormatUint(seq, 10), Seq: seq, Data: m.Data(), Header: core.Header(m.Headers())}
		deliveries := 0
		if md != nil {
			rec.Time = md.Timestamp
			deliveries = int(md.NumDelivered)
		}
		h := core.DeadLetterHeader(rec, r.Group, "", deliveries, r.Reason, now)
		if _, err := o.publishAck(ctx, r.DLQ, rec.Data, h, dlqMsgID(stream, seq)); err != nil {
			_ = m.Nak()
			res.Failf("copy %d to %q: %v (original naked back)", seq, r.DLQ, err)
			res.Report(r.Progress)
			continue
		}
		if err := doubleAck(ctx, m); err != nil {
			res.Failf("copied %d to %q but acking it as %q failed: %v (it is now in both)", seq, r.DLQ, ci.Name, err)
			res.Report(r.Progress)
			continue
		}
		res.Done++
		res.Report(r.Progress)
	}
	res.Detail = fmt.Sprintf("moved %d of %d to %q: copy confirmed, then acked as consumer %q (the stream keeps the message for other consumers); %d other deliveries naked back", res.Done, res.Requested, r.DLQ, ci.Name, len(others))
	if ferr != nil && res.Done == 0 {
		return res, fmt.Errorf("jetstream: move to DLQ as consumer %q: fetch: %w", ci.Name, ferr)
	}
	return res, nil
}

// Redrive implements core.OperatorBackend: copy (PubAck awaited) to the
// origin or r.Target, then delete the DLQ copy when r.Remove.
func (o *operator) Redrive(ctx context.Context, r core.RedriveRequest) (core.Result, error) {
	res := core.Result{Requested: len(r.IDs)}
	t, err := o.resolve(ctx, r.DLQ)
	if err != nil {
		return res, err
	}
	stream := t.streamName()
	now := time.Now()
	for _, id := range r.IDs {
		seq, err := parseSeq(id)
		if err != nil {
			res.Failf("%v", err)
			res.Report(r.Progress)
			continue
		}
		rec, err := o.get(ctx, t, seq)
		if err != nil {
			res.Failf("%v", err)
			res.Report(r.Progress)
			continue
		}
		dst := r.Target
		if dst == "" {
			dst = rec.Header.Get(core.HeaderOriginTopic)
		}
		if dst == "" {
			res.Failf("message %d has no %s header: give a target", seq, core.HeaderOriginTopic)
			res.Report(r.Progress)
			continue
		}
		if err := natsubject.Validate(dst, false); err != nil {
			res.Failf("message %d: origin: %v", seq, err)
			res.Report(r.Progress)
			continue
		}
		if _, err := o.b.streamFor(ctx, dst, o.b.cfg.CreateStreams); err != nil {
			res.Failf("redrive %d to %q: %v", seq, dst, err)
			res.Report(r.Progress)
			continue
		}
		msgID := "mqscope-redrive-" + stream + "-" + strconv.FormatUint(seq, 10)
		if _, err := o.publishAck(ctx, dst, rec.Data, core.RedriveHeader(rec, now), msgID); err != nil {
			res.Failf("redrive %d to %q: %v (DLQ copy kept)", seq, dst, err)
			res.Report(r.Progress)
			continue
		}
		if r.Remove {
			if err := o.deleteMsg(ctx, t, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
				res.Failf("redrove %d to %q but deleting it from %q failed: %v (it is now in both)", seq, dst, stream, err)
				res.Report(r.Progress)
				continue
			}
		}
		res.Done++
		res.Report(r.Progress)
	}
	res.Detail = fmt.Sprintf("redrove %d of %d from stream %q", res.Done, res.Requested, stream)
	if r.Remove {
		res.Detail += " (DLQ copies deleted after each confirmed publish)"
	}
	return res, ctx.Err()
}

// DeleteGroup implements core.OperatorBackend: delete the group's consumer.
func (o *operator) DeleteGroup(ctx context.Context, topic, group string) error {
	t, err := o.resolve(ctx, topic)
	if err != nil {
		return err
	}
	return o.deleteConsumer(ctx, t, sanitizeName(group))
}

// DeleteConsumer implements core.OperatorBackend: the members of a
// JetStream group are anonymous pull clients, so the named JetStream
// consumer is deleted.
func (o *operator) DeleteConsumer(ctx context.Context, topic, group, consumer string) error {
	t, err := o.resolve(ctx, topic)
	if err != nil {
		return err
	}
	return o.deleteConsumer(ctx, t, sanitizeName(consumer))
}

func (o *operator) deleteConsumer(ctx context.Context, t target, name string) error {
	err := o.b.js.DeleteConsumer(ctx, t.streamName(), name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("jetstream: stream %q has no consumer %q: %w", t.streamName(), name, core.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("jetstream: delete consumer %q on stream %q: %w", name, t.streamName(), err)
	}
	return nil
}

// Purge implements core.OperatorBackend: the whole stream, or only the
// topic's subject when the stream stores more.
func (o *operator) Purge(ctx context.Context, topic string) (core.Result, error) {
	t, err := o.resolve(ctx, topic)
	if err != nil {
		return core.Result{}, err
	}
	req := map[string]any{}
	if t.filter != "" {
		req["filter"] = t.filter
	}
	body, _ := json.Marshal(req)
	msg, err := o.b.nc.RequestWithContext(ctx, "$JS.API.STREAM.PURGE."+t.streamName(), body)
	if err != nil {
		return core.Result{}, fmt.Errorf("jetstream: purge stream %q: %w", t.streamName(), err)
	}
	var resp struct {
		Success bool   `json:"success"`
		Purged  uint64 `json:"purged"`
		Error   *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return core.Result{}, fmt.Errorf("jetstream: purge stream %q: bad response: %w", t.streamName(), err)
	}
	if resp.Error != nil {
		return core.Result{}, fmt.Errorf("jetstream: purge stream %q: %s (%d)", t.streamName(), resp.Error.Description, resp.Error.Code)
	}
	n := int(resp.Purged)
	detail := fmt.Sprintf("purged %d messages from stream %q", n, t.streamName())
	if t.filter != "" {
		detail += " on subject " + t.filter
	}
	return core.Result{Requested: n, Done: n, Detail: detail}, nil
}

// EnsureStream implements core.StreamEnsurer: create a file stream
// capturing topic when no stream does.
func (o *operator) EnsureStream(ctx context.Context, topic string) error {
	if _, err := o.b.lookupStream(ctx, topic); err == nil {
		return nil
	} else if !errors.Is(err, core.ErrNoStream) {
		return err
	}
	_, err := o.b.createStream(ctx, topic)
	return err
}

func (o *operator) publishAck(ctx context.Context, subject string, data []byte, h core.Header, msgID string) (*jetstream.PubAck, error) {
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	return o.b.publishAck(ctx, subject, data, h, msgID)
}

func (o *operator) deleteMsg(ctx context.Context, t target, seq uint64) error {
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	return t.stream.DeleteMsg(ctx, seq)
}

func doubleAck(ctx context.Context, m jetstream.Msg) error {
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	return m.DoubleAck(ctx)
}
