package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"
)

// SubscribeSpec is a validated Subscribe call as a backend receives it.
type SubscribeSpec struct {
	Topic           string
	Group           string // "" = broadcast (every subscriber gets every message)
	Consumer        string // this member's name inside Group
	ManualAck       bool
	BatchSize       int
	Retry           RetryPolicy
	DeadLetter      bool
	DeadLetterTopic string
	Start           Position
	ClaimIdle       time.Duration

	retrySet bool

	// StartSet says whether the caller chose Start (otherwise it holds the
	// default: StartAll for a new group, StartNew without one).
	StartSet bool

	handler Handler
	client  *Client
	logger  *slog.Logger
	met     *subMetrics // nil without metrics
}

// Delivery is a received message as a backend hands it to Deliver.
type Delivery interface {
	Message
	// NakWithDelay asks for redelivery after d (JetStream NakWithDelay; Redis
	// leaves it pending and reclaims it after d; NATS Core retries locally).
	NakWithDelay(d time.Duration) error
	// Term stops redelivery for good (JetStream Term; elsewhere an ack).
	Term() error
}

// MaxAttempts is the delivery bound in force (0 = unlimited).
func (s *SubscribeSpec) MaxAttempts() int { return s.Retry.MaxAttempts }

// Deliver runs the handler for one message and settles it: ack on success
// (auto-ack), nak with the retry delay on failure, dead-letter (publish to the
// DLQ, confirmed, then ack) after the last attempt. Backends call it for every
// message, from the subscription's goroutine; it never panics.
func (s *SubscribeSpec) Deliver(ctx context.Context, d Delivery) {
	s.DeliverTracked(ctx, &Tracked{Delivery: d})
}

// DeliverTracked is Deliver for a backend whose delivery embeds Tracked
// (with Tracked.Delivery pointing back at it), saving a wrapper allocation
// per message on the hot path.
func (s *SubscribeSpec) DeliverTracked(ctx context.Context, m *Tracked) {
	err := s.handle(m)
	if err == nil {
		if !s.ManualAck && !m.settled() {
			if aerr := m.Ack(); aerr != nil {
				s.logger.Warn("mq: ack failed", "id", m.ID(), "err", aerr)
				return
			}
		}
		if m.acked() {
			s.met.ackedOne()
		}
		return
	}
	if m.settled() {
		// The handler acked (or naked) and still returned an error: respect
		// what it did explicitly.
		return
	}
	s.failed(ctx, m.Delivery, err)
}

// Untracked is what DeliverUntracked needs of the backend's subscription
// for the message in flight (the backend keeps one message's settle state,
// not one per message).
type Untracked interface {
	// Finish ends the handler's turn: from now on an Ack or Nak of the
	// message does nothing. It says whether the handler acked or naked it.
	Finish() (acked, naked bool)
	// Full is the message as a Delivery for retry or dead-letter; called
	// only after a failure the handler did not settle itself.
	Full() Delivery
}

// DeliverUntracked is DeliverTracked for a backend whose Ack is a no-op
// (NATS Core) and whose Message costs nothing to build: m carries no settle
// tracking and u keeps it for the message in flight, so a successful
// delivery allocates nothing. Not for ManualAck subscriptions (a message
// kept past the handler must still settle there). Like Deliver, it never
// panics.
func (s *SubscribeSpec) DeliverUntracked(ctx context.Context, m Message, u Untracked) {
	err := s.handle(m)
	acked, naked := u.Finish()
	if err == nil {
		if !naked { // auto-acked, or acked by the handler
			s.met.ackedOne()
		}
		return
	}
	if acked || naked {
		return // the handler settled it and still failed: respect that
	}
	s.failed(ctx, u.Full(), err)
}

// handle runs the handler under recover, with metrics when registered.
func (s *SubscribeSpec) handle(m Message) error {
	met := s.met
	if met == nil {
		return s.runHandler(m)
	}
	// The clock is not free: read it only to record.
	met.receivedAt(m.Timestamp())
	start := time.Now()
	err := s.runHandler(m)
	met.handled(time.Since(start), err)
	return err
}

