package coretest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mqscope/mqscope/core"
)

func operatorCases() []testCase {
	return []testCase{
		{"Capabilities", testCapabilities},
		{"Topics", testTopics},
		{"Groups", testGroups},
		{"PendingPages", testPendingPages},
		{"Browse", testBrowse},
		{"Get", testGet},
		{"Tail", testTail},
		{"WatchingChangesNothing", testWatchingChangesNothing},
		{"Ack", testOpAck},
		{"Nak", testOpNak},
		{"Term", testOpTerm},
		{"Claim", testOpClaim},
		{"ActOnOneOnly", testActOnOneOnly},
		{"ActOnNotPending", testActOnNotPending},
		{"Replay", testOpReplay},
		{"Rewind", testOpRewind},
		{"DeadLetterAndRedrive", testOpDeadLetterRedrive},
		{"DeadLetterAndRedriveUnderFaults", testOpDLQUnderFaults},
		{"ReadOnly", testReadOnly},
		{"CapabilityGate", testCapabilityGate},
		{"PublishResult", testPublishResult},
		{"DeleteGroup", testOpDeleteGroup},
		{"DeleteConsumer", testOpDeleteConsumer},
		{"Purge", testOpPurge},
		{"DeleteMessages", testOpDeleteMessages},
	}
}

// holdClaimIdle is the claim idle (JetStream AckWait) of holdPending's
// subscriber: once it has passed, the operator can act on what it held.
const holdClaimIdle = time.Second

// holdPending makes group hold n unacked messages delivered to consumer
// "owner", then stops the subscriber so nothing changes behind the test,
// and waits out its claim idle (so a claim with that min idle can take
// them). It returns the payloads and their ids, in publish order.
func holdPending(t testing.TB, h *Harness, c *core.Client, topic, group string, n int) ([]string, []string) {
	t.Helper()
	owner := h.client(t, core.Config{Consumer: "owner"})
	var s sink
	sub := subscribe(t, owner, t.Context(), topic, s.handler("owner"), core.WithQueueGroup(group), core.WithManualAck(),
		core.WithClaimIdle(holdClaimIdle), core.WithBatchSize(10))
	data := payloads("pend", n)
	publishAll(t, c, topic, data, core.WithHeader("X-Test", "pending"))
	s.waitCount(t, n)
	if err := sub.Unsubscribe(); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	ids := make([]string, n)
	for i, d := range data {
		g, _ := s.find(d)
		ids[i] = g.ID
	}
	time.Sleep(holdClaimIdle + 200*time.Millisecond)
	return data, ids
}

// findGroup returns the group named name, or ok=false.
func findGroup(t testing.TB, c *core.Client, topic, name string) (core.GroupInfo, bool) {
	t.Helper()
	gs, err := c.Operator().Groups(t.Context(), topic)
	if err != nil {
		t.Fatalf("Groups(%s): %v", topic, err)
	}
	for _, g := range gs {
		if g.Name == name {
			return g, true
		}
	}
	return core.GroupInfo{}, false
}

// allPending pages through the whole pending list.
func allPending(t testing.TB, c *core.Client, q core.PendingQuery) ([]core.PendingEntry, []core.PendingPage) {
	t.Helper()
	var entries []core.PendingEntry
	var pages []core.PendingPage
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatalf("Pending: more than 100 pages; cursor %q does not advance", q.Cursor)
		}
		p, err := c.Operator().Pending(t.Context(), q)
		if err != nil {
			t.Fatalf("Pending(%+v): %v", q, err)
		}
		pages = append(pages, p)
		entries = append(entries, p.Entries...)
		if p.Next == "" {
			return entries, pages
		}
		if p.Next == q.Cursor {
			t.Fatalf("Pending: Next cursor %q repeats", p.Next)
		}
		q.Cursor = p.Next
	}
}

func testCapabilities(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	caps := c.Operator().Capabilities(t.Context())
	if caps.Driver != h.Driver {
		t.Errorf("Capabilities().Driver = %q, want %q", caps.Driver, h.Driver)
	}
	var yes, no []string
	for _, op := range core.AllOps {
		s, ok := caps.Ops[op]
		switch {
		case !ok:
			t.Errorf("capability %s is not declared", op)
		case !s.Supported && s.Reason == "":
			t.Errorf("capability %s is unsupported without a reason", op)
		case s.Supported:
			yes = append(yes, string(op))
		default:
			no = append(no, fmt.Sprintf("%s (%s)", op, s.Reason))
		}
	}
	t.Logf("%s supports: %s", h.Driver, strings.Join(yes, ", "))
	t.Logf("%s lacks: %s", h.Driver, strings.Join(no, "; "))
	info, err := c.Operator().ServerInfo(t.Context())
	if err != nil {
		t.Fatalf("ServerInfo: %v", err)
	}
	if !info.Connected() || info.Version == "" {
		t.Errorf("ServerInfo = %+v, want connected with a version", info)
	}
	// Unsupported operations say so with an *UnsupportedError.
	topic := h.topic(t)
	if ok, _ := caps.Can(core.OpBrowse); !ok {
		_, err := c.Operator().Browse(t.Context(), core.BrowseQuery{Topic: topic})
		var ue *core.UnsupportedError
		if !errors.As(err, &ue) || !errors.Is(err, core.ErrUnsupported) {
			t.Errorf("Browse on a backend without it: %v, want an *UnsupportedError", err)
		}
	}
	if ok, _ := caps.Can(core.OpPurge); !ok {
		if _, err := c.Operator().Purge(t.Context(), topic); !errors.Is(err, core.ErrUnsupported) {
			t.Errorf("Purge on a backend without it: %v, want ErrUnsupported", err)
		}
	}
}

func topicMatches(ti core.TopicInfo, topic string) bool {
	return ti.Name == topic || slices.Contains(ti.Subjects, topic)
}

func testTopics(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpTopics)
	history := can(t, c, core.OpHistory)
	topic := h.topic(t)
	if history {
		var s sink
		subscribe(t, c, t.Context(), topic, s.handler("s"), core.WithQueueGroup("g"))
		publishAll(t, c, topic, payloads("t", 3))
		s.waitCount(t, 3)
	}
	var found core.TopicInfo
	eventually(t, msgf("Topics never listed %s", topic), func() bool {
		if !history { // only observed traffic is listed: keep some flowing
			_ = c.Publish(t.Context(), topic, []byte("observed"))
		}
		ts, err := c.Operator().Topics(t.Context())
		if err != nil {
			t.Fatalf("Topics: %v", err)
		}
		for _, ti := range ts {
			if topicMatches(ti, topic) {
				found = ti
				return ti.Messages > 0
			}
		}
		return false
	})
	t.Logf("topic: %+v", found)
	if !history {
		return
	}
	if found.Messages != 3 {
		t.Errorf("Topics: %s has %d messages, want 3", topic, found.Messages)
	}
	if found.FirstID == "" || found.LastID == "" || found.FirstID == found.LastID {
		t.Errorf("Topics: %s first/last id %q/%q, want the first and third message", topic, found.FirstID, found.LastID)
	}
	if found.LastTime.IsZero() {
		t.Errorf("Topics: %s has no last time", topic)
	}
	if can(t, c, core.OpGroups) && found.Groups != 1 {
		t.Errorf("Topics: %s has %d groups, want 1", topic, found.Groups)
	}
	// The publish rate comes from the change between two listings.
	publishAll(t, c, topic, payloads("rate", 10))
	time.Sleep(300 * time.Millisecond)
	ts, err := c.Operator().Topics(t.Context())
	if err != nil {
		t.Fatalf("Topics: %v", err)
	}
	for _, ti := range ts {
		if topicMatches(ti, topic) && (ti.Messages != 13 || ti.Rate <= 0) {
			t.Errorf("Topics after 10 more: %d messages at rate %v, want 13 and a positive rate", ti.Messages, ti.Rate)
		}
	}
	one, err := c.Operator().Topic(t.Context(), found.Name)
	if err != nil {
		t.Fatalf("Topic(%s): %v", found.Name, err)
	}
	if one.Messages != 13 || !topicMatches(one, topic) {
		t.Errorf("Topic(%s) = %+v, want 13 messages", found.Name, one)
	}
}

