package natscore

import (
	"bytes"
	"runtime"
	"strconv"
	"sync"
	"weak"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"
)

// localID is a process-local unique id for a message without Nats-Msg-Id.
func localID() string { return nuid.Next() }

// localIDs holds the local IDs given to bare messages (bareMsg), which have
// no field of their own to keep one: an entry lives as long as its message.
var localIDs = idTable{ids: map[weak.Pointer[nats.Msg]]string{}}

type idTable struct {
	mu  sync.Mutex
	ids map[weak.Pointer[nats.Msg]]string
}

// of returns m's local ID, giving it one on the first call.
func (t *idTable) of(m *nats.Msg) string {
	k := weak.Make(m)
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.ids[k]; ok {
		return id
	}
	id := localID()
	t.ids[k] = id
	runtime.AddCleanup(m, t.forget, k)
	return id
}

// get returns m's local ID if it was given one.
func (t *idTable) get(m *nats.Msg) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	id, ok := t.ids[weak.Make(m)]
	return id, ok
}

func (t *idTable) forget(k weak.Pointer[nats.Msg]) {
	t.mu.Lock()
	delete(t.ids, k)
	t.mu.Unlock()
}

// subs finds the subscription of a bare message (for its Ack, Nak and ID):
// registered by the first message's delivery, removed by Unsubscribe.
var subs sync.Map // *nats.Subscription -> *subscription

func subOf(m *nats.Msg) *subscription {
	if v, ok := subs.Load(m.Sub); ok {
		return v.(*subscription)
	}
	return nil
}

// goid returns the current goroutine's id. It parses runtime.Stack (about a
// microsecond), so it is used only once per subscription, once per local
// retry and in Unsubscribe: to tell whether Unsubscribe was called by the
// subscription's own handler.
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	n, _ := strconv.ParseUint(string(b), 10, 64)
	return n
}
