package redisstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
)

// Subscribe implements core.Backend. With a group it creates the group
// (MKSTREAM, at spec.Start; an existing group keeps its position) before
// returning; without one it resolves spec.Start to an id first, so a message
// published after Subscribe returns is always received.
func (b *Backend) Subscribe(ctx context.Context, spec *core.SubscribeSpec) (core.Subscription, error) {
	if b.isClosed() {
		return nil, core.ErrClosed
	}
	s := &subscription{
		b:       b,
		spec:    spec,
		stream:  spec.Topic,
		group:   spec.Group,
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		retries: map[string]*retryItem{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	claimIdle := spec.ClaimIdle
	if claimIdle <= 0 {
		claimIdle = core.DefaultClaimIdle
	}
	s.claimIdle = claimIdle
	s.claimEvery = min(max(claimIdle/4, 20*time.Millisecond), maxClaimEvery)

	if s.group != "" {
		s.consumer = b.acquireConsumer(s.stream, s.group, spec.Consumer)
		start, err := b.afterID(ctx, s.stream, spec.Start, true)
		if err != nil {
			b.releaseConsumer(s.stream, s.group, s.consumer)
			return nil, err
		}
		if err := b.createGroup(ctx, s.stream, s.group, start); err != nil {
			b.releaseConsumer(s.stream, s.group, s.consumer)
			return nil, err
		}
		s.lastSeen = b.groupLastDelivered(ctx, s.stream, s.group)
	} else {
		start, err := b.afterID(ctx, s.stream, spec.Start, false)
		if err != nil {
			return nil, err
		}
		s.lastSeen = start
	}

	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.releaseConsumer(s.stream, s.group, s.consumer)
		return nil, core.ErrClosed
	}
	b.mu.Unlock()

	// The caller's ctx cancels the subscription too.
	if ctx.Done() != nil {
		go func() {
			select {
			case <-ctx.Done():
				s.halt()
			case <-s.done:
			}
		}()
	}
	go s.run()
	return s, nil
}

// createGroup is XGROUP CREATE ... MKSTREAM; a group that already exists
// (BUSYGROUP, for instance created concurrently) is fine.
func (b *Backend) createGroup(ctx context.Context, stream, group, start string) error {
	err := b.rdb.XGroupCreateMkStream(ctx, stream, group, start).Err()
	if err != nil && !isBusyGroup(err) {
		return fmt.Errorf("redis stream %q: xgroup create %q at %s: %w", stream, group, start, err)
	}
	return nil
}

// groupLastDelivered reads the group's last-delivered id ("0-0" if unknown).
func (b *Backend) groupLastDelivered(ctx context.Context, stream, group string) string {
	gs, err := b.rdb.XInfoGroups(ctx, stream).Result()
	if err == nil {
		for _, g := range gs {
			if g.Name == group {
				return g.LastDeliveredID
			}
		}
	}
	return "0-0"
}

// acquireConsumer gives this subscription a consumer name unique within the
// process for (topic, group): the first one gets name itself, the next
// "name-2", "name-3"… so two subscriptions of one process never share a
// pending list (a shared name would let one's claim sweep take the other's
// in-flight messages).
func (b *Backend) acquireConsumer(topic, group, name string) string {
	if name == "" {
		name = b.cfg.Consumer
	}
	if name == "" {
		name = "mqscope"
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cand := name
	for i := 2; b.consumers[topic+"\x00"+group+"\x00"+cand] > 0; i++ {
		cand = name + "-" + strconv.Itoa(i)
	}
	b.consumers[topic+"\x00"+group+"\x00"+cand]++
	return cand
}

func (b *Backend) releaseConsumer(topic, group, name string) {
	if group == "" {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	k := topic + "\x00" + group + "\x00" + name
	if b.consumers[k]--; b.consumers[k] <= 0 {
		delete(b.consumers, k)
	}
}

// maxClaimEvery caps the interval between a member's sweeps for entries
// idle longer than ClaimIdle. A member that leaves gracefully releases what
// it read but did not handle with their idle time set to ClaimIdle (see
// release), so the rest of the group takes them at its next sweep: this is
// the bound on that hand-back (it was 5 s with the default 30 s ClaimIdle,
// issue 10). A sweep that finds nothing is one XAUTOCLAIM per member per
// second.
const maxClaimEvery = time.Second

// subscription is one running Subscribe: a single goroutine reads, claims
// and delivers (handlers run sequentially).
type subscription struct {
	b          *Backend
	spec       *core.SubscribeSpec
	stream     string
	group      string
	consumer   string
	claimIdle  time.Duration
	claimEvery time.Duration

	ctx    context.Context // cancelled on stop
	cancel context.CancelFunc
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	// loop-goroutine state
	lastSeen    string // last id read (broadcast: read position)
	claimCursor string
	nextClaim   time.Time
	unacked     []string // acks collected from a batch, sent with the next read

	mu        sync.Mutex
	batchOpen bool
	batchAcks []string
	retries   map[string]*retryItem
}

// retryItem is a message naked with a delay: in a group it stays pending
// and is claimed back when due; without a group it is redelivered locally.
type retryItem struct {
	due     time.Time
	minIdle time.Duration
	n       int
	msg     *delivery // broadcast only
}

func (s *subscription) Topic() string { return s.spec.Topic }

// Unsubscribe stops reading and waits for the handler in flight (at most
// one bounded BLOCK read, 500ms, plus the handler).
func (s *subscription) Unsubscribe() error {
	s.halt()
	<-s.done
	return nil
}

func (s *subscription) halt() {
	s.once.Do(func() {
		close(s.stop)
		s.cancel()
	})
}

func (s *subscription) stopped() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// sleep waits d or until stopped; it reports whether to go on.
func (s *subscription) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stop:
		return false
	}
}

func (s *subscription) log() *loggerShim { return &loggerShim{s} }

type loggerShim struct{ s *subscription }

func (l *loggerShim) warn(msg string, args ...any) {
	l.s.b.logger.Warn(msg, append([]any{"topic", l.s.stream, "group", l.s.group, "consumer", l.s.consumer}, args...)...)
}

func (l *loggerShim) debug(msg string, args ...any) {
	l.s.b.logger.Debug(msg, append([]any{"topic", l.s.stream, "group", l.s.group, "consumer", l.s.consumer}, args...)...)
}

func (s *subscription) run() {
	defer func() {
		s.finish()
		s.b.releaseConsumer(s.stream, s.group, s.consumer)
		close(s.done)
	}()
	backoff := newBackoff()
	for !s.stopped() {
		var err error
		if s.group != "" {
			err = s.groupStep()
		} else {
			err = s.broadcastStep()
		}
		if err == nil {
			backoff.reset()
			continue
		}
		if s.stopped() {
			return
		}
		if isNoGroup(err) {
			s.log().warn("redis stream: group or stream vanished (NOGROUP); recreating the group", "at", s.lastSeen, "err", err)
			cctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
			cerr := s.b.createGroup(cctx, s.stream, s.group, s.lastSeen)
			cancel()
			if cerr == nil {
				s.claimCursor = ""
				if !s.sleep(backoff.next() / 4) {
					return
				}
				continue
			}
			err = cerr
		}
		s.log().warn("redis stream: subscription loop error; retrying", "err", err)
		if !s.sleep(backoff.next()) {
			return
		}
	}
}

// finish flushes collected acks and clears local retries on stop.
func (s *subscription) finish() {
	if s.group == "" {
		return
	}
	s.mu.Lock()
	var naked []*delivery
	for id, r := range s.retries {
		naked = append(naked, &delivery{s: s, id: id, n: r.n + 1})
	}
	s.retries = map[string]*retryItem{}
	s.mu.Unlock()
	if len(naked) > 0 {
		s.release(naked)
	}
	if len(s.unacked) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := s.b.rdb.XAck(ctx, s.stream, s.group, s.unacked...).Err(); err != nil {
		s.log().warn("redis stream: final xack failed; these entries stay pending and will be redelivered", "ids", len(s.unacked), "err", err)
	}
	s.unacked = nil
}

// ---- group mode ----

func (s *subscription) groupStep() error {
	now := time.Now()
	// Acks of the last batch go out before any claim, or a sweep would take
	// back entries that were handled but not yet acked.
	if len(s.unacked) > 0 && (!now.Before(s.nextClaim) || s.anyDue(now)) {
		if err := s.flushAcks(); err != nil {
			return err
		}
	}
	// 1. Retries that are due: claim them back from ourselves.
	if due := s.takeDue(now); len(due) > 0 {
		msgs, err := s.claimDue(due)
		if err != nil {
			s.restoreDue(due)
			return err
		}
		return s.deliverBatch(msgs)
	}
	// 2. Rescue entries idle longer than ClaimIdle (crashed consumers,
	// deliveries lost with a killed connection).
	if !now.Before(s.nextClaim) {
		msgs, more, err := s.rescue()
		if err != nil {
			return err
		}
		if !more {
			s.nextClaim = now.Add(s.claimEvery)
		}
		if len(msgs) > 0 {
			return s.deliverBatch(msgs)
		}
	}
	// 3. New messages (collected acks go in the same pipeline).
	msgs, err := s.readNew(now)
	if err != nil {
		return err
	}
	return s.deliverBatch(msgs)
}

func (s *subscription) readNew(now time.Time) ([]*delivery, error) {
	args := &redis.XReadGroupArgs{
		Group:    s.group,
		Consumer: s.consumer,
		Streams:  []string{s.stream, ">"},
		Count:    int64(s.spec.BatchSize),
		Block:    -1,
	}
	var res []redis.XStream
	var err error
	if len(s.unacked) > 0 {
		// Ack the last batch and ask for the next one in one round trip;
		// non-blocking, so a quiet stream costs one more (blocking) read.
		pipe := s.b.rdb.Pipeline()
		ack := pipe.XAck(s.ctx, s.stream, s.group, s.unacked...)
		read := pipe.XReadGroup(s.ctx, args)
		_, _ = pipe.Exec(s.ctx)
		switch aerr := ack.Err(); {
		case aerr == nil:
			s.unacked = s.unacked[:0]
		case isNoGroup(aerr):
			s.unacked = nil // the group is gone, and its pending list with it
		default:
			// Kept for the next read; what the read got is still delivered.
			s.log().debug("redis stream: xack failed; retrying with the next read", "ids", len(s.unacked), "err", aerr)
		}
		res, err = read.Result()
	} else {
		args.Block = s.blockBudget(now)
		res, err = s.b.rdb.XReadGroup(s.ctx, args).Result()
	}
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		return nil, fmt.Errorf("redis stream %q: xreadgroup %q: %w", s.stream, s.group, err)
	}
	var out []*delivery
	for _, st := range res {
		for _, m := range st.Messages {
			out = append(out, s.newDelivery(m, 1))
			s.lastSeen = m.ID
		}
	}
	return out, nil
}

