//go:build natssystem

package jetstream_test

import (
	"os"
	"testing"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/coretest"
)

// TestConformanceSystemServer runs the same suite against an external
// nats-server: MQSCOPE_TEST_NATS_URL, else the machine's own on :4222
// (Debian's is 2.9, older than the embedded 2.15: no consumer reset, for
// one), so the backend is held to what it declares on both versions.
//
// It is behind the natssystem build tag because `make test` uses only the
// embedded server, to behave the same on every machine; run it with
// `make test-nats-system`.
func TestConformanceSystemServer(t *testing.T) {
	t.Parallel()
	url := os.Getenv("MQSCOPE_TEST_NATS_URL")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	h := coretest.NATSAt(t, core.DriverJetStream, url)
	coretest.RunMQ(t, h)
	coretest.RunOperator(t, h)
}
