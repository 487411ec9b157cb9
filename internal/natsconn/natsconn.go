// Package natsconn maps a nats.go connection's status onto core's
// ConnState, once for both NATS backends (natscore and jetstream), so the
// console shows the same state for the same connection on either.
package natsconn

import (
	"github.com/nats-io/nats.go"

	"github.com/mqscope/mqscope/core"
)

// State is core's view of a nats.go status. Draining is its own state: the
// connection still delivers what it holds but is on its way to closed, so
// it is neither usable for new work nor coming back.
func State(s nats.Status) core.ConnState {
	switch s {
	case nats.CONNECTED:
		return core.ConnConnected
	case nats.RECONNECTING, nats.CONNECTING:
		return core.ConnReconnecting
	case nats.DRAINING_SUBS, nats.DRAINING_PUBS:
		return core.ConnDraining
	}
	return core.ConnDown // DISCONNECTED, CLOSED
}
