package testbroker

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The private cluster has three masters covering every slot, keys spread
// over them, and the cleanup and kill helpers reach every node.
func TestRedisCluster(t *testing.T) {
	cc := RedisCluster(t)
	ctx := t.Context()
	var mu sync.Mutex
	masters := map[string]bool{}
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		info, err := c.ClusterInfo(ctx).Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			t.Errorf("%s: %s", c.Options().Addr, info)
		}
		mu.Lock()
		masters[c.Options().Addr] = true
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(masters) < ClusterMasters {
		t.Fatalf("cluster has masters %v, want %d", masters, ClusterMasters)
	}

	prefix := Name(t, "tbc")
	t.Run("KeysSpreadAndCleanup", func(t *testing.T) {
		CleanupRedisClusterKeys(t, cc, prefix+"*")
		nodes := map[string]bool{}
		for i := 0; i < 30; i++ {
			k := prefix + "_" + strings.Repeat("k", i)
			if err := cc.Set(ctx, k, "v", time.Minute).Err(); err != nil {
				t.Fatalf("SET %s: %v", k, err)
			}
			m, err := cc.MasterForKey(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			nodes[m.Options().Addr] = true
		}
		if len(nodes) < 2 {
			t.Fatalf("30 keys all landed on %v: not a cluster", nodes)
		}
	})
	// The cleanup of the subtest ran: no key of the prefix is left anywhere.
	left := 0
	_ = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		ks, _, err := c.Scan(ctx, 0, prefix+"*", 1000).Result()
		mu.Lock()
		left += len(ks)
		mu.Unlock()
		return err
	})
	if left != 0 {
		t.Fatalf("%d keys of %s left after CleanupRedisClusterKeys", left, prefix)
	}

	t.Run("KillClients", func(t *testing.T) {
		name := Name(t, "victim")
		victim := redis.NewClusterClient(RedisClusterOptions(t, name))
		defer victim.Close()
		// Open a connection to every master.
		if err := victim.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return c.Ping(ctx).Err() }); err != nil {
			t.Fatal(err)
		}
		n, err := KillRedisClusterClients(ctx, cc, name)
		if err != nil {
			t.Fatal(err)
		}
		if n < ClusterMasters {
			t.Fatalf("killed %d connections named %s, want at least one per master (%d)", n, name, ClusterMasters)
		}
	})
}

// Without redis-server on PATH the cluster cannot start, and the error says
// what to install.
func TestRedisClusterMissingBinaries(t *testing.T) {
	t.Setenv("MQSCOPE_TEST_REDIS_CLUSTER", "")
	t.Setenv("PATH", t.TempDir())
	_, err := findCluster()
	if err == nil || !strings.Contains(err.Error(), "redis-server is not on PATH") {
		t.Fatalf("findCluster without redis-server: %v, want an error saying redis-server is missing", err)
	}
}
