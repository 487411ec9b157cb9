package redisstream_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/coretest"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// TestConformanceCluster runs the conformance suite against a real Redis
// Cluster (a private 3-master cluster, see testbroker.RedisClusterAddrs),
// each client on its own *redis.ClusterClient: topics and their DLQs live on
// different nodes, the operator's SCAN runs on every master. It runs in
// parallel with the package's other parallel tests: mostly it waits.
func TestConformanceCluster(t *testing.T) {
	t.Parallel()
	h := coretest.RedisCluster(t)
	coretest.RunMQ(t, h)
	coretest.RunOperator(t, h)
}

// ctopic returns a unique stream name on the cluster, deleted (with every
// key starting with it) when t ends.
func ctopic(t testing.TB, cc *redis.ClusterClient, prefix string) string {
	name := testbroker.Name(t, prefix)
	testbroker.CleanupRedisClusterKeys(t, cc, name+"*")
	return name
}

// onOtherNode returns the first of base+".dlq", base+".dlq1", … whose master
// is not key's.
func onOtherNode(t testing.TB, cc *redis.ClusterClient, key, base string) string {
	t.Helper()
	m, err := cc.MasterForKey(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		k := base + ".dlq"
		if i > 0 {
			k += fmt.Sprint(i)
		}
		o, err := cc.MasterForKey(t.Context(), k)
		if err != nil {
			t.Fatal(err)
		}
		if o.Options().Addr != m.Options().Addr {
			return k
		}
	}
	t.Fatalf("no key %s.dlq* on another master than %s", base, key)
	return ""
}

