package redisstream_test

import (
	"testing"

	"github.com/mqscope/mqscope/core/coretest"

	_ "github.com/mqscope/mqscope/backends/redisstream"
)

// TestConformance runs the one conformance suite (core/coretest) against
// this backend on a real broker, with the capabilities it declares.
func TestConformance(t *testing.T) {
	h := coretest.Redis(t)
	coretest.RunMQ(t, h)
	coretest.RunOperator(t, h)
}
