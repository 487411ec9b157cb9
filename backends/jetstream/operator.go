package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/natsconn"
	"github.com/mqscope/mqscope/internal/natsubject"
)

// operator is the JetStream operator's view. Watching calls only read
// (stream/consumer info, get by sequence, ordered consumers for tails);
// they never create a durable consumer or touch delivery state.
type operator struct {
	b *Backend
}

// target is what an operator "topic" names: a whole stream (by its stream
// name) or a subject inside the stream that captures it.
type target struct {
	name   string // as the caller named it
	stream jetstream.Stream
	filter string // "" = the whole stream
}

func (t target) streamName() string { return t.stream.CachedInfo().Config.Name }

// matchSubject is the subject filter for gets ("" = anything).
func (t target) nextFor() string {
	if t.filter == "" {
		return ">"
	}
	return t.filter
}

func validStreamName(s string) bool {
	return s != "" && !strings.ContainsAny(s, ".*> \t\r\n/\\")
}

func (o *operator) resolve(ctx context.Context, topic string) (target, error) {
	b := o.b
	if validStreamName(topic) {
		st, err := b.js.Stream(ctx, topic)
		if err == nil {
			return target{name: topic, stream: st}, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return target{}, fmt.Errorf("jetstream: stream %q: %w", topic, err)
		}
	}
	if err := natsubject.Validate(topic, true); err != nil {
		return target{}, err
	}
	name, err := b.streamFor(ctx, topic, false)
	if err != nil {
		return target{}, err
	}
	st, err := b.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		b.forgetStreamName(name)
		name, err = b.streamFor(ctx, topic, false)
		if err != nil {
			return target{}, err
		}
		st, err = b.js.Stream(ctx, name)
	}
	if err != nil {
		return target{}, fmt.Errorf("jetstream: stream %q of subject %q: %w", name, topic, err)
	}
	filter := topic
	if subj := st.CachedInfo().Config.Subjects; len(subj) == 1 && subj[0] == topic {
		filter = ""
	}
	return target{name: topic, stream: st, filter: filter}, nil
}

// serverVersion parses "2.9.10" into comparable parts.
func serverVersion(v string) (major, minor, patch int) {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	p := strings.Split(v, ".")
	num := func(i int) int {
		if i >= len(p) {
			return 0
		}
		n, _ := strconv.Atoi(p[i])
		return n
	}
	return num(0), num(1), num(2)
}

func (o *operator) hasConsumerReset() bool {
	maj, min, _ := serverVersion(o.b.nc.ConnectedServerVersion())
	return maj > 2 || (maj == 2 && min >= 14)
}

// hasTermReason: "+TERM <reason>" is understood from nats-server 2.10.4.
func (o *operator) hasTermReason() bool {
	maj, min, patch := serverVersion(o.b.nc.ConnectedServerVersion())
	return maj > 2 || (maj == 2 && (min > 10 || (min == 10 && patch >= 4)))
}

