package redisstream

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
)

// Redis Cluster support. Commands on one key are routed by go-redis; what
// the backend must do itself:
//   - SCAN sees one node only: Topics scans every master (scanStreams).
//   - MULTI/EXEC cannot span hash slots: a dead-letter move or a redrive is
//     one transaction only when every key it writes shares a slot (hash
//     tags: "{orders}" and "{orders}.dlq"); otherwise the copies are written
//     and confirmed before the originals are settled, which may duplicate
//     after a lost reply but never loses (see oneTx).
//   - Scripts (DeleteConsumer) touch one key only.
//   - The server version is the lowest of the masters' (a cluster being
//     upgraded node by node must not be driven with commands its old nodes
//     lack).

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// keySlot is the cluster hash slot of key: CRC16 (XMODEM) of the key, or of
// its hash tag (the part between the first "{" and the next "}", when not
// empty), mod 16384.
func keySlot(key string) int {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	return int(crc16(key)) % clusterSlots
}

func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for b := 0; b < 8; b++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// oneTx says whether one MULTI/EXEC may write all keys: always on a single
// node; on a cluster only when they share a hash slot; never on a Ring
// (its shards are separate servers).
func (b *Backend) oneTx(keys ...string) bool {
	switch b.rdb.(type) {
	case *redis.Client:
		return true
	case *redis.ClusterClient:
		for _, k := range keys[1:] {
			if keySlot(k) != keySlot(keys[0]) {
				return false
			}
		}
		return len(keys) > 0
	}
	return false
}

// clusterVersion reads INFO server from every master and returns the lowest
// version (the one whose commands every node has).
func clusterVersion(ctx context.Context, cc *redis.ClusterClient) serverVersion {
	var mu sync.Mutex
	var vs []serverVersion
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		info, err := c.Info(ctx, "server").Result()
		if err != nil {
			return fmt.Errorf("%s: %w", c.Options().Addr, err)
		}
		v := parseVersion(info)
		mu.Lock()
		vs = append(vs, v)
		mu.Unlock()
		return nil
	})
	var low *serverVersion
	for i := range vs {
		v := &vs[i]
		if v.raw != "" && (low == nil || !v.atLeast(low.major, low.minor)) {
			low = v
		}
	}
	if low == nil {
		if err == nil {
			err = errors.New("no master reported redis_version")
		}
		return serverVersion{err: err, major: 7}
	}
	return *low
}

// clusterServerInfo adds what a cluster's masters say: how many there are,
// the lowest of their versions (and all of them when they differ: an
// upgrade in progress), and the cluster state when it is not ok. The rest
// of ServerInfo comes from one node (INFO server).
func clusterServerInfo(ctx context.Context, cc *redis.ClusterClient, si *core.ServerInfo) {
	var mu sync.Mutex
	versions := map[string]string{}
	n := 0
	_ = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		mu.Lock()
		n++
		mu.Unlock()
		info, err := c.Info(ctx, "server").Result()
		v := "unreachable"
		if err == nil {
			v = parseVersion(info).raw
		}
		state := ""
		if ci, err := c.ClusterInfo(ctx).Result(); err == nil && !strings.Contains(ci, "cluster_state:ok") {
			state = "fail"
		}
		mu.Lock()
		versions[c.Options().Addr] = v
		if state != "" {
			si.Extra["cluster_state"] = state
		}
		mu.Unlock()
		return nil
	})
	si.Extra["masters"] = strconv.Itoa(n)
	distinct := map[string]bool{}
	for _, v := range versions {
		distinct[v] = true
	}
	var low *serverVersion
	for _, v := range versions {
		if pv := parseVersion("redis_version:" + v); v != "unreachable" && (low == nil || !pv.atLeast(low.major, low.minor)) {
			low = &pv
		}
	}
	if low != nil {
		si.Version = low.raw
	}
	if len(distinct) > 1 {
		var parts []string
		for a, v := range versions {
			parts = append(parts, a+"="+v)
		}
		sort.Strings(parts)
		si.Extra["versions"] = strings.Join(parts, " ")
	}
}
