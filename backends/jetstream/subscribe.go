package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
)

const (
	pullExpires       = 5 * time.Second
	pullHeartbeat     = time.Second
	ephemeralInactive = 2 * time.Minute
	maxBackoff        = 2 * time.Second
)

// subscription is one Subscribe: a pull consumer (shared durable or own
// ephemeral), one pull request open at a time on a private inbox, a queue of
// fetched messages kept alive with InProgress while they wait, and one
// worker running the handler.
type subscription struct {
	b       *Backend
	spec    *core.SubscribeSpec
	topic   string
	stream  string
	durable bool
	batch   int
	ackWait time.Duration
	cfg     jetstream.ConsumerConfig // for (re)creation

	inboxPrefix string
	isub        *nats.Subscription
	inboxDone   chan struct{} // closed after isub's last callback

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	wake  chan struct{} // to the puller
	ready chan struct{} // to the worker

	mu           sync.Mutex
	name         string // current consumer name
	queue        []*queued
	reqID        uint64
	reqOpen      bool
	reqGot       int
	reqSent      time.Time
	lastActivity time.Time
	hbSeen       bool
	deleted      bool // the server said the consumer was deleted
	refusals     int  // pull requests refused since a message or heartbeat last came
	lastRefusal  string
	stopped      bool
	handback     []*nats.Msg // a group member's deliveries that arrived after stopped, NAKed by shutdown
	handedBack   bool        // shutdown has NAKed handback: later arrivals are NAKed at once
	unsettled    map[uint64]struct{}
	lastSeq      uint64
	streamBorn   time.Time // the stream's creation time: a new stream restarts sequences
	streamNew    bool      // the stream was deleted and created again since Subscribe: all of it is new to us
}

type queued struct {
	msg   *nats.Msg
	since time.Time // when it arrived or was last kept alive
}

func (s *subscription) Topic() string { return s.topic }

// Subscribe implements core.Backend.
func (b *Backend) Subscribe(ctx context.Context, spec *core.SubscribeSpec) (core.Subscription, error) {
	if b.isClosed() {
		return nil, core.ErrClosed
	}
	stream, err := b.streamFor(ctx, spec.Topic, b.cfg.CreateStreams)
	if err != nil {
		return nil, err
	}
	if spec.DeadLetter {
		// Dead-lettering into a subject no stream stores would lose the
		// message's copy; say so now rather than at the last attempt.
		if _, err := b.streamFor(ctx, spec.DeadLetterTopic, b.cfg.CreateStreams); err != nil {
			return nil, fmt.Errorf("jetstream: dead-letter topic %q of %q: %w (Operator.EnsureDLQ creates one)", spec.DeadLetterTopic, spec.Topic, err)
		}
	}
	batch := spec.BatchSize
	if batch < 1 {
		batch = 1
	}
	ackWait := spec.ClaimIdle
	if ackWait <= 0 {
		ackWait = core.DefaultClaimIdle
	}
	s := &subscription{
		b: b, spec: spec, topic: spec.Topic, stream: stream, durable: spec.Group != "",
		batch: batch, ackWait: ackWait,
		done:      make(chan struct{}),
		wake:      make(chan struct{}, 1),
		ready:     make(chan struct{}, 1),
		unsettled: map[uint64]struct{}{},
	}
	if st, err := b.js.Stream(ctx, stream); err == nil {
		s.streamBorn = st.CachedInfo().Created
	}
	cfg, err := b.consumerConfig(ctx, stream, spec, ackWait)
	if err != nil {
		return nil, err
	}
	s.cfg = cfg
	if s.durable {
		if err := s.ensureDurable(ctx); err != nil {
			return nil, err
		}
	} else {
		c, err := b.js.CreateConsumer(ctx, stream, cfg)
		if err != nil {
			return nil, fmt.Errorf("jetstream: create ephemeral consumer on stream %q for %q: %w", stream, spec.Topic, err)
		}
		s.name = c.CachedInfo().Name
	}
	s.inboxPrefix = b.nc.NewInbox()
	s.inboxDone = make(chan struct{})
	s.isub, err = b.nc.Subscribe(s.inboxPrefix+".*", s.onMsg)
	if err == nil {
		err = s.isub.SetPendingLimits(-1, -1)
	}
	if err == nil {
		// Runs after the inbox's last callback has returned (nats.go calls
		// it from the delivery goroutine once the subscription is closed).
		s.isub.SetClosedHandler(func(string) { close(s.inboxDone) })
	}
	if err != nil {
		s.deleteEphemeral()
		return nil, fmt.Errorf("jetstream: subscribe to the pull inbox for %q: %w", spec.Topic, err)
	}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		_ = s.isub.Unsubscribe()
		s.deleteEphemeral()
		s.cancel()
		return nil, core.ErrClosed
	}
	b.mu.Unlock()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.puller() }()
	go func() { defer wg.Done(); s.worker() }()
	go func() {
		select {
		case <-ctx.Done():
			s.stop()
		case <-s.ctx.Done():
		}
	}()
	go func() {
		wg.Wait()
		s.shutdown()
		close(s.done)
	}()
	return s, nil
}

