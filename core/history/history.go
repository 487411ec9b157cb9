// Package history keeps a bounded, per-context history of what the console
// samples on each refresh: per-topic message counts and rates, per-group
// pending, lag and delivered counters. The trend signals (trend.go) read it.
//
// One Store serves a whole process: several console sessions on the same
// context (mqscope serve shares one broker client per context) record into
// the same series, and a sample closer than Config.MinGap to the previous
// one of its series is dropped, so two sessions refreshing the same context
// do not double the sample rate. Memory is fixed: a ring of at most
// Config.MaxPoints points per series and at most Config.MaxSeries series per
// context (the least recently sampled one goes first). With Config.Dir set,
// each context's samples are appended to a file there and read back on the
// first sample after a restart; the file is rewritten from memory when it
// holds twice what memory does, so it never grows without bound.
package history

import (
	"cmp"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/mqscope/mqscope/core"
)

// Defaults of Config.
const (
	DefaultRetention = time.Hour
	DefaultMaxPoints = 720 // an hour at one sample every 5 s
	DefaultMaxSeries = 1000
	DefaultMinGap    = time.Second
)

// Config bounds a Store. Zero values are the defaults.
type Config struct {
	// Retention: points older than this are not returned and not persisted.
	Retention time.Duration
	// MaxPoints is the ring size of one series.
	MaxPoints int
	// MaxSeries is how many series one context keeps.
	MaxSeries int
	// MinGap: a sample closer than this to the previous one of its series
	// is dropped. Set it to about 3/4 of the refresh interval: sessions
	// refreshing the same context at any phase then keep about one sample
	// per interval (at half, two sessions half an interval apart would
	// both be kept), while one session's own jittery ticks are not lost.
	MinGap time.Duration
	// Dir, when set, persists each context's samples in Dir/<context>.hist.
	Dir    string
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Retention <= 0 {
		c.Retention = DefaultRetention
	}
	if c.MaxPoints <= 0 {
		c.MaxPoints = DefaultMaxPoints
	}
	if c.MaxSeries <= 0 {
		c.MaxSeries = DefaultMaxSeries
	}
	if c.MinGap <= 0 {
		c.MinGap = DefaultMinGap
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// TopicPoint is one sample of a topic.
type TopicPoint struct {
	At       time.Time
	Messages uint64
	// Rate is messages per second in, as core computed it for the sample
	// (the change of Messages, or observed on NATS Core).
	Rate float64
}

// GroupPoint is one sample of a group.
type GroupPoint struct {
	At      time.Time
	Pending int64 // delivered, not acked
	Lag     int64 // not yet delivered; -1 unknown
	// Delivered is a counter that grows by one per message delivered to
	// the group: Redis' entries-read, JetStream's delivered stream
	// sequence. -1 when the backend does not give one (Redis before 7).
	Delivered int64
}

// Backlog is what the group has not processed yet: pending plus lag.
func (p GroupPoint) Backlog() int64 { return p.Pending + max(p.Lag, 0) }

// Acked is a counter of processed messages (Delivered minus Pending); ok is
// false when the backend gives no delivered counter.
func (p GroupPoint) Acked() (int64, bool) {
	if p.Delivered < 0 {
		return 0, false
	}
	return p.Delivered - p.Pending, true
}

// GroupSample turns what the backend reported into a point.
func GroupSample(at time.Time, g core.GroupInfo) GroupPoint {
	p := GroupPoint{At: at, Pending: g.Pending, Lag: g.Lag, Delivered: -1}
	if s, ok := g.Extra["entries-read"]; ok { // Redis 7
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
			p.Delivered = n
		}
	} else if n, err := strconv.ParseInt(g.LastDelivered, 10, 64); err == nil && n >= 0 { // JetStream
		p.Delivered = n
	}
	return p
}

// point is the packed form of both kinds: 32 bytes.
type point struct {
	at      int64 // unix milliseconds
	a, b, c int64
}

func topicPoint(p point) TopicPoint {
	return TopicPoint{At: time.UnixMilli(p.at), Messages: uint64(p.a), Rate: math.Float64frombits(uint64(p.b))}
}

func groupPoint(p point) GroupPoint {
	return GroupPoint{At: time.UnixMilli(p.at), Pending: p.a, Lag: p.b, Delivered: p.c}
}

const (
	kindTopic = 't'
	kindGroup = 'g'
)

// series is a ring of points, grown on demand up to the store's MaxPoints.
type series struct {
	key  string
	ring []point
	head int // next write when full
	last int64
}

func (s *series) add(p point, maxPoints int) {
	if len(s.ring) < maxPoints {
		if len(s.ring) == cap(s.ring) { // grow by doubling, but never past the ring size
			grown := make([]point, len(s.ring), min(max(2*cap(s.ring), 8), maxPoints))
			copy(grown, s.ring)
			s.ring = grown
		}
		s.ring = append(s.ring, p)
	} else {
		s.ring[s.head] = p
		s.head = (s.head + 1) % maxPoints
	}
	s.last = p.at
}

// each calls fn on the points from oldest to newest.
func (s *series) each(fn func(point)) {
	n := len(s.ring)
	for i := range n {
		fn(s.ring[(s.head+i)%n])
	}
}

type contextHist struct {
	series map[string]*series
	disk   *diskLog // nil when not persisted
}

// Store is the history of every context of a process. Safe for concurrent
// use.
type Store struct {
	cfg  Config
	mu   sync.Mutex
	ctxs map[string]*contextHist
	key  []byte // scratch for series keys (under mu): a lookup allocates nothing
}

// New makes a Store.
func New(cfg Config) *Store {
	return &Store{cfg: cfg.withDefaults(), ctxs: map[string]*contextHist{}}
}

// Config is the store's configuration with defaults applied.
func (s *Store) Config() Config { return s.cfg }

func seriesKey(kind byte, topic, group string) string {
	return string(appendKey(nil, kind, topic, group))
}

func appendKey(b []byte, kind byte, topic, group string) []byte {
	b = append(b, kind, 0)
	b = append(b, topic...)
	if kind == kindGroup {
		b = append(b, 0)
		b = append(b, group...)
	}
	return b
}

// contextLocked returns the context's history, loading its file the first
// time when persisted.
func (s *Store) contextLocked(name string) *contextHist {
	h := s.ctxs[name]
	if h == nil {
		h = &contextHist{series: map[string]*series{}}
		s.ctxs[name] = h
		if s.cfg.Dir != "" {
			h.disk = openDisk(s.cfg, name)
			h.disk.load(func(key string, p point) { s.addLocked(h, []byte(key), p, true) })
		}
	}
	return h
}

// addLocked appends p unless it is too close to the previous point;
// reports whether it was kept. key is only read (converted to a string
// when the series is new).
func (s *Store) addLocked(h *contextHist, key []byte, p point, checkAge bool) bool {
	sr := h.series[string(key)]
	if sr == nil {
		if len(h.series) >= s.cfg.MaxSeries {
			s.evictLocked(h)
		}
		sr = &series{key: string(key)}
		h.series[sr.key] = sr
	} else if len(sr.ring) > 0 && p.at-sr.last < s.cfg.MinGap.Milliseconds() {
		return false // another session sampled it just now (or the clock went back)
	}
	if checkAge && p.at < time.Now().Add(-s.cfg.Retention).UnixMilli() {
		return false // read back from a file: too old to keep
	}
	sr.add(p, s.cfg.MaxPoints)
	return true
}

// evictLocked drops the eighth of the series sampled least recently: one
// scan makes room for many new series (a context with more topics than
// MaxSeries would otherwise scan on every new one).
func (s *Store) evictLocked(h *contextHist) {
	all := make([]*series, 0, len(h.series))
	for _, sr := range h.series {
		all = append(all, sr)
	}
	n := max(1, len(all)/8)
	slices.SortFunc(all, func(a, b *series) int { return cmp.Compare(a.last, b.last) })
	for _, sr := range all[:n] {
		delete(h.series, sr.key)
	}
}

// RecordTopics samples topics of context ctx at time at.
func (s *Store) RecordTopics(ctx string, at time.Time, ts []core.TopicInfo) {
	if s == nil || len(ts) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.contextLocked(ctx)
	var kept []diskRec
	for _, t := range ts {
		s.key = appendKey(s.key[:0], kindTopic, t.Name, "")
		p := point{at: at.UnixMilli(), a: int64(t.Messages), b: int64(math.Float64bits(t.Rate))}
		if s.addLocked(h, s.key, p, false) && h.disk != nil {
			kept = append(kept, diskRec{string(s.key), p})
		}
	}
	s.persistLocked(h, kept)
}

// RecordGroups samples the groups of topic in context ctx at time at.
// mqscope's own tail consumers are left out.
func (s *Store) RecordGroups(ctx string, at time.Time, topic string, gs []core.GroupInfo) {
	if s == nil || len(gs) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.contextLocked(ctx)
	var kept []diskRec
	for _, g := range gs {
		if g.Kind == core.GroupTail {
			continue
		}
		gp := GroupSample(at, g)
		s.key = appendKey(s.key[:0], kindGroup, topic, g.Name)
		p := point{at: at.UnixMilli(), a: gp.Pending, b: gp.Lag, c: gp.Delivered}
		if s.addLocked(h, s.key, p, false) && h.disk != nil {
			kept = append(kept, diskRec{string(s.key), p})
		}
	}
	s.persistLocked(h, kept)
}

func (s *Store) persistLocked(h *contextHist, recs []diskRec) {
	if h.disk == nil || len(recs) == 0 {
		return
	}
	live := 0
	for _, sr := range h.series {
		live += len(sr.ring)
	}
	h.disk.append(recs, live, func(fn func(string, point)) {
		cut := time.Now().Add(-s.cfg.Retention).UnixMilli()
		for _, sr := range h.series {
			sr.each(func(p point) {
				if p.at >= cut {
					fn(sr.key, p)
				}
			})
		}
	})
}

func (s *Store) points(ctx, key string, since time.Time) []point {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.ctxs[ctx]
	if h == nil {
		return nil
	}
	sr := h.series[key]
	if sr == nil {
		return nil
	}
	cut := since.UnixMilli()
	out := make([]point, 0, len(sr.ring))
	sr.each(func(p point) {
		if p.at >= cut {
			out = append(out, p)
		}
	})
	return out
}

// Topic returns the samples of a topic since the given time, oldest first.
func (s *Store) Topic(ctx, topic string, since time.Time) []TopicPoint {
	ps := s.points(ctx, seriesKey(kindTopic, topic, ""), since)
	out := make([]TopicPoint, len(ps))
	for i, p := range ps {
		out[i] = topicPoint(p)
	}
	return out
}

// Group returns the samples of a group since the given time, oldest first.
func (s *Store) Group(ctx, topic, group string, since time.Time) []GroupPoint {
	ps := s.points(ctx, seriesKey(kindGroup, topic, group), since)
	out := make([]GroupPoint, len(ps))
	for i, p := range ps {
		out[i] = groupPoint(p)
	}
	return out
}

// Series reports how many series context ctx holds.
func (s *Store) Series(ctx string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.ctxs[ctx]; h != nil {
		return len(h.series)
	}
	return 0
}

// Close closes the persisted files. The store stays readable.
func (s *Store) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, h := range s.ctxs {
		if h.disk != nil {
			if err := h.disk.close(); err != nil && first == nil {
				first = err
			}
			h.disk = nil
		}
	}
	return first
}