// Capabilities implements core.OperatorBackend.
func (o *operator) Capabilities(ctx context.Context) core.Capabilities {
	v := o.b.nc.ConnectedServerVersion()
	yes := func(r string) core.Support { return core.Support{Supported: true, Reason: r} }
	settle := "by stream sequence through the consumer's ack subject ($JS.ACK.<stream>.<consumer>.…, confirmed by the server's reply): nothing is pulled, so no other message is delivered and no delivery count or position moves; works within AckWait, also on messages a live client holds and on push consumers (ack policy explicit only). A sequence at or below the ack floor or not yet delivered is skipped as not pending"
	term := "+TERM with the reason (in the server's terminated advisory) "
	if !o.hasTermReason() {
		term = "+TERM (nats-server " + v + " takes no reason: needs ≥ 2.10.4) "
	}
	rewind := yes("consumer reset in place (nats-server " + v + " ≥ 2.14): name and config are kept; delivery restarts at the chosen sequence and pending acks and delivery counts restart from there")
	if !o.hasConsumerReset() {
		rewind = yes("nats-server " + v + " has no consumer reset (needs ≥ 2.14): the consumer is deleted and recreated at the start sequence, only with explicit confirmation, losing its pending acks, delivery counts and redelivery state")
	}
	return core.Capabilities{
		Driver:        core.DriverJetStream,
		ServerVersion: v,
		Ops: map[core.Op]core.Support{
			core.OpHistory:        yes("streams store messages"),
			core.OpTopics:         yes("streams with their subjects"),
			core.OpGroups:         yes("a stream's consumers: durables (groups) and ephemerals (marked)"),
			core.OpPending:        yes("JetStream keeps no per-message pending list: shows the sequences above the ack floor up to the last delivered; ones acked out of order may be included, and per-message owner and idle time are unknown"),
			core.OpBrowse:         yes("batched direct get (nats-server ≥ 2.11, streams with AllowDirect) or pipelined gets by sequence, no consumer, works on WorkQueue and Interest streams; a long forward page (≥ 200) of a Limits stream without batched direct get reads with an ordered consumer (ephemeral, no acks, named mqscope-tail-browse-…) that is deleted at the last page or 3 s after the last page read"),
			core.OpGet:            yes("get by sequence"),
			core.OpTail:           yes("ordered consumer (ephemeral, no acks); a plain NATS subscription where no stream captures the pattern"),
			core.OpAck:            yes("+ACK " + settle + "; one acked out of order already is told by the ack-pending count not dropping"),
			core.OpNak:            yes("-NAK (with a delay when asked) " + settle + "; each is confirmed by the server's nak advisory, which it sends only for a pending message (one acked out of order already, or with advisories not reaching mqscope, is reported not confirmed)"),
			core.OpTerm:           yes(term + settle + "; one acked out of order already is told by the ack-pending count not dropping"),
			core.OpClaim:          {Supported: false, Reason: "JetStream has no message ownership to move: a pull consumer's pending message goes to whichever client pulls after its AckWait ends; use Nak to make it available now"},
			core.OpReplay:         yes("get by sequence and publish a copy (same or another subject), waiting for each PubAck"),
			core.OpRewind:         rewind,
			core.OpDeadLetter:     yes("copy to the DLQ subject (stored by a stream, PubAck awaited), then delete the original from its stream; with a group on a Limits or Interest stream the original is termed by stream sequence as that consumer instead (as Term: nothing pulled), so other consumers keep it; the copy carries no delivery count, which JetStream does not report per pending message"),
			core.OpRedrive:        yes("copy to Mq-Origin-Topic (or a target), PubAck awaited, then delete the DLQ copy when asked"),
			core.OpDeleteGroup:    yes("delete the durable consumer"),
			core.OpDeleteConsumer: yes("a JetStream group is one consumer whose members are anonymous pull clients: removing a member means deleting the named JetStream consumer"),
			core.OpPurge:          yes("purge the stream, or only the topic's subject when the stream stores more"),
			core.OpDeleteMessages: yes("delete by stream sequence, after checking the message is on the topic's subject; consumers holding it as pending keep its sequence until they ack it"),
			core.OpDedup:          yes("Nats-Msg-Id within the stream's duplicate window"),
			core.OpStartPosition:  yes("deliver policy: all, new, by sequence, by time, last N"),
			core.OpCreateDLQ:      yes("create a file stream capturing the DLQ subject"),
			core.OpCreateStream:   yes("create a file stream capturing the subject (when none does, a publish fails with no stream)"),
		},
	}
}

// PublishReport implements core.PublishReporter from the PubAck: the
// stream and sequence stored, or the original's for a duplicate.
func (o *operator) PublishReport(ctx context.Context, topic string, m *core.OutgoingMessage) (core.PublishResult, error) {
	ack, err := o.b.publish(ctx, topic, m)
	if err != nil {
		return core.PublishResult{}, err
	}
	return core.PublishResult{Stored: !ack.Duplicate, Duplicate: ack.Duplicate, Seq: ack.Sequence,
		ID: strconv.FormatUint(ack.Sequence, 10), Stream: ack.Stream}, nil
}