// consumerConfig maps the spec onto a pull consumer configuration.
func (b *Backend) consumerConfig(ctx context.Context, stream string, spec *core.SubscribeSpec, ackWait time.Duration) (jetstream.ConsumerConfig, error) {
	cfg := jetstream.ConsumerConfig{
		FilterSubject: spec.Topic,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    -1,
	}
	if spec.Retry.MaxAttempts > 0 {
		cfg.MaxDeliver = spec.Retry.MaxAttempts
	}
	if spec.Group != "" {
		cfg.Durable = sanitizeName(spec.Group)
		cfg.Description = "mqscope group " + spec.Group + " on " + spec.Topic
	} else {
		cfg.InactiveThreshold = ephemeralInactive
	}
	if err := b.applyStart(ctx, stream, spec.Topic, spec.Start, &cfg); err != nil {
		return cfg, err
	}
	// Enough acks may be outstanding for two batches per member.
	if need := 4 * spec.BatchSize; need > 1000 {
		cfg.MaxAckPending = need
	}
	return cfg, nil
}

func (b *Backend) applyStart(ctx context.Context, stream, filter string, p core.Position, cfg *jetstream.ConsumerConfig) error {
	switch p.Kind {
	case core.PosNew:
		cfg.DeliverPolicy = jetstream.DeliverNewPolicy
	case core.PosAll:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	case core.PosSeq, core.PosID:
		seq := p.Seq
		if p.Kind == core.PosID {
			n, err := strconv.ParseUint(p.ID, 10, 64)
			if err != nil || n == 0 {
				return fmt.Errorf("jetstream: start position %q: a JetStream id is a stream sequence (a positive number)", p.ID)
			}
			seq = n
		}
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = seq
	case core.PosTime:
		t := p.Time
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &t
	case core.PosLast:
		seq, err := b.lastNStart(ctx, stream, filter, p.N)
		if err != nil {
			return err
		}
		if seq == 0 {
			cfg.DeliverPolicy = jetstream.DeliverAllPolicy
		} else {
			cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
			cfg.OptStartSeq = seq
		}
	default:
		return fmt.Errorf("jetstream: start position %v is not supported", p)
	}
	return nil
}