// failed settles a delivery whose handler failed without settling it: nak
// with the retry delay, or after the last attempt dead-letter or give up.
func (s *SubscribeSpec) failed(ctx context.Context, d Delivery, err error) {
	met := s.met
	n := d.Deliveries()
	s.logger.Debug("mq: handler failed", "id", d.ID(), "delivery", n, "err", err)
	if max := s.Retry.MaxAttempts; max > 0 && n >= max {
		if s.DeadLetter {
			if derr := s.deadLetter(ctx, d, n, err); derr != nil {
				// Nothing is lost: the original stays unacked and comes back.
				s.logger.Error("mq: dead-letter failed; message left for redelivery", "id", d.ID(), "dlq", s.DeadLetterTopic, "err", derr)
				_ = d.NakWithDelay(s.Retry.Delay(n))
				met.nakedOne()
				return
			}
			met.deadLetteredOne()
			if aerr := d.Ack(); aerr != nil {
				s.logger.Warn("mq: ack after dead-letter failed; the message may be dead-lettered twice", "id", d.ID(), "err", aerr)
			}
			return
		}
		s.logger.Warn("mq: giving up on message after max attempts", "id", d.ID(), "attempts", n, "err", err)
		_ = d.Term()
		return
	}
	if nerr := d.NakWithDelay(s.Retry.Delay(n)); nerr != nil {
		s.logger.Warn("mq: nak failed", "id", d.ID(), "err", nerr)
	}
	met.nakedOne()
}

func (s *SubscribeSpec) runHandler(m Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("mq: handler panicked: %v", r)
			s.logger.Error("mq: handler panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	return s.handler(m)
}

func (s *SubscribeSpec) deadLetter(ctx context.Context, d Delivery, deliveries int, cause error) error {
	h := d.Header().Clone()
	if h == nil {
		h = Header{}
	}
	h.Set(HeaderOriginTopic, d.Topic())
	h.Set(HeaderOriginID, d.ID())
	if s.Group != "" {
		h.Set(HeaderOriginGroup, s.Group)
	}
	if s.Consumer != "" {
		h.Set(HeaderOriginConsumer, s.Consumer)
	}
	h.Set(HeaderDeliveries, strconv.Itoa(deliveries))
	h.Set(HeaderLastError, truncate(cause.Error(), 1024))
	h.Set(HeaderReason, "max deliveries reached")
	h.Set(HeaderDeadLetteredAt, time.Now().UTC().Format(time.RFC3339Nano))
	delete(h, HeaderMsgID) // the DLQ copy must not be de-duplicated away
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return s.client.backend.Publish(pctx, s.DeadLetterTopic, &OutgoingMessage{Data: d.Data(), Header: h})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Tracked is a Delivery whose settlement core tracks: the handler is given
// the Tracked, so an Ack or Nak it makes itself is seen and auto-ack does
// not settle the message a second time. Backends may embed it in their
// delivery type and call DeliverTracked (one allocation per message instead
// of two).
type Tracked struct {
	Delivery
	state atomic.Uint32 // trackAcked | trackNaked | trackBusy
}

const (
	trackAcked = 1 << iota
	trackNaked
	trackBusy // an Ack or Nak is on its way to the broker
)

// begin marks an Ack or Nak in flight, waiting out one already in flight
// (a handler may settle from another goroutine while Deliver looks), and
// returns the state it started from; ok is false when want says the call
// has nothing left to do in that state.
func (m *Tracked) begin(want func(st uint32) bool) (st uint32, ok bool) {
	for spins := 0; ; spins++ {
		st = m.state.Load()
		if st&trackBusy != 0 {
			pause(spins)
			continue
		}
		if !want(st) {
			return st, false
		}
		if m.state.CompareAndSwap(st, st|trackBusy) {
			return st, true
		}
	}
}

// Ack acknowledges once; after a successful ack further calls return nil.
// A failed ack can be tried again.
func (m *Tracked) Ack() error {
	st, ok := m.begin(func(st uint32) bool { return st&trackAcked == 0 })
	if !ok {
		return nil
	}
	err := m.Delivery.Ack()
	if err == nil {
		st |= trackAcked
	}
	m.state.Store(st)
	return err
}

// Nak hands the message back once; after an ack or a nak it does nothing.
func (m *Tracked) Nak() error {
	st, ok := m.begin(func(st uint32) bool { return st == 0 })
	if !ok {
		return nil
	}
	err := m.Delivery.Nak()
	m.state.Store(st | trackNaked)
	return err
}

func (m *Tracked) acked() bool { return m.state.Load()&trackAcked != 0 }

// settled waits out an Ack or Nak in flight, then says whether either
// happened.
func (m *Tracked) settled() bool {
	for spins := 0; ; spins++ {
		st := m.state.Load()
		if st&trackBusy == 0 {
			return st != 0
		}
		pause(spins)
	}
}

// pause waits for another goroutine's Ack or Nak: a yield at first, then
// short sleeps, so an ack stuck on the network does not burn a core.
func pause(spins int) {
	if spins < 50 {
		runtime.Gosched()
		return
	}
	time.Sleep(100 * time.Microsecond)
}

var errNilHandler = errors.New("mq: Subscribe: nil handler")
