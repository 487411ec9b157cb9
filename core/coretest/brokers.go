package coretest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// NATS returns the harness for a NATS driver (core.DriverNATSCore or
// core.DriverJetStream) on an embedded nats-server owned by t. JetStream
// clients get Config.CreateStreams, so every topic gets its own stream.
func NATS(t *testing.T, d core.Driver) Harness {
	t.Helper()
	n := testbroker.StartNATS(t)
	h := natsHarness(d, n.URL, n.Connect)
	h.NewDisruptable = func(t testing.TB, cfg core.Config, opts ...core.Option) (*core.Client, func(), error) {
		// A private server, so restarting it disturbs no other test.
		own := testbroker.StartNATS(t)
		cfg = natsConfig(d, own.URL(), cfg)
		c, err := core.New(&cfg, opts...)
		return c, own.Restart, err
	}
	return h
}

// NATSAt returns the harness for a NATS driver on a server the test does
// not own (for example the system nats-server, to cover an older server
// version). The streams made for each test's topics are deleted when the
// test ends; the server cannot be restarted, so that case is skipped. It
// fails, saying so, when nothing answers at url.
func NATSAt(t *testing.T, d core.Driver, url string) Harness {
	t.Helper()
	connect := func(t testing.TB) *nats.Conn {
		nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.Timeout(5*time.Second))
		if err != nil {
			t.Fatalf("coretest: no nats-server at %s (%v): start one with JetStream (nats-server -js) or point MQSCOPE_TEST_NATS_URL at one", url, err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	admin := connect(t)
	h := natsHarness(d, func() string { return url }, connect)
	h.MaxPayload = int(admin.MaxPayload())
	if d == core.DriverJetStream {
		js, err := jetstream.New(admin)
		if err != nil {
			t.Fatalf("jetstream: %v", err)
		}
		h.Topic = func(t testing.TB) string {
			name := testbroker.Name(t, "ct")
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), defaultWait)
				defer cancel()
				names := js.StreamNames(ctx)
				var doomed []string
				for sn := range names.Name() {
					if strings.HasPrefix(sn, name) { // the topic's stream and its DLQ's
						doomed = append(doomed, sn)
					}
				}
				for _, sn := range doomed {
					_ = js.DeleteStream(ctx, sn)
				}
			})
			return name
		}
	}
	return h
}

func natsConfig(d core.Driver, url string, cfg core.Config) core.Config {
	cfg.Driver = d
	cfg.NATSURL = url
	if d == core.DriverJetStream {
		cfg.CreateStreams = true
	}
	return cfg
}