// ServerInfo implements core.OperatorBackend.
func (o *operator) ServerInfo(ctx context.Context) (core.ServerInfo, error) {
	nc := o.b.nc
	si := core.ServerInfo{
		Driver:  core.DriverJetStream,
		Version: nc.ConnectedServerVersion(),
		Address: core.RedactURL(nc.ConnectedUrl()),
		Name:    nc.ConnectedServerName(),
		Extra:   map[string]string{},
	}
	si.State = natsconn.State(nc.Status())
	if id := nc.ConnectedServerId(); id != "" {
		si.Extra["server_id"] = id
	}
	if c := nc.ConnectedClusterName(); c != "" {
		si.Extra["cluster"] = c
	}
	if !si.Connected() {
		return si, nil
	}
	ai, err := o.b.js.AccountInfo(ctx)
	if err != nil {
		return si, fmt.Errorf("jetstream: account info: %w", err)
	}
	si.Extra["streams"] = strconv.Itoa(ai.Streams)
	si.Extra["consumers"] = strconv.Itoa(ai.Consumers)
	si.Extra["storage_bytes"] = strconv.FormatUint(ai.Store, 10)
	si.Extra["memory_bytes"] = strconv.FormatUint(ai.Memory, 10)
	if ai.Domain != "" {
		si.Extra["domain"] = ai.Domain
	}
	si.Extra["consumer_reset"] = strconv.FormatBool(o.hasConsumerReset())
	return si, nil
}

func topicInfo(name string, si *jetstream.StreamInfo) core.TopicInfo {
	st := si.State
	ti := core.TopicInfo{
		Name:     name,
		Subjects: append([]string(nil), si.Config.Subjects...),
		Messages: st.Msgs,
		Bytes:    st.Bytes,
		Groups:   st.Consumers,
		Extra: map[string]string{
			"stream":    si.Config.Name,
			"retention": si.Config.Retention.String(),
			"storage":   si.Config.Storage.String(),
			"replicas":  strconv.Itoa(si.Config.Replicas),
			"discard":   si.Config.Discard.String(),
		},
	}
	for _, s := range si.Config.Subjects {
		if !natsubject.HasWildcard(s) {
			ti.PublishSubject = s
			break
		}
	}
	if len(si.Config.Subjects) == 1 {
		ti.TailPattern = si.Config.Subjects[0]
	}
	if st.Msgs > 0 {
		ti.FirstID = strconv.FormatUint(st.FirstSeq, 10)
		ti.LastID = strconv.FormatUint(st.LastSeq, 10)
		ti.FirstTime = st.FirstTime
		ti.LastTime = st.LastTime
	}
	if si.Config.MaxAge > 0 {
		ti.Extra["max_age"] = si.Config.MaxAge.String()
	}
	if si.Config.MaxMsgs > 0 {
		ti.Extra["max_msgs"] = strconv.FormatInt(si.Config.MaxMsgs, 10)
	}
	if si.Config.MaxBytes > 0 {
		ti.Extra["max_bytes"] = strconv.FormatInt(si.Config.MaxBytes, 10)
	}
	if si.Config.Duplicates > 0 {
		ti.Extra["duplicate_window"] = si.Config.Duplicates.String()
	}
	if st.NumDeleted > 0 {
		ti.Extra["deleted"] = strconv.Itoa(st.NumDeleted)
	}
	if st.NumSubjects > 0 {
		ti.Extra["subjects_stored"] = strconv.FormatUint(st.NumSubjects, 10)
	}
	ti.Extra["allow_direct"] = strconv.FormatBool(si.Config.AllowDirect)
	return ti
}

