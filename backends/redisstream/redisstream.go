package redisstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
)

func init() {
	core.Register(core.DriverRedisStream, New)
}

// Entry field names. A message mqscope publishes is an entry with a "data"
// field (the payload, binary-safe) and, when it has headers, a "headers"
// field holding the JSON of core.Header.
const (
	FieldData    = "data"
	FieldHeaders = "headers"
)

// MaxTopicLen bounds a topic (a Redis key) so that a pasted payload is not
// taken for a stream name.
const MaxTopicLen = 512

// Backend is the Redis Streams driver. It implements core.Backend and
// core.OperatorBackend.
type Backend struct {
	rdb     redis.UniversalClient
	cfg     core.Config
	logger  *slog.Logger
	version serverVersion
	pub     *publisher

	// blockFor bounds XREAD/XREADGROUP BLOCK so that stopping a
	// subscription never waits longer than this for a blocked read.
	blockFor time.Duration

	// noTopicScript: Topics reads XINFO STREAM, not topicSummaryScript
	// (the server refused it); topicScriptLoaded: SCRIPT LOAD succeeded
	noTopicScript, topicScriptLoaded atomic.Bool

	mu        sync.Mutex
	closed    bool
	consumers map[string]int // topic\x00group\x00consumer -> users
}

var (
	_ core.Backend         = (*Backend)(nil)
	_ core.OperatorBackend = (*Backend)(nil)
)

// New is the factory registered with core for core.DriverRedisStream.
func New(ctx context.Context, deps core.Deps) (core.Backend, error) {
	if deps.Redis == nil {
		return nil, errors.New("redis stream: no Redis connection (core.WithRedisConnector or Config.RedisURL)")
	}
	logger := deps.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &Backend{
		rdb:       deps.Redis,
		cfg:       deps.Config,
		logger:    logger,
		blockFor:  500 * time.Millisecond,
		consumers: map[string]int{},
	}
	b.version = detectVersion(ctx, deps.Redis)
	if v := versionOverride.Load(); v != nil {
		b.version = parseVersion("redis_version:" + *v)
	}
	if b.version.raw == "" {
		logger.Warn("redis stream: could not read the server version (INFO server); assuming Redis 7", "err", b.version.err)
	}
	b.pub = newPublisher(deps.Redis, logger)
	return b, nil
}

// ServerVersion is the connected server's version as INFO reports it ("" when unknown).
func (b *Backend) ServerVersion() string { return b.version.raw }

// Operator implements core.Backend.
func (b *Backend) Operator() core.OperatorBackend { return b }

// Close refuses new subscriptions and stops the publisher (core.Client has
// stopped the subscriptions, draining their handlers, before it calls
// Close). It never closes the injected Redis client.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	b.mu.Unlock()
	b.pub.close()
	return nil
}

// ValidateTopic implements core.Backend. Any byte string is a valid Redis
// key; mqscope refuses what is almost certainly a mistake.
func (b *Backend) ValidateTopic(topic string, wildcard bool) error {
	bad := func(problem string) error {
		return fmt.Errorf("redis stream %q: %s: %w", topic, problem, core.ErrInvalidTopic)
	}
	if topic == "" {
		return fmt.Errorf("redis stream: topic is empty: %w", core.ErrInvalidTopic)
	}
	if len(topic) > MaxTopicLen {
		return fmt.Errorf("redis stream %q…: topic is %d bytes long, at most %d allowed: %w", topic[:32], len(topic), MaxTopicLen, core.ErrInvalidTopic)
	}
	if !utf8.ValidString(topic) {
		return bad("topic is not valid UTF-8")
	}
	for _, r := range topic {
		if unicode.IsSpace(r) {
			return bad(fmt.Sprintf("contains whitespace %q", r))
		}
		if unicode.IsControl(r) {
			return bad(fmt.Sprintf("contains control character %q", r))
		}
	}
	if strings.ContainsAny(topic, "*?") {
		if wildcard {
			return bad("Redis streams cannot be subscribed or tailed by pattern; name one stream")
		}
		return bad("contains a glob character (* or ?), which Redis streams do not expand")
	}
	return nil
}

// versionOverride makes New act as if the server had this version (tests
// of the Redis < 6.2 / < 7.0 fallbacks against a newer server).
var versionOverride atomic.Pointer[string]

// serverVersion is what the backend knows about the server.
type serverVersion struct {
	raw          string
	major, minor int
	err          error
}

func detectVersion(ctx context.Context, rdb redis.UniversalClient) serverVersion {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return clusterVersion(ctx, cc) // the lowest of the masters'
	}
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return serverVersion{err: err, major: 7}
	}
	return parseVersion(info)
}

func parseVersion(info string) serverVersion {
	for _, line := range strings.Split(info, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:")
		if !ok {
			continue
		}
		sv := serverVersion{raw: v}
		parts := strings.SplitN(v, ".", 3)
		sv.major, _ = strconv.Atoi(parts[0])
		if len(parts) > 1 {
			sv.minor, _ = strconv.Atoi(parts[1])
		}
		return sv
	}
	return serverVersion{major: 7, err: errors.New("no redis_version in INFO server")}
}

func (v serverVersion) atLeast(major, minor int) bool {
	return v.major > major || (v.major == major && v.minor >= minor)
}

// hasAutoClaim: XAUTOCLAIM and XPENDING IDLE arrived in Redis 6.2.
func (v serverVersion) hasAutoClaim() bool { return v.atLeast(6, 2) }

// hasLag: XINFO GROUPS entries-read/lag and XAUTOCLAIM's deleted ids arrived in 7.0.
func (v serverVersion) hasLag() bool { return v.atLeast(7, 0) }

// ---- ids and positions ----

