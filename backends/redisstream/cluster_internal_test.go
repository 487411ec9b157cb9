package redisstream

import (
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/internal/testbroker"
)

// keySlot agrees with the server's CLUSTER KEYSLOT, hash tags included.
func TestKeySlotMatchesServer(t *testing.T) {
	t.Parallel()
	if got := keySlot("123456789"); got != 0x31C3%clusterSlots {
		t.Fatalf("keySlot(123456789) = %d, want %d (CRC16/XMODEM check value 0x31C3)", got, 0x31C3%clusterSlots)
	}
	cc := testbroker.RedisCluster(t)
	keys := []string{"", "a", "orders", "orders.dlq", "{orders}.dlq", "{orders}", "foo{}{bar}", "foo{{bar}}zap", "foo{bar}{zap}", "{", "}", "{}", "x{y", "héllo ✓"}
	for i := 0; i < 200; i++ {
		keys = append(keys, fmt.Sprintf("ct_topic_%d_%x", i, i*7919))
	}
	pipe := cc.Pipeline()
	cmds := make([]*redis.IntCmd, len(keys))
	for i, k := range keys {
		cmds[i] = pipe.ClusterKeySlot(t.Context(), k)
	}
	if _, err := pipe.Exec(t.Context()); err != nil {
		t.Fatalf("CLUSTER KEYSLOT: %v", err)
	}
	for i, k := range keys {
		if got := keySlot(k); int64(got) != cmds[i].Val() {
			t.Errorf("keySlot(%q) = %d, server says %d", k, got, cmds[i].Val())
		}
	}
	if keySlot("{orders}") != keySlot("{orders}.dlq") {
		t.Error("hash-tagged topic and DLQ in different slots")
	}
}