func testGroups(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpGroups, core.OpHistory)
	topic := h.topic(t)
	holdPending(t, h, c, topic, "g", 3)
	var done sink
	subscribe(t, c, t.Context(), topic, done.handler("s"), core.WithQueueGroup("other"))
	done.waitCount(t, 3)
	eventually(t, func() string {
		g, _ := findGroup(t, c, topic, "g")
		return fmt.Sprintf("group g: %+v, want 3 pending", g)
	}, func() bool {
		g, ok := findGroup(t, c, topic, "g")
		return ok && g.Pending == 3
	})
	g, _ := findGroup(t, c, topic, "g")
	t.Logf("group: %+v", g)
	if g.Topic != "" && !strings.Contains(g.Topic, topic) && g.Topic != topic {
		t.Logf("group topic is %q (stream name)", g.Topic)
	}
	if g.LastDelivered == "" {
		t.Errorf("group g has no last-delivered position")
	}
	for _, cons := range g.Consumers {
		if cons.Name == "owner" && cons.Pending != 3 {
			t.Errorf("consumer owner has %d pending, want 3", cons.Pending)
		}
	}
	// With tiny thresholds the group holding messages is marked stuck and
	// sorted first.
	strict := h.client(t, core.Config{}, core.WithStuckThresholds(core.StuckThresholds{PendingIdle: time.Millisecond, ConsumerIdle: time.Millisecond}))
	gs, err := strict.Operator().Groups(t.Context(), topic)
	if err != nil {
		t.Fatalf("Groups: %v", err)
	}
	if len(gs) == 0 || gs[0].Name != "g" || len(gs[0].Stuck) == 0 {
		t.Errorf("with 1ms thresholds, want group g first and stuck: %+v", gs)
	} else {
		t.Logf("stuck: %v", gs[0].Stuck)
	}
	eventually(t, msgf("group other never showed 0 pending"), func() bool {
		o, ok := findGroup(t, c, topic, "other")
		return ok && o.Pending == 0
	})
}

func testPendingPages(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpPending)
	topic := h.topic(t)
	const n = 25
	_, ids := holdPending(t, h, c, topic, "g", n)
	entries, pages := allPending(t, c, core.PendingQuery{Topic: topic, Group: "g", Limit: 7})
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.ID] {
			t.Errorf("pending entry %s appears twice across pages", e.ID)
		}
		seen[e.ID] = true
		if e.Deliveries < 0 {
			t.Errorf("pending entry %s has Deliveries %d", e.ID, e.Deliveries)
		}
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("pending list lacks %s", id)
		}
	}
	if len(entries) != n {
		t.Errorf("pending list has %d entries, want %d", len(entries), n)
	}
	for i, p := range pages {
		if len(p.Entries) > 7 {
			t.Errorf("page %d has %d entries, limit 7", i, len(p.Entries))
		}
		if p.Total != n {
			t.Errorf("page %d says Total %d, want %d", i, p.Total, n)
		}
	}
	if len(pages) < 4 {
		t.Errorf("%d entries at limit 7 came in %d pages, want ≥ 4", n, len(pages))
	}
	t.Logf("%d pages; note: %q", len(pages), pages[0].Note)
	// Filters: an idle threshold nothing has reached yet returns nothing
	// that is less idle.
	p, err := c.Operator().Pending(t.Context(), core.PendingQuery{Topic: topic, Group: "g", MinIdle: time.Hour})
	skipUnsupported(t, "pending with MinIdle", err)
	if err != nil {
		t.Fatalf("Pending with MinIdle: %v", err)
	}
	for _, e := range p.Entries {
		if e.Idle < time.Hour {
			t.Errorf("Pending(MinIdle 1h) returned %s idle %v", e.ID, e.Idle)
		}
	}
}

// stored publishes n messages, recording a time between message mid-1 and
// mid, and returns their payloads and the records Browse gives for them.
func stored(t testing.TB, c *core.Client, topic string, n, mid int) ([]string, []core.Record, time.Time) {
	t.Helper()
	data := payloads("rec", n)
	publishAll(t, c, topic, data[:mid], core.WithHeader("X-Test", "browse"))
	time.Sleep(50 * time.Millisecond)
	mark := time.Now()
	time.Sleep(50 * time.Millisecond)
	publishAll(t, c, topic, data[mid:], core.WithHeader("X-Test", "browse"))
	page, err := c.Operator().Browse(t.Context(), core.BrowseQuery{Topic: topic, From: core.StartAll(), Limit: 1000})
	if err != nil {
		t.Fatalf("Browse(%s): %v", topic, err)
	}
	checkRecords(t, "browse all", page.Records, data)
	if page.More {
		t.Errorf("browse all of %d with limit 1000 says More", n)
	}
	if len(page.Records) != n {
		t.FailNow()
	}
	return data, page.Records, mark
}

func checkRecords(t testing.TB, what string, recs []core.Record, want []string) {
	t.Helper()
	var have []string
	for _, r := range recs {
		have = append(have, string(r.Data))
	}
	if strings.Join(have, ",") != strings.Join(want, ",") {
		t.Errorf("%s: got %v, want %v", what, have, want)
	}
}

