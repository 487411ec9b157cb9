package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestFlowNATSCore: a wildcard tail of a broker that keeps nothing, and
// actions it cannot do shown disabled with the backend's reason.
func TestFlowNATSCore(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	cfg := core.Config{Driver: core.DriverNATSCore, NATSURL: srv.URL()}
	cl := newClient(t, cfg)
	prefix := shortName(t, "fire")

	f := startFlow(t, Options{Contexts: []string{"core"}, Initial: "core", Open: openerFor(cfg)})
	f.waitScreen("connected", "connected", "nats_core")
	f.command("tail " + prefix + ".>")
	f.waitModel("tail running", func(m *Model) bool { return m.tail.tail != nil })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			_ = cl.Publish(ctx, prefix+".a"+itoa(i%3), []byte(`{"i":`+itoa(i)+`}`))
			time.Sleep(20 * time.Millisecond)
		}
	}()
	f.waitScreen("wildcard tail", prefix+".a0", prefix+".a1", prefix+".a2")

	// browsing needs history: shown disabled, pressing it says why
	f.key("1")
	var ok bool
	var reason string
	f.probe(func(m *Model) { ok, reason = m.com.Keys.Browse.Available(m.com) })
	if ok {
		t.Fatal("NATS Core claims browse support")
	}
	f.waitScreen("browse disabled in the footer", "b browse✗")
	f.key("b")
	f.waitStatus("browse refused with the reason", "browse is disabled: "+reason)
	if strings.TrimSpace(reason) == "" {
		t.Error("no reason given for the missing capability")
	}

	// purge likewise: nothing is stored, so nothing can be purged
	f.probe(func(m *Model) { ok, reason = m.com.Keys.Purge.Available(m.com) })
	if ok || strings.TrimSpace(reason) == "" {
		t.Fatalf("NATS Core purge: available=%v reason=%q", ok, reason)
	}
	f.key("P")
	f.waitStatus("purge refused with the reason", "purge topic is disabled: "+reason)
	f.probe(func(m *Model) { ok = m.layers.count(layerDialog) == 0 })
	if !ok {
		t.Error("a purge dialog opened on NATS Core")
	}
}

// TestFlowContextSettings: each context's own timeout and tail buffer apply
// while it is open; a context without its own uses the console's.
func TestFlowContextSettings(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	cfg := core.Config{Driver: core.DriverNATSCore, NATSURL: srv.URL()}
	base := openerFor(cfg)
	open := func(ctx context.Context, name string) (*Target, error) {
		tg, err := base(ctx, name)
		if err == nil && name == "tuned" {
			tg.Timeout, tg.TailBuffer, tg.Refresh = 9*time.Second, 123, 7*time.Second
		}
		return tg, err
	}
	f := startFlow(t, Options{Contexts: []string{"plain", "tuned"}, Initial: "plain", Open: open, Timeout: 3 * time.Second, TailBuffer: 500})
	f.waitScreen("connected", "connected to plain")
	f.probe(func(m *Model) {
		if m.com.Timeout != 3*time.Second || m.tail.cap != 500 {
			t.Errorf("plain: timeout %v tail %d, want the console's 3s / 500", m.com.Timeout, m.tail.cap)
		}
	})
	f.command("ctx tuned")
	f.waitScreen("switched", "connected to tuned")
	f.probe(func(m *Model) {
		if m.com.Timeout != 9*time.Second || m.tail.cap != 123 || m.target.Refresh != 7*time.Second {
			t.Errorf("tuned: timeout %v tail %d, want 9s / 123", m.com.Timeout, m.tail.cap)
		}
	})
	f.command("ctx plain")
	f.waitScreen("back", "connected to plain")
	f.probe(func(m *Model) {
		if m.com.Timeout != 3*time.Second || m.tail.cap != 500 {
			t.Errorf("back on plain: timeout %v tail %d, want 3s / 500", m.com.Timeout, m.tail.cap)
		}
	})
}