// blockBudget bounds BLOCK by the stop latency and the next scheduled work.
func (s *subscription) blockBudget(now time.Time) time.Duration {
	d := s.b.blockFor
	if s.group != "" {
		if until := s.nextClaim.Sub(now); until < d {
			d = until
		}
	}
	s.mu.Lock()
	for _, r := range s.retries {
		if until := r.due.Sub(now); until < d {
			d = until
		}
	}
	s.mu.Unlock()
	if d < time.Millisecond {
		d = time.Millisecond // BLOCK 0 would mean forever
	}
	return d
}

func (s *subscription) anyDue(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.retries {
		if !r.due.After(now) {
			return true
		}
	}
	return false
}

func (s *subscription) flushAcks() error {
	err := s.b.rdb.XAck(s.ctx, s.stream, s.group, s.unacked...).Err()
	if err != nil && !isNoGroup(err) {
		return fmt.Errorf("redis stream %q: xack %d entries: %w", s.stream, len(s.unacked), err)
	}
	s.unacked = s.unacked[:0]
	return err
}

func (s *subscription) takeDue(now time.Time) map[string]*retryItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due map[string]*retryItem
	for id, r := range s.retries {
		if !r.due.After(now) {
			if due == nil {
				due = map[string]*retryItem{}
			}
			due[id] = r
			delete(s.retries, id)
		}
	}
	return due
}