func testBrowse(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpBrowse)
	topic := h.topic(t)
	data, recs, mark := stored(t, c, topic, 10, 5)
	for i, r := range recs {
		if r.ID == "" || r.Header.Get("X-Test") != "browse" || r.Time.IsZero() || r.Size != len(r.Data) {
			t.Errorf("record %d = %+v: want id, header X-Test, time and size", i, r)
		}
	}
	ctx := t.Context()
	browse := func(q core.BrowseQuery) core.BrowsePage {
		t.Helper()
		q.Topic = topic
		p, err := c.Operator().Browse(ctx, q)
		if err != nil {
			t.Fatalf("Browse(%+v): %v", q, err)
		}
		return p
	}
	// Forward pages.
	var paged []core.Record
	q := core.BrowseQuery{From: core.StartAll(), Limit: 4}
	for i := 0; ; i++ {
		if i > 5 {
			t.Fatalf("forward paging does not end")
		}
		p := browse(q)
		if len(p.Records) > 4 {
			t.Errorf("page of %d records, limit 4", len(p.Records))
		}
		paged = append(paged, p.Records...)
		if !p.More {
			break
		}
		q.From = p.Next
	}
	checkRecords(t, "forward pages of 4", paged, data)
	// Backward pages.
	paged = nil
	q = core.BrowseQuery{From: core.StartAll(), Reverse: true, Limit: 3}
	for i := 0; ; i++ {
		if i > 5 {
			t.Fatalf("backward paging does not end")
		}
		p := browse(q)
		paged = append(paged, p.Records...)
		if !p.More {
			break
		}
		q.From = p.Next
	}
	rev := slices.Clone(data)
	slices.Reverse(rev)
	checkRecords(t, "backward pages of 3", paged, rev)
	// From an id (the record at the id itself may or may not be included).
	dropAt := func(rs []core.Record, at string) []core.Record {
		if len(rs) > 0 && string(rs[0].Data) == at {
			return rs[1:]
		}
		return rs
	}
	p := browse(core.BrowseQuery{From: core.AtID(recs[5].ID), Limit: 100})
	checkRecords(t, "forward from id of #5", dropAt(p.Records, data[5]), data[6:])
	p = browse(core.BrowseQuery{From: core.AtID(recs[5].ID), Reverse: true, Limit: 2})
	if len(p.Records) > 2 {
		t.Errorf("backward browse with limit 2 gave %d records", len(p.Records))
	} else {
		back := dropAt(p.Records, data[5])
		checkRecords(t, "backward from id of #5", back, rev[5:5+len(back)])
	}
	p = browse(core.BrowseQuery{From: core.AtTime(mark), Limit: 100})
	checkRecords(t, "forward from time", p.Records, data[5:])
	if seq, err := strconv.ParseUint(recs[5].ID, 10, 64); err == nil {
		p = browse(core.BrowseQuery{From: core.AtSequence(seq), Limit: 2})
		checkRecords(t, "forward from sequence of #5", p.Records, data[5:7])
	} else if _, err := c.Operator().Browse(ctx, core.BrowseQuery{Topic: topic, From: core.AtSequence(3)}); err == nil {
		t.Errorf("ids are not sequences (%q), yet Browse from sequence 3 was accepted", recs[5].ID)
	} else {
		t.Logf("browse from a sequence: %v", err)
	}
}

// bumpID returns an id after id that does not exist yet.
func bumpID(id string) string {
	if n, err := strconv.ParseUint(id, 10, 64); err == nil {
		return strconv.FormatUint(n+1000, 10)
	}
	if a, _, ok := strings.Cut(id, "-"); ok {
		if n, err := strconv.ParseUint(a, 10, 64); err == nil {
			return strconv.FormatUint(n+1000, 10) + "-0"
		}
	}
	return id + "0"
}

func testGet(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpGet, core.OpBrowse)
	topic := h.topic(t)
	data, recs, _ := stored(t, c, topic, 4, 2)
	r, err := c.Operator().Get(t.Context(), topic, recs[2].ID)
	if err != nil {
		t.Fatalf("Get(%s): %v", recs[2].ID, err)
	}
	if string(r.Data) != data[2] || r.ID != recs[2].ID || r.Header.Get("X-Test") != "browse" {
		t.Errorf("Get(%s) = %+v, want %s with its header", recs[2].ID, r, data[2])
	}
	missing := bumpID(recs[3].ID)
	if _, err := c.Operator().Get(t.Context(), topic, missing); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("Get(%s) of a missing id: %v, want ErrNotFound", missing, err)
	}
}

func testTail(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpTail)
	topic := h.topic(t)
	op := c.Operator()
	t.Run("FromNow", func(t *testing.T) {
		if can(t, c, core.OpHistory) {
			publishAll(t, c, topic, []string{"before-tail"})
		}
		tl, err := op.Tail(t.Context(), core.TailQuery{Pattern: topic})
		if err != nil {
			t.Fatalf("Tail: %v", err)
		}
		defer tl.Stop()
		want := payloads("tail", 5)
		publishAll(t, c, topic, want, core.WithHeader("X-Test", "tail"))
		var recs []core.Record
		eventually(t, func() string { return fmt.Sprintf("tail got %d records, want %d", len(recs), len(want)) }, func() bool {
			recs = append(recs, tl.Drain(0)...)
			return len(recs) >= len(want)
		})
		time.Sleep(quiet / 3)
		recs = append(recs, tl.Drain(0)...)
		checkRecords(t, "tail from now", recs, want)
		for _, r := range recs {
			if r.Header.Get("X-Test") != "tail" || (r.Topic != topic && r.Subject != topic) {
				t.Errorf("tail record %+v: want header X-Test and topic/subject %s", r, topic)
			}
		}
		if tl.Dropped() != 0 {
			t.Errorf("tail dropped %d with room to spare", tl.Dropped())
		}
	})
	t.Run("SlowReaderDrops", func(t *testing.T) {
		topic := h.topic(t)
		tl, err := op.Tail(t.Context(), core.TailQuery{Pattern: topic, Buffer: 5})
		if err != nil {
			t.Fatalf("Tail: %v", err)
		}
		defer tl.Stop()
		want := payloads("flood", 50)
		publishAll(t, c, topic, want) // must not block on the undrained tail
		eventually(t, func() string { return fmt.Sprintf("tail received %d of 50", tl.Received()) },
			func() bool { return tl.Received() >= 50 })
		if tl.Dropped() != 45 || tl.Len() != 5 {
			t.Errorf("tail of 5 after 50: dropped %d, buffered %d; want 45 and 5", tl.Dropped(), tl.Len())
		}
		checkRecords(t, "what a full tail keeps", tl.Drain(0), want[45:])
	})
	t.Run("Wildcard", func(t *testing.T) {
		if h.Wildcard == "" {
			t.Skipf("%s: the harness names no wildcard pattern (Harness.Wildcard is empty)", h.Driver)
		}
		base := h.topic(t)
		tl, err := op.Tail(t.Context(), core.TailQuery{Pattern: base + h.Wildcard})
		if err != nil {
			t.Fatalf("Tail %s: %v", base+h.Wildcard, err)
		}
		defer tl.Stop()
		publishAll(t, c, base+".a", []string{"to-a"})
		publishAll(t, c, base+".b", []string{"to-b"})
		publishAll(t, c, base, []string{"to-base"}) // not matched by base.*
		var recs []core.Record
		eventually(t, func() string { return fmt.Sprintf("wildcard tail got %d of 2", len(recs)) }, func() bool {
			recs = append(recs, tl.Drain(0)...)
			return len(recs) >= 2
		})
		time.Sleep(quiet / 3)
		recs = append(recs, tl.Drain(0)...)
		checkRecords(t, "wildcard tail", recs, []string{"to-a", "to-b"})
		for _, r := range recs {
			if subj := orTopic(r); subj != base+"."+strings.TrimPrefix(string(r.Data), "to-") {
				t.Errorf("wildcard tail record %q has subject %q", r.Data, subj)
			}
		}
	})
	t.Run("LastN", func(t *testing.T) {
		requireOp(t, c, core.OpHistory)
		topic := h.topic(t)
		want := payloads("last", 5)
		publishAll(t, c, topic, want)
		tl, err := op.Tail(t.Context(), core.TailQuery{Pattern: topic, From: core.LastN(2)})
		skipUnsupported(t, "tail from last 2", err)
		if err != nil {
			t.Fatalf("Tail from last 2: %v", err)
		}
		defer tl.Stop()
		var recs []core.Record
		eventually(t, func() string { return fmt.Sprintf("tail got %d", len(recs)) }, func() bool {
			recs = append(recs, tl.Drain(0)...)
			return len(recs) >= 2
		})
		publishAll(t, c, topic, []string{"new"})
		eventually(t, func() string { return fmt.Sprintf("tail got %d", len(recs)) }, func() bool {
			recs = append(recs, tl.Drain(0)...)
			return len(recs) >= 3
		})
		checkRecords(t, "tail from last 2", recs, []string{want[3], want[4], "new"})
	})
}

