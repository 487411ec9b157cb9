package natscore

import (
	"bytes"
	"runtime"
	"strconv"

	"github.com/nats-io/nuid"
)

// localID is a process-local unique id for a message without Nats-Msg-Id.
func localID() string { return nuid.Next() }

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
