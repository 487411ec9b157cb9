package cli

import "github.com/spf13/cobra"

// NewRootForTest builds the command tree without running it (for tests
// that check the tree: every op has a command, every command has help).
func NewRootForTest() *cobra.Command {
	return (&app{o: Options{Terminal: func() bool { return false }}}).root()
}