func natsHarness(d core.Driver, url func() string, connect func(testing.TB) *nats.Conn) Harness {
	h := Harness{
		Driver: d,
		NewClient: func(_ testing.TB, cfg core.Config, opts ...core.Option) (*core.Client, error) {
			cfg = natsConfig(d, url(), cfg)
			return core.New(&cfg, opts...)
		},
		InvalidTopics: []string{"has space", "a..b", ".lead", "trail.", "wild.*", "wild.>"},
		Connect: func(t testing.TB) Conn {
			nc := connect(t)
			return Conn{
				Option: core.WithNATSConnector(nc),
				Alive: func(ctx context.Context) error {
					if !nc.IsConnected() {
						return fmt.Errorf("nats connection is %v", nc.Status())
					}
					ctx, cancel := context.WithTimeout(ctx, defaultWait)
					defer cancel()
					return nc.FlushWithContext(ctx)
				},
				Close: nc.Close,
			}
		},
	}
	if d == core.DriverNATSCore {
		// JetStream topics are streams created per subject, so a pattern
		// spanning several of them captures nothing there.
		h.Wildcard = ".*"
	}
	if d == core.DriverJetStream {
		h.BatchRequests = func(t testing.TB, topic string) func() []int {
			nc := connect(t)
			var mu sync.Mutex
			var seen []int
			// The stream is named after the topic (the suite's topics need
			// no sanitising); pull requests go to
			// $JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>.
			sub, err := nc.Subscribe("$JS.API.CONSUMER.MSG.NEXT."+topic+".*", func(m *nats.Msg) {
				var req struct {
					Batch int `json:"batch"`
				}
				if json.Unmarshal(m.Data, &req) == nil {
					mu.Lock()
					seen = append(seen, req.Batch)
					mu.Unlock()
				}
			})
			if err != nil {
				t.Fatalf("watch pull requests: %v", err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatalf("watch pull requests: %v", err)
			}
			t.Cleanup(func() { _ = sub.Unsubscribe() })
			return func() []int { mu.Lock(); defer mu.Unlock(); return slices.Clone(seen) }
		}
		h.HoldRaw = jetStreamHoldRaw(connect)
		h.TrimTopicRaw = func(ctx context.Context, topic string) error {
			nc, err := nats.Connect(url())
			if err != nil {
				return err
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			stream, err := js.StreamNameBySubject(ctx, topic)
			if err != nil {
				return fmt.Errorf("stream for %q: %w", topic, err)
			}
			s, err := js.Stream(ctx, stream)
			if err != nil {
				return err
			}
			return s.Purge(ctx)
		}
		h.DeleteGroupRaw = func(ctx context.Context, topic, group string) error {
			nc, err := nats.Connect(url())
			if err != nil {
				return err
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				return err
			}
			stream, err := js.StreamNameBySubject(ctx, topic)
			if err != nil {
				return fmt.Errorf("stream for %q: %w", topic, err)
			}
			// nats-server 2.9 sometimes fails with "directory not empty" while
			// the consumer is busy; a moment later it works.
			for try := 0; ; try++ {
				err := js.DeleteConsumer(ctx, stream, group) // the suite's group names need no sanitising
				if err == nil {
					return nil
				}
				if try == 10 || !strings.Contains(err.Error(), "not empty") {
					return fmt.Errorf("delete consumer %s/%s: %w", stream, group, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	return h
}

// Redis returns the harness for core.DriverRedisStream on the test Redis
// (testbroker.RedisURL). Topics are stream keys; they are deleted when the
// test ends.
func Redis(t *testing.T) Harness {
	t.Helper()
	url := testbroker.RedisURL(t)
	admin := testbroker.Redis(t)
	newRDB := func(t testing.TB, name string) *redis.Client {
		o, err := redis.ParseURL(url)
		if err != nil {
			t.Fatalf("redis url %q: %v", url, err)
		}
		o.ClientName = name
		rdb := redis.NewClient(o)
		t.Cleanup(func() { _ = rdb.Close() })
		return rdb
	}
	return Harness{
		Driver: core.DriverRedisStream,
		NewClient: func(_ testing.TB, cfg core.Config, opts ...core.Option) (*core.Client, error) {
			cfg.Driver = core.DriverRedisStream
			cfg.RedisURL = url
			return core.New(&cfg, opts...)
		},
		Topic: func(t testing.TB) string {
			name := testbroker.Name(t, "ct")
			testbroker.CleanupRedisKeys(t, admin, name+"*")
			return name
		},
		Connect: func(t testing.TB) Conn {
			rdb := newRDB(t, "")
			return Conn{
				Option: core.WithRedisConnector(rdb),
				Alive:  func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
				Close:  func() { _ = rdb.Close() },
			}
		},
		NewDisruptable: func(t testing.TB, cfg core.Config, opts ...core.Option) (*core.Client, func(), error) {
			name := testbroker.Name(t, "victim")
			rdb := newRDB(t, name)
			cfg.Driver = core.DriverRedisStream
			c, err := core.New(&cfg, append(opts, core.WithRedisConnector(rdb))...)
			disrupt := func() {
				ctx, cancel := context.WithTimeout(context.Background(), defaultWait)
				defer cancel()
				if n, err := testbroker.KillRedisClients(ctx, admin, name); err != nil {
					t.Errorf("CLIENT KILL %s: %v", name, err)
				} else {
					t.Logf("CLIENT KILL: %d connections of %s", n, name)
				}
			}
			return c, disrupt, err
		},
		BatchRequests: func(t testing.TB, topic string) func() []int {
			return monitorXReadGroup(t, url, topic)
		},
		DeleteGroupRaw: func(ctx context.Context, topic, group string) error {
			return admin.XGroupDestroy(ctx, topic, group).Err()
		},
		DeleteTopicRaw: func(ctx context.Context, topic string) error {
			return admin.Del(ctx, topic).Err()
		},
		TrimTopicRaw: func(ctx context.Context, topic string) error {
			return admin.XTrimMaxLen(ctx, topic, 0).Err()
		},
		TrimLogged: true,
		HoldRaw:    redisHoldRaw(admin),
	}
}

// monitorXReadGroup runs MONITOR on its own connection until t ends and
// collects the COUNT of every XREADGROUP that reads topic.
func monitorXReadGroup(t testing.TB, url, topic string) func() []int {
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("redis url %q: %v", url, err)
	}
	conn, err := net.DialTimeout("tcp", o.Addr, defaultWait)
	if err != nil {
		t.Fatalf("MONITOR: dial %s: %v", o.Addr, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if o.Password != "" {
		fmt.Fprintf(conn, "AUTH %s %s\r\n", orDefaultUser(o.Username), o.Password)
	}
	fmt.Fprintf(conn, "MONITOR\r\n")
	rd := bufio.NewReader(conn)
	var mu sync.Mutex
	var seen []int
	ready := make(chan struct{})
	go func() {
		first := true
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			if first && strings.HasPrefix(line, "+OK") {
				first = false
				close(ready)
				continue
			}
			if !strings.Contains(line, `"XREADGROUP"`) && !strings.Contains(line, `"xreadgroup"`) {
				continue
			}
			if !strings.Contains(line, `"`+topic+`"`) {
				continue
			}
			fields := strings.Fields(line)
			for i, f := range fields {
				if strings.EqualFold(f, `"COUNT"`) && i+1 < len(fields) {
					if n, err := strconv.Atoi(strings.Trim(fields[i+1], `"`)); err == nil {
						mu.Lock()
						seen = append(seen, n)
						mu.Unlock()
					}
				}
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(defaultWait):
		t.Fatalf("MONITOR did not start")
	}
	return func() []int { mu.Lock(); defer mu.Unlock(); return slices.Clone(seen) }
}

func orDefaultUser(u string) string {
	if u == "" {
		return "default"
	}
	return u
}
