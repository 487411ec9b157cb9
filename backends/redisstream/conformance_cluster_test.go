package redisstream_test

import (
	"testing"

	"github.com/mqscope/mqscope/core/coretest"
)

// TestConformanceCluster runs the conformance suite against a real Redis
// Cluster (a private 3-master cluster, see testbroker.RedisClusterAddrs),
// each client on its own *redis.ClusterClient: topics and their DLQs live on
// different nodes, the operator's SCAN runs on every master.
func TestConformanceCluster(t *testing.T) {
	h := coretest.RedisCluster(t)
	coretest.RunMQ(t, h)
	coretest.RunOperator(t, h)
}
