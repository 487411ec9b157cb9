package tui

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestMain fails the package's tests when a goroutine outlives them (a
// subscription, tail or connection that Close did not stop). teatest keeps
// one goroutine per test model for the life of the binary, and a program
// that quits with a tick or cursor blink in flight leaves its timer to
// finish: those are the libraries', not the console's.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, append(testbroker.LeakOptions(),
		goleak.IgnoreAnyFunction("github.com/charmbracelet/x/exp/teatest/v2.NewTestModel.func2"),
		goleak.IgnoreAnyFunction("charm.land/bubbletea/v2.Tick.func1"),
		goleak.IgnoreAnyFunction("charm.land/bubbles/v2/cursor.(*Model).Blink.func1"),
		goleak.IgnoreAnyFunction("charm.land/bubbletea/v2.(*Program).execBatchMsg"),
	)...)
}
