package jetstream_test

import (
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