// Topics implements core.OperatorBackend: one entry per stream.
func (o *operator) Topics(ctx context.Context) ([]core.TopicInfo, error) {
	lister := o.b.js.ListStreams(ctx)
	var out []core.TopicInfo
	for si := range lister.Info() {
		out = append(out, topicInfo(si.Config.Name, si))
	}
	if err := lister.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return out, fmt.Errorf("jetstream: list streams: %w", err)
	}
	return out, nil
}

// Topic implements core.OperatorBackend: a stream by name, or a subject
// (counts then cover that subject only).
func (o *operator) Topic(ctx context.Context, name string) (core.TopicInfo, error) {
	t, err := o.resolve(ctx, name)
	if err != nil {
		return core.TopicInfo{}, err
	}
	if t.filter == "" {
		si, err := t.stream.Info(ctx)
		if err != nil {
			return core.TopicInfo{}, fmt.Errorf("jetstream: stream %q: info: %w", t.streamName(), err)
		}
		return topicInfo(name, si), nil
	}
	si, err := t.stream.Info(ctx, jetstream.WithSubjectFilter(t.filter))
	if err != nil {
		return core.TopicInfo{}, fmt.Errorf("jetstream: stream %q: info for %q: %w", t.streamName(), t.filter, err)
	}
	ti := topicInfo(name, si)
	var n uint64
	for _, c := range si.State.Subjects {
		n += c
	}
	ti.Messages, ti.Bytes = n, 0
	ti.FirstID, ti.LastID, ti.FirstTime, ti.LastTime = "", "", time.Time{}, time.Time{}
	ti.Extra["filter"] = t.filter
	ti.TailPattern, ti.PublishSubject = t.filter, ""
	if !natsubject.HasWildcard(t.filter) {
		ti.PublishSubject = t.filter
	}
	ti.Extra["bytes"] = "stream-wide only"
	if n > 0 {
		if m, err := o.b.getMsg(ctx, t.streamName(), msgGetRequest{Seq: 1, NextFor: t.filter}); err == nil {
			ti.FirstID, ti.FirstTime = strconv.FormatUint(m.Sequence, 10), m.Time
		}
		if !natsubject.HasWildcard(t.filter) {
			if m, err := o.b.getMsg(ctx, t.streamName(), msgGetRequest{LastFor: t.filter}); err == nil {
				ti.LastID, ti.LastTime = strconv.FormatUint(m.Sequence, 10), m.Time
			}
		}
	}
	groups := 0
	cl := t.stream.ListConsumers(ctx)
	for ci := range cl.Info() {
		if consumerSees(ci.Config, t.filter) {
			groups++
		}
	}
	ti.Groups = groups
	return ti, nil
}

// consumerSees reports whether a consumer's filter overlaps the topic.
func consumerSees(c jetstream.ConsumerConfig, filter string) bool {
	if filter == "" {
		return true
	}
	fs := filters(c)
	if len(fs) == 0 {
		return true
	}
	for _, f := range fs {
		if subjectsOverlap(f, filter) {
			return true
		}
	}
	return false
}