// groupState is what watching must not change.
type groupState struct {
	groups  string
	pending string
}

func snapshot(t testing.TB, c *core.Client, topic string) groupState {
	t.Helper()
	gs, err := c.Operator().Groups(t.Context(), topic)
	if err != nil {
		t.Fatalf("Groups: %v", err)
	}
	var parts []string
	for _, g := range gs {
		var cons []string
		for _, cn := range g.Consumers {
			cons = append(cons, fmt.Sprintf("%s:%d", cn.Name, cn.Pending))
		}
		slices.Sort(cons)
		parts = append(parts, fmt.Sprintf("%s pending=%d redelivered=%d last=%s consumers=%v", g.Name, g.Pending, g.Redelivered, g.LastDelivered, cons))
	}
	slices.Sort(parts)
	st := groupState{groups: strings.Join(parts, "; ")}
	if can(t, c, core.OpPending) {
		entries, _ := allPending(t, c, core.PendingQuery{Topic: topic, Group: "g"})
		var ps []string
		for _, e := range entries {
			ps = append(ps, fmt.Sprintf("%s@%s×%d", e.ID, e.Consumer, e.Deliveries))
		}
		st.pending = strings.Join(ps, " ")
	}
	return st
}

func testWatchingChangesNothing(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpGroups, core.OpHistory)
	topic := h.topic(t)
	_, ids := holdPending(t, h, c, topic, "g", 3)
	before := snapshot(t, c, topic)
	t.Logf("before: %+v", before)
	op := c.Operator()
	ctx := t.Context()
	for i := 0; i < 2; i++ {
		if can(t, c, core.OpTopics) {
			if _, err := op.Topics(ctx); err != nil {
				t.Fatalf("Topics: %v", err)
			}
		}
		if _, err := op.Groups(ctx, topic); err != nil {
			t.Fatalf("Groups: %v", err)
		}
		if can(t, c, core.OpPending) {
			allPending(t, c, core.PendingQuery{Topic: topic, Group: "g", Limit: 2})
		}
		if can(t, c, core.OpBrowse) {
			if _, err := op.Browse(ctx, core.BrowseQuery{Topic: topic, From: core.StartAll()}); err != nil {
				t.Fatalf("Browse: %v", err)
			}
			if _, err := op.Browse(ctx, core.BrowseQuery{Topic: topic, Reverse: true}); err != nil {
				t.Fatalf("Browse reverse: %v", err)
			}
		}
		if can(t, c, core.OpGet) {
			if _, err := op.Get(ctx, topic, ids[1]); err != nil {
				t.Fatalf("Get: %v", err)
			}
		}
	}
	if after := snapshot(t, c, topic); after != before {
		t.Errorf("watching changed the broker:\nbefore: %+v\nafter:  %+v", before, after)
	}
	if can(t, c, core.OpTail) {
		tl, err := op.Tail(ctx, core.TailQuery{Pattern: topic, From: core.LastN(3)})
		if errors.Is(err, core.ErrUnsupported) {
			tl, err = op.Tail(ctx, core.TailQuery{Pattern: topic})
		}
		if err != nil {
			t.Fatalf("Tail: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
		tl.Stop()
		var after groupState
		eventually(t, func() string {
			return fmt.Sprintf("tailing changed the broker:\nbefore: %+v\nafter:  %+v", before, after)
		}, func() bool {
			after = snapshot(t, c, topic)
			return after == before
		})
	}
}

func testOpAck(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpAck, core.OpGroups)
	topic := h.topic(t)
	_, ids := holdPending(t, h, c, topic, "g", 3)
	logs := newLogBuffer()
	audited := h.client(t, core.Config{}, core.WithLogger(slogNew(logs)))
	res, err := audited.Operator().Ack(t.Context(), core.ActionRequest{Topic: topic, Group: "g", IDs: ids[:1]})
	if err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if out := logs.String(); !strings.Contains(out, "audit") || !strings.Contains(out, "op=ack") || !strings.Contains(out, ids[0]) {
		t.Errorf("Ack wrote no audit line naming the op and id; log:\n%s", out)
	}
	if res.Done != 1 || res.Failed != 0 {
		t.Errorf("Ack result %+v, want 1 done", res)
	}
	eventually(t, msgf("pending after ack != 2"), func() bool {
		g, ok := findGroup(t, c, topic, "g")
		return ok && g.Pending == 2
	})
	if can(t, c, core.OpPending) {
		entries, _ := allPending(t, c, core.PendingQuery{Topic: topic, Group: "g"})
		for _, e := range entries {
			if e.ID == ids[0] {
				t.Errorf("acked %s is still pending", e.ID)
			}
		}
	}
}

func testOpClaim(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpClaim, core.OpPending)
	topic := h.topic(t)
	_, ids := holdPending(t, h, c, topic, "g", 3)
	res, err := c.Operator().Claim(t.Context(), core.ActionRequest{Topic: topic, Group: "g", Consumer: "thief", IDs: ids[:2]})
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if res.Done != 2 {
		t.Errorf("Claim result %+v, want 2 done", res)
	}
	entries, _ := allPending(t, c, core.PendingQuery{Topic: topic, Group: "g", Consumer: "thief"})
	var got []string
	for _, e := range entries {
		got = append(got, e.ID)
		if e.Consumer != "thief" {
			t.Errorf("entry %s owned by %q in thief's list", e.ID, e.Consumer)
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(ids[:2]))
	if !slices.Equal(got, want) {
		t.Errorf("thief owns %v, want %v", got, want)
	}
	entries, _ = allPending(t, c, core.PendingQuery{Topic: topic, Group: "g", Consumer: "owner"})
	if len(entries) != 1 || entries[0].ID != ids[2] {
		t.Errorf("owner's pending after claim: %+v, want only %s", entries, ids[2])
	}
}