// ensureDurable binds to the group's durable consumer, creating it, or
// updating what can be updated when it exists with other settings.
func (s *subscription) ensureDurable(ctx context.Context) error {
	b := s.b
	name := s.cfg.Durable
	for attempt := 0; attempt < 3; attempt++ {
		c, err := b.js.Consumer(ctx, s.stream, name)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			c, err = b.js.CreateConsumer(ctx, s.stream, s.cfg)
			if errors.Is(err, jetstream.ErrConsumerExists) || errors.Is(err, jetstream.ErrConsumerNameAlreadyInUse) {
				continue // another member created it first
			}
			if err != nil {
				return fmt.Errorf("jetstream: create durable consumer %q on stream %q for group %q: %w", name, s.stream, s.spec.Group, err)
			}
			s.name = name
			return nil
		}
		if err != nil {
			return fmt.Errorf("jetstream: look up durable consumer %q on stream %q: %w", name, s.stream, err)
		}
		cur := c.CachedInfo().Config
		if cur.DeliverSubject != "" {
			return fmt.Errorf("jetstream: group %q: consumer %q on stream %q is a push consumer; mqscope needs a pull consumer: delete it or use another group name", s.spec.Group, name, s.stream)
		}
		if cur.AckPolicy != jetstream.AckExplicitPolicy {
			return fmt.Errorf("jetstream: group %q: consumer %q on stream %q has ack policy %s; mqscope needs explicit acks: delete it or use another group name", s.spec.Group, name, s.stream, cur.AckPolicy)
		}
		if !sameFilter(cur, s.topic) {
			return fmt.Errorf("jetstream: group %q: consumer %q on stream %q already filters %q, not %q: a group name names one consumer per stream, so use a distinct group for this topic (or delete the consumer)",
				s.spec.Group, name, s.stream, strings.Join(filters(cur), ","), s.topic)
		}
		if cur.AckWait != s.cfg.AckWait || cur.MaxDeliver != s.cfg.MaxDeliver || (s.cfg.MaxAckPending > cur.MaxAckPending && cur.MaxAckPending > 0) {
			upd := cur
			upd.AckWait = s.cfg.AckWait
			upd.MaxDeliver = s.cfg.MaxDeliver
			if s.cfg.MaxAckPending > cur.MaxAckPending && cur.MaxAckPending > 0 {
				upd.MaxAckPending = s.cfg.MaxAckPending
			}
			if _, err := b.js.UpdateConsumer(ctx, s.stream, upd); err != nil {
				return fmt.Errorf("jetstream: group %q: consumer %q on stream %q exists with ack wait %v / max deliver %d and could not be updated to %v / %d: %w",
					s.spec.Group, name, s.stream, cur.AckWait, cur.MaxDeliver, upd.AckWait, upd.MaxDeliver, err)
			}
			b.logger.Info("jetstream: updated durable consumer", "stream", s.stream, "consumer", name, "ack_wait", upd.AckWait, "max_deliver", upd.MaxDeliver)
		}
		s.name = name
		return nil
	}
	return fmt.Errorf("jetstream: durable consumer %q on stream %q: created and deleted concurrently, giving up", name, s.stream)
}

func filters(c jetstream.ConsumerConfig) []string {
	if len(c.FilterSubjects) > 0 {
		return c.FilterSubjects
	}
	if c.FilterSubject != "" {
		return []string{c.FilterSubject}
	}
	return nil
}

func sameFilter(c jetstream.ConsumerConfig, topic string) bool {
	f := filters(c)
	return len(f) == 1 && f[0] == topic
}

// onMsg runs on the inbox subscription's goroutine.
func (s *subscription) onMsg(m *nats.Msg) {
	if len(m.Data) == 0 && m.Header != nil && m.Header.Get("Status") != "" {
		// Status messages come on the pull's own inbox subject.
		id, _ := strconv.ParseUint(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], 10, 64)
		s.onStatus(id, m.Header.Get("Status"), m.Header.Get("Description"))
		return
	}
	if m.Reply == "" {
		return
	}
	seq := replySeq(m.Reply)
	s.mu.Lock()
	if s.stopped {
		if !s.durable {
			s.mu.Unlock()
			return
		}
		if !s.handedBack {
			// Held until the server has dropped this member's pull
			// request: see shutdown.
			s.handback = append(s.handback, m)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		_ = m.Respond(ackNak) // hand it back to the group at once
		return
	}
	s.queue = append(s.queue, &queued{msg: m, since: time.Now()})
	s.refusals = 0
	if seq > 0 && s.streamNew && s.fromOldStreamLocked(m.Reply) {
		seq = 0 // a straggler of the deleted stream: its sequence means nothing now
	}
	if seq > 0 {
		s.unsettled[seq] = struct{}{}
		if seq > s.lastSeq {
			s.lastSeq = seq
		}
	}
	// A delivered message carries its own subject, not the pull's inbox:
	// count it against the open request (at most one is open).
	if s.reqOpen {
		s.lastActivity = time.Now()
		s.reqGot++
		if s.reqGot >= s.batch {
			s.reqOpen = false
		}
	}
	s.mu.Unlock()
	signal(s.ready)
}