// parseID splits a full entry id "ms-seq".
func parseID(id string) (ms, seq uint64, ok bool) {
	a, b, found := strings.Cut(id, "-")
	var err error
	if ms, err = strconv.ParseUint(a, 10, 64); err != nil {
		return 0, 0, false
	}
	if !found {
		return ms, 0, true
	}
	if seq, err = strconv.ParseUint(b, 10, 64); err != nil {
		return 0, 0, false
	}
	return ms, seq, true
}

func validID(id string) error {
	if _, _, ok := parseID(id); !ok {
		return fmt.Errorf("redis stream: %q is not an entry id (want <ms>-<seq>, e.g. 1700000000000-0)", id)
	}
	return nil
}

// idTime is when the entry was added, from its id.
func idTime(id string) time.Time {
	ms, _, ok := parseID(id)
	if !ok || ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms))
}

// prevID is the id just before id, so that "after prevID(x)" includes x.
func prevID(id string) string {
	ms, seq, ok := parseID(id)
	if !ok {
		return id
	}
	if !strings.Contains(id, "-") {
		seq = 0
	}
	switch {
	case seq > 0:
		return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq-1, 10)
	case ms > 0:
		return strconv.FormatUint(ms-1, 10) + "-18446744073709551615"
	}
	return "0-0"
}

// nextID is the id just after id (for exclusive range continuation).
func nextID(id string) string {
	ms, seq, ok := parseID(id)
	if !ok {
		return id
	}
	if seq == ^uint64(0) {
		return strconv.FormatUint(ms+1, 10) + "-0"
	}
	return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq+1, 10)
}

func compareID(a, b string) int {
	am, as, _ := parseID(a)
	bm, bs, _ := parseID(b)
	switch {
	case am < bm:
		return -1
	case am > bm:
		return 1
	case as < bs:
		return -1
	case as > bs:
		return 1
	}
	return 0
}

func timeID(t time.Time) string {
	ms := t.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	return strconv.FormatInt(ms, 10) + "-0"
}

// afterID resolves p to the id after which reading starts (XREAD / XGROUP
// CREATE semantics: entries strictly greater). "$" is returned for PosNew
// only when dollar is allowed (group creation resolves it atomically).
func (b *Backend) afterID(ctx context.Context, stream string, p core.Position, dollar bool) (string, error) {
	switch p.Kind {
	case core.PosNew:
		if dollar {
			return "$", nil
		}
		last, err := b.rdb.XRevRangeN(ctx, stream, "+", "-", 1).Result()
		if err != nil {
			return "", fmt.Errorf("redis stream %q: xrevrange (resolve start): %w", stream, err)
		}
		if len(last) == 0 {
			return "0-0", nil
		}
		return last[0].ID, nil
	case core.PosAll:
		return "0-0", nil
	case core.PosID:
		if err := validID(p.ID); err != nil {
			return "", err
		}
		return prevID(p.ID), nil
	case core.PosTime:
		return prevID(timeID(p.Time)), nil
	case core.PosLast:
		msgs, err := b.rdb.XRevRangeN(ctx, stream, "+", "-", int64(p.N)).Result()
		if err != nil {
			return "", fmt.Errorf("redis stream %q: xrevrange (resolve last %d): %w", stream, p.N, err)
		}
		if len(msgs) == 0 {
			return "0-0", nil
		}
		return prevID(msgs[len(msgs)-1].ID), nil
	case core.PosSeq:
		return "", &core.UnsupportedError{Op: core.OpStartPosition, Reason: "Redis streams have entry ids, not sequences: use an id (1700000000000-0) or a time"}
	}
	return "", fmt.Errorf("redis stream %q: unknown position %v", stream, p)
}

// ---- entry encoding ----

func encodeValues(m *core.OutgoingMessage) ([]any, error) {
	h := m.Header
	if m.MsgID != "" {
		h = h.Clone()
		if h == nil {
			h = core.Header{}
		}
		h.Set(core.HeaderMsgID, m.MsgID)
	}
	data := m.Data
	if data == nil {
		data = []byte{}
	}
	if len(h) == 0 {
		return []any{FieldData, data}, nil
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encode headers: %w", err)
	}
	return []any{FieldData, data, FieldHeaders, hj}, nil
}

func headerValues(h core.Header, data []byte) ([]any, error) {
	return encodeValues(&core.OutgoingMessage{Data: data, Header: h})
}

// decodeValues turns an entry's fields into payload and headers. Entries
// written by other producers (anything but data[+headers]) become a JSON
// object of their fields, with no headers.
func decodeValues(v map[string]any) ([]byte, core.Header) {
	d, hasData := v[FieldData]
	ours := hasData
	for k := range v {
		if k != FieldData && k != FieldHeaders {
			ours = false
			break
		}
	}
	if ours {
		var h core.Header
		if hs, ok := v[FieldHeaders]; ok {
			if err := json.Unmarshal([]byte(toString(hs)), &h); err != nil {
				h = core.Header{"Mq-Undecodable-Headers": {toString(hs)}}
			}
		}
		return []byte(toString(d)), h
	}
	fields := make(map[string]string, len(v))
	for k, x := range v {
		fields[k] = toString(x)
	}
	out, _ := json.Marshal(fields)
	return out, nil
}

func toString(x any) string {
	switch s := x.(type) {
	case string:
		return s
	case []byte:
		return string(s)
	case nil:
		return ""
	}
	return fmt.Sprint(x)
}

// isNoGroup: the group or the stream is gone (also when a blocked
// XREADGROUP is woken because its stream was deleted).
func isNoGroup(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "NOGROUP") || strings.Contains(s, "UNBLOCKED the stream key no longer exists")
}

func isBusyGroup(err error) bool {
	return err != nil && strings.Contains(err.Error(), "BUSYGROUP")
}

func (b *Backend) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}