func testOpReplay(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpReplay, core.OpBrowse)
	topic, other := h.topic(t), h.topic(t)
	data, recs, _ := stored(t, c, topic, 3, 1)
	res, err := c.Operator().Replay(t.Context(), core.ReplayRequest{Topic: topic, IDs: []string{recs[1].ID}, Target: other})
	if err != nil {
		t.Fatalf("Replay to %s: %v", other, err)
	}
	if res.Done != 1 {
		t.Errorf("Replay result %+v, want 1 done", res)
	}
	p, err := c.Operator().Browse(t.Context(), core.BrowseQuery{Topic: other, From: core.StartAll()})
	if err != nil {
		t.Fatalf("Browse(%s): %v", other, err)
	}
	checkRecords(t, "replayed to another topic", p.Records, data[1:2])
	for _, r := range p.Records {
		if rf := r.Header.Get(core.HeaderReplayedFrom); !strings.HasSuffix(rf, "/"+recs[1].ID) {
			t.Errorf("replayed copy has %s = %q, want …/%s", core.HeaderReplayedFrom, rf, recs[1].ID)
		}
		if r.Header.Get("X-Test") != "browse" {
			t.Errorf("replayed copy lost its headers: %v", r.Header)
		}
	}
	// A range, to the same topic.
	res, err = c.Operator().Replay(t.Context(), core.ReplayRequest{Topic: topic, From: core.StartAll()})
	if err != nil {
		t.Fatalf("Replay range: %v", err)
	}
	if res.Done != 3 {
		t.Errorf("Replay of the whole topic: %+v, want 3 done", res)
	}
	p, err = c.Operator().Browse(t.Context(), core.BrowseQuery{Topic: topic, From: core.StartAll()})
	if err != nil {
		t.Fatalf("Browse(%s): %v", topic, err)
	}
	checkRecords(t, "topic after replaying it onto itself", p.Records, append(slices.Clone(data), data...))
}

func testOpRewind(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpRewind, core.OpHistory)
	topic := h.topic(t)
	want := payloads("rw", 5)
	publishAll(t, c, topic, want)
	consume := func(t *testing.T, n int) *sink {
		t.Helper()
		var s sink
		sub := subscribe(t, c, t.Context(), topic, s.handler("s"), core.WithQueueGroup("g"))
		s.waitCount(t, n)
		time.Sleep(quiet / 3)
		if err := sub.Unsubscribe(); err != nil {
			t.Fatal(err)
		}
		return &s
	}
	first := consume(t, 5)
	exactlyOnce(t, "first pass", first.counts(), want)
	rewind := func(to core.Position) {
		t.Helper()
		req := core.RewindRequest{Topic: topic, Group: "g", To: to}
		_, err := c.Operator().Rewind(t.Context(), req)
		if errors.Is(err, core.ErrNeedsConfirmation) {
			t.Logf("rewind needs confirmation: %v", err)
			req.Confirmed = true
			_, err = c.Operator().Rewind(t.Context(), req)
		}
		if err != nil {
			t.Fatalf("Rewind to %s: %v", to, err)
		}
	}
	rewind(core.StartAll())
	again := consume(t, 5)
	inOrder(t, "after rewind to the start", again.all(), want)
	id2 := first.all()[2].ID
	for _, g := range first.all() {
		if string(g.Data) == want[2] {
			id2 = g.ID
		}
	}
	rewind(core.AtID(id2))
	var s sink
	subscribe(t, c, t.Context(), topic, s.handler("s"), core.WithQueueGroup("g"))
	s.waitAll(t, want[3:])
	gs := s.all()
	if len(gs) > 0 && string(gs[0].Data) == want[2] {
		gs = gs[1:]
	}
	inOrder(t, "after rewind to the id of #2", gs, want[3:])
}

func testOpDeadLetterRedrive(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpDeadLetter, core.OpBrowse, core.OpGroups)
	topic := h.topic(t)
	dlq := c.DeadLetterTopic(topic)
	op := c.Operator()
	if can(t, c, core.OpCreateDLQ) {
		if err := op.EnsureDLQ(t.Context(), dlq); err != nil {
			t.Fatalf("EnsureDLQ(%s): %v", dlq, err)
		}
	}
	data, ids := holdPending(t, h, c, topic, "g", 3)
	res, err := op.MoveToDLQ(t.Context(), core.MoveRequest{Topic: topic, Group: "g", IDs: ids[:2], Reason: "poison"})
	if err != nil {
		t.Fatalf("MoveToDLQ: %v", err)
	}
	if res.Done != 2 {
		t.Errorf("MoveToDLQ result %+v, want 2 done", res)
	}
	eventually(t, msgf("pending after moving 2 of 3 to the DLQ != 1"), func() bool {
		g, ok := findGroup(t, c, topic, "g")
		return ok && g.Pending == 1
	})
	p, err := op.Browse(t.Context(), core.BrowseQuery{Topic: dlq, From: core.StartAll()})
	if err != nil {
		t.Fatalf("Browse(%s): %v", dlq, err)
	}
	checkRecords(t, "DLQ", p.Records, data[:2])
	if len(p.Records) != 2 {
		t.FailNow()
	}
	var dlqIDs []string
	for i, r := range p.Records {
		dlqIDs = append(dlqIDs, r.ID)
		hd := r.Header
		for k, v := range map[string]string{core.HeaderOriginTopic: topic, core.HeaderOriginID: ids[i], core.HeaderOriginGroup: "g",
			core.HeaderReason: "poison", "X-Test": "pending"} {
			if hd.Get(k) != v {
				t.Errorf("DLQ copy %d: %s = %q, want %q (headers %v)", i, k, hd.Get(k), v, hd)
			}
		}
		if hd.Get(core.HeaderDeadLetteredAt) == "" {
			t.Errorf("DLQ copy %d has no %s", i, core.HeaderDeadLetteredAt)
		}
	}
	if !can(t, c, core.OpRedrive) {
		_, why := c.Operator().Capabilities(t.Context()).Can(core.OpRedrive)
		t.Skipf("%s: %s: %s", c.Driver(), core.OpRedrive, why)
	}
	res, err = op.Redrive(t.Context(), core.RedriveRequest{DLQ: dlq, IDs: dlqIDs, Remove: true})
	if err != nil {
		t.Fatalf("Redrive: %v", err)
	}
	if res.Done != 2 {
		t.Errorf("Redrive result %+v, want 2 done", res)
	}
	p, err = op.Browse(t.Context(), core.BrowseQuery{Topic: topic, From: core.StartAll()})
	if err != nil {
		t.Fatalf("Browse(%s): %v", topic, err)
	}
	checkRecords(t, "origin after redrive", p.Records, append(slices.Clone(data), data[:2]...))
	if len(p.Records) != 5 {
		t.FailNow()
	}
	for i, r := range p.Records[3:] {
		hd := r.Header
		if rf := hd.Get(core.HeaderRedrivenFrom); !strings.HasSuffix(rf, "/"+dlqIDs[i]) {
			t.Errorf("redriven copy: %s = %q, want …/%s", core.HeaderRedrivenFrom, rf, dlqIDs[i])
		}
		if hd.Get(core.HeaderOriginTopic) != "" || hd.Get("X-Test") != "pending" {
			t.Errorf("redriven copy headers %v: want the original's headers without the dead-letter ones", hd)
		}
	}
	p, err = op.Browse(t.Context(), core.BrowseQuery{Topic: dlq, From: core.StartAll()})
	if err != nil {
		t.Fatalf("Browse(%s): %v", dlq, err)
	}
	checkRecords(t, "DLQ after redrive with Remove", p.Records, nil)
}