// Topics lists streams from every master, not only the node SCAN happens
// to reach.
func TestClusterTopicsOnEveryMaster(t *testing.T) {
	t.Parallel()
	cc := testbroker.RedisCluster(t)
	ctx := t.Context()
	base := ctopic(t, cc, "cl")
	byNode := map[string][]string{}
	var names []string
	for i := 0; len(byNode) < testbroker.ClusterMasters || len(names) < 9; i++ {
		if i == 200 {
			t.Fatalf("200 keys landed on only %d masters", len(byNode))
		}
		k := fmt.Sprintf("%s_%d", base, i)
		m, err := cc.MasterForKey(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if err := cc.XAdd(ctx, &redis.XAddArgs{Stream: k, Values: []any{"data", "x"}}).Err(); err != nil {
			t.Fatal(err)
		}
		byNode[m.Options().Addr] = append(byNode[m.Options().Addr], k)
		names = append(names, k)
	}
	c := newClient(t, cc, core.Config{})
	ts, err := c.Operator().Topics(ctx)
	if err != nil {
		t.Fatalf("Topics: %v", err)
	}
	got := map[string]core.TopicInfo{}
	for _, ti := range ts {
		got[ti.Name] = ti
	}
	for node, ks := range byNode {
		for _, k := range ks {
			if ti, ok := got[k]; !ok {
				t.Errorf("Topics misses %s (on master %s)", k, node)
			} else if ti.Messages != 1 {
				t.Errorf("%s: %d messages, want 1", k, ti.Messages)
			}
		}
	}
	t.Logf("%d streams over %d masters, all listed", len(names), len(byNode))
}

// ServerInfo and the capabilities say it is a cluster, with the lowest
// version of the masters, and how dead-letter moves work there.
func TestClusterServerInfo(t *testing.T) {
	t.Parallel()
	cc := testbroker.RedisCluster(t)
	c := newClient(t, cc, core.Config{})
	si, err := c.Operator().ServerInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !si.Connected() || si.Extra["mode"] != "cluster" || !strings.HasPrefix(si.Version, "7.") || si.Extra["masters"] != fmt.Sprint(testbroker.ClusterMasters) {
		t.Fatalf("ServerInfo = %+v, want a connected cluster of %d masters on Redis 7", si, testbroker.ClusterMasters)
	}
	caps := c.Operator().Capabilities(t.Context())
	if caps.ServerVersion != si.Version {
		t.Errorf("Capabilities.ServerVersion %q, ServerInfo.Version %q", caps.ServerVersion, si.Version)
	}
	if r := caps.Ops[core.OpDeadLetter].Reason; !strings.Contains(r, "hash slot") {
		t.Errorf("dead-letter capability on a cluster does not say when it is one MULTI: %q", r)
	}
	t.Logf("%+v; dead letter: %s", si, caps.Ops[core.OpDeadLetter].Reason)
}

// A topic and a DLQ sharing a hash tag are moved and redriven in one
// MULTI/EXEC on the node owning the slot; without a shared slot the copies
// are confirmed first. Both say which in the result.
func TestClusterDeadLetterSlots(t *testing.T) {
	t.Parallel()
	cc := testbroker.RedisCluster(t)
	ctx := t.Context()
	base := ctopic(t, cc, "cl")
	for _, v := range []struct {
		name, topic, dlq, how string
	}{
		{"same-slot", "{" + base + "}.orders", "{" + base + "}.orders.dlq", "one MULTI/EXEC"},
		{"cross-slot", base + ".a", onOtherNode(t, cc, base+".a", base+".a"), "copied, then"},
	} {
		t.Run(v.name, func(t *testing.T) {
			m1, _ := cc.MasterForKey(ctx, v.topic)
			m2, _ := cc.MasterForKey(ctx, v.dlq)
			t.Logf("topic on %s, DLQ on %s", m1.Options().Addr, m2.Options().Addr)
			if v.how == "copied, then" && m1.Options().Addr == m2.Options().Addr {
				t.Fatalf("test setup: %s and %s landed on one node; pick other names", v.topic, v.dlq)
			}
			var ids []string
			for i := 0; i < 5; i++ {
				id, err := cc.XAdd(ctx, &redis.XAddArgs{Stream: v.topic, Values: []any{"data", fmt.Sprint("m", i)}}).Result()
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			if err := cc.XGroupCreate(ctx, v.topic, "g", "0").Err(); err != nil {
				t.Fatal(err)
			}
			if err := cc.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "w", Streams: []string{v.topic, ">"}, Count: 5}).Err(); err != nil {
				t.Fatal(err)
			}
			c := newClient(t, cc, core.Config{})
			res, err := c.Operator().MoveToDLQ(ctx, core.MoveRequest{Topic: v.topic, Group: "g", DLQ: v.dlq, IDs: ids, Reason: "test"})
			if err != nil || res.Done != 5 || !strings.Contains(res.Detail, v.how) {
				t.Fatalf("MoveToDLQ = %+v, %v; want 5 done, detail saying %q", res, err, v.how)
			}
			if n := cc.XLen(ctx, v.dlq).Val(); n != 5 {
				t.Fatalf("DLQ holds %d, want 5", n)
			}
			if p := cc.XPending(ctx, v.topic, "g").Val(); p.Count != 0 {
				t.Fatalf("%d still pending after the move", p.Count)
			}
			dl, _ := cc.XRange(ctx, v.dlq, "-", "+").Result()
			var dids []string
			for _, m := range dl {
				dids = append(dids, m.ID)
			}
			res, err = c.Operator().Redrive(ctx, core.RedriveRequest{DLQ: v.dlq, IDs: dids, Remove: true})
			if err != nil || res.Done != 5 || !strings.Contains(res.Detail, v.how) {
				t.Fatalf("Redrive = %+v, %v; want 5 done, detail saying %q", res, err, v.how)
			}
			if n := cc.XLen(ctx, v.dlq).Val(); n != 0 {
				t.Fatalf("DLQ holds %d after the redrive, want 0", n)
			}
			if n := cc.XLen(ctx, v.topic).Val(); n != 10 {
				t.Fatalf("topic holds %d after the redrive, want 10 (5 originals, 5 redriven)", n)
			}
		})
	}
}

// TestClusterFaultInjectionDLQRoundTrip moves pending messages to a DLQ on
// another node and redrives them back while the operator's connections to
// every node are killed at random moments and after every chunk: nothing
// may be lost. With go-redis' own retries off, a call that returns no error
// must also leave no duplicate (copies confirmed before a lost reply are
// found and not written again); go-redis' cluster client resends a
// pipeline after a network error (MaxRedirects), which may duplicate, so
// with its defaults duplicates are only counted.
func TestClusterFaultInjectionDLQRoundTrip(t *testing.T) {
	t.Parallel()
	for _, v := range []struct {
		name    string
		library bool
	}{{"library-recovery", true}, {"go-redis-retries", false}} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			clusterFaultRoundTrip(t, v.library)
		})
	}
}