func (s *subscription) restoreDue(due map[string]*retryItem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, r := range due {
		if _, ok := s.retries[id]; !ok {
			s.retries[id] = r
		}
	}
}

// claimDue claims naked entries back to this consumer. XCLAIM's min-idle
// is the nak delay: an entry another consumer claimed meanwhile has a
// shorter idle time and is left to it.
func (s *subscription) claimDue(due map[string]*retryItem) ([]*delivery, error) {
	byIdle := map[time.Duration][]string{}
	for id, r := range due {
		byIdle[r.minIdle] = append(byIdle[r.minIdle], id)
	}
	var got []redis.XMessage
	for idle, ids := range byIdle {
		msgs, err := s.b.rdb.XClaim(s.ctx, &redis.XClaimArgs{Stream: s.stream, Group: s.group, Consumer: s.consumer, MinIdle: idle, Messages: ids}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("redis stream %q: xclaim (retry) %d entries: %w", s.stream, len(ids), err)
		}
		got = append(got, msgs...)
	}
	seen := make(map[string]bool, len(got))
	for _, m := range got {
		seen[m.ID] = true
	}
	var missing []string
	for id := range due {
		if !seen[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		if err := s.settleMissing(missing); err != nil {
			return nil, err
		}
	}
	return s.withCounts(got)
}

// settleMissing looks at entries XCLAIM did not return: when the message
// itself is gone (trimmed or deleted) the pending entry is acked and
// logged; otherwise another consumer holds it now, and it is left alone.
func (s *subscription) settleMissing(ids []string) error {
	pipe := s.b.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.XRangeN(s.ctx, s.stream, id, id, 1)
	}
	if _, err := pipe.Exec(s.ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("redis stream %q: xrange (check claimed entries): %w", s.stream, err)
	}
	var gone []string
	for i, c := range cmds {
		if len(c.Val()) == 0 {
			gone = append(gone, ids[i])
		}
	}
	return s.ackTrimmed(gone)
}