func (s *subscription) onStatus(id uint64, code, desc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "100" {
		s.hbSeen = true
		s.refusals = 0
		if id == s.reqID {
			s.lastActivity = time.Now()
		}
		return
	}
	switch {
	case code == "404" || code == "408":
		// No messages / request expired: the normal end of a pull.
	case code == "409" && strings.Contains(strings.ToLower(desc), "consumer deleted"):
		s.deleted = true
		s.refusals++
	case code == "503":
		// No responders: the stream (or JetStream) is gone. Look before
		// pulling again, and back off while it stays so.
		s.deleted = true
		s.refusals++
	case code == "409":
		// Leadership change, max waiting exceeded, ...: transient.
		s.refusals++
		s.b.logger.Debug("jetstream: pull request refused", "stream", s.stream, "consumer", s.name, "status", code, "description", desc)
	default:
		s.refusals++
		if what := code + " " + desc; what != s.lastRefusal {
			s.lastRefusal = what
			s.b.logger.Warn("jetstream: pull request refused", "stream", s.stream, "consumer", s.name, "status", code, "description", desc)
		}
	}
	if id == s.reqID {
		s.reqOpen = false
	}
	signal(s.wake)
}

// fromOldStreamLocked says whether a delivery (by its ack subject) was
// stored before the current stream was created: it comes from the stream
// that was deleted, and its sequence must not count in this one's.
func (s *subscription) fromOldStreamLocked(reply string) bool {
	md, err := parseAck(reply)
	return err == nil && !s.streamBorn.IsZero() && md.ts.Before(s.streamBorn)
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// puller keeps one pull request open while the queue has room, keeps
// waiting messages alive, and recreates the consumer when it is gone.
func (s *subscription) puller() {
	tick := s.ackWait / 4
	if tick > pullHeartbeat {
		tick = pullHeartbeat
	}
	if tick < 20*time.Millisecond {
		tick = 20 * time.Millisecond
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	backoff := 50 * time.Millisecond
	var lastKeepAlive time.Time
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
		now := time.Now()
		if now.Sub(lastKeepAlive) >= tick {
			s.keepAlive(now)
			lastKeepAlive = now
		}
		s.mu.Lock()
		deleted := s.deleted
		stale := s.reqOpen && ((s.hbSeen && now.Sub(s.lastActivity) > 2*pullHeartbeat+500*time.Millisecond) ||
			now.Sub(s.reqSent) > pullExpires+2*time.Second)
		if stale {
			s.reqOpen = false
		}
		need := !s.reqOpen && len(s.queue) < s.batch
		refusals := s.refusals
		s.mu.Unlock()

		var err error
		if deleted || stale {
			err = s.checkConsumer()
		}
		if err == nil && need {
			if wait := refusalBackoff(refusals); wait > 0 && time.Since(s.lastPull()) < wait {
				// The last pulls were refused: do not hammer the server.
				resetTimer(timer, wait-time.Since(s.lastPull()))
				continue
			}
			err = s.pull()
		}
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			s.b.logger.Debug("jetstream: consumer not ready, retrying", "stream", s.stream, "consumer", s.currentName(), "backoff", backoff, "err", err)
			resetTimer(timer, backoff)
			backoff *= 2
			if backoff > maxBackoff {
				backoff = maxBackoff
			}
			continue
		}
		backoff = 50 * time.Millisecond
		resetTimer(timer, tick)
	}
}

// refusalBackoff is how long to wait after the last pull before the next
// one when n pulls in a row were refused.
func refusalBackoff(n int) time.Duration {
	if n == 0 {
		return 0
	}
	d := 50 * time.Millisecond << min(n-1, 6)
	return min(d, maxBackoff)
}

