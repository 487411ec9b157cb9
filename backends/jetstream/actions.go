package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/natsubject"
)

// ackConsumer looks up the group's consumer, by its name byte for byte, to
// settle its pending messages through the ack subject. A name that cannot
// be one subject token is refused rather than rewritten: a rewritten name
// would address another consumer, or none.
func (o *operator) ackConsumer(ctx context.Context, op core.Op, t target, group string) (jetstream.Consumer, error) {
	if err := tokenName(group); err != nil {
		return nil, fmt.Errorf("jetstream: %s on stream %q: consumer %w", op, t.streamName(), err)
	}
	c, err := t.stream.Consumer(ctx, group)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("jetstream: stream %q has no consumer %q: %w", t.streamName(), group, core.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("jetstream: stream %q: consumer %q: %w", t.streamName(), group, err)
	}
	ci := c.CachedInfo()
	if ci.Config.AckPolicy != jetstream.AckExplicitPolicy {
		return nil, &core.UnsupportedError{Op: op, Reason: fmt.Sprintf("consumer %q on stream %q has ack policy %s: it keeps no per-message pending acks to settle", ci.Name, t.streamName(), ci.Config.AckPolicy)}
	}
	return c, nil
}

// tokenName refuses a name that cannot be one token of a NATS subject — the
// JetStream API ($JS.API.CONSUMER.….<consumer>) and the ack subject
// ($JS.ACK.<stream>.<consumer>.…) both carry it as one. The set is the one
// nats.go refuses in consumer names; anything else (escape sequences
// included) is sent byte for byte, never rewritten.
func tokenName(name string) error {
	if name == "" {
		return errors.New("name is empty")
	}
	if i := strings.IndexAny(name, ">*. /\\\t\r\n"); i >= 0 {
		return fmt.Errorf("name %q contains %q, which the JetStream API cannot address as one subject token: act on it with another client", name, name[i])
	}
	return nil
}

// pendingRange is the stream sequences that may be pending for the
// consumer: above its ack floor, up to its last delivered message.
func pendingRange(ci *jetstream.ConsumerInfo) (from, upTo uint64) {
	upTo = ci.Delivered.Stream
	// nats-server 2.9 moves delivered.stream_seq back when the last
	// delivered message's AckWait expires with nobody pulling, while it
	// stays ack-pending: the range must still hold that many sequences.
	if n := ci.AckFloor.Stream + uint64(ci.NumAckPending); n > upTo {
		upTo = n
	}
	return ci.AckFloor.Stream + 1, upTo
}

// settlement is one way to settle a pending message through its ack
// subject.
type settlement struct {
	op   core.Op
	verb string // "acked"
	// body is the ack protocol payload ("+ACK", "-NAK {…}", "+TERM why").
	body []byte
	// removes: a pending message leaves the consumer's pending set (ack,
	// term), so a drop of the ack-pending count confirms it was pending.
	removes bool
}

// seqSettler settles one consumer's pending messages by stream sequence:
// it publishes the ack protocol message to
// $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>
// as a request, so the server's reply says it processed it. The server
// looks the message up by stream sequence in the consumer's pending set;
// nothing is pulled, so no other message is delivered and no delivery
// count or position moves.
type seqSettler struct {
	o      *operator
	c      jetstream.Consumer
	stream string
	ci     *jetstream.ConsumerInfo // latest info
	seen   map[uint64]bool
}

func (o *operator) newSeqSettler(ctx context.Context, op core.Op, t target, group string) (*seqSettler, error) {
	c, err := o.ackConsumer(ctx, op, t, group)
	if err != nil {
		return nil, err
	}
	return &seqSettler{o: o, c: c, stream: t.streamName(), ci: c.CachedInfo(), seen: map[uint64]bool{}}, nil
}

// check reports why seq cannot be pending for the consumer ("" = it may
// be). Duplicates in one request count once.
func (s *seqSettler) check(seq uint64) string {
	if s.seen[seq] {
		return fmt.Sprintf("sequence %d was asked twice: handled once", seq)
	}
	s.seen[seq] = true
	from, upTo := pendingRange(s.ci)
	name := s.ci.Name
	switch {
	case s.ci.NumAckPending == 0:
		return fmt.Sprintf("sequence %d is not pending: consumer %q has no pending messages", seq, name)
	case seq < from:
		return fmt.Sprintf("sequence %d is not pending: it is at or below consumer %q's ack floor %d (acked already)", seq, name, s.ci.AckFloor.Stream)
	case seq > upTo:
		return fmt.Sprintf("sequence %d is not pending: consumer %q has delivered only up to sequence %d", seq, name, upTo)
	}
	return ""
}