func (o *operator) groupInfo(topic string, ci *jetstream.ConsumerInfo, now time.Time) core.GroupInfo {
	g := core.GroupInfo{
		Topic:         topic,
		Name:          ci.Name,
		Pending:       int64(ci.NumAckPending),
		Lag:           int64(ci.NumPending),
		LastDelivered: strconv.FormatUint(ci.Delivered.Stream, 10),
		AckFloor:      strconv.FormatUint(ci.AckFloor.Stream, 10),
		Redelivered:   int64(ci.NumRedelivered),
		WaitingPulls:  ci.NumWaiting,
		MaxAckPending: ci.Config.MaxAckPending,
		MaxDeliver:    ci.Config.MaxDeliver,
		Extra: map[string]string{
			"ack_policy":     ci.Config.AckPolicy.String(),
			"ack_wait":       ci.Config.AckWait.String(),
			"deliver_policy": ci.Config.DeliverPolicy.String(),
			"created":        ci.Created.UTC().Format(time.RFC3339),
		},
	}
	switch {
	case strings.HasPrefix(ci.Name, TailConsumerPrefix):
		g.Kind = core.GroupTail
	case ci.Config.Durable == "":
		g.Kind = core.GroupEphemeral
	}
	if ci.Config.DeliverSubject != "" {
		g.Extra["mode"] = "push"
	} else {
		g.Extra["mode"] = "pull"
	}
	if f := filters(ci.Config); len(f) > 0 {
		g.Extra["filter"] = strings.Join(f, ",")
	}
	if ci.Paused {
		g.Extra["paused"] = "true"
	}
	last := ci.Created
	if ci.Delivered.Last != nil && ci.Delivered.Last.After(last) {
		last = *ci.Delivered.Last
	}
	if ci.AckFloor.Last != nil && ci.AckFloor.Last.After(last) {
		last = *ci.AckFloor.Last
	}
	idle := now.Sub(last)
	if idle < 0 {
		idle = 0
	}
	if ci.NumAckPending > 0 {
		since := ci.Created
		if ci.AckFloor.Last != nil {
			since = *ci.AckFloor.Last
		}
		g.OldestPendingIdle = max(now.Sub(since), 0)
		g.Extra["oldest_pending_idle"] = "time since the consumer's last ack (never acked: since it was created); JetStream does not say when each pending message was delivered"
	}
	g.Consumers = []core.ConsumerInfo{{Name: ci.Name, Pending: int64(ci.NumAckPending), Idle: idle}}
	g.Extra["members"] = "anonymous pull clients; " + strconv.Itoa(ci.NumWaiting) + " waiting pull requests"
	return g
}

// Groups implements core.OperatorBackend: the stream's consumers that see
// the topic.
func (o *operator) Groups(ctx context.Context, topic string) ([]core.GroupInfo, error) {
	t, err := o.resolve(ctx, topic)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	var out []core.GroupInfo
	cl := t.stream.ListConsumers(ctx)
	for ci := range cl.Info() {
		if !consumerSees(ci.Config, t.filter) {
			continue
		}
		out = append(out, o.groupInfo(topic, ci, now))
	}
	if err := cl.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return out, fmt.Errorf("jetstream: stream %q: list consumers: %w", t.streamName(), err)
	}
	return out, nil
}