func (s *subscription) ackTrimmed(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if err := s.b.rdb.XAck(s.ctx, s.stream, s.group, ids...).Err(); err != nil {
		return fmt.Errorf("redis stream %q: xack trimmed pending entries: %w", s.stream, err)
	}
	s.log().warn("redis stream: pending entries point at trimmed messages; acked them", "ids", ids)
	return nil
}

// rescue claims entries idle longer than ClaimIdle, a page at a time.
// more says the sweep has not reached the end of the pending list.
func (s *subscription) rescue() (out []*delivery, more bool, err error) {
	if s.claimCursor == "" {
		s.claimCursor = "0-0"
	}
	count := int64(max(s.spec.BatchSize, 10))
	var msgs []redis.XMessage
	var next string
	if s.b.version.hasLag() { // 7.0+: XAUTOCLAIM skips and reports deleted entries
		var deleted []string
		msgs, next, deleted, err = s.b.rdb.XAutoClaimWithDeleted(s.ctx, &redis.XAutoClaimArgs{
			Stream: s.stream, Group: s.group, Consumer: s.consumer, MinIdle: s.claimIdle, Start: s.claimCursor, Count: count,
		}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, false, fmt.Errorf("redis stream %q: xautoclaim %q: %w", s.stream, s.group, err)
		}
		// Redis 7 drops deleted entries from the pending list itself and
		// reports them; XACK is harmless and covers older servers.
		if err := s.ackTrimmed(deleted); err != nil {
			return nil, false, err
		}
	} else {
		msgs, next, err = s.claimFallback(count)
		if err != nil {
			return nil, false, err
		}
	}
	var live []redis.XMessage
	var gone []string
	for _, m := range msgs {
		if m.Values == nil {
			gone = append(gone, m.ID) // Redis < 7: a claimed entry whose message was deleted
			continue
		}
		live = append(live, m)
	}
	if err := s.ackTrimmed(gone); err != nil {
		return nil, false, err
	}
	if next == "" || next == "0-0" {
		s.claimCursor = "0-0"
		more = false
	} else {
		s.claimCursor = next
		more = true
	}
	// Forget local retries of entries the sweep took: they are delivered now.
	s.mu.Lock()
	for _, m := range live {
		delete(s.retries, m.ID)
	}
	s.mu.Unlock()
	out, err = s.withCounts(live)
	return out, more, err
}