// opCalls calls every gated operation on topic, with requests that are
// valid but name nothing that exists (group "g", id "1").
func opCalls(ctx context.Context, op *core.Operator, topic string) map[core.Op]func() error {
	a := core.ActionRequest{Topic: topic, Group: "g", Consumer: "x", IDs: []string{"1"}}
	dlq := op.DLQName(topic)
	return map[core.Op]func() error{
		core.OpGroups: func() error { _, err := op.Groups(ctx, topic); return err },
		core.OpPending: func() error {
			_, err := op.Pending(ctx, core.PendingQuery{Topic: topic, Group: "g"})
			return err
		},
		core.OpBrowse: func() error {
			_, err := op.Browse(ctx, core.BrowseQuery{Topic: topic, From: core.StartAll()})
			return err
		},
		core.OpGet: func() error { _, err := op.Get(ctx, topic, "1"); return err },
		core.OpStartPosition: func() error {
			tl, err := op.Tail(ctx, core.TailQuery{Pattern: topic, From: core.StartAll()})
			if err == nil {
				tl.Stop()
			}
			return err
		},
		core.OpAck:   func() error { _, err := op.Ack(ctx, a); return err },
		core.OpNak:   func() error { _, err := op.Nak(ctx, a); return err },
		core.OpTerm:  func() error { _, err := op.Term(ctx, a); return err },
		core.OpClaim: func() error { _, err := op.Claim(ctx, a); return err },
		core.OpReplay: func() error {
			_, err := op.Replay(ctx, core.ReplayRequest{Topic: topic, IDs: []string{"1"}})
			return err
		},
		core.OpRewind: func() error {
			_, err := op.Rewind(ctx, core.RewindRequest{Topic: topic, Group: "g", To: core.StartAll()})
			return err
		},
		core.OpDeadLetter: func() error {
			_, err := op.MoveToDLQ(ctx, core.MoveRequest{Topic: topic, IDs: []string{"1"}})
			return err
		},
		core.OpRedrive: func() error {
			_, err := op.Redrive(ctx, core.RedriveRequest{DLQ: dlq, IDs: []string{"1"}})
			return err
		},
		core.OpDeleteGroup:    func() error { return op.DeleteGroup(ctx, topic, "g") },
		core.OpDeleteConsumer: func() error { return op.DeleteConsumer(ctx, topic, "g", "x") },
		core.OpPurge:          func() error { _, err := op.Purge(ctx, topic); return err },
		core.OpDeleteMessages: func() error {
			_, err := op.DeleteMessages(ctx, core.DeleteRequest{Topic: topic, IDs: []string{"1"}})
			return err
		},
		core.OpCreateDLQ:    func() error { return op.EnsureDLQ(ctx, dlq) },
		core.OpCreateStream: func() error { return op.EnsureStream(ctx, topic) },
	}
}

// testCapabilityGate: core refuses an operation Capabilities declares
// unsupported with Capabilities' own reason, and every operation declared
// supported reaches the backend (none is declared but not implemented).
func testCapabilityGate(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	op := c.Operator()
	ctx := t.Context()
	caps := op.Capabilities(ctx)
	calls := opCalls(ctx, op, h.topic(t))
	// Not gated: always supported, or a property rather than a call.
	ungated := map[core.Op]bool{core.OpHistory: true, core.OpTopics: true, core.OpTail: true, core.OpDedup: true}
	for _, o := range core.AllOps {
		if _, ok := calls[o]; !ok && !ungated[o] {
			t.Errorf("opCalls has no call for %s: add one", o)
		}
	}
	for o, call := range calls {
		ok, why := caps.Can(o)
		err := call()
		var ue *core.UnsupportedError
		refused := errors.As(err, &ue) && ue.Op == o
		switch {
		case !ok && !refused:
			t.Errorf("%s is declared unsupported (%s) but the call returned %v", o, why, err)
		case !ok && (ue.Reason != why || !errors.Is(err, core.ErrUnsupported)):
			t.Errorf("%s refused with %q, want Capabilities' reason %q (and errors.Is ErrUnsupported)", o, ue.Reason, why)
		case ok && refused:
			t.Errorf("%s is declared supported but refused as unsupported: %v", o, err)
		}
	}
}

// testPublishResult: the operator's publish says what the broker stored,
// and that is where the message is; where nothing is stored it says why,
// in Capabilities' words.
func testPublishResult(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{CreateStreams: true})
	op := c.Operator()
	ctx := t.Context()
	topic := h.topic(t)
	if can(t, c, core.OpCreateStream) {
		if err := op.EnsureStream(ctx, topic); err != nil {
			t.Fatalf("EnsureStream: %v", err)
		}
	}
	res, err := op.Publish(ctx, topic, []byte("pr-1"), core.Header{"X-Test": {"publish-result"}})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if res.Topic != topic || res.Duplicate {
		t.Errorf("Publish result %+v: want topic %q, not a duplicate", res, topic)
	}
	stores, why := op.Capabilities(ctx).Can(core.OpHistory)
	if !stores {
		if res.Stored || res.ID != "" || res.Detail != why {
			t.Errorf("Publish result %+v on a backend that stores nothing: want not stored, Detail %q", res, why)
		}
		if s := res.String(); s != "not stored: "+why {
			t.Errorf("String() = %q", s)
		}
		return
	}
	if !res.Stored || res.ID == "" {
		t.Fatalf("Publish result %+v: want stored, with an id", res)
	}
	rec, err := op.Get(ctx, topic, res.ID)
	if err != nil {
		t.Fatalf("Get(%s, %s) (the id Publish reported): %v", topic, res.ID, err)
	}
	if string(rec.Data) != "pr-1" || rec.Header.Get("X-Test") != "publish-result" {
		t.Errorf("message stored under %s is %q %v, not the one published", res.ID, rec.Data, rec.Header)
	}
	if !strings.HasPrefix(res.String(), "stored as ") || !strings.Contains(res.String(), res.ID) {
		t.Errorf("String() = %q: want it to name %s", res.String(), res.ID)
	}
}

func testReadOnly(t *testing.T, h *Harness) {
	rw := h.client(t, core.Config{})
	ro := h.client(t, core.Config{ReadOnly: true})
	op := ro.Operator()
	if !op.ReadOnly() {
		t.Errorf("Operator().ReadOnly() = false with Config.ReadOnly")
	}
	caps := op.Capabilities(t.Context())
	for _, o := range core.AllOps {
		if ok, _ := caps.Can(o); ok && o.Mutating() {
			t.Errorf("read-only client reports %s supported", o)
		}
	}
	topic := h.topic(t)
	publishAll(t, rw, topic, payloads("ro", 2))
	ctx := t.Context()
	calls := opCalls(ctx, op, topic)
	for o := range calls {
		if !o.Mutating() {
			delete(calls, o)
		}
	}
	calls["publish"] = func() error { _, err := op.Publish(ctx, topic, []byte("x"), nil); return err }
	refusedAsReadOnly(t, "read-only", calls)

	// A read-only view (Operator.With) of a read-write client refuses the
	// same calls, and its audit lines name the actor; the client's own
	// operator is unchanged, and a view never makes a read-only client
	// writable.
	var audit strings.Builder
	logged := h.client(t, core.Config{}, core.WithLogger(slog.New(slog.NewTextHandler(&audit, nil))))
	view := logged.Operator().With(true, "ssh_user", "alice")
	if !view.ReadOnly() || logged.Operator().ReadOnly() {
		t.Errorf("With(true): view read-only %v, client's operator read-only %v; want true, false", view.ReadOnly(), logged.Operator().ReadOnly())
	}
	if ro.Operator().With(false).ReadOnly() != true {
		t.Errorf("With(false) made a read-only client's view writable")
	}
	vcalls := opCalls(ctx, view, topic)
	for o := range vcalls {
		if !o.Mutating() {
			delete(vcalls, o)
		}
	}
	refusedAsReadOnly(t, "read-only view", vcalls)
	if !strings.Contains(audit.String(), "ssh_user=alice") || !strings.Contains(audit.String(), "audit: refused in read-only mode") {
		t.Errorf("the view's audit lines do not name the actor:\n%s", audit.String())
	}
	// The application API is not affected, and nothing was purged.
	if err := ro.Publish(ctx, topic, []byte("ro-app")); err != nil {
		t.Errorf("Publish through the read-only client's MQ API: %v", err)
	}
	if can(t, rw, core.OpBrowse) {
		p, err := rw.Operator().Browse(ctx, core.BrowseQuery{Topic: topic, From: core.StartAll()})
		if err != nil {
			t.Fatalf("Browse: %v", err)
		}
		checkRecords(t, "topic after refused purge", p.Records, []string{"ro-000", "ro-001", "ro-app"})
	}
}

