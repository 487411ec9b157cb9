// Package jetstream is mqscope's NATS JetStream backend; importing it
// registers core.DriverJetStream.
//
// Mapping (see core's contract):
//   - a topic is a subject; it is stored by the stream whose subjects capture
//     it (found with the server's stream-by-subject lookup and cached). No
//     stream is an error wrapping core.ErrNoStream unless
//     Config.CreateStreams, which creates one file-backed stream per topic.
//   - Publish waits for the PubAck, with many publishes in flight on one
//     connection (async publish + a wait on the future per call).
//     PublishAsync (publish_async.go) resolves core's future from the PubAck
//     handler: up to 4 096 in flight, then it waits for room (or ctx).
//   - Subscribe with a group shares one durable pull consumer named from
//     the group; without a group every subscriber gets its own ephemeral
//     pull consumer (removed on Unsubscribe, or by the server after
//     inactivity). Messages are fetched one batch at a time; messages waiting
//     in the client are kept alive with InProgress so their AckWait is not
//     spent before the handler sees them.
package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/natsubject"
)

func init() {
	core.Register(core.DriverJetStream, New)
}

// Backend is the JetStream implementation of core.Backend.
type Backend struct {
	cfg    core.Config
	nc     *nats.Conn
	js     jetstream.JetStream
	logger *slog.Logger

	streams sync.Map // topic -> stream name (positive lookups only); read on every publish

	// Subscriptions are core.Client's to track and stop (it does so
	// before Close); tails are this backend's own.
	mu      sync.Mutex
	tails   map[*tailHandle]struct{}
	cursors map[cursorKey]*parkedCursor // forward browses between pages (cursor.go)
	closed  bool

	createMu sync.Mutex // serialises stream creation for CreateStreams

	op *operator

	apub *asyncPublisher // PublishAsync (publish_async.go)
}

var (
	_ core.Backend         = (*Backend)(nil)
	_ core.OperatorBackend = (*operator)(nil)
)

// New is the driver factory. It uses deps.NATS and never closes it.
func New(ctx context.Context, deps core.Deps) (core.Backend, error) {
	if deps.NATS == nil {
		return nil, errors.New("jetstream: no NATS connection (core.Deps.NATS is nil)")
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(deps.NATS,
		jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncTimeout(30*time.Second))
	if err != nil {
		return nil, fmt.Errorf("jetstream: new context: %w", err)
	}
	b := &Backend{
		cfg:     deps.Config,
		nc:      deps.NATS,
		js:      js,
		logger:  logger,
		tails:   map[*tailHandle]struct{}{},
		cursors: map[cursorKey]*parkedCursor{},
	}
	b.op = &operator{b: b}
	if b.apub, err = newAsyncPublisher(b); err != nil {
		return nil, err
	}
	// Fail early, and say so, when the server has no JetStream.
	if _, err := js.AccountInfo(ctx); err != nil {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return nil, fmt.Errorf("jetstream: server %s has JetStream disabled (start nats-server with -js): %w", core.RedactURL(deps.NATS.ConnectedUrl()), err)
		}
		return nil, fmt.Errorf("jetstream: account info from %s: %w", core.RedactURL(deps.NATS.ConnectedUrl()), err)
	}
	return b, nil
}

// JetStream exposes the underlying jetstream context (for tools and tests).
func (b *Backend) JetStream() jetstream.JetStream { return b.js }

// Operator implements core.Backend.
func (b *Backend) Operator() core.OperatorBackend { return b.op }

// ValidateTopic implements core.Backend with NATS subject rules.
func (b *Backend) ValidateTopic(topic string, wildcard bool) error {
	return natsubject.Validate(topic, wildcard)
}

// subjectMatches reports whether subject (literal) matches pattern.
func subjectMatches(pattern, subject string) bool {
	pt := strings.Split(pattern, ".")
	st := strings.Split(subject, ".")
	for i, p := range pt {
		if p == ">" {
			return len(st) > i
		}
		if i >= len(st) {
			return false
		}
		if p != "*" && p != st[i] {
			return false
		}
	}
	return len(pt) == len(st)
}