// claimFallback is XPENDING + XCLAIM for Redis < 7.0: XAUTOCLAIM is missing
// before 6.2, and on 6.2 it answers nil for deleted entries. One page of
// the pending list from the cursor (filtered by idle time on the server
// from 6.2, here before), claimed with XCLAIM min-idle, which re-checks
// atomically. Ids XCLAIM does not return are checked: a deleted message's
// entry is acked, one another member took is left to it.
func (s *subscription) claimFallback(count int64) ([]redis.XMessage, string, error) {
	start := s.claimCursor
	if start != "0-0" {
		start = nextID(start)
	}
	args := &redis.XPendingExtArgs{Stream: s.stream, Group: s.group, Start: start, End: "+", Count: count}
	if s.b.version.hasAutoClaim() {
		args.Idle = s.claimIdle
	}
	pend, err := s.b.rdb.XPendingExt(s.ctx, args).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, "", fmt.Errorf("redis stream %q: xpending %q: %w", s.stream, s.group, err)
	}
	next := "0-0"
	if int64(len(pend)) == count {
		next = pend[len(pend)-1].ID
	}
	var ids []string
	for _, p := range pend {
		if p.Idle >= s.claimIdle {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) == 0 {
		return nil, next, nil
	}
	msgs, err := s.b.rdb.XClaim(s.ctx, &redis.XClaimArgs{Stream: s.stream, Group: s.group, Consumer: s.consumer, MinIdle: s.claimIdle, Messages: ids}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, "", fmt.Errorf("redis stream %q: xclaim %d entries: %w", s.stream, len(ids), err)
	}
	got := make(map[string]bool, len(msgs))
	for _, m := range msgs {
		got[m.ID] = true
	}
	var missing []string
	for _, id := range ids {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	if err := s.settleMissing(missing); err != nil {
		return nil, "", err
	}
	return msgs, next, nil
}

// withCounts reads the delivery counts of just-claimed entries from the
// pending list (XPENDING id id 1 consumer), one pipelined query per entry.
func (s *subscription) withCounts(msgs []redis.XMessage) ([]*delivery, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	pipe := s.b.rdb.Pipeline()
	cmds := make([]*redis.XPendingExtCmd, len(msgs))
	for i, m := range msgs {
		cmds[i] = pipe.XPendingExt(s.ctx, &redis.XPendingExtArgs{Stream: s.stream, Group: s.group, Start: m.ID, End: m.ID, Count: 1, Consumer: s.consumer})
	}
	_, _ = pipe.Exec(s.ctx)
	out := make([]*delivery, 0, len(msgs))
	for i, m := range msgs {
		n := 0
		if p, err := cmds[i].Result(); err == nil && len(p) == 1 {
			n = int(p[0].RetryCount)
		}
		out = append(out, s.newDelivery(m, n))
	}
	return out, nil
}

// deliverBatch hands messages to core's dispatcher one by one. Acks made
// while the batch runs are collected and sent with the next read (one XACK
// per batch); what the batch did not get to after a stop is released.
func (s *subscription) deliverBatch(msgs []*delivery) error {
	if len(msgs) == 0 {
		return nil
	}
	s.mu.Lock()
	s.batchOpen = true
	s.mu.Unlock()
	i := 0
	fresh := time.Now()
	for ; i < len(msgs); i++ {
		if s.stopped() {
			break
		}
		if s.group != "" && time.Since(fresh) > s.claimIdle/2 {
			// The batch is taking long: reset the idle time of what is
			// left so that no sweep (ours or another member's) takes it
			// before its handler runs.
			var kept []*delivery
			kept, fresh = s.refresh(msgs[i:], fresh)
			msgs = append(msgs[:i], kept...)
			if i >= len(msgs) {
				break
			}
		}
		s.spec.DeliverTracked(s.ctx, &msgs[i].t)
	}
	s.mu.Lock()
	s.batchOpen = false
	s.unacked = append(s.unacked, s.batchAcks...)
	s.batchAcks = s.batchAcks[:0]
	s.mu.Unlock()
	if i < len(msgs) {
		s.release(msgs[i:])
	}
	return nil
}

// refresh re-claims msgs to this consumer with JUSTID (idle reset to 0,
// delivery count unchanged). XCLAIM's min-idle is the time since the last
// refresh, so an entry another member claimed meanwhile (shorter idle) is
// left to it and dropped from the batch. On error the batch goes on as is.
func (s *subscription) refresh(msgs []*delivery, since time.Time) ([]*delivery, time.Time) {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.id
	}
	minIdle := time.Since(since) - 20*time.Millisecond
	now := time.Now()
	got, err := s.b.rdb.XClaimJustID(s.ctx, &redis.XClaimArgs{Stream: s.stream, Group: s.group, Consumer: s.consumer, MinIdle: max(minIdle, 0), Messages: ids}).Result()
	if err != nil {
		return msgs, since
	}
	keep := make(map[string]bool, len(got))
	for _, id := range got {
		keep[id] = true
	}
	out := msgs[:0]
	for _, m := range msgs {
		if keep[m.id] {
			out = append(out, m)
		}
	}
	return out, now
}

// release hands back messages read but never shown to a handler (the
// subscription stopped mid-batch): they stay pending at this consumer with
// their idle time set to ClaimIdle and their delivery count restored, so
// any member's next sweep takes them at once.
func (s *subscription) release(msgs []*delivery) {
	if s.group == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	pipe := s.b.rdb.Pipeline()
	for _, m := range msgs {
		pipe.Do(ctx, "XCLAIM", s.stream, s.group, s.consumer, 0, m.id,
			"IDLE", s.claimIdle.Milliseconds(), "RETRYCOUNT", max(m.n-1, 0), "JUSTID")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		s.log().debug("redis stream: release of undelivered entries failed; they are reclaimed after ClaimIdle", "n", len(msgs), "err", err)
	}
}

