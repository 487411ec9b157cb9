package capsdoc

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	_ "github.com/mqscope/mqscope/backends"
	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

var update = flag.Bool("update", false, "rewrite the README's capability table")

// TestReadmeCapabilityMatrix fails when README.md's table differs from what
// the backends report on the test brokers (embedded nats-server, real Redis).
func TestReadmeCapabilityMatrix(t *testing.T) {
	n := testbroker.StartNATS(t)
	rdb := testbroker.Redis(t)
	mk := func(cfg core.Config, opts ...core.Option) *core.Client {
		c, err := core.New(&cfg, opts...)
		if err != nil {
			t.Fatalf("%s: %v", cfg.Driver, err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	nc := n.Connect(t)
	clients := []*core.Client{
		mk(core.Config{Driver: core.DriverNATSCore}, core.WithNATSConnector(nc)),
		mk(core.Config{Driver: core.DriverJetStream}, core.WithNATSConnector(nc)),
		mk(core.Config{Driver: core.DriverRedisStream}, core.WithRedisConnector(rdb)),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	table := Markdown(ctx, clients)

	const path = "../../README.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Splice(string(doc), table)
	if err != nil {
		t.Fatal(err)
	}
	if got == string(doc) {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md's capability table is out of date; run: go test ./internal/capsdoc -update\n\nwant:\n%s", table)
}