// send publishes body to seq's ack subject and waits for the server's
// reply. The consumer sequence given is the consumer's last delivered one:
// the server checks a nak's against its delivered range but otherwise
// uses the one it recorded for seq; the delivery count given is 1, which
// the server never stores over the real one (it only raises it).
func (s *seqSettler) send(ctx context.Context, seq uint64, body []byte) error {
	subj := fmt.Sprintf("$JS.ACK.%s.%s.1.%d.%d.%d.0", s.stream, s.ci.Name, seq, s.ci.Delivered.Consumer, time.Now().UnixNano())
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	if _, err := s.o.b.nc.RequestWithContext(ctx, subj, body); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("the server did not confirm it (it does not answer for a message it has not delivered to the consumer): %w", err)
		}
		return err
	}
	return nil
}

// settle sends k's body for seq and says whether it was pending: for ack
// and term the consumer's ack-pending count must have dropped. A drop hidden
// by another client's concurrent pull is reported as not confirmed.
func (s *seqSettler) settle(ctx context.Context, seq uint64, k settlement) (done bool, why string, err error) {
	before := s.ci
	if err := s.send(ctx, seq, k.body); err != nil {
		return false, "", err
	}
	if !k.removes {
		return true, "", nil
	}
	after, err := s.c.Info(ctx)
	if err != nil {
		return false, "", fmt.Errorf("the server took it, but reading consumer %q back failed: %w", before.Name, err)
	}
	s.ci = after
	if after.NumAckPending < before.NumAckPending {
		return true, "", nil
	}
	why = fmt.Sprintf("sequence %d was not pending: consumer %q's ack-pending count stayed %d (it was acked or termed already, out of order)", seq, before.Name, after.NumAckPending)
	if after.Delivered.Consumer != before.Delivered.Consumer {
		why = fmt.Sprintf("sequence %d: not confirmed pending: consumer %q's ack-pending count went %d → %d while other clients pulled %d deliveries", seq, before.Name, before.NumAckPending, after.NumAckPending, after.Delivered.Consumer-before.Delivered.Consumer)
	}
	return false, why, nil
}

// nakConfirmWait bounds the wait for nak advisories after the last nak.
const nakConfirmWait = 2 * time.Second

// nakWatch confirms naks: the server's reply to a nak says only that it
// processed it, but it publishes a nak advisory only when the message was
// pending (nats-server 2.9 and 2.15 alike).
type nakWatch struct {
	sub *nats.Subscription
}

func (s *seqSettler) watchNaks(ctx context.Context) (*nakWatch, error) {
	subj := "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED." + s.stream + "." + s.ci.Name
	sub, err := s.o.b.nc.SubscribeSync(subj)
	if err != nil {
		return nil, fmt.Errorf("jetstream: nak: subscribe to %s to confirm naks: %w", subj, err)
	}
	ctx, cancel := withOpTimeout(ctx)
	defer cancel()
	if err := s.o.b.nc.FlushWithContext(ctx); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("jetstream: nak: subscribe to %s to confirm naks: %w", subj, err)
	}
	return &nakWatch{sub: sub}, nil
}

func (w *nakWatch) stop() { _ = w.sub.Unsubscribe() }

// wait collects nak advisories until every sequence in want has one or
// nakConfirmWait passes.
func (w *nakWatch) wait(ctx context.Context, want []uint64) map[uint64]bool {
	seen := map[uint64]bool{}
	if len(want) == 0 {
		return seen
	}
	wanted := map[uint64]bool{}
	for _, seq := range want {
		wanted[seq] = true
	}
	ctx, cancel := context.WithTimeout(ctx, nakConfirmWait)
	defer cancel()
	for len(seen) < len(wanted) {
		m, err := w.sub.NextMsgWithContext(ctx)
		if err != nil {
			return seen
		}
		var adv struct {
			StreamSeq uint64 `json:"stream_seq"`
		}
		if json.Unmarshal(m.Data, &adv) == nil && wanted[adv.StreamSeq] {
			seen[adv.StreamSeq] = true
		}
	}
	return seen
}