// ---- broadcast mode ----

func (s *subscription) broadcastStep() error {
	now := time.Now()
	if due := s.takeDue(now); len(due) > 0 {
		msgs := make([]*delivery, 0, len(due))
		for _, r := range due {
			o := r.msg
			d := &delivery{s: o.s, id: o.id, data: o.data, header: o.header, n: r.n + 1}
			d.t.Delivery = d
			msgs = append(msgs, d)
		}
		return s.deliverBatch(msgs)
	}
	res, err := s.b.rdb.XRead(s.ctx, &redis.XReadArgs{
		Streams: []string{s.stream, s.lastSeen},
		Count:   int64(s.spec.BatchSize),
		Block:   s.blockBudget(now),
	}).Result()
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return nil
		}
		return fmt.Errorf("redis stream %q: xread: %w", s.stream, err)
	}
	var msgs []*delivery
	for _, st := range res {
		for _, m := range st.Messages {
			msgs = append(msgs, s.newDelivery(m, 1))
			s.lastSeen = m.ID
		}
	}
	return s.deliverBatch(msgs)
}

// ---- deliveries ----

type delivery struct {
	s      *subscription
	id     string
	data   []byte
	header core.Header
	n      int
	// t is what the handler is given: core's settle tracking, allocated
	// with the delivery (a named field, so nothing is promoted from it).
	t core.Tracked
}

func (s *subscription) newDelivery(m redis.XMessage, n int) *delivery {
	data, h := decodeValues(m.Values)
	d := &delivery{s: s, id: m.ID, data: data, header: h, n: n}
	d.t.Delivery = d
	return d
}

func (d *delivery) ID() string           { return d.id }
func (d *delivery) Topic() string        { return d.s.spec.Topic }
func (d *delivery) Data() []byte         { return d.data }
func (d *delivery) Header() core.Header  { return d.header }
func (d *delivery) Timestamp() time.Time { return idTime(d.id) }
func (d *delivery) Deliveries() int      { return d.n }

// Ack is XACK. Inside a running batch it is collected and sent with the
// next read, one XACK for the batch (so an Ack returning nil means "will be
// acked"; if the process dies first, the entry is redelivered). After the
// batch it is sent at once. Without a group it does nothing.
func (d *delivery) Ack() error {
	s := d.s
	if s.group == "" {
		return nil
	}
	s.mu.Lock()
	if s.batchOpen {
		s.batchAcks = append(s.batchAcks, d.id)
		delete(s.retries, d.id)
		s.mu.Unlock()
		return nil
	}
	delete(s.retries, d.id)
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.b.rdb.XAck(ctx, s.stream, s.group, d.id).Err(); err != nil {
		return fmt.Errorf("redis stream %q: xack %s: %w", s.stream, d.id, err)
	}
	return nil
}

// Nak leaves the entry pending and claims it back at once.
func (d *delivery) Nak() error { return d.NakWithDelay(0) }

// NakWithDelay leaves the entry pending and claims it back after delay
// (capped at ClaimIdle: by then any member of the group may reclaim it).
// Without a group the message is redelivered locally after delay.
func (d *delivery) NakWithDelay(delay time.Duration) error {
	s := d.s
	if delay < 0 {
		delay = 0
	}
	if s.group != "" && delay > s.claimIdle {
		delay = s.claimIdle
	}
	r := &retryItem{due: time.Now().Add(delay), minIdle: delay, n: d.n}
	if s.group == "" {
		r.msg = d
	}
	s.mu.Lock()
	s.retries[d.id] = r
	s.mu.Unlock()
	return nil
}

// Term acks: Redis has no "never redeliver" short of acking.
func (d *delivery) Term() error { return d.Ack() }

// ---- backoff ----

type backoff struct{ cur time.Duration }

func newBackoff() *backoff { return &backoff{} }

func (b *backoff) reset() { b.cur = 0 }

func (b *backoff) next() time.Duration {
	if b.cur == 0 {
		b.cur = 50 * time.Millisecond
	} else {
		b.cur = min(b.cur*2, 2*time.Second)
	}
	return b.cur
}
