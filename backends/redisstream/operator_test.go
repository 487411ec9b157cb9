package redisstream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/internal/testbroker"
)

// seed writes n entries with the library encoding and returns their ids.
func seed(t testing.TB, admin *redis.Client, stream string, n int) []string {
	t.Helper()
	ctx := context.Background()
	pipe := admin.Pipeline()
	cmds := make([]*redis.StringCmd, n)
	for i := range cmds {
		cmds[i] = pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: []any{"data", fmt.Sprintf("m%03d", i), "headers", `{"K":["v"]}`}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i, c := range cmds {
		ids[i] = c.Val()
	}
	return ids
}

// readAs makes consumer read count entries of group (they become pending).
func readAs(t testing.TB, admin *redis.Client, stream, group, consumer string, count int) {
	t.Helper()
	if err := admin.XReadGroup(context.Background(), &redis.XReadGroupArgs{Group: group, Consumer: consumer, Streams: []string{stream, ">"}, Count: int64(count)}).Err(); err != nil {
		t.Fatal(err)
	}
}

// pelCounts maps pending id -> delivery count.
func pelCounts(t testing.TB, admin *redis.Client, stream, group string) map[string]int64 {
	t.Helper()
	p, err := admin.XPendingExt(context.Background(), &redis.XPendingExtArgs{Stream: stream, Group: group, Start: "-", End: "+", Count: 10000}).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, e := range p {
		out[e.ID] = e.RetryCount
	}
	return out
}

func TestOperatorWatchingChangesNothing(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	c := newClient(t, admin, core.Config{})
	op := c.Operator()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	ids := seed(t, admin, tp, 30)
	admin.XGroupCreate(ctx, tp, "g", "0")
	readAs(t, admin, tp, "g", "alice", 10)
	readAs(t, admin, tp, "g", "bob", 5)
	time.Sleep(30 * time.Millisecond)
	before := pelCounts(t, admin, tp, "g")
	infoBefore, _ := admin.XInfoGroups(ctx, tp).Result()

	ts, err := op.Topics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ti *core.TopicInfo
	for i := range ts {
		if ts[i].Name == tp {
			ti = &ts[i]
		}
	}
	if ti == nil || ti.Messages != 30 || ti.FirstID != ids[0] || ti.LastID != ids[29] || ti.Groups != 1 || ti.LastTime.IsZero() {
		t.Fatalf("Topics: %+v", ti)
	}
	if one, err := op.Topic(ctx, tp); err != nil || one.Messages != 30 {
		t.Fatalf("Topic: %+v %v", one, err)
	}
	if _, err := op.Topic(ctx, tp+"-missing"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Topic(missing): %v", err)
	}

	gs, err := op.Groups(ctx, tp)
	if err != nil || len(gs) != 1 {
		t.Fatalf("Groups: %v %v", gs, err)
	}
	g := gs[0]
	if g.Pending != 15 || g.Lag != 15 || g.LastDelivered != ids[14] || len(g.Consumers) != 2 || g.OldestPendingIdle <= 0 {
		t.Fatalf("group: %+v", g)
	}
	for _, cn := range g.Consumers {
		if (cn.Name == "alice" && cn.Pending != 10) || (cn.Name == "bob" && cn.Pending != 5) {
			t.Fatalf("consumer: %+v", cn)
		}
	}

	// Pending, paged by cursor and filtered by consumer.
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		p, err := op.Pending(ctx, core.PendingQuery{Topic: tp, Group: "g", Cursor: cursor, Limit: 4})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != 15 || len(p.Entries) > 4 {
			t.Fatalf("page: total %d, %d entries", p.Total, len(p.Entries))
		}
		for _, e := range p.Entries {
			seen = append(seen, e.ID)
			if e.Deliveries != 1 || e.Consumer == "" {
				t.Fatalf("entry %+v", e)
			}
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if strings.Join(seen, ",") != strings.Join(ids[:15], ",") {
		t.Fatalf("pages gave %v", seen)
	}
	bp, err := op.Pending(ctx, core.PendingQuery{Topic: tp, Group: "g", Consumer: "bob"})
	if err != nil || len(bp.Entries) != 5 || bp.Total != 5 || bp.Entries[0].Consumer != "bob" {
		t.Fatalf("bob's pending: %+v %v", bp, err)
	}
	if ip, err := op.Pending(ctx, core.PendingQuery{Topic: tp, Group: "g", MinIdle: time.Hour}); err != nil || len(ip.Entries) != 0 {
		t.Fatalf("min idle 1h: %+v %v", ip, err)
	}

	// Browse forwards, backwards, from an id and a time; Get.
	fw, err := op.Browse(ctx, core.BrowseQuery{Topic: tp, Limit: 10})
	if err != nil || len(fw.Records) != 10 || !fw.More || fw.Records[0].ID != ids[0] || fw.Next.ID != ids[10] {
		t.Fatalf("browse: %d records more=%v next=%v err=%v", len(fw.Records), fw.More, fw.Next, err)
	}
	if string(fw.Records[3].Data) != "m003" || fw.Records[3].Header.Get("K") != "v" || fw.Records[3].Time.IsZero() {
		t.Fatalf("record: %+v", fw.Records[3])
	}
	nx, err := op.Browse(ctx, core.BrowseQuery{Topic: tp, From: fw.Next, Limit: 100})
	if err != nil || len(nx.Records) != 20 || nx.More || nx.Records[0].ID != ids[10] {
		t.Fatalf("browse page 2: %d more=%v", len(nx.Records), nx.More)
	}
	rv, err := op.Browse(ctx, core.BrowseQuery{Topic: tp, Reverse: true, Limit: 3})
	if err != nil || len(rv.Records) != 3 || rv.Records[0].ID != ids[29] || rv.Next.ID != ids[26] {
		t.Fatalf("reverse: %+v %v", rv, err)
	}
	rid, err := op.Browse(ctx, core.BrowseQuery{Topic: tp, From: core.AtID(ids[5]), Reverse: true, Limit: 100})
	if err != nil || len(rid.Records) != 6 || rid.Records[0].ID != ids[5] {
		t.Fatalf("reverse from id: %d %v", len(rid.Records), err)
	}
	tm, err := op.Browse(ctx, core.BrowseQuery{Topic: tp, From: core.AtTime(time.Now().Add(time.Hour))})
	if err != nil || len(tm.Records) != 0 {
		t.Fatalf("browse from future: %+v %v", tm, err)
	}
	if r, err := op.Get(ctx, tp, ids[7]); err != nil || string(r.Data) != "m007" {
		t.Fatalf("get: %+v %v", r, err)
	}
	if _, err := op.Get(ctx, tp, "1-1"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}

	// Tail: last N, then new ones, without joining any group.
	tail, err := op.Tail(ctx, core.TailQuery{Pattern: tp, From: core.LastN(2)})
	if err != nil {
		t.Fatal(err)
	}
	defer tail.Stop()
	admin.XAdd(ctx, &redis.XAddArgs{Stream: tp, Values: []any{"data", "tailed"}})
	var got []core.Record
	eventually(t, func() string { return fmt.Sprintf("tail got %d", len(got)) }, func() bool {
		got = append(got, tail.Drain(0)...)
		return len(got) >= 3
	})
	if got[0].ID != ids[28] || string(got[2].Data) != "tailed" {
		t.Fatalf("tail: %v", got)
	}
	tail.Stop()

	// Nothing changed: same pending counts, same group state, no new group.
	after := pelCounts(t, admin, tp, "g")
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("delivery counts changed by watching:\n%v\n%v", before, after)
	}
	infoAfter, _ := admin.XInfoGroups(ctx, tp).Result()
	if len(infoAfter) != 1 || infoAfter[0].LastDeliveredID != infoBefore[0].LastDeliveredID || infoAfter[0].Consumers != 2 {
		t.Fatalf("group state changed by watching: %+v -> %+v", infoBefore, infoAfter)
	}
}

func TestOperatorActions(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	c := newClient(t, admin, core.Config{})
	op := c.Operator()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	ids := seed(t, admin, tp, 20)
	admin.XGroupCreate(ctx, tp, "g", "0")
	readAs(t, admin, tp, "g", "alice", 10)

	// Ack two (one not pending: skipped).
	r, err := op.Ack(ctx, core.ActionRequest{Topic: tp, Group: "g", IDs: []string{ids[0], ids[15]}})
	if err != nil || r.Done != 1 || r.Skipped != 1 {
		t.Fatalf("ack: %+v %v", r, err)
	}
	// Term = ack.
	if r, err := op.Term(ctx, core.ActionRequest{Topic: tp, Group: "g", IDs: []string{ids[1]}}); err != nil || r.Done != 1 {
		t.Fatalf("term: %+v %v", r, err)
	}
	// Claim to bob: min idle honoured; JUSTID keeps the count.
	r, err = op.Claim(ctx, core.ActionRequest{Topic: tp, Group: "g", Consumer: "bob", IDs: []string{ids[2], ids[3]}, MinIdle: time.Hour})
	if err != nil || r.Done != 0 || r.Skipped != 2 {
		t.Fatalf("claim with 1h min idle: %+v %v", r, err)
	}
	r, err = op.Claim(ctx, core.ActionRequest{Topic: tp, Group: "g", Consumer: "bob", IDs: []string{ids[2], ids[3]}})
	if err != nil || r.Done != 2 {
		t.Fatalf("claim: %+v %v", r, err)
	}
	bp, _ := admin.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: tp, Group: "g", Start: ids[2], End: ids[3], Count: 10}).Result()
	if len(bp) != 2 || bp[0].Consumer != "bob" || bp[0].RetryCount != 1 {
		t.Fatalf("after claim: %+v", bp)
	}
	// Nak: marks idle, count unchanged.
	if r, err := op.Nak(ctx, core.ActionRequest{Topic: tp, Group: "g", IDs: []string{ids[4]}}); err != nil || r.Done != 1 {
		t.Fatalf("nak: %+v %v", r, err)
	}
	np, _ := admin.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: tp, Group: "g", Start: ids[4], End: ids[4], Count: 1}).Result()
	if len(np) != 1 || np[0].Idle < time.Hour || np[0].RetryCount != 1 || np[0].Consumer != "alice" {
		t.Fatalf("after nak: %+v", np)
	}

	// Replay a selection to another topic, and a range to the same topic.
	other := tp + "-replay"
	r, err = op.Replay(ctx, core.ReplayRequest{Topic: tp, IDs: []string{ids[5], ids[6], "1-1"}, Target: other})
	if err != nil || r.Done != 2 || r.Skipped != 1 {
		t.Fatalf("replay selection: %+v %v", r, err)
	}
	rep, _ := op.Browse(ctx, core.BrowseQuery{Topic: other})
	if len(rep.Records) != 2 || rep.Records[0].Header.Get(core.HeaderReplayedFrom) != tp+"/"+ids[5] || string(rep.Records[0].Data) != "m005" || rep.Records[0].Header.Get("K") != "v" {
		t.Fatalf("replayed: %+v", rep.Records)
	}
	var prog []int
	r, err = op.Replay(ctx, core.ReplayRequest{Topic: tp, From: core.AtID(ids[17]), To: core.AtID(ids[18]), Progress: func(d, _ int) { prog = append(prog, d) }})
	if err != nil || r.Done != 2 || len(prog) == 0 || admin.XLen(ctx, tp).Val() != 22 {
		t.Fatalf("replay range: %+v %v len=%d", r, err, admin.XLen(ctx, tp).Val())
	}

	// Rewind: next delivery is ids[12] again.
	if _, err := op.Rewind(ctx, core.RewindRequest{Topic: tp, Group: "g", To: core.AtID(ids[12])}); err != nil {
		t.Fatal(err)
	}
	res, _ := admin.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "carol", Streams: []string{tp, ">"}, Count: 1}).Result()
	if len(res) != 1 || res[0].Messages[0].ID != ids[12] {
		t.Fatalf("after rewind read %+v", res)
	}

	// DeleteConsumer refuses while pending, works when empty.
	err = op.DeleteConsumer(ctx, tp, "g", "bob")
	if err == nil || !strings.Contains(err.Error(), "holds 2 pending") {
		t.Fatalf("delete consumer with pending: %v", err)
	}
	op.Ack(ctx, core.ActionRequest{Topic: tp, Group: "g", IDs: []string{ids[2], ids[3]}})
	if err := op.DeleteConsumer(ctx, tp, "g", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := op.DeleteConsumer(ctx, tp, "g", "bob"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("delete missing consumer: %v", err)
	}
	// Purge keeps the group.
	if r, err := op.Purge(ctx, tp); err != nil || r.Done != 22 {
		t.Fatalf("purge: %+v %v", r, err)
	}
	if gs, _ := admin.XInfoGroups(ctx, tp).Result(); len(gs) != 1 || admin.XLen(ctx, tp).Val() != 0 {
		t.Fatal("purge dropped the group or left messages")
	}
	if err := op.DeleteGroup(ctx, tp, "g"); err != nil {
		t.Fatal(err)
	}
	if err := op.DeleteGroup(ctx, tp, "g"); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("delete missing group: %v", err)
	}
	if err := op.EnsureDLQ(ctx, tp+".dlq"); err != nil {
		t.Fatal(err)
	}
}