// subjectsOverlap reports whether two (possibly wildcard) subjects can match
// a common literal subject.
func subjectsOverlap(a, b string) bool {
	at := strings.Split(a, ".")
	bt := strings.Split(b, ".")
	for i := 0; ; i++ {
		if i == len(at) || i == len(bt) {
			return len(at) == len(bt)
		}
		x, y := at[i], bt[i]
		if x == ">" || y == ">" {
			return true
		}
		if x != "*" && y != "*" && x != y {
			return false
		}
	}
}

// subjectSubset reports whether every subject matched by sub is matched by
// super.
func subjectSubset(sub, super string) bool {
	st := strings.Split(sub, ".")
	pt := strings.Split(super, ".")
	for i, p := range pt {
		if p == ">" {
			return len(st) > i
		}
		if i >= len(st) {
			return false
		}
		s := st[i]
		if s == ">" {
			return false
		}
		if p == "*" {
			continue
		}
		if s == "*" || s != p {
			return false
		}
	}
	return len(pt) == len(st)
}

// sanitizeName turns a topic or group into a valid stream/consumer name.
func sanitizeName(s string) string {
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r == '.' || r == '*' || r == '>' || r == '/' || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r):
			sb.WriteByte('_')
		default:
			sb.WriteRune(r)
		}
	}
	out := sb.String()
	if len(out) > 200 {
		out = out[:180] + "_" + shortHash(s)
	}
	return out
}

func shortHash(s string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return fmt.Sprintf("%08x", h.Sum32())
}

func (b *Backend) errNoStream(subject string) error {
	return fmt.Errorf("jetstream: subject %q: %w: create a stream whose subjects include it (for example: nats stream add %s --subjects %q), or set core.Config.CreateStreams to let mqscope create one",
		subject, core.ErrNoStream, sanitizeName(subject), subject)
}

// streamFor finds the stream capturing subject (cached), creating one when
// create is set and none does.
func (b *Backend) streamFor(ctx context.Context, subject string, create bool) (string, error) {
	if name, ok := b.streams.Load(subject); ok {
		return name.(string), nil
	}
	name, err := b.lookupStream(ctx, subject)
	if err == nil {
		b.cacheStream(subject, name)
		return name, nil
	}
	if !errors.Is(err, core.ErrNoStream) || !create {
		return "", err
	}
	return b.createStream(ctx, subject)
}

func (b *Backend) cacheStream(subject, name string) { b.streams.Store(subject, name) }

func (b *Backend) forgetStream(subject string) { b.streams.Delete(subject) }

// forgetStreamName drops every cached topic of a stream (after deleting or
// when it went away).
func (b *Backend) forgetStreamName(stream string) {
	b.streams.Range(func(k, v any) bool {
		if v.(string) == stream {
			b.streams.Delete(k)
		}
		return true
	})
}

func (b *Backend) lookupStream(ctx context.Context, subject string) (string, error) {
	// The server's filter matches streams whose subjects overlap the
	// filter; keep only one that stores every subject of ours.
	lister := b.js.ListStreams(ctx, jetstream.WithStreamListSubject(subject))
	var partial string
	for si := range lister.Info() {
		for _, s := range si.Config.Subjects {
			if subjectSubset(subject, s) {
				return si.Config.Name, nil
			}
		}
		if partial == "" {
			partial = si.Config.Name
		}
	}
	if err := lister.Err(); err != nil && !errors.Is(err, jetstream.ErrEndOfData) {
		return "", fmt.Errorf("jetstream: find the stream for subject %q: %w", subject, err)
	}
	if partial != "" && natsubject.HasWildcard(subject) {
		// A wildcard topic partly captured (orders.> over a stream of
		// orders.eu.*) still works: the consumer sees what is stored.
		return partial, nil
	}
	return "", b.errNoStream(subject)
}