// refusedAsReadOnly: read-only is checked before the capability, so an
// operation the backend lacks is refused as read-only too.
func refusedAsReadOnly(t *testing.T, what string, calls map[core.Op]func() error) {
	t.Helper()
	for name, call := range calls {
		if err := call(); !errors.Is(err, core.ErrReadOnly) || errors.Is(err, core.ErrUnsupported) {
			t.Errorf("%s %s: %v, want ErrReadOnly (and not ErrUnsupported)", what, name, err)
		}
	}
}

func testOpDeleteGroup(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpDeleteGroup, core.OpGroups)
	topic := h.topic(t)
	holdPending(t, h, c, topic, "doomed", 1)
	holdPending(t, h, c, topic, "kept", 1)
	if _, ok := findGroup(t, c, topic, "doomed"); !ok {
		t.Fatalf("group doomed is not listed before deletion")
	}
	if err := c.Operator().DeleteGroup(t.Context(), topic, "doomed"); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	eventually(t, msgf("group doomed still listed after DeleteGroup"), func() bool {
		_, ok := findGroup(t, c, topic, "doomed")
		return !ok
	})
	if _, ok := findGroup(t, c, topic, "kept"); !ok {
		t.Errorf("DeleteGroup removed another group too")
	}
}

func testOpDeleteConsumer(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpDeleteConsumer, core.OpGroups)
	topic := h.topic(t)
	holdPending(t, h, c, topic, "kept", 1)
	// A group whose only member has acked everything: deleting that
	// consumer loses nothing.
	member := h.client(t, core.Config{Consumer: "member"})
	var s sink
	sub := subscribe(t, member, t.Context(), topic, s.handler("member"), core.WithQueueGroup("g"))
	s.waitCount(t, 1)
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	g, ok := findGroup(t, c, topic, "g")
	if !ok || len(g.Consumers) != 1 {
		t.Fatalf("group g should list its one consumer: %+v", g)
	}
	name := g.Consumers[0].Name
	t.Logf("deleting consumer %q of group g", name)
	if err := c.Operator().DeleteConsumer(t.Context(), topic, "g", name); err != nil {
		t.Fatalf("DeleteConsumer: %v", err)
	}
	eventually(t, msgf("consumer %q still listed after DeleteConsumer", name), func() bool {
		g, ok := findGroup(t, c, topic, "g")
		// Where a group is one consumer (JetStream), the group goes with it.
		return !ok || !slices.ContainsFunc(g.Consumers, func(ci core.ConsumerInfo) bool { return ci.Name == name })
	})
	if k, ok := findGroup(t, c, topic, "kept"); !ok || k.Pending != 1 {
		t.Errorf("DeleteConsumer changed another group: %+v", k)
	}
}

func testOpPurge(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpPurge, core.OpBrowse)
	topic := h.topic(t)
	publishAll(t, c, topic, payloads("purge", 3))
	res, err := c.Operator().Purge(t.Context(), topic)
	if err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if res.Done != 3 {
		t.Errorf("Purge result %+v, want 3 done", res)
	}
	p, err := c.Operator().Browse(t.Context(), core.BrowseQuery{Topic: topic, From: core.StartAll()})
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("Browse after purge: %v", err)
	}
	checkRecords(t, "topic after purge", p.Records, nil)
	publishAll(t, c, topic, []string{"after-purge"})
	p, err = c.Operator().Browse(t.Context(), core.BrowseQuery{Topic: topic, From: core.StartAll()})
	if err != nil {
		t.Fatalf("Browse after purge and publish: %v", err)
	}
	checkRecords(t, "topic after purge and publish", p.Records, []string{"after-purge"})
}

// testOpDeleteMessages: the chosen stored messages go and nothing else; an
// id that is not stored is skipped, not counted as done.
func testOpDeleteMessages(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpDeleteMessages, core.OpBrowse)
	topic := h.topic(t)
	publishAll(t, c, topic, payloads("del", 4))
	op := c.Operator()
	p, err := op.Browse(t.Context(), core.BrowseQuery{Topic: topic, From: core.StartAll()})
	if err != nil || len(p.Records) != 4 {
		t.Fatalf("Browse before: %d records, %v", len(p.Records), err)
	}
	// A stored id, deleted, then asked again: skipped the second time.
	gone := p.Records[1].ID
	res, err := op.DeleteMessages(t.Context(), core.DeleteRequest{Topic: topic, IDs: []string{gone, p.Records[2].ID}})
	if err != nil || res.Done != 2 {
		t.Fatalf("DeleteMessages: %+v %v", res, err)
	}
	res, err = op.DeleteMessages(t.Context(), core.DeleteRequest{Topic: topic, IDs: []string{gone}})
	if err != nil || res.Done != 0 || res.Skipped != 1 || len(res.Errors) == 0 {
		t.Errorf("deleting %s again: %+v %v; want it skipped, with why", gone, res, err)
	}
	p, err = op.Browse(t.Context(), core.BrowseQuery{Topic: topic, From: core.StartAll()})
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, "topic after deleting two", p.Records, []string{"del-000", "del-003"})
}

func testOpNak(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpNak)
	topic := h.topic(t)
	data, ids := holdPending(t, h, c, topic, "g", 2)
	res, err := c.Operator().Nak(t.Context(), core.ActionRequest{Topic: topic, Group: "g", IDs: ids[:1]})
	if err != nil {
		t.Fatalf("Nak: %v", err)
	}
	if res.Done != 1 {
		t.Errorf("Nak result %+v, want 1 done", res)
	}
	// A member with the default (30 s) claim idle gets the naked message now.
	var s sink
	subscribe(t, h.client(t, core.Config{Consumer: "next"}), t.Context(), topic, s.handler("next"), core.WithQueueGroup("g"))
	s.waitAll(t, data[:1])
	g, _ := s.find(data[0])
	if g.ID != ids[0] || (g.Deliveries != 0 && g.Deliveries < 2) {
		t.Errorf("naked message came back as id %s with Deliveries %d, want id %s delivered ≥ 2 times", g.ID, g.Deliveries, ids[0])
	}
}

