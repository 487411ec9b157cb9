package config

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestMain fails the package's tests when a goroutine outlives them (a
// subscription, tail or connection that Close did not stop).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, testbroker.LeakOptions()...)
}
