package coretest

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// RedisCluster returns the harness for core.DriverRedisStream on a Redis
// Cluster (testbroker.RedisClusterAddrs: a private 3-master cluster unless
// MQSCOPE_TEST_REDIS_CLUSTER names one). Every client gets its own
// *redis.ClusterClient through core.WithRedisConnector; a topic and its
// dead-letter stream usually hash to different slots, so this covers the
// backend's cross-node paths. Topics (and every key starting with them) are
// deleted from every master when the test ends.
func RedisCluster(t *testing.T) Harness {
	t.Helper()
	admin := testbroker.RedisCluster(t)
	newCC := func(t testing.TB, name string) *redis.ClusterClient {
		cc := redis.NewClusterClient(testbroker.RedisClusterOptions(t, name))
		t.Cleanup(func() { _ = cc.Close() })
		return cc
	}
	return Harness{
		Driver: core.DriverRedisStream,
		NewClient: func(t testing.TB, cfg core.Config, opts ...core.Option) (*core.Client, error) {
			cfg.Driver = core.DriverRedisStream
			// Registered before the suite's Close of the client, so it runs
			// after it (cleanups are last in, first out).
			cc := newCC(t, "")
			return core.New(&cfg, append(opts, core.WithRedisConnector(cc))...)
		},
		Topic: func(t testing.TB) string {
			name := testbroker.Name(t, "ct")
			testbroker.CleanupRedisClusterKeys(t, admin, name+"*")
			return name
		},
		Connect: func(t testing.TB) Conn {
			cc := newCC(t, "")
			return Conn{
				Option: core.WithRedisConnector(cc),
				Alive: func(ctx context.Context) error {
					return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() })
				},
				Close: func() { _ = cc.Close() },
			}
		},
		NewDisruptable: func(t testing.TB, cfg core.Config, opts ...core.Option) (*core.Client, func(), error) {
			name := testbroker.Name(t, "victim")
			cc := newCC(t, name)
			cfg.Driver = core.DriverRedisStream
			c, err := core.New(&cfg, append(opts, core.WithRedisConnector(cc))...)
			disrupt := func() {
				ctx, cancel := context.WithTimeout(context.Background(), defaultWait)
				defer cancel()
				if n, err := testbroker.KillRedisClusterClients(ctx, admin, name); err != nil {
					t.Errorf("CLIENT KILL %s on every node: %v", name, err)
				} else {
					t.Logf("CLIENT KILL: %d connections of %s on the cluster's nodes", n, name)
				}
			}
			return c, disrupt, err
		},
		BatchRequests: func(t testing.TB, topic string) func() []int {
			// MONITOR the master that owns the topic's slot.
			m, err := admin.MasterForKey(t.Context(), topic)
			if err != nil {
				t.Fatalf("master for %q: %v", topic, err)
			}
			return monitorXReadGroup(t, "redis://"+m.Options().Addr, topic)
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
	}
}