func testOpTerm(t *testing.T, h *Harness) {
	c := h.client(t, core.Config{})
	requireOp(t, c, core.OpTerm, core.OpGroups)
	topic := h.topic(t)
	data, ids := holdPending(t, h, c, topic, "g", 2)
	res, err := c.Operator().Term(t.Context(), core.ActionRequest{Topic: topic, Group: "g", IDs: ids[:1]})
	if err != nil {
		t.Fatalf("Term: %v", err)
	}
	if res.Done != 1 {
		t.Errorf("Term result %+v, want 1 done", res)
	}
	eventually(t, msgf("pending after Term of 1 of 2 != 1"), func() bool {
		g, ok := findGroup(t, c, topic, "g")
		return ok && g.Pending == 1
	})
	var s sink
	subscribe(t, h.client(t, core.Config{Consumer: "next"}), t.Context(), topic, s.handler("next"), core.WithQueueGroup("g"),
		core.WithClaimIdle(holdClaimIdle))
	s.waitAll(t, data[1:])
	time.Sleep(quiet)
	if n := s.counts()[data[0]]; n != 0 {
		t.Errorf("terminated %s was delivered again (%d times)", data[0], n)
	}
}

func orTopic(r core.Record) string {
	if r.Subject != "" {
		return r.Subject
	}
	return r.Topic
}

// testOpDLQUnderFaults moves held messages to the DLQ and redrives them back
// while the operator's connection is cut (Redis CLIENT KILL; embedded NATS
// restarted). Afterwards every message is somewhere: nothing is lost;
// duplicates (copy written, original not yet removed) are allowed and
// counted.
func testOpDLQUnderFaults(t *testing.T, h *Harness) {
	if h.NewDisruptable == nil {
		t.Skipf("%s: the harness cannot cut a connection (Harness.NewDisruptable is nil)", h.Driver)
	}
	c, disrupt, err := h.NewDisruptable(t, core.Config{Driver: h.Driver, Consumer: "owner"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	requireOp(t, c, core.OpDeadLetter, core.OpRedrive, core.OpBrowse)
	op := c.Operator()
	topic := h.topic(t)
	dlq := c.DeadLetterTopic(topic)
	if can(t, c, core.OpCreateDLQ) {
		if err := op.EnsureDLQ(t.Context(), dlq); err != nil {
			t.Fatalf("EnsureDLQ: %v", err)
		}
	}
	const n, chunk = 120, 10
	// Hold n messages pending in group g.
	var held sink
	sub := subscribe(t, c, t.Context(), topic, held.handler("owner"), core.WithQueueGroup("g"), core.WithManualAck(),
		core.WithClaimIdle(holdClaimIdle), core.WithBatchSize(50))
	data := payloads("fault", n)
	publishAll(t, c, topic, data)
	held.waitCount(t, n)
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(holdClaimIdle + 200*time.Millisecond)
	idOf := map[string]string{}
	for _, g := range held.all() {
		idOf[string(g.Data)] = g.ID
	}

	// withFault runs step over chunks of items, cutting the connection
	// while the third chunk is in flight; a failed chunk is retried.
	withFault := func(what string, items []string, step func(context.Context, []string) (core.Result, error)) {
		t.Helper()
		var once sync.Once
		for i := 0; i < len(items); i += chunk {
			part := items[i:min(i+chunk, len(items))]
			if i/chunk == 2 {
				go once.Do(disrupt)
			}
			// Retry while the call fails outright; a call that went through
			// with some items failed is retried twice (a retry cannot tell
			// which items the cut interrupted and which are already done).
			var lastErr error
			for try, partial := 0, 0; try < 50 && partial < 3; try++ {
				// A caller's deadline: a request lost with the connection
				// should not cost the backend's own (longer) bound.
				ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
				res, err := step(ctx, part)
				cancel()
				if err == nil && res.Failed == 0 {
					lastErr = nil
					break
				}
				if err == nil {
					partial++
				}
				lastErr = fmt.Errorf("%v (result %+v)", err, res)
				t.Logf("%s chunk %d try %d: %v", what, i/chunk, try, lastErr)
				time.Sleep(200 * time.Millisecond)
			}
			if lastErr != nil {
				t.Logf("%s chunk %d: still failing after retries: %v", what, i/chunk, lastErr)
			}
		}
	}
	ids := make([]string, n)
	for i, d := range data {
		ids[i] = idOf[d]
	}
	withFault("move", ids, func(ctx context.Context, part []string) (core.Result, error) {
		return op.MoveToDLQ(ctx, core.MoveRequest{Topic: topic, Group: "g", IDs: part, Reason: "fault test"})
	})
	// What is still pending comes back to a member; the rest is in the DLQ.
	dead := browseAll(t, c, dlq)
	var back sink
	sub = subscribe(t, c, t.Context(), topic, back.handler("back"), core.WithQueueGroup("g"), core.WithClaimIdle(holdClaimIdle))
	time.Sleep(3 * holdClaimIdle)
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	inDLQ := map[string]int{}
	var dlqIDs []string
	for _, r := range dead {
		inDLQ[string(r.Data)]++
		dlqIDs = append(dlqIDs, r.ID)
	}
	pending := back.counts()
	lost, dup := 0, 0
	for _, d := range data {
		switch {
		case inDLQ[d] == 0 && pending[d] == 0:
			lost++
		case inDLQ[d]+pending[d] > 1:
			dup++
		}
	}
	t.Logf("move %d to the DLQ with the connection cut: %d in the DLQ, %d still pending, lost %d, duplicated %d", n, len(dead), len(pending), lost, dup)
	if lost > 0 {
		t.Errorf("move to DLQ under faults lost %d of %d messages", lost, n)
	}

	withFault("redrive", dlqIDs, func(ctx context.Context, part []string) (core.Result, error) {
		return op.Redrive(ctx, core.RedriveRequest{DLQ: dlq, IDs: part, Remove: true})
	})
	left := map[string]int{}
	for _, r := range browseAll(t, c, dlq) {
		left[string(r.Data)]++
	}
	redriven := map[string]int{}
	for _, r := range browseAll(t, c, topic) {
		if r.Header.Get(core.HeaderRedrivenFrom) != "" {
			redriven[string(r.Data)]++
		}
	}
	lost, dup = 0, 0
	for d := range inDLQ {
		switch {
		case left[d] == 0 && redriven[d] == 0:
			lost++
		case left[d]+redriven[d] > 1:
			dup++
		}
	}
	t.Logf("redrive %d with the connection cut: %d back in the origin, %d left in the DLQ, lost %d, duplicated %d", len(inDLQ), len(redriven), len(left), lost, dup)
	if lost > 0 {
		t.Errorf("redrive under faults lost %d of %d messages", lost, len(inDLQ))
	}
}

// browseAll reads every stored record of topic, retrying while the
// connection recovers.
func browseAll(t testing.TB, c *core.Client, topic string) []core.Record {
	t.Helper()
	var out []core.Record
	q := core.BrowseQuery{Topic: topic, From: core.StartAll(), Limit: 500}
	for page := 0; page < 100; page++ {
		var p core.BrowsePage
		var err error
		for try := 0; try < 50; try++ {
			if p, err = c.Operator().Browse(t.Context(), q); err == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("Browse(%s): %v", topic, err)
		}
		out = append(out, p.Records...)
		if !p.More {
			return out
		}
		q.From = p.Next
	}
	t.Fatalf("Browse(%s): more than 100 pages", topic)
	return nil
}