func clusterFaultRoundTrip(t *testing.T, libraryOnly bool) {
	const n = 300
	cc := testbroker.RedisCluster(t)
	tp := ctopic(t, cc, "clf")
	dlq := onOtherNode(t, cc, tp, tp)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m1, _ := cc.MasterForKey(ctx, tp)
	m2, _ := cc.MasterForKey(ctx, dlq)
	t.Logf("topic on %s, DLQ on %s", m1.Options().Addr, m2.Options().Addr)

	pipe := cc.Pipeline()
	for i := 0; i < n; i++ {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: tp, Values: []any{"data", fmt.Sprintf("f-%04d", i)}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	cc.XGroupCreate(ctx, tp, "g", "0")
	if err := cc.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "w", Streams: []string{tp, ">"}, Count: n}).Err(); err != nil {
		t.Fatal(err)
	}

	name := testbroker.Name(t, "cfault")
	o := testbroker.RedisClusterOptions(t, name)
	if libraryOnly {
		o.MaxRetries, o.MaxRedirects = -1, -1 // let the library see the faults
	}
	victim := redis.NewClusterClient(o)
	t.Cleanup(func() { victim.Close() })
	logs := &logBuffer{}
	c := newClient(t, victim, core.Config{}, core.WithLogger(slog.New(logs)))
	op := c.Operator()

	var kills atomic.Int64
	kill := func() {
		k, _ := testbroker.KillRedisClusterClients(ctx, cc, name)
		kills.Add(int64(k))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(rand.IntN(2000)) * time.Microsecond):
				kill()
			}
		}
	}()
	onStep := func(done, total int) { kill() }

	moveCalls, callErrs := moveUntilDrained(t, ctx, cc, op, tp, "g", dlq, n, onStep)
	dlqAfterMove := cc.XLen(ctx, dlq).Val()
	redriveCalls, redriveErrs := redriveUntilEmpty(t, ctx, cc, op, dlq, onStep)
	callErrs += redriveErrs
	close(stop)
	wg.Wait()

	lost, dup, _, left := countCopies(ctx, cc, tp, dlq, n)
	pending, _ := cc.XPending(ctx, tp, "g").Result()
	retried := strings.Count(logs.String(), "failed; checking what landed") + strings.Count(logs.String(), "read failed; retrying")
	dedup := strings.Count(logs.String(), "already landed")
	t.Logf("%d connections killed on the cluster, %d chunk writes retried inside a call (%d found copies already landed); move: %d calls, DLQ held %d after it (of %d); redrive: %d calls; %d calls failed; %d left in DLQ, %d pending; lost=%d duplicated=%d",
		kills.Load(), retried, dedup, moveCalls, dlqAfterMove, n, redriveCalls, callErrs, left, pending.Count, lost, dup)
	if kills.Load() == 0 {
		t.Fatal("no connection was killed: the test proved nothing")
	}
	if lost != 0 {
		t.Fatalf("%d messages lost", lost)
	}
	if libraryOnly && callErrs == 0 && dup != 0 {
		t.Errorf("every call succeeded, yet %d copies were written twice", dup)
	}
	if pending.Count != 0 || left != 0 {
		t.Fatalf("not finished: %d pending, %d in DLQ", pending.Count, left)
	}
}

