package core

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PositionKind says what a Position points at.
type PositionKind int

const (
	PosNew  PositionKind = iota // only messages stored from now on
	PosAll                      // from the oldest stored message
	PosID                       // from a backend id (Redis entry id; JetStream sequence)
	PosSeq                      // from a stream sequence
	PosTime                     // from the first message stored at or after Time
	PosLast                     // the last N stored messages, then new ones
)

// Position is a place in a topic's history: a start for subscriptions,
// tails and browsing, and a target for rewinds.
type Position struct {
	Kind PositionKind
	ID   string
	Seq  uint64
	Time time.Time
	N    int // PosLast
}

// StartNew, StartAll, AtID, AtSequence, AtTime and LastN build positions.
func StartNew() Position             { return Position{Kind: PosNew} }
func StartAll() Position             { return Position{Kind: PosAll} }
func AtID(id string) Position        { return Position{Kind: PosID, ID: id} }
func AtSequence(seq uint64) Position { return Position{Kind: PosSeq, Seq: seq} }
func AtTime(t time.Time) Position    { return Position{Kind: PosTime, Time: t} }
func LastN(n int) Position           { return Position{Kind: PosLast, N: n} }

// Validate reports a malformed position.
func (p Position) Validate() error {
	switch p.Kind {
	case PosNew, PosAll:
	case PosID:
		if p.ID == "" {
			return fmt.Errorf("mq: position: empty id")
		}
	case PosSeq:
		if p.Seq == 0 {
			return fmt.Errorf("mq: position: sequence must be at least 1")
		}
	case PosTime:
		if p.Time.IsZero() {
			return fmt.Errorf("mq: position: zero time")
		}
	case PosLast:
		if p.N < 1 {
			return fmt.Errorf("mq: position: last N needs N ≥ 1, got %d", p.N)
		}
	default:
		return fmt.Errorf("mq: position: unknown kind %d", p.Kind)
	}
	return nil
}

func (p Position) String() string {
	switch p.Kind {
	case PosNew:
		return "new"
	case PosAll:
		return "all"
	case PosID:
		return "id:" + p.ID
	case PosSeq:
		return "seq:" + strconv.FormatUint(p.Seq, 10)
	case PosTime:
		return "time:" + p.Time.UTC().Format(time.RFC3339Nano)
	case PosLast:
		return "last:" + strconv.Itoa(p.N)
	}
	return fmt.Sprintf("position(%d)", p.Kind)
}

// ParsePosition reads what String writes, plus shorthands an operator types:
// "new", "all", "id:1700000000000-0", "seq:42", "time:2026-11-26T10:00:00Z",
// "-15m" (a duration ago), "last:100", a bare Redis id "1700000000000-0" or a
// bare sequence "42". now is used for relative times.
func ParsePosition(s string, now time.Time) (Position, error) {
	s = strings.TrimSpace(s)
	var p Position
	switch {
	case s == "" || s == "new" || s == "$":
		p = StartNew()
	case s == "all" || s == "0" || s == "0-0" || s == "first":
		p = StartAll()
	case strings.HasPrefix(s, "id:"):
		p = AtID(s[3:])
	case strings.HasPrefix(s, "seq:"):
		n, err := strconv.ParseUint(s[4:], 10, 64)
		if err != nil {
			return p, fmt.Errorf("mq: position %q: sequence is not a number", s)
		}
		p = AtSequence(n)
	case strings.HasPrefix(s, "time:"):
		t, err := time.Parse(time.RFC3339Nano, s[5:])
		if err != nil {
			return p, fmt.Errorf("mq: position %q: time must be RFC 3339 (2026-11-26T10:00:00Z)", s)
		}
		p = AtTime(t)
	case strings.HasPrefix(s, "last:"):
		n, err := strconv.Atoi(s[5:])
		if err != nil {
			return p, fmt.Errorf("mq: position %q: count is not a number", s)
		}
		p = LastN(n)
	case strings.HasPrefix(s, "-"):
		d, err := time.ParseDuration(s[1:])
		if err != nil {
			return p, fmt.Errorf("mq: position %q: not a duration like -15m", s)
		}
		p = AtTime(now.Add(-d))
	default:
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			p = AtSequence(n)
		} else if isRedisID(s) {
			p = AtID(s)
		} else if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			p = AtTime(t)
		} else {
			return p, fmt.Errorf("mq: position %q: want new, all, id:ID, seq:N, time:RFC3339, -DURATION or last:N", s)
		}
	}
	return p, p.Validate()
}

func isRedisID(s string) bool {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return false
	}
	_, err1 := strconv.ParseUint(a, 10, 64)
	_, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil
}