func TestOperatorReadOnly(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	c := newClient(t, admin, core.Config{ReadOnly: true})
	ctx := context.Background()
	ids := seed(t, admin, tp, 1)
	if _, err := c.Operator().MoveToDLQ(ctx, core.MoveRequest{Topic: tp, IDs: ids}); !errors.Is(err, core.ErrReadOnly) {
		t.Fatalf("read-only move: %v", err)
	}
	if admin.XLen(ctx, tp).Val() != 1 {
		t.Fatal("read-only move changed the stream")
	}
}

func TestOperatorDeadLetterAndRedrive(t *testing.T) {
	t.Parallel()
	admin := testbroker.Redis(t)
	tp := topic(t, admin)
	c := newClient(t, admin, core.Config{})
	op := c.Operator()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	ids := seed(t, admin, tp, 10)
	admin.XGroupCreate(ctx, tp, "g", "0")
	readAs(t, admin, tp, "g", "alice", 5)
	dlq := tp + ".dlq"

	// Pending messages of a group: copy + XACK; a non-pending one is skipped.
	var prog [][2]int
	r, err := op.MoveToDLQ(ctx, core.MoveRequest{Topic: tp, Group: "g", IDs: []string{ids[0], ids[1], ids[7]}, Reason: "poison",
		Progress: func(d, n int) { prog = append(prog, [2]int{d, n}) }})
	if err != nil || r.Done != 2 || r.Skipped != 1 || len(prog) == 0 || prog[len(prog)-1] != [2]int{3, 3} {
		t.Fatalf("move pending: %+v %v %v", r, err, prog)
	}
	if p := pelCounts(t, admin, tp, "g"); len(p) != 3 {
		t.Fatalf("originals not acked: %v", p)
	}
	if admin.XLen(ctx, tp).Val() != 10 {
		t.Fatal("pending move must not delete stored messages")
	}
	dl, _ := op.Browse(ctx, core.BrowseQuery{Topic: dlq})
	if len(dl.Records) != 2 {
		t.Fatalf("DLQ has %d", len(dl.Records))
	}
	h := dl.Records[0].Header
	if h.Get(core.HeaderOriginTopic) != tp || h.Get(core.HeaderOriginID) != ids[0] || h.Get(core.HeaderOriginGroup) != "g" ||
		h.Get(core.HeaderOriginConsumer) != "alice" || h.Get(core.HeaderDeliveries) != "1" || h.Get(core.HeaderReason) != "poison" ||
		h.Get(core.HeaderDeadLetteredAt) == "" || h.Get("K") != "v" || string(dl.Records[0].Data) != "m000" {
		t.Fatalf("DLQ headers: %v", h)
	}
	// Stored messages (no group): copy + XDEL.
	r, err = op.MoveToDLQ(ctx, core.MoveRequest{Topic: tp, IDs: []string{ids[8], ids[9]}})
	if err != nil || r.Done != 2 || admin.XLen(ctx, tp).Val() != 8 || admin.XLen(ctx, dlq).Val() != 4 {
		t.Fatalf("move stored: %+v %v", r, err)
	}
	// Redrive back to the origin and remove from the DLQ.
	dl, _ = op.Browse(ctx, core.BrowseQuery{Topic: dlq})
	var dids []string
	for _, rec := range dl.Records {
		dids = append(dids, rec.ID)
	}
	r, err = op.Redrive(ctx, core.RedriveRequest{DLQ: dlq, IDs: dids, Remove: true})
	if err != nil || r.Done != 4 || admin.XLen(ctx, dlq).Val() != 0 || admin.XLen(ctx, tp).Val() != 12 {
		t.Fatalf("redrive: %+v %v", r, err)
	}
	back, _ := op.Browse(ctx, core.BrowseQuery{Topic: tp, Reverse: true, Limit: 1})
	bh := back.Records[0].Header
	if bh.Get(core.HeaderRedrivenFrom) == "" || bh.Get(core.HeaderOriginTopic) != "" || bh.Get(core.HeaderReason) != "" || bh.Get("K") != "v" {
		t.Fatalf("redriven headers: %v", bh)
	}
	// A DLQ key that is not a stream is refused before anything is acked.
	notStream := tp + ".notstream"
	admin.Set(ctx, notStream, "x", 0)
	if _, err := op.MoveToDLQ(ctx, core.MoveRequest{Topic: tp, IDs: []string{ids[2]}, DLQ: notStream}); err == nil || !strings.Contains(err.Error(), "not a stream") {
		t.Fatalf("move to a string key: %v", err)
	}
	if _, err := op.Get(ctx, tp, ids[2]); err != nil {
		t.Fatalf("original lost after a refused move: %v", err)
	}
	// A DLQ entry without origin needs a target.
	id, _ := admin.XAdd(ctx, &redis.XAddArgs{Stream: dlq, Values: []any{"data", "orphan"}}).Result()
	if _, err := op.Redrive(ctx, core.RedriveRequest{DLQ: dlq, IDs: []string{id}, Remove: true}); err == nil || !strings.Contains(err.Error(), "give a target") {
		t.Fatalf("redrive without origin: %v", err)
	}
	if r, err := op.Redrive(ctx, core.RedriveRequest{DLQ: dlq, IDs: []string{id}, Target: tp + "-x"}); err != nil || r.Done != 1 || admin.XLen(ctx, dlq).Val() != 1 {
		t.Fatalf("redrive to target without remove: %+v %v", r, err)
	}
}

// TestPublishResultIsTheXAddID: the operator's publish reports the entry id
// XADD gave, and that entry holds the message (read back with XRANGE).
func TestPublishResultIsTheXAddID(t *testing.T) {
	t.Parallel()
	admin := rclient(t, "admin")
	c := newClient(t, admin, core.Config{})
	stream := topic(t, admin)
	ctx := context.Background()
	res, err := c.Operator().Publish(ctx, stream, []byte("hello"), core.Header{"K": {"v"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Stored || res.Duplicate || res.ID == "" || res.String() != "stored as id "+res.ID {
		t.Fatalf("publish result %+v (%s)", res, res)
	}
	msgs, err := admin.XRange(ctx, stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || msgs[0].ID != res.ID || msgs[0].Values["data"] != "hello" {
		t.Errorf("stream %s holds %+v, want one entry %s with data hello", stream, msgs, res.ID)
	}
}