func (b *Backend) createStream(ctx context.Context, subject string) (string, error) {
	b.createMu.Lock()
	defer b.createMu.Unlock()
	if name, err := b.lookupStream(ctx, subject); err == nil {
		b.cacheStream(subject, name)
		return name, nil
	}
	name := sanitizeName(subject)
	cfg := jetstream.StreamConfig{
		Name:        name,
		Subjects:    []string{subject},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		AllowDirect: true,
		Description: "created by mqscope for " + subject,
	}
	_, err := b.js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// Another topic sanitised to the same name ("a.b" and "a_b").
		cfg.Name = name + "_" + shortHash(subject)
		_, err = b.js.CreateStream(ctx, cfg)
	}
	if err != nil {
		if name2, lerr := b.lookupStream(ctx, subject); lerr == nil {
			b.cacheStream(subject, name2) // someone else created it meanwhile
			return name2, nil
		}
		return "", fmt.Errorf("jetstream: create stream %q for subject %q: %w", cfg.Name, subject, err)
	}
	b.logger.Info("jetstream: created stream", "stream", cfg.Name, "subject", subject)
	b.cacheStream(subject, cfg.Name)
	return cfg.Name, nil
}

// Publish implements core.Backend: it returns after the PubAck.
func (b *Backend) Publish(ctx context.Context, topic string, m *core.OutgoingMessage) error {
	_, err := b.publish(ctx, topic, m)
	return err
}

// publish is Publish returning the PubAck.
func (b *Backend) publish(ctx context.Context, topic string, m *core.OutgoingMessage) (*jetstream.PubAck, error) {
	if _, err := b.streamFor(ctx, topic, b.cfg.CreateStreams); err != nil {
		return nil, err
	}
	ack, err := b.publishAck(ctx, topic, m.Data, m.Header, m.MsgID)
	if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
		// The cached stream went away: look again (and create if allowed).
		b.forgetStream(topic)
		if _, serr := b.streamFor(ctx, topic, b.cfg.CreateStreams); serr != nil {
			return nil, serr
		}
		ack, err = b.publishAck(ctx, topic, m.Data, m.Header, m.MsgID)
	}
	return ack, err
}

// publishAck publishes and waits for the PubAck (used by Publish and by the
// operator's copy-then-remove actions).
func (b *Backend) publishAck(ctx context.Context, subject string, data []byte, h core.Header, msgID string) (*jetstream.PubAck, error) {
	msg := &nats.Msg{Subject: subject, Data: data}
	if len(h) > 0 || msgID != "" {
		msg.Header = make(nats.Header, len(h)+1)
		for k, v := range h {
			msg.Header[k] = append([]string(nil), v...)
		}
	}
	var opts []jetstream.PublishOpt
	if msgID != "" {
		opts = append(opts, jetstream.WithMsgID(msgID))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("jetstream: publish to %q: %w", subject, err)
	}
	paf, err := b.js.PublishMsgAsync(msg, opts...)
	if err != nil {
		return nil, fmt.Errorf("jetstream: publish to %q: %w", subject, err)
	}
	select {
	case ack := <-paf.Ok():
		return ack, nil
	case err := <-paf.Err():
		return nil, fmt.Errorf("jetstream: publish to %q: %w", subject, err)
	case <-ctx.Done():
		return nil, fmt.Errorf("jetstream: publish to %q: waiting for the ack: %w", subject, ctx.Err())
	}
}

// Close implements core.Backend: it refuses new subscriptions and stops
// the tails (core.Client has stopped the subscriptions, waiting for their
// handlers, before it calls Close); the NATS connection is the caller's.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	tails := make([]*tailHandle, 0, len(b.tails))
	for t := range b.tails {
		tails = append(tails, t)
	}
	b.mu.Unlock()
	for _, t := range tails {
		t.stop()
	}
	b.closeCursors()
	b.apub.close()
	return nil
}

