package jetstream_test

import (
	"os"
	"testing"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/coretest"

	_ "github.com/mqscope/mqscope/backends/jetstream"
)

// TestConformance runs the one conformance suite (core/coretest) against
// this backend on a real broker, with the capabilities it declares.
func TestConformance(t *testing.T) {
	t.Parallel()
	h := coretest.NATS(t, core.DriverJetStream)
	coretest.RunMQ(t, h)
	coretest.RunOperator(t, h)
}

// TestConformanceSystemServer runs the same suite against the machine's own
// nats-server (Debian's is 2.9, older than the embedded 2.15: no consumer
// reset, for one), or MQSCOPE_TEST_NATS_URL, so the backend is held to what
// it declares on both versions.
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