// The slot of a topic moves to another master (CLUSTER SETSLOT IMPORTING /
// MIGRATING, MIGRATE, SETSLOT NODE) while a publisher and a group
// subscriber run: the client follows ASK/MOVED, the stream arrives with its
// group and pending list, and no message is lost.
func TestClusterSlotMigrationUnderLoad(t *testing.T) {
	t.Parallel()
	cc := testbroker.RedisCluster(t)
	ctx := t.Context()
	// A topic alone in its slot, so that moving the slot disturbs no other
	// test's keys.
	var tp string
	var slot int64
	for i := 0; ; i++ {
		tp = "{" + testbroker.Name(t, fmt.Sprint("mig", i)) + "}"
		s, err := cc.ClusterKeySlot(ctx, tp).Result()
		if err != nil {
			t.Fatal(err)
		}
		m, _ := cc.MasterForKey(ctx, tp)
		if n, err := m.ClusterCountKeysInSlot(ctx, int(s)).Result(); err == nil && n == 0 {
			slot = s
			break
		}
		if i == 50 {
			t.Fatal("no empty slot found")
		}
	}
	testbroker.CleanupRedisClusterKeys(t, cc, tp+"*")
	src, err := cc.MasterForKey(ctx, tp)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var masters []*redis.Client
	_ = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		mu.Lock()
		masters = append(masters, c)
		mu.Unlock()
		return nil
	})
	var dst *redis.Client
	for _, m := range masters {
		if m.Options().Addr != src.Options().Addr {
			dst = m
			break
		}
	}
	myID := func(c *redis.Client) string {
		id, err := c.Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	srcID, dstID := myID(src), myID(dst)

	c := newClient(t, redis.NewClusterClient(testbroker.RedisClusterOptions(t, "")), core.Config{Consumer: "w"})
	got := newCollector()
	sub, err := c.Subscribe(ctx, tp, func(m core.Message) error { got.add(m); return nil }, core.WithQueueGroup("g"), core.WithClaimIdle(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	const n = 600
	data := payloads("mig", n)
	pubDone := make(chan error, 1)
	go func() {
		for i, d := range data {
			if err := c.Publish(ctx, tp, []byte(d)); err != nil {
				pubDone <- fmt.Errorf("publish %d: %w", i, err)
				return
			}
			time.Sleep(time.Millisecond)
		}
		pubDone <- nil
	}()
	eventually(t, func() string { return fmt.Sprintf("%d received before the move", got.distinct()) }, func() bool { return got.distinct() >= n/4 })

	// Move the slot from src to dst.
	host, port, _ := strings.Cut(dst.Options().Addr, ":")
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("SETSLOT IMPORTING", dst.Do(ctx, "CLUSTER", "SETSLOT", slot, "IMPORTING", srcID).Err())
	must("SETSLOT MIGRATING", src.Do(ctx, "CLUSTER", "SETSLOT", slot, "MIGRATING", dstID).Err())
	for {
		keys, err := src.ClusterGetKeysInSlot(ctx, int(slot), 100).Result()
		must("GETKEYSINSLOT", err)
		if len(keys) == 0 {
			break
		}
		args := []any{"MIGRATE", host, port, "", 0, 5000, "KEYS"}
		for _, k := range keys {
			args = append(args, k)
		}
		must("MIGRATE", src.Do(ctx, args...).Err())
	}
	for _, m := range masters {
		must("SETSLOT NODE", m.Do(ctx, "CLUSTER", "SETSLOT", slot, "NODE", dstID).Err())
	}
	moved := got.distinct()
	if owner, _ := dst.ClusterCountKeysInSlot(ctx, int(slot)).Result(); owner == 0 {
		t.Fatalf("slot %d: no key arrived on %s", slot, dst.Options().Addr)
	}
	t.Logf("slot %d moved from %s to %s after %d of %d messages were received", slot, src.Options().Addr, dst.Options().Addr, moved, n)

	select {
	case err := <-pubDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitLong):
		t.Fatal("publisher stuck")
	}
	eventually(t, func() string {
		return fmt.Sprintf("%d of %d received; missing e.g. %v", got.distinct(), n, first(got.missing(data), 5))
	}, func() bool { return got.distinct() == n })
	if moved >= n {
		t.Logf("note: everything was received before the slot finished moving")
	}
	eventually(t, func() string { return "entries still pending after every message was handled" }, func() bool {
		p, err := cc.XPending(ctx, tp, "g").Result()
		return err == nil && p.Count == 0
	})
	t.Logf("%d deliveries of %d messages (redelivered: %d)", got.total(), n, got.total()-n)
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }

// Publish and PublishAsync pipeline XADDs to topics on different masters
// (go-redis splits a cluster pipeline by node): every message lands, in
// call order per topic.
func TestClusterPublishAcrossNodes(t *testing.T) {
	t.Parallel()
	cc := testbroker.RedisCluster(t)
	ctx := t.Context()
	a := ctopic(t, cc, "clp")
	b := onOtherNode(t, cc, a, a)
	c := newClient(t, redis.NewClusterClient(testbroker.RedisClusterOptions(t, "")), core.Config{})
	const n = 500
	var wg sync.WaitGroup
	for _, tp := range []string{a, b} {
		wg.Add(2)
		go func() { // concurrent synchronous publishers share pipelines
			defer wg.Done()
			for i := 0; i < n; i++ {
				if err := c.Publish(ctx, tp, []byte(fmt.Sprintf("sync-%04d", i))); err != nil {
					t.Errorf("Publish %s: %v", tp, err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			var fs []*core.PublishFuture
			for i := 0; i < n; i++ {
				f, err := c.PublishAsync(ctx, tp, []byte(fmt.Sprintf("async-%04d", i)))
				if err != nil {
					t.Errorf("PublishAsync %s: %v", tp, err)
					return
				}
				fs = append(fs, f)
			}
			if err := c.Flush(ctx); err != nil {
				t.Errorf("Flush: %v", err)
			}
			for i, f := range fs {
				if err := f.Err(); err != nil {
					t.Errorf("PublishAsync %s #%d: %v", tp, i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, tp := range []string{a, b} {
		ms, err := cc.XRange(ctx, tp, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		next := map[string]int{}
		for _, m := range ms {
			d, _ := decodeForTest(m.Values)
			kind, num, _ := strings.Cut(d, "-")
			i, _ := strconv.Atoi(num)
			if i != next[kind] {
				t.Fatalf("%s: %s after %s-%04d: out of call order", tp, d, kind, next[kind]-1)
			}
			next[kind]++
		}
		if next["sync"] != n || next["async"] != n {
			t.Fatalf("%s holds %v, want %d of each", tp, next, n)
		}
	}
}