func (s *subscription) lastPull() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reqSent
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	select {
	case <-t.C:
	default:
	}
	t.Reset(d)
}

func (s *subscription) streamName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream
}

func (s *subscription) currentName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.name
}

type pullReq struct {
	Batch     int           `json:"batch"`
	Expires   time.Duration `json:"expires,omitempty"`
	Heartbeat time.Duration `json:"idle_heartbeat,omitempty"`
}

func (s *subscription) pull() error {
	s.mu.Lock()
	s.reqID++
	id := s.reqID
	name, stream := s.name, s.stream
	s.reqOpen = true
	s.reqGot = 0
	s.reqSent = time.Now()
	s.lastActivity = s.reqSent
	s.mu.Unlock()
	body, _ := json.Marshal(pullReq{Batch: s.batch, Expires: pullExpires, Heartbeat: pullHeartbeat})
	subj := "$JS.API.CONSUMER.MSG.NEXT." + stream + "." + name
	if err := s.b.nc.PublishRequest(subj, s.inboxPrefix+"."+strconv.FormatUint(id, 10), body); err != nil {
		s.mu.Lock()
		s.reqOpen = false
		s.mu.Unlock()
		return fmt.Errorf("jetstream: pull from consumer %q on stream %q: %w", name, stream, err)
	}
	return nil
}

// checkConsumer runs after a pull went silent (server restart, network)
// or the server said the consumer was deleted: the consumer, or its whole
// stream, may be gone.
func (s *subscription) checkConsumer() error {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	if err := s.observeStream(ctx); err != nil {
		return err
	}
	_, err := s.b.js.Consumer(ctx, s.streamName(), s.currentName())
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		// Deleted since we looked: find the one that stores the topic now.
		if err := s.observeStream(ctx); err != nil {
			return err
		}
		return s.recreate(ctx)
	}
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return s.recreate(ctx)
	}
	if err != nil {
		return fmt.Errorf("jetstream: check consumer %q on stream %q: %w", s.currentName(), s.streamName(), err)
	}
	s.mu.Lock()
	s.deleted = false // another member brought it back already
	s.mu.Unlock()
	return nil
}

// observeStream finds the stream that stores the topic now (never creating
// one: ErrNoStream until someone does) and notes when it is not the one we
// last knew: a
// stream deleted and created again starts its sequences over, and every
// message in it was published after we subscribed.
func (s *subscription) observeStream(ctx context.Context) error {
	st, err := s.b.js.Stream(ctx, s.streamName())
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		// Wait for a stream to store the topic again rather than create
		// one: whoever deleted it may mean it, and a publisher with
		// CreateStreams creates it on its next message (nothing can be
		// lost meanwhile: no stream stores anything).
		s.b.forgetStreamName(s.streamName())
		name, serr := s.b.streamFor(ctx, s.topic, false)
		if serr != nil {
			return serr
		}
		st, err = s.b.js.Stream(ctx, name)
	}
	if err != nil {
		return fmt.Errorf("jetstream: look up the stream of %q: %w", s.topic, err)
	}
	info := st.CachedInfo()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.streamBorn.IsZero() && info.Config.Name == s.stream:
		s.streamBorn = info.Created // not known at Subscribe
	case info.Config.Name != s.stream || !info.Created.Equal(s.streamBorn):
		s.stream = info.Config.Name
		s.streamBorn = info.Created
		s.streamNew = true
		s.lastSeq = 0 // sequences of the old stream mean nothing here
		s.unsettled = map[uint64]struct{}{}
	}
	return nil
}

