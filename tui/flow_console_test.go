package tui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestFlowOutcomeSurvivesRefreshErrors: with the broker down, an action's
// failure stays on the status line while the background refreshes fail
// (they go to their own indicator, the panes say "stale since"), E shows
// the failure in full, and once the broker is back nothing stale remains.
func TestFlowOutcomeSurvivesRefreshErrors(t *testing.T) {
	t.Parallel()
	srv, cl, topic, f := jetStreamPendingFlow(t, "down", 1, time.Second)
	f.key("a")
	f.waitScreen("ack confirm", "Ack 1 message in "+topic+" / billing?")
	srv.Shutdown()
	f.key("y")
	f.waitModel("ack failed", func(m *Model) bool { return m.statusErr && strings.HasPrefix(m.status, "ack") })
	var failure string
	f.probe(func(m *Model) { failure = m.status })
	f.waitScreen("refresh indicator and stale panes", "refresh", "failing (E)", "stale since")
	time.Sleep(time.Second) // three more refresh rounds (300 ms), all failing
	f.probe(func(m *Model) {
		if m.status != failure {
			t.Errorf("a background refresh replaced the ack's outcome %q with %q", failure, m.status)
		}
	})
	f.key("E")
	f.waitScreen("E shows the failure and the refreshes", "Last error", "Refresh failing", "topics:")
	f.key("esc")

	srv.Start()
	f.waitModel("refreshes recover", func(m *Model) bool { return len(m.refreshProblems()) == 0 })
	s := f.waitScreen("pending shown again", "3 Pending")
	if strings.Contains(s, "stale since") || strings.Contains(s, "failing (E)") {
		t.Errorf("a stale error remains after the broker came back:\n%s", s)
	}
	if ids := pendingIDs(t, cl.Operator(), topic, "billing"); len(ids) != 1 {
		t.Errorf("the failed ack changed the broker: pending %v", ids)
	}
}

// jetStreamPendingFlow publishes n messages to a new topic, leaves them
// pending in group "billing" (consumer b1) and opens the console on that
// group's pending list.
func jetStreamPendingFlow(t *testing.T, prefix string, n int, timeout time.Duration) (*testbroker.NATS, *core.Client, string, *flow) {
	t.Helper()
	srv := testbroker.StartNATS(t)
	cfg := core.Config{Driver: core.DriverJetStream, NATSURL: srv.URL(), CreateStreams: true}
	cl := newClient(t, cfg)
	topic := shortName(t, prefix)
	for i := 1; i <= n; i++ {
		publishN(t, cl, topic, `{"n":`+itoa(i)+`}`)
	}
	sub := holdPending(t, cl, topic, "billing", "b1", n, time.Second)
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	other := "a" + topic // sorts first: the cursor starts on it
	publishN(t, cl, other, "x")
	f := startFlow(t, Options{Contexts: []string{"js"}, Initial: "js", Open: openerFor(cfg), Timeout: timeout})
	f.waitScreen("connected", "connected", topic, other)
	f.command("topic " + topic)
	f.waitModel(":topic moves the Topics cursor", func(m *Model) bool {
		t, _ := m.topics.selected()
		return t.Name == topic
	})
	f.waitModel("billing listed", func(m *Model) bool {
		g, _, ok := m.groups.selected()
		return ok && g.Name == "billing"
	})
	f.key("enter")
	f.waitModel("all pending", func(m *Model) bool { return len(m.pending.entries) == n })
	return srv, cl, topic, f
}

// TestFlowOpenErrors: a context that does not open shows why in Topics
// (not "loading…" forever), names the context once, and a context opened
// with a notice shows it.
func TestFlowOpenErrors(t *testing.T) {
	t.Parallel()
	srv := testbroker.StartNATS(t)
	cfg := core.Config{Driver: core.DriverNATSCore, NATSURL: srv.URL()}
	open := openerFor(cfg)
	const notice = "JetStream is not enabled on this server: opened as NATS Core"
	f := startFlow(t, Options{Contexts: []string{"bad", "core"}, Initial: "bad", Timeout: time.Second,
		Open: func(ctx context.Context, name string) (*Target, error) {
			if name == "bad" {
				return nil, errors.New("context bad: dial tcp 127.0.0.1:1: connection refused")
			}
			t, err := open(ctx, name)
			if t != nil {
				t.Notice = notice
			}
			return t, err
		}})
	s := f.waitScreen("topics says why", "1 Topics", "context bad: dial tcp 127.0.0.1:1: connection refused")
	if strings.Contains(s, "loading…") {
		t.Errorf("Topics still says loading after the open failed:\n%s", s)
	}
	f.probe(func(m *Model) {
		if strings.Count(m.status, "context bad") != 1 {
			t.Errorf("the context is named %d times: %q", strings.Count(m.status, "context bad"), m.status)
		}
	})
	f.key("2")
	f.command("ctx core")
	f.waitStatus("notice shown", "connected to core: "+notice)
	f.probe(func(m *Model) {
		if m.focus != paneTopics {
			t.Errorf("after :ctx focus is on pane %d, want Topics", m.focus)
		}
	})
	f.key("E")
	f.waitScreen("E shows the notice", "Notice of core", notice)
}

// TestFlowStuckTopicMarked: a topic with a stuck group is marked in Topics
// and the header counts stuck groups, before the operator opens anything.
func TestFlowStuckTopicMarked(t *testing.T) {
	t.Parallel()
	cfg := redisConfig(t, false)
	cl := newClient(t, cfg)
	stuck := redisTopic(t, cl, 2)
	fine := shortName(t, "fine")
	testbroker.CleanupRedisKeys(t, testbroker.Redis(t), fine+"*")
	publishN(t, cl, fine, "x") // no group: not scanned
	time.Sleep(300 * time.Millisecond)
	open := func(ctx context.Context, name string) (*Target, error) {
		c := cfg
		cl, err := core.New(&c, core.WithStuckThresholds(core.StuckThresholds{PendingIdle: 200 * time.Millisecond, ConsumerIdle: time.Hour}))
		if err != nil {
			return nil, err
		}
		return &Target{Name: name, Client: cl}, nil
	}
	f := startFlow(t, Options{Contexts: []string{"redis"}, Initial: "redis", Open: open})
	s := f.waitScreen("stuck topic marked", "! "+stuck, " stuck") // the count may include other tests' groups on the shared Redis
	if strings.Contains(s, "! "+fine) {
		t.Errorf("a topic without groups is marked stuck:\n%s", s)
	}
	// cross-check with the broker: the group's pending entries are old enough
	xp, err := testbroker.Redis(t).XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: stuck, Group: "workers", Start: "-", End: "+", Count: 10}).Result()
	if err != nil || len(xp) != 2 || xp[0].Idle < 200*time.Millisecond {
		t.Errorf("XPENDING %s workers: %+v %v, want 2 entries idle ≥ 200ms", stuck, xp, err)
	}
}