// consumer looks the group's consumer up by its name byte for byte (a
// rewritten name could be another consumer's), or refuses.
func (o *operator) consumer(ctx context.Context, t target, group string) (jetstream.Consumer, error) {
	name := group
	if err := tokenName(name); err != nil {
		return nil, fmt.Errorf("jetstream: stream %q: consumer %w", t.streamName(), err)
	}
	c, err := t.stream.Consumer(ctx, name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("jetstream: stream %q has no consumer %q: %w", t.streamName(), name, core.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("jetstream: stream %q: consumer %q: %w", t.streamName(), name, err)
	}
	return c, nil
}

const pendingNote = "JetStream keeps no per-message pending list: these are the stream sequences above the consumer's ack floor up to its last delivered message that match its filter. Messages acked out of order may be included; per-message owner, idle time and delivery count are unknown (Total is the server's ack-pending count; MinIdle only drops messages stored more recently than it, and Consumer cannot be applied)."

// Pending implements core.OperatorBackend with the truthful equivalent.
func (o *operator) Pending(ctx context.Context, q core.PendingQuery) (core.PendingPage, error) {
	t, err := o.resolve(ctx, q.Topic)
	if err != nil {
		return core.PendingPage{}, err
	}
	c, err := o.consumer(ctx, t, q.Group)
	if err != nil {
		return core.PendingPage{}, err
	}
	ci := c.CachedInfo()
	page := core.PendingPage{Total: int64(ci.NumAckPending), Note: pendingNote}
	if ci.NumAckPending == 0 {
		return page, nil
	}
	from, upTo := pendingRange(ci)
	if q.Cursor != "" {
		n, err := strconv.ParseUint(q.Cursor, 10, 64)
		if err != nil {
			return page, fmt.Errorf("jetstream: pending: bad cursor %q", q.Cursor)
		}
		if n > from {
			from = n
		}
	}
	nextFor := ">"
	if f := filters(ci.Config); len(f) == 1 {
		nextFor = f[0]
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	seq := from
	for seq <= upTo && len(page.Entries) < limit {
		m, err := o.b.nextMsg(ctx, t.streamName(), seq, nextFor)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return page, fmt.Errorf("jetstream: stream %q: get next from %d: %w", t.streamName(), seq, err)
		}
		if m.Sequence > upTo {
			break
		}
		seq = m.Sequence + 1
		// A message cannot have been pending longer than it has been
		// stored: that bound is all MinIdle can use.
		if q.MinIdle > 0 && time.Since(m.Time) < q.MinIdle {
			continue
		}
		page.Entries = append(page.Entries, core.PendingEntry{ID: strconv.FormatUint(m.Sequence, 10), Stored: m.Time, Subject: m.Subject, Size: len(m.Data)})
	}
	if len(page.Entries) == limit && seq <= upTo {
		page.Next = strconv.FormatUint(seq, 10)
	}
	return page, nil
}

func (o *operator) record(topic string, m *jetstream.RawStreamMsg) core.Record {
	return core.Record{
		Topic:   topic,
		Subject: m.Subject,
		ID:      strconv.FormatUint(m.Sequence, 10),
		Seq:     m.Sequence,
		Data:    m.Data,
		Header:  core.Header(m.Header),
		Time:    m.Time,
		Size:    len(m.Data),
	}
}

func parseSeq(id string) (uint64, error) {
	n, err := strconv.ParseUint(strings.TrimPrefix(id, "seq:"), 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("jetstream: %q is not a stream sequence (a positive number)", id)
	}
	return n, nil
}

// Get implements core.OperatorBackend.
func (o *operator) Get(ctx context.Context, topic, id string) (core.Record, error) {
	t, err := o.resolve(ctx, topic)
	if err != nil {
		return core.Record{}, err
	}
	seq, err := parseSeq(id)
	if err != nil {
		return core.Record{}, err
	}
	return o.get(ctx, t, seq)
}

func (o *operator) get(ctx context.Context, t target, seq uint64) (core.Record, error) {
	m, err := o.b.getMsg(ctx, t.streamName(), msgGetRequest{Seq: seq})
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return core.Record{}, fmt.Errorf("jetstream: stream %q has no message %d: %w", t.streamName(), seq, core.ErrNotFound)
	}
	if err != nil {
		return core.Record{}, fmt.Errorf("jetstream: stream %q: get %d: %w", t.streamName(), seq, err)
	}
	if t.filter != "" && !subjectMatches(t.filter, m.Subject) {
		return core.Record{}, fmt.Errorf("jetstream: stream %q message %d is on %q, not %q: %w", t.streamName(), seq, m.Subject, t.filter, core.ErrNotFound)
	}
	return o.record(t.name, m), nil
}

// Browse implements core.OperatorBackend with gets by sequence: no
// consumer is created.
func (o *operator) Browse(ctx context.Context, q core.BrowseQuery) (core.BrowsePage, error) {
	t, err := o.resolve(ctx, q.Topic)
	if err != nil {
		return core.BrowsePage{}, err
	}
	if q.Subject != "" {
		if err := natsubject.Validate(q.Subject, true); err != nil {
			return core.BrowsePage{}, err
		}
		t.filter = q.Subject
	}
	// resolve has just read the stream's info: its state is as fresh as
	// another STREAM.INFO round trip would be.
	st := t.stream.CachedInfo().State
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	var page core.BrowsePage
	if st.Msgs == 0 {
		return page, nil
	}
	start, err := o.startSeq(ctx, t, st, q.From, q.Reverse)
	if err != nil {
		return page, err
	}
	if !q.Reverse {
		recs, next, more, err := o.forward(ctx, t, start, st.LastSeq, limit, true)
		page.Records, page.More = recs, more
		if more {
			page.Next = core.AtSequence(next)
		}
		return page, err
	}
	recs, next, more, err := o.backward(ctx, t, start, st.FirstSeq, limit, 0)
	page.Records, page.More = recs, more
	if more {
		page.Next = core.AtSequence(next)
	}
	return page, err
}