// recreate brings back a consumer that was deleted (or lost with a server
// restart), from the oldest message this subscriber has not settled, so
// nothing it was given is lost; on a stream created since Subscribe, from
// its first message.
func (s *subscription) recreate(ctx context.Context) error {
	cfg := s.cfg
	s.mu.Lock()
	resume := s.resumeSeqLocked()
	stream, born, fresh := s.stream, s.streamBorn, s.streamNew
	s.mu.Unlock()
	switch {
	case resume > 0:
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = resume
		cfg.OptStartTime = nil
	case fresh:
		// "New" would lose whatever was published between the stream's
		// creation and this consumer's (a publisher with CreateStreams may
		// be the one that created it).
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
		cfg.OptStartSeq = 0
		cfg.OptStartTime = nil
	}
	var name string
	var made time.Time // when this call created the consumer (zero: another member did)
	if s.durable {
		c, err := s.b.js.Consumer(ctx, stream, cfg.Durable)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			c, err = s.b.js.CreateConsumer(ctx, stream, cfg)
			if err == nil {
				made = c.CachedInfo().Created
			} else if errors.Is(err, jetstream.ErrConsumerExists) {
				c, err = s.b.js.Consumer(ctx, stream, cfg.Durable)
			}
		}
		if err != nil {
			return fmt.Errorf("jetstream: recreate durable consumer %q on stream %q: %w", cfg.Durable, stream, err)
		}
		name = c.CachedInfo().Name
	} else {
		c, err := s.b.js.CreateConsumer(ctx, stream, cfg)
		if err != nil {
			return fmt.Errorf("jetstream: recreate ephemeral consumer on stream %q for %q: %w", stream, s.topic, err)
		}
		name, made = c.CachedInfo().Name, c.CachedInfo().Created
	}
	// The stream may have been replaced between our look and the create:
	// then the consumer may start at the old stream's position on the new
	// one. Remove it — only if it is the one this call made: a group's
	// consumer another member set up on the new stream holds the group's
	// acks — and go round again.
	if err := s.observeStream(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	replaced := !s.streamBorn.Equal(born) || s.stream != stream
	if replaced {
		s.deleted = true
	}
	s.mu.Unlock()
	if replaced {
		if !made.IsZero() {
			if c, err := s.b.js.Consumer(ctx, stream, name); err == nil && c.CachedInfo().Created.Equal(made) {
				_ = s.b.js.DeleteConsumer(ctx, stream, name)
			}
		}
		return fmt.Errorf("jetstream: stream %q was replaced while consumer %q was being recreated; trying again", stream, name)
	}
	s.b.logger.Info("jetstream: consumer recreated", "stream", stream, "consumer", name, "from_seq", resume, "new_stream", fresh)
	s.mu.Lock()
	s.name = name
	s.deleted = false
	s.reqOpen = false
	s.refusals = 0
	s.mu.Unlock()
	return nil
}

func (s *subscription) resumeSeqLocked() uint64 {
	if s.lastSeq == 0 {
		return 0
	}
	min := s.lastSeq + 1
	for seq := range s.unsettled {
		if seq < min {
			min = seq
		}
	}
	return min
}

// keepAlive tells the server that messages waiting in the queue are being
// worked on, so their AckWait does not run out before the handler sees them.
func (s *subscription) keepAlive(now time.Time) {
	threshold := s.ackWait / 3
	s.mu.Lock()
	var due []*nats.Msg
	for _, q := range s.queue {
		if now.Sub(q.since) >= threshold {
			due = append(due, q.msg)
			q.since = now
		}
	}
	s.mu.Unlock()
	for _, m := range due {
		_ = s.b.nc.Publish(m.Reply, ackProgress)
	}
}

func (s *subscription) worker() {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-s.ctx.Done():
				return
			case <-s.ready:
			}
			continue
		}
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			return
		}
		q := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		wake := !s.reqOpen && len(s.queue) < s.batch
		s.mu.Unlock()
		if wake {
			signal(s.wake)
		}
		s.spec.DeliverTracked(s.ctx, &s.newDelivery(q.msg).t)
	}
}

func (s *subscription) stop() {
	s.once.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
	})
}

// inboxDrainWait bounds how long shutdown waits for the pull inbox to drain
// (one round trip to the server, plus the callbacks of what was already
// on its way).
const inboxDrainWait = 3 * time.Second

