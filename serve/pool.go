package serve

import (
	"context"
	"sync"

	"github.com/mqscope/mqscope/tui"
)

// pool shares one client per context between sessions: the first session
// to open a context connects, later ones get the same client, and the last
// to leave closes it.
type pool struct {
	open func(ctx context.Context, name string) (*tui.Target, error)
	warn func(msg string, args ...any)

	mu sync.Mutex
	m  map[string]*shared
}

type shared struct {
	ready chan struct{} // closed once opened (t or err set)
	t     *tui.Target
	err   error
	refs  int
}

// acquire returns the context's shared target and the function that gives
// the reference back (safe to call more than once).
func (p *pool) acquire(ctx context.Context, name string) (*tui.Target, func(), error) {
	p.mu.Lock()
	s, ok := p.m[name]
	if !ok {
		s = &shared{ready: make(chan struct{})}
		p.m[name] = s
	}
	s.refs++
	p.mu.Unlock()
	if !ok {
		// open outside the lock; the others wait for ready. The opener's
		// context is not the session's: the client outlives it.
		s.t, s.err = p.open(context.WithoutCancel(ctx), name)
		close(s.ready)
	} else {
		select {
		case <-s.ready:
		case <-ctx.Done():
			p.release(name, s)
			return nil, nil, ctx.Err()
		}
	}
	if s.err != nil {
		err := s.err
		p.release(name, s)
		return nil, nil, err
	}
	var once sync.Once
	return s.t, func() { once.Do(func() { p.release(name, s) }) }, nil
}

func (p *pool) release(name string, s *shared) {
	p.mu.Lock()
	s.refs--
	last := s.refs == 0
	if last && p.m[name] == s {
		delete(p.m, name)
	}
	p.mu.Unlock()
	if !last {
		return
	}
	// the opener holds a reference until its open is done, so the last
	// release comes after it: a failed open has nothing to close
	if s.t == nil {
		return
	}
	var err error
	if s.t.Close != nil {
		err = s.t.Close()
	} else {
		err = s.t.Client.Close()
	}
	if err != nil {
		p.warn("close shared context", "context", name, "err", err)
	}
}

// clients is how many contexts have a shared client.
func (p *pool) clients() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.m)
}