// startSeq maps a position to a sequence to browse from.
func (o *operator) startSeq(ctx context.Context, t target, st jetstream.StreamState, p core.Position, reverse bool) (uint64, error) {
	switch p.Kind {
	case core.PosAll:
		if reverse {
			return st.LastSeq, nil
		}
		return st.FirstSeq, nil
	case core.PosNew:
		if reverse {
			return st.LastSeq, nil
		}
		return st.LastSeq + 1, nil
	case core.PosSeq:
		return p.Seq, nil
	case core.PosID:
		return parseSeq(p.ID)
	case core.PosTime:
		seq, err := o.seqForTime(ctx, t, st, p.Time)
		if err != nil {
			return 0, err
		}
		if reverse {
			// At or before the time: the one before the first after it.
			after, err := o.seqForTime(ctx, t, st, p.Time.Add(time.Nanosecond))
			if err != nil {
				return 0, err
			}
			if after == 0 {
				return 0, nil
			}
			return after - 1, nil
		}
		return seq, nil
	case core.PosLast:
		if reverse {
			return st.LastSeq, nil
		}
		seq, err := o.b.lastNStartIn(ctx, t, st, p.N)
		if err != nil {
			return 0, err
		}
		if seq == 0 {
			return st.FirstSeq, nil
		}
		return seq, nil
	}
	return 0, fmt.Errorf("jetstream: browse from %v is not supported", p)
}

// seqForTime finds the first sequence (matching the filter) stored at or
// after ts, by binary search with gets (LastSeq+1 when none).
func (o *operator) seqForTime(ctx context.Context, t target, st jetstream.StreamState, ts time.Time) (uint64, error) {
	lo, hi := st.FirstSeq, st.LastSeq+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		m, err := o.b.nextMsg(ctx, t.streamName(), mid, t.nextFor())
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			hi = mid
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("jetstream: stream %q: find time %s: %w", t.streamName(), ts.Format(time.RFC3339Nano), err)
		}
		if !m.Time.Before(ts) {
			hi = mid
		} else {
			lo = m.Sequence + 1
		}
	}
	return lo, nil
}

// forward reads a forward page; with cursor, a reader that can continue is
// left open for the next page (Browse: the caller pages on; Replay does not).
func (o *operator) forward(ctx context.Context, t target, from, last uint64, limit int, cursor bool) ([]core.Record, uint64, bool, error) {
	if from == 0 {
		from = 1
	}
	if plan := o.forwardPlan(t.stream.CachedInfo().Config, limit); plan != planGets {
		return o.forwardRead(ctx, t, plan, from, last, limit, cursor)
	}
	if t.filter == "" && limit > 1 {
		return o.forwardMany(ctx, t, from, last, limit)
	}
	return o.forwardNext(ctx, t, from, last, limit)
}

// forwardNext reads a forward page with one next-message get a record
// (the server skips what the filter does not match and deleted sequences).
func (o *operator) forwardNext(ctx context.Context, t target, from, last uint64, limit int) ([]core.Record, uint64, bool, error) {
	var recs []core.Record
	seq := from
	for len(recs) < limit && seq <= last {
		m, err := o.b.nextMsg(ctx, t.streamName(), seq, t.nextFor())
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return recs, 0, false, nil
		}
		if err != nil {
			return recs, 0, false, fmt.Errorf("jetstream: stream %q: get next from %d: %w", t.streamName(), seq, err)
		}
		if m.Sequence > last {
			break
		}
		recs = append(recs, o.record(t.name, m))
		seq = m.Sequence + 1
	}
	more := len(recs) == limit && seq <= last
	return recs, seq, more, nil
}