// shutdown runs once both goroutines have returned: no handler is running.
//
// Order matters for a group member. It marks itself stopped first, so
// onMsg keeps whatever arrives from then on for the hand-back; drains the
// pull inbox: the server is told to stop (UNSUB: it no longer fills a pull
// nobody listens to) and a round trip later every message it sent before
// that has reached onMsg; has the server drop the pull request
// (dropPull); and only then NAKs the queue and what arrived meanwhile.
// Unsubscribing before marking stopped dropped the client's pending
// messages and those still on the wire, and they stayed with the server's
// ack-pending list until AckWait (issue 10). NAKing before the server had
// dropped the pull request could strand a NAKed message until AckWait on
// nats-server before 2.10.16 (see dropPull).
func (s *subscription) shutdown() {
	s.mu.Lock()
	s.stopped = true
	left := s.queue
	s.queue = nil
	s.mu.Unlock()
	if s.durable {
		drained := s.drainInbox()
		s.mu.Lock()
		late := s.handback
		s.handback = nil
		s.handedBack = true
		s.mu.Unlock()
		if len(left)+len(late) > 0 {
			if drained {
				s.dropPull()
			}
			for _, q := range left {
				_ = s.b.nc.Publish(q.msg.Reply, ackNak)
			}
			for _, m := range late {
				_ = s.b.nc.Publish(m.Reply, ackNak)
			}
			if drained {
				_ = s.b.nc.FlushTimeout(inboxDrainWait)
			}
		}
	} else {
		_ = s.isub.Unsubscribe()
	}
	s.deleteEphemeral()
}

// drainInbox unsubscribes from the pull inbox without dropping what is on
// its way (nats.go Drain: UNSUB, a flush, then the callbacks of everything
// already received) and waits for the last callback (bounded). It says
// whether the connection could drain: on a closed or reconnecting one there
// is nothing to wait for, and whatever it held comes back after AckWait.
func (s *subscription) drainInbox() bool {
	if err := s.isub.Drain(); err != nil {
		_ = s.isub.Unsubscribe()
		return false
	}
	select {
	case <-s.inboxDone:
	case <-time.After(inboxDrainWait):
		s.b.logger.Warn("jetstream: pull inbox did not drain; what is still on its way comes back after AckWait",
			"stream", s.streamName(), "consumer", s.currentName(), "waited", inboxDrainWait, "ack_wait", s.ackWait)
		_ = s.isub.Unsubscribe()
	}
	return true
}

// dropPull has the server forget this member's pull request before the
// member hands anything back. After the UNSUB the request stays in the
// consumer's waiting list until the server next looks at it; nats-server
// before 2.10.16 (Debian's 2.9, for one) takes a NAKed message off its
// redelivery queue for the first waiting request, finds this one without
// interest and, when no other member has a request open, drops the
// redelivery: it comes back only after AckWait (before 2.10.14 the server
// also steps its next sequence back and delivers the last new message a
// second time). A
// consumer info request makes the server sweep its waiting requests
// (those without interest or expired go) before it answers, so the NAKs
// sent after the answer find only live requests, or none and wait for the
// next. Bounded; on failure the NAKs go anyway (newer servers put such a
// redelivery back on the queue).
func (s *subscription) dropPull() {
	ctx, cancel := context.WithTimeout(context.Background(), inboxDrainWait)
	defer cancel()
	_, _ = s.b.js.Consumer(ctx, s.streamName(), s.currentName())
}

func (s *subscription) deleteEphemeral() {
	if s.durable || s.name == "" || s.b.nc.IsClosed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.b.js.DeleteConsumer(ctx, s.streamName(), s.currentName())
}

// Unsubscribe implements core.Subscription: it stops pulling, waits for the
// handler in flight (which settles its message as usual), hands every
// message fetched but not given to a handler back to the group with a NAK —
// those queued here and those the open pull request still brings, up to a
// round trip after it stops listening — and removes an ephemeral consumer.
// A message a manual-ack handler kept without settling comes back after
// AckWait.
func (s *subscription) Unsubscribe() error {
	s.stop()
	<-s.done
	return nil
}