func skip(r *core.Result, why string) {
	r.Skipped++
	r.Note(errors.New(why))
}

// settle acks, naks or terms the chosen messages by stream sequence.
func (o *operator) settle(ctx context.Context, r core.ActionRequest, k settlement) (core.Result, error) {
	res := core.Result{Requested: len(r.IDs)}
	t, err := o.resolve(ctx, r.Topic)
	if err != nil {
		return res, err
	}
	s, err := o.newSeqSettler(ctx, k.op, t, r.Group)
	if err != nil {
		return res, err
	}
	before := s.ci.NumAckPending
	var naks *nakWatch
	if !k.removes {
		if naks, err = s.watchNaks(ctx); err != nil {
			return res, err
		}
		defer naks.stop()
	}
	var sent []uint64 // naks awaiting their advisory
	for _, id := range r.IDs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		seq, err := parseSeq(id)
		if err != nil {
			res.Failf("%v", err)
		} else if why := s.check(seq); why != "" {
			skip(&res, why)
		} else if done, why, err := s.settle(ctx, seq, k); err != nil {
			res.Failf("%s sequence %d as consumer %q: %v", k.verb, seq, s.ci.Name, err)
		} else if naks != nil {
			sent = append(sent, seq)
			continue
		} else if done {
			res.Done++
		} else {
			skip(&res, why)
		}
		res.Report(r.Progress)
	}
	if naks != nil {
		seen := naks.wait(ctx, sent)
		for _, seq := range sent {
			if seen[seq] {
				res.Done++
			} else {
				skip(&res, fmt.Sprintf("sequence %d: not confirmed pending: the server sent no nak advisory for it within %v (it does so only for a pending message: it was acked or termed already, out of order, or advisories do not reach this connection)", seq, nakConfirmWait))
			}
		}
		res.Report(r.Progress)
	}
	res.Detail = fmt.Sprintf("%s %d of %d by stream sequence through consumer %q's ack subject (nothing pulled, no other message touched)", k.verb, res.Done, res.Requested, s.ci.Name)
	if k.removes {
		res.Detail += fmt.Sprintf("; ack pending %d → %d", before, s.ci.NumAckPending)
	}
	return res, nil
}

func (o *operator) Ack(ctx context.Context, r core.ActionRequest) (core.Result, error) {
	return o.settle(ctx, r, settlement{op: core.OpAck, verb: "acked", body: []byte("+ACK"), removes: true})
}

// Nak makes the messages available for redelivery now, or after r.Delay.
func (o *operator) Nak(ctx context.Context, r core.ActionRequest) (core.Result, error) {
	body := []byte("-NAK")
	if r.Delay > 0 {
		body = fmt.Appendf(nil, `-NAK {"delay": %d}`, r.Delay.Nanoseconds())
	}
	res, err := o.settle(ctx, r, settlement{op: core.OpNak, verb: "nak'd", body: body})
	if err == nil && r.Delay > 0 && res.Done > 0 {
		res.Detail += fmt.Sprintf("; not redelivered before %s", r.Delay)
	}
	return res, err
}

func (o *operator) Term(ctx context.Context, r core.ActionRequest) (core.Result, error) {
	return o.settle(ctx, r, settlement{op: core.OpTerm, verb: "termed", body: o.termBody(r.Reason), removes: true})
}