// maxBackwardProbes bounds one backward page over a sparse filter.
const maxBackwardProbes = 20000

func (o *operator) backward(ctx context.Context, t target, from, first uint64, limit int, probes int) ([]core.Record, uint64, bool, error) {
	var recs []core.Record
	seq := from
	if probes <= 0 {
		probes = maxBackwardProbes
	}
	for len(recs) < limit && seq >= first && seq > 0 {
		if probes == 0 {
			return recs, seq, true, nil
		}
		// Gets of the next sequences down, pipelined: as many as records
		// are still wanted (more with a filter, which may skip some).
		n := min(uint64(getsInFlight), uint64(probes), seq-max(first, 1)+1)
		if t.filter == "" {
			n = min(n, uint64(limit-len(recs)))
		}
		seqs := make([]uint64, n)
		for i := range seqs {
			seqs[i] = seq - uint64(i)
		}
		got, err := o.b.getMany(ctx, t.streamName(), seqs)
		if err != nil {
			return recs, 0, false, err
		}
		for i, m := range got {
			probes--
			seq = seqs[i] - 1
			if m != nil && (t.filter == "" || subjectMatches(t.filter, m.Subject)) {
				recs = append(recs, o.record(t.name, m))
				if len(recs) == limit {
					break
				}
			}
		}
	}
	more := len(recs) == limit && seq >= first && seq > 0
	return recs, seq, more, nil
}

// lastNStart is the sequence of the n-th last message of filter in stream
// (0 when fewer are stored).
func (b *Backend) lastNStart(ctx context.Context, stream, filter string, n int) (uint64, error) {
	st, err := b.js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("jetstream: stream %q: %w", stream, err)
	}
	t := target{name: filter, stream: st, filter: filter}
	if subj := st.CachedInfo().Config.Subjects; len(subj) == 1 && subj[0] == filter {
		t.filter = ""
	}
	return b.lastNStartIn(ctx, t, st.CachedInfo().State, n)
}

func (b *Backend) lastNStartIn(ctx context.Context, t target, st jetstream.StreamState, n int) (uint64, error) {
	if st.Msgs == 0 {
		return 0, nil
	}
	if t.filter == "" {
		// Every sequence between first and last counts, minus deleted ones;
		// walk back only when there are gaps.
		if st.NumDeleted == 0 {
			if uint64(n) >= st.Msgs {
				return 0, nil
			}
			return st.LastSeq - uint64(n) + 1, nil
		}
	}
	o := &operator{b: b}
	recs, _, _, err := o.backward(ctx, t, st.LastSeq, st.FirstSeq, n, 0)
	if err != nil {
		return 0, err
	}
	if len(recs) < n {
		return 0, nil
	}
	return recs[len(recs)-1].Seq, nil
}

// forwardMany reads a forward page of a whole stream with pipelined gets by
// sequence (no consumer, any server and retention); a run of deleted
// sequences longer than one batch is jumped with a next-message get.
func (o *operator) forwardMany(ctx context.Context, t target, from, last uint64, limit int) ([]core.Record, uint64, bool, error) {
	var recs []core.Record
	seq := from
	for len(recs) < limit && seq <= last {
		n := min(uint64(limit-len(recs)), last-seq+1, getsInFlight)
		seqs := make([]uint64, n)
		for i := range seqs {
			seqs[i] = seq + uint64(i)
		}
		got, err := o.b.getMany(ctx, t.streamName(), seqs)
		if err != nil {
			return recs, 0, false, err
		}
		before := len(recs)
		for _, m := range got {
			if m != nil {
				recs = append(recs, o.record(t.name, m))
			}
		}
		seq += n
		if len(recs) == before && seq <= last {
			next, nextSeq, _, err := o.forwardNext(ctx, t, seq, last, 1)
			if err != nil || len(next) == 0 {
				return recs, seq, false, err
			}
			recs, seq = append(recs, next...), nextSeq
		}
	}
	return recs, seq, len(recs) == limit && seq <= last, nil
}