var (
	ackAck      = []byte("+ACK")
	ackNak      = []byte("-NAK")
	ackTerm     = []byte("+TERM")
	ackProgress = []byte("+WPI")
)

// replySeq reads the stream sequence from a JetStream ack subject, in both
// the old ($JS.ACK.stream.consumer.delivered.sseq.cseq.ts.pending) and new
// ($JS.ACK.domain.hash.stream.consumer.delivered.sseq.cseq.ts.pending.token)
// forms.
func replySeq(reply string) uint64 {
	md, err := parseAck(reply)
	if err != nil {
		return 0
	}
	return md.seq
}

type ackMeta struct {
	stream, consumer string
	delivered        uint64
	seq, cseq        uint64
	ts               time.Time
	pending          uint64
}

func parseAck(reply string) (ackMeta, error) {
	var md ackMeta
	if !strings.HasPrefix(reply, "$JS.ACK.") {
		return md, fmt.Errorf("not a JetStream ack subject: %q", reply)
	}
	t := strings.Split(reply, ".")
	var off int
	switch {
	case len(t) == 9:
		off = 2
	case len(t) >= 12:
		off = 4
	default:
		return md, fmt.Errorf("malformed JetStream ack subject: %q", reply)
	}
	num := func(i int) uint64 { n, _ := strconv.ParseUint(t[off+i], 10, 64); return n }
	md.stream, md.consumer = t[off], t[off+1]
	md.delivered = num(2)
	md.seq = num(3)
	md.cseq = num(4)
	md.ts = time.Unix(0, int64(num(5)))
	md.pending = num(6)
	return md, nil
}

// delivery is a fetched message as core sees it.
type delivery struct {
	s       *subscription
	msg     *nats.Msg
	md      ackMeta
	settled atomic.Bool
	// t is what the handler is given: core's settle tracking, allocated
	// with the delivery (a named field, so nothing is promoted from it).
	t core.Tracked
}

func (s *subscription) newDelivery(m *nats.Msg) *delivery {
	md, _ := parseAck(m.Reply)
	d := &delivery{s: s, msg: m, md: md}
	d.t.Delivery = d
	return d
}

var _ core.Delivery = (*delivery)(nil)

func (d *delivery) ID() string           { return strconv.FormatUint(d.md.seq, 10) }
func (d *delivery) Topic() string        { return d.msg.Subject }
func (d *delivery) Data() []byte         { return d.msg.Data }
func (d *delivery) Header() core.Header  { return core.Header(d.msg.Header) }
func (d *delivery) Timestamp() time.Time { return d.md.ts }
func (d *delivery) Deliveries() int      { return int(d.md.delivered) }

func (d *delivery) respond(body []byte, done bool) error {
	if !d.settled.CompareAndSwap(false, true) {
		return nil // settling twice is harmless
	}
	if err := d.s.b.nc.Publish(d.msg.Reply, body); err != nil {
		d.settled.Store(false)
		return fmt.Errorf("jetstream: %s message %d of stream %q: %w", strings.TrimLeft(string(body[:4]), "+-"), d.md.seq, d.md.stream, err)
	}
	s := d.s
	s.mu.Lock()
	// A straggler of a deleted stream has nothing to untrack here (its
	// sequence may name another message of the new stream). A durable's
	// naked message may go to another member; only an ephemeral keeps it as
	// "not yet settled" for a recreate.
	straggler := s.streamNew && !s.streamBorn.IsZero() && d.md.ts.Before(s.streamBorn)
	if !straggler && (done || s.durable) {
		delete(s.unsettled, d.md.seq)
	}
	s.mu.Unlock()
	return nil
}

func (d *delivery) Ack() error { return d.respond(ackAck, true) }
func (d *delivery) Nak() error { return d.respond(ackNak, false) }
func (d *delivery) Term() error {
	return d.respond(ackTerm, true)
}

func (d *delivery) NakWithDelay(delay time.Duration) error {
	if delay <= 0 {
		return d.Nak()
	}
	return d.respond([]byte(fmt.Sprintf(`-NAK {"delay":%d}`, delay.Nanoseconds())), false)
}
