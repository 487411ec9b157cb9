// Package natsembed runs a real nats-server in-process: for tests and for the
// console's demo mode.
package natsembed

import (
	"fmt"
	"net"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options for Start.
type Options struct {
	StoreDir string // JetStream storage; required
	Port     int    // 0 = a random free port (-1 in nats-server terms)
	Host     string // default 127.0.0.1
}

// Start runs a server with JetStream and waits until it accepts clients.
func Start(o Options) (*server.Server, error) {
	if o.StoreDir == "" {
		return nil, fmt.Errorf("natsembed: StoreDir is required")
	}
	host := o.Host
	if host == "" {
		host = "127.0.0.1"
	}
	port := o.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	opts := &server.Options{
		Host:      host,
		Port:      port,
		JetStream: true,
		StoreDir:  o.StoreDir,
		NoLog:     true,
		NoSigs:    true,
		// Generous limits for the demo and the conformance suite's 1 MiB payloads.
		MaxPayload: 8 << 20,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsembed: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("natsembed: server not ready after 10s")
	}
	return s, nil
}

// Restart shuts s down and starts a new server on the same address and
// store, as a broker restart looks to clients (they reconnect).
func Restart(s *server.Server, storeDir string) (*server.Server, error) {
	addr, ok := s.Addr().(*net.TCPAddr)
	if !ok {
		return nil, fmt.Errorf("natsembed: server has no TCP address")
	}
	s.Shutdown()
	s.WaitForShutdown()
	return Start(Options{StoreDir: storeDir, Port: addr.Port, Host: addr.IP.String()})
}