// termBody is "+TERM" with the reason on one line, which the server puts
// in its terminated advisory. Servers before 2.10.4 take only a bare
// "+TERM": they ignore one with a reason (and still reply).
func (o *operator) termBody(reason string) []byte {
	reason = strings.Join(strings.Fields(reason), " ")
	if reason == "" || !o.hasTermReason() {
		return []byte("+TERM")
	}
	return []byte("+TERM " + reason)
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
			recs, _, _, err = o.forward(ctx, t, start, last, limit, false)
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
//   - with a group on a Limits or Interest stream: it is termed by stream
//     sequence through that consumer's ack subject (as Term), so other
//     consumers still have it. Term rather than ack: the consumer's counts
//     move exactly as for an ack, and the server's terminated advisory
//     records that the message was dead-lettered, not processed.
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
	s, err := o.newSeqSettler(ctx, core.OpDeadLetter, t, r.Group)
	if err != nil {
		return res, err
	}
	before := s.ci.NumAckPending
	why := "moved to " + r.DLQ + " by operator"
	if r.Reason != "" {
		why += ": " + r.Reason
	}
	term := settlement{op: core.OpDeadLetter, verb: "termed", body: o.termBody(why), removes: true}
	for _, id := range r.IDs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		o.moveOne(ctx, t, s, r, id, term, &res, now)
		res.Report(r.Progress)
	}
	res.Detail = fmt.Sprintf("moved %d of %d to %q: copy confirmed, then termed by stream sequence through consumer %q's ack subject (nothing pulled; the stream keeps the message for other consumers); ack pending %d → %d", res.Done, res.Requested, r.DLQ, s.ci.Name, before, s.ci.NumAckPending)
	return res, nil
}

// moveOne copies one pending message to the DLQ and terms it. The
// delivery count is not known without a delivery (JetStream has no
// per-message pending list), so the copy carries none.
func (o *operator) moveOne(ctx context.Context, t target, s *seqSettler, r core.MoveRequest, id string, term settlement, res *core.Result, now time.Time) {
	seq, err := parseSeq(id)
	if err != nil {
		res.Failf("%v", err)
		return
	}
	if why := s.check(seq); why != "" {
		skip(res, why+" (not copied)")
		return
	}
	rec, err := o.get(ctx, t, seq)
	if err != nil {
		res.Failf("%v", err)
		return
	}
	h := core.DeadLetterHeader(rec, r.Group, "", 0, r.Reason, now)
	if _, err := o.publishAck(ctx, r.DLQ, rec.Data, h, dlqMsgID(t.streamName(), seq)); err != nil {
		res.Failf("copy %d to %q: %v (original left pending)", seq, r.DLQ, err)
		return
	}
	done, why, err := s.settle(ctx, seq, term)
	switch {
	case err != nil:
		res.Failf("copied %d to %q but terming it as consumer %q failed: %v (it is now in both)", seq, r.DLQ, s.ci.Name, err)
	case !done:
		skip(res, why+fmt.Sprintf("; its copy is in %q regardless", r.DLQ))
	default:
		res.Done++
	}
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
	return o.deleteConsumer(ctx, t, group)
}

// DeleteConsumer implements core.OperatorBackend: the members of a
// JetStream group are anonymous pull clients, so the named JetStream
// consumer is deleted.
func (o *operator) DeleteConsumer(ctx context.Context, topic, group, consumer string) error {
	t, err := o.resolve(ctx, topic)
	if err != nil {
		return err
	}
	return o.deleteConsumer(ctx, t, consumer)
}

// deleteConsumer deletes the consumer by its name byte for byte, or
// refuses: a rewritten name could delete another consumer.
func (o *operator) deleteConsumer(ctx context.Context, t target, name string) error {
	if err := tokenName(name); err != nil {
		return fmt.Errorf("jetstream: delete consumer on stream %q: %w", t.streamName(), err)
	}
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

// DeleteMessages implements core.MessageDeleter: each sequence is read
// first, so that only a message of this topic (its subject, where the
// stream stores more) is deleted; one that is not stored is skipped.
func (o *operator) DeleteMessages(ctx context.Context, r core.DeleteRequest) (core.Result, error) {
	res := core.Result{Requested: len(r.IDs)}
	t, err := o.resolve(ctx, r.Topic)
	if err != nil {
		return res, err
	}
	for _, id := range r.IDs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		seq, err := parseSeq(id)
		switch {
		case err != nil:
			res.Fail(err)
		default:
			if _, gerr := o.get(ctx, t, seq); errors.Is(gerr, core.ErrNotFound) {
				skip(&res, gerr.Error())
			} else if gerr != nil {
				res.Fail(gerr)
			} else if derr := o.deleteMsg(ctx, t, seq); errors.Is(derr, jetstream.ErrMsgNotFound) {
				skip(&res, fmt.Sprintf("sequence %d was deleted meanwhile", seq))
			} else if derr != nil {
				res.Failf("delete sequence %d from stream %q: %v", seq, t.streamName(), derr)
			} else {
				res.Done++
			}
		}
		res.Report(r.Progress)
	}
	return res, nil
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