func (b *Backend) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// opTimeout bounds one broker round trip of an operator action, so a
// request lost with a dying connection fails (and is retried or reported)
// instead of using up the caller's whole deadline.
const opTimeout = 3 * time.Second

// withOpTimeout is ctx bounded by opTimeout.
func withOpTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, opTimeout)
}

type msgGetRequest struct {
	Seq     uint64 `json:"seq,omitempty"`
	LastFor string `json:"last_by_subj,omitempty"`
	NextFor string `json:"next_by_subj,omitempty"`
}

type msgGetResponse struct {
	Error *struct {
		Code        int    `json:"code"`
		ErrCode     int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error"`
	Message *struct {
		Subject string    `json:"subject"`
		Seq     uint64    `json:"seq"`
		Header  []byte    `json:"hdrs"`
		Data    []byte    `json:"data"`
		Time    time.Time `json:"time"`
	} `json:"message"`
}

// getMsg reads one stored message with the stream's get API. It avoids
// direct get on purpose: a direct get appends Nats-Sequence, Nats-Subject…
// to the stored headers, so a message that was itself copied from a direct
// get (replay, DLQ) would report the wrong sequence; this API returns the
// stored headers exactly. It never creates a consumer.
func (b *Backend) getMsg(ctx context.Context, stream string, req msgGetRequest) (*jetstream.RawStreamMsg, error) {
	// Bounded even under a long caller deadline: a request written just as
	// the connection dies gets no answer, and the caller retries.
	ctx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	body, _ := json.Marshal(req)
	m, err := b.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, body)
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			return nil, fmt.Errorf("stream %q: no JetStream responder: %w", stream, err)
		}
		return nil, err
	}
	return decodeMsgGet(stream, m.Data)
}

// decodeMsgGet reads a STREAM.MSG.GET reply.
func decodeMsgGet(stream string, data []byte) (*jetstream.RawStreamMsg, error) {
	var resp msgGetResponse
	if err := json.Unmarshal(data, &resp); err != nil {
		return nil, fmt.Errorf("stream %q: bad get response: %w", stream, err)
	}
	if resp.Error != nil {
		switch resp.Error.ErrCode {
		case 10037:
			return nil, jetstream.ErrMsgNotFound
		case 10059:
			return nil, jetstream.ErrStreamNotFound
		}
		return nil, fmt.Errorf("stream %q: get: %s (%d)", stream, resp.Error.Description, resp.Error.ErrCode)
	}
	if resp.Message == nil {
		return nil, fmt.Errorf("stream %q: empty get response", stream)
	}
	out := &jetstream.RawStreamMsg{Subject: resp.Message.Subject, Sequence: resp.Message.Seq, Data: resp.Message.Data, Time: resp.Message.Time}
	if len(resp.Message.Header) > 0 {
		h, err := nats.DecodeHeadersMsg(resp.Message.Header)
		if err != nil {
			return nil, fmt.Errorf("stream %q: message %d: bad headers: %w", stream, out.Sequence, err)
		}
		out.Header = h
	}
	return out, nil
}

// nextMsg is the first message at or after seq on subject filter. Older
// servers (seen on 2.9.10) answer "not found" for next_by_subj when seq is
// the stream's last sequence, so an exact get is tried before giving up.
func (b *Backend) nextMsg(ctx context.Context, stream string, seq uint64, filter string) (*jetstream.RawStreamMsg, error) {
	m, err := b.getMsg(ctx, stream, msgGetRequest{Seq: seq, NextFor: filter})
	if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return m, err
	}
	m, err2 := b.getMsg(ctx, stream, msgGetRequest{Seq: seq})
	if err2 == nil && (filter == "" || subjectMatches(filter, m.Subject)) {
		return m, nil
	}
	return nil, err
}
