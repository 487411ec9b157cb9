package core

import (
	"context"
	"sync"
	"sync/atomic"
)

// Tail is a running tail: a bounded ring buffer filled by the backend and
// drained by the reader. It never blocks the backend and never grows past
// its capacity; overflow drops the oldest messages and counts them.
type Tail struct {
	mu       sync.Mutex
	buf      []Record // grows by doubling up to capacity
	capacity int
	head     int // index of the oldest
	n        int
	dropped  atomic.Uint64
	total    atomic.Uint64
	cancel   context.CancelFunc
	once     sync.Once
	err      atomic.Value // error
}

// tailInitial is the ring's first allocation: a large configured buffer
// costs memory only when a tail really falls that far behind.
const tailInitial = 1024

func newTail(capacity int, cancel context.CancelFunc) *Tail {
	return &Tail{buf: make([]Record, min(capacity, tailInitial)), capacity: capacity, cancel: cancel}
}

func (t *Tail) push(r Record) {
	t.total.Add(1)
	t.mu.Lock()
	if t.n == len(t.buf) && len(t.buf) < t.capacity {
		grown := make([]Record, min(2*len(t.buf), t.capacity))
		for i := 0; i < t.n; i++ {
			grown[i] = t.buf[(t.head+i)%len(t.buf)]
		}
		t.buf, t.head = grown, 0
	}
	if t.n == len(t.buf) {
		t.buf[t.head] = r
		t.head = (t.head + 1) % len(t.buf)
		t.mu.Unlock()
		t.dropped.Add(1)
		return
	}
	t.buf[(t.head+t.n)%len(t.buf)] = r
	t.n++
	t.mu.Unlock()
}

// Drain takes up to max buffered messages, oldest first (max ≤ 0: all).
func (t *Tail) Drain(max int) []Record {
	t.mu.Lock()
	defer t.mu.Unlock()
	if max <= 0 || max > t.n {
		max = t.n
	}
	out := make([]Record, max)
	for i := 0; i < max; i++ {
		j := (t.head + i) % len(t.buf)
		out[i] = t.buf[j]
		t.buf[j] = Record{}
	}
	t.head = (t.head + max) % len(t.buf)
	t.n -= max
	return out
}

// Len is how many messages wait to be drained.
func (t *Tail) Len() int { t.mu.Lock(); defer t.mu.Unlock(); return t.n }

// Dropped counts messages lost because the reader fell behind, and those
// the backend lost before they reached the buffer (TailQuery.Lost).
func (t *Tail) Dropped() uint64 { return t.dropped.Load() }

// Received counts every message the tail saw.
func (t *Tail) Received() uint64 { return t.total.Load() }

// Stop ends the tail.
func (t *Tail) Stop() { t.once.Do(t.cancel) }

// Push is for backends' tests and for tools that feed a Tail themselves.
func (t *Tail) Push(r Record) { t.push(r) }

// NewTail makes a detached Tail (for tests and for the console's own use).
func NewTail(capacity int) *Tail {
	if capacity <= 0 {
		capacity = 10000
	}
	return newTail(capacity, func() {})
}
