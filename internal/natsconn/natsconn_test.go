package natsconn

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

func TestStateOfEveryStatus(t *testing.T) {
	want := map[nats.Status]core.ConnState{
		nats.CONNECTED:     core.ConnConnected,
		nats.CONNECTING:    core.ConnReconnecting,
		nats.RECONNECTING:  core.ConnReconnecting,
		nats.DRAINING_SUBS: core.ConnDraining,
		nats.DRAINING_PUBS: core.ConnDraining,
		nats.DISCONNECTED:  core.ConnDown,
		nats.CLOSED:        core.ConnDown,
	}
	for s, w := range want {
		if got := State(s); got != w {
			t.Errorf("State(%v) = %v, want %v", s, got, w)
		}
	}
}

// TestStateOfARealConnection follows one connection from connected to
// closed, reading the status nats.go itself reports.
func TestStateOfARealConnection(t *testing.T) {
	srv := testbroker.StartNATS(t)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if got := State(nc.Status()); got != core.ConnConnected {
		t.Errorf("after connect: %v, want connected", got)
	}
	nc.Close()
	if got := State(nc.Status()); got != core.ConnDown {
		t.Errorf("after close: %v, want down", got)
	}
}
