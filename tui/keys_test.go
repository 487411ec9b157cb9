package tui

import (
	"flag"
	"os"
	"testing"

	_ "github.com/charmbracelet/x/exp/golden" // defines -update
)

// TestKeysDoc keeps tui/KEYS.md equal to KeysMarkdown (regenerate with
// go test ./tui -run TestKeysDoc -update).
func TestKeysDoc(t *testing.T) {
	got := "# mqscope console keys\n\n" + KeysMarkdown()
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.WriteFile("KEYS.md", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("KEYS.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("KEYS.md is stale: run go test ./tui -run TestKeysDoc -update")
	}
}
