package redisstream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mqscope/mqscope/core"
)

// ---- capabilities and server ----

// Capabilities implements core.OperatorBackend.
func (b *Backend) Capabilities(ctx context.Context) core.Capabilities {
	v := b.version
	yes := func(reason string) core.Support { return core.Support{Supported: true, Reason: reason} }
	no := func(reason string) core.Support { return core.Support{Supported: false, Reason: reason} }
	ver := v.raw
	if ver == "" {
		ver = "unknown"
	}
	ops := map[core.Op]core.Support{
		core.OpHistory:        yes("streams keep every entry until trimmed"),
		core.OpTopics:         yes("SCAN … TYPE stream plus pipelined XINFO STREAM"),
		core.OpGroups:         yes("XINFO GROUPS and XINFO CONSUMERS"),
		core.OpPending:        yes("XPENDING, paged by id"),
		core.OpBrowse:         yes("XRANGE / XREVRANGE, no consumer involved"),
		core.OpGet:            yes("XRANGE id id"),
		core.OpTail:           yes("XREAD without a group: no membership, no pending entries"),
		core.OpAck:            yes("XACK"),
		core.OpNak:            yes(nakReason),
		core.OpTerm:           yes("Redis has no terminal reject: Term acks the entries (XACK) so they are never redelivered"),
		core.OpClaim:          yes("XCLAIM with min idle (JUSTID: the delivery count is not bumped)"),
		core.OpReplay:         yes("XRANGE then XADD with Mq-Replayed-From"),
		core.OpRewind:         yes("XGROUP SETID in place; pending entries stay pending"),
		core.OpDeadLetter:     yes("XADD to the DLQ stream and XACK (or XDEL) in one MULTI/EXEC"),
		core.OpRedrive:        yes("XADD to the origin and XDEL from the DLQ in one MULTI/EXEC"),
		core.OpDeleteGroup:    yes("XGROUP DESTROY (its pending list goes with it)"),
		core.OpDeleteConsumer: yes("XGROUP DELCONSUMER, refused while the consumer holds pending entries"),
		core.OpPurge:          yes("XTRIM MAXLEN 0: messages go, groups stay"),
		core.OpDeleteMessages: yes("XDEL by id; groups holding an entry as pending keep its id (a reclaim then finds nothing and acks it)"),
		core.OpDedup:          no("Redis streams do not de-duplicate: a message id is carried as the Nats-Msg-Id header only"),
		core.OpStartPosition:  yes("from the start, new only, an entry id, a time or the last N (no sequences)"),
		core.OpCreateDLQ:      yes("nothing to create: the first XADD creates the DLQ stream"),
		core.OpCreateStream:   yes("nothing to create: the first XADD creates the stream"),
	}
	if !v.hasAutoClaim() {
		ops[core.OpPending] = yes("XPENDING, paged by id; Redis " + ver + " < 6.2 has no XPENDING IDLE, so a min-idle filter is applied per page (pages may be short)")
		ops[core.OpClaim] = yes("XCLAIM with min idle; Redis " + ver + " < 6.2 has no XAUTOCLAIM: subscribers reclaim with XPENDING + XCLAIM")
	} else if !v.hasLag() {
		ops[core.OpClaim] = yes("XCLAIM with min idle; on Redis " + ver + " subscribers reclaim with XPENDING IDLE + XCLAIM (6.2's XAUTOCLAIM answers nil for trimmed entries)")
	}
	if !v.hasLag() {
		ops[core.OpGroups] = yes("XINFO GROUPS and XINFO CONSUMERS; Redis " + ver + " < 7.0 reports no lag (shown as unknown)")
	}
	switch b.rdb.(type) {
	case *redis.Client:
	case *redis.ClusterClient:
		const lost = "; after a lost reply the copies already written are found and not written again"
		ops[core.OpDeadLetter] = yes("one MULTI/EXEC when the topic and the DLQ share a hash slot (hash tags: {orders} and {orders}.dlq); otherwise XADD to the DLQ, confirmed, then XACK / XDEL" + lost)
		ops[core.OpRedrive] = yes("one MULTI/EXEC when the DLQ and the origin share a hash slot; otherwise XADD to the origin, confirmed, then XDEL from the DLQ" + lost)
	default:
		ops[core.OpDeadLetter] = yes("XADD to the DLQ stream, confirmed, then XACK / XDEL (not one MULTI: the keys may live on different shards)")
		ops[core.OpRedrive] = yes("XADD to the origin, confirmed, then XDEL from the DLQ (not one MULTI: the keys may live on different shards)")
	}
	return core.Capabilities{Driver: core.DriverRedisStream, ServerVersion: v.raw, Ops: ops}
}

// ServerInfo implements core.OperatorBackend.
func (b *Backend) ServerInfo(ctx context.Context) (core.ServerInfo, error) {
	si := core.ServerInfo{Driver: core.DriverRedisStream, Version: b.version.raw, Extra: map[string]string{}}
	switch c := b.rdb.(type) {
	case *redis.Client:
		si.Address = c.Options().Addr
	case *redis.ClusterClient:
		si.Address = strings.Join(c.Options().Addrs, ",")
		si.Extra["mode"] = "cluster"
	case *redis.Ring:
		si.Extra["mode"] = "ring"
	}
	info, err := b.rdb.Info(ctx, "server").Result()
	if err != nil {
		si.State = core.ConnDown
		return si, nil
	}
	si.State = core.ConnConnected
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch k {
		case "redis_version":
			si.Version = v
		case "run_id":
			si.Name = v
		case "redis_mode", "uptime_in_seconds", "os", "tcp_port":
			si.Extra[k] = v
		}
	}
	if cc, ok := b.rdb.(*redis.ClusterClient); ok {
		clusterServerInfo(ctx, cc, &si)
	}
	return si, nil
}

// ---- topics ----

const scanCount = 1000

// scanStreams lists stream keys with SCAN … TYPE stream (on a cluster, on
// every master, concurrently: SCAN only sees the node it runs on).
func (b *Backend) scanStreams(ctx context.Context) ([]string, error) {
	scan := func(ctx context.Context, c redis.Cmdable) ([]string, error) {
		var keys []string
		var cursor uint64
		for {
			ks, next, err := c.ScanType(ctx, cursor, "*", scanCount, "stream").Result()
			if err != nil {
				return keys, fmt.Errorf("redis stream: scan type stream: %w", err)
			}
			keys = append(keys, ks...)
			if next == 0 {
				return keys, nil
			}
			cursor = next
		}
	}
	if cc, ok := b.rdb.(*redis.ClusterClient); ok {
		var mu sync.Mutex
		var all []string
		err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			keys, err := scan(ctx, c)
			if err != nil {
				return fmt.Errorf("%w (node %s)", err, c.Options().Addr)
			}
			mu.Lock()
			all = append(all, keys...)
			mu.Unlock()
			return nil
		})
		return all, err
	}
	return scan(ctx, b.rdb)
}

// topicSummaryScript is XINFO STREAM without its first and last entries:
// the reply carries both entries whole, so a list of topics with large
// messages at either end moved megabytes per refresh (97 MiB in 10 s of
// watching the Topics pane). Run on the server, only the ids and counters
// come back, per key: {length, groups, last-generated-id, first id, last
// id, entries-added, max-deleted-entry-id}, or the error text.
var topicSummaryScript = redis.NewScript(`
local res = {}
for n, key in ipairs(KEYS) do
  local r = redis.pcall('XINFO', 'STREAM', key)
  if r.err then
    res[n] = r.err
  else
    local out = {0, 0, '', '', '', -1, ''}
    for i = 1, #r, 2 do
      local k, v = r[i], r[i+1]
      if k == 'length' then out[1] = v
      elseif k == 'groups' then out[2] = v
      elseif k == 'last-generated-id' then out[3] = v
      elseif k == 'first-entry' then if v then out[4] = v[1] end
      elseif k == 'last-entry' then if v then out[5] = v[1] end
      elseif k == 'entries-added' then out[6] = v
      elseif k == 'max-deleted-entry-id' then out[7] = v
      end
    end
    res[n] = out
  end
end
return res
`)

// Topics implements core.OperatorBackend: per 500 streams, one pipeline
// of topicSummaryScript (one call for all 500 on a single server, one per
// stream on a cluster or ring, whose keys live on different nodes), or of
// XINFO STREAM when the server refuses scripts (ACL, scripting disabled).
func (b *Backend) Topics(ctx context.Context) ([]core.TopicInfo, error) {
	keys, err := b.scanStreams(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]core.TopicInfo, 0, len(keys))
	const chunk = 500
	for i := 0; i < len(keys); i += chunk {
		ts, err := b.summarize(ctx, keys[i:min(i+chunk, len(keys))])
		if err != nil {
			return nil, err
		}
		out = append(out, ts...)
	}
	return out, nil
}

// summarize reads the topic infos of keys, skipping keys gone since they
// were listed.
func (b *Backend) summarize(ctx context.Context, keys []string) ([]core.TopicInfo, error) {
	if !b.noTopicScript.Load() && !b.topicScriptLoaded.Load() {
		if err := topicSummaryScript.Load(ctx, b.rdb).Err(); err != nil {
			b.logger.Info("topics: the server refuses scripts; reading XINFO STREAM (first and last entries travel whole)", "err", err)
			b.noTopicScript.Store(true)
		} else {
			b.topicScriptLoaded.Store(true)
		}
	}
	if b.noTopicScript.Load() {
		return b.topicInfos(ctx, keys)
	}
	ts, err := b.topicSummaries(ctx, keys)
	if isNoScript(err) { // flushed (or a failover) since the load
		if err = topicSummaryScript.Load(ctx, b.rdb).Err(); err == nil {
			ts, err = b.topicSummaries(ctx, keys)
		}
	}
	return ts, err
}

func isNoScript(err error) bool { return err != nil && strings.Contains(err.Error(), "NOSCRIPT") }

// goneSinceScan: the stream was deleted or replaced since the scan.
func goneSinceScan(err error) bool {
	return isNoSuchKey(err) || err != nil && strings.Contains(err.Error(), "WRONGTYPE")
}

func (b *Backend) topicSummaries(ctx context.Context, keys []string) ([]core.TopicInfo, error) {
	var groups [][]string // keys one script call reads
	if _, single := b.rdb.(*redis.Client); single {
		groups = [][]string{keys}
	} else {
		for _, k := range keys {
			groups = append(groups, []string{k})
		}
	}
	pipe := b.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(groups))
	for j, g := range groups {
		cmds[j] = topicSummaryScript.EvalSha(ctx, pipe, g)
	}
	_, _ = pipe.Exec(ctx)
	out := make([]core.TopicInfo, 0, len(keys))
	for j, c := range cmds {
		res, err := c.Slice()
		if err != nil {
			return nil, fmt.Errorf("redis: topic summary of %d streams from %q: %w", len(groups[j]), groups[j][0], err)
		}
		for n, r := range res {
			key := groups[j][n]
			v, ok := r.([]any)
			if !ok || len(v) < 7 {
				if e, _ := r.(string); goneSinceScan(errors.New(e)) {
					continue
				}
				return nil, fmt.Errorf("redis stream %q: topic summary (xinfo stream): %v", key, r)
			}
			num := func(x any) int64 { n, _ := x.(int64); return n }
			str := func(x any) string { s, _ := x.(string); return s }
			out = append(out, topicInfo(key, &redis.XInfoStream{
				Length: num(v[0]), Groups: num(v[1]), LastGeneratedID: str(v[2]),
				FirstEntry: redis.XMessage{ID: str(v[3])}, LastEntry: redis.XMessage{ID: str(v[4])},
				EntriesAdded: num(v[5]), MaxDeletedEntryID: str(v[6]),
			}))
		}
	}
	return out, nil
}

func (b *Backend) topicInfos(ctx context.Context, keys []string) ([]core.TopicInfo, error) {
	pipe := b.rdb.Pipeline()
	cmds := make([]*redis.XInfoStreamCmd, len(keys))
	for j, k := range keys {
		cmds[j] = pipe.XInfoStream(ctx, k)
	}
	_, _ = pipe.Exec(ctx)
	out := make([]core.TopicInfo, 0, len(keys))
	for j, c := range cmds {
		st, err := c.Result()
		if goneSinceScan(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("redis stream %q: xinfo stream: %w", keys[j], err)
		}
		out = append(out, topicInfo(keys[j], st))
	}
	return out, nil
}

func topicInfo(name string, st *redis.XInfoStream) core.TopicInfo {
	t := core.TopicInfo{
		Name:     name,
		Messages: uint64(max(st.Length, 0)),
		FirstID:  st.FirstEntry.ID,
		LastID:   st.LastEntry.ID,
		Groups:   int(st.Groups),
		Extra:    map[string]string{"last-generated-id": st.LastGeneratedID},
	}
	t.FirstTime, t.LastTime = idTime(t.FirstID), idTime(t.LastID)
	if st.EntriesAdded > 0 {
		t.Extra["entries-added"] = strconv.FormatInt(st.EntriesAdded, 10)
	}
	if st.MaxDeletedEntryID != "" && st.MaxDeletedEntryID != "0-0" {
		t.Extra["max-deleted-entry-id"] = st.MaxDeletedEntryID
	}
	return t
}

// Topic implements core.OperatorBackend.
func (b *Backend) Topic(ctx context.Context, name string) (core.TopicInfo, error) {
	if !b.noTopicScript.Load() {
		ts, err := b.summarize(ctx, []string{name})
		if err != nil {
			return core.TopicInfo{}, err
		}
		if len(ts) == 0 {
			return core.TopicInfo{}, fmt.Errorf("redis stream %q: topic summary: no such stream: %w", name, core.ErrNotFound)
		}
		return ts[0], nil
	}
	st, err := b.rdb.XInfoStream(ctx, name).Result()
	if err != nil {
		return core.TopicInfo{}, b.keyErr(name, "xinfo stream", err)
	}
	return topicInfo(name, st), nil
}

func isNoSuchKey(err error) bool {
	return err != nil && strings.Contains(err.Error(), "no such key")
}

// keyErr wraps err, turning a missing stream into core.ErrNotFound.
func (b *Backend) keyErr(stream, what string, err error) error {
	if isNoSuchKey(err) {
		return fmt.Errorf("redis stream %q: %s: no such stream: %w", stream, what, core.ErrNotFound)
	}
	if isNoGroup(err) {
		return fmt.Errorf("redis stream %q: %s: %v: %w", stream, what, err, core.ErrNotFound)
	}
	return fmt.Errorf("redis stream %q: %s: %w", stream, what, err)
}

// ---- groups and pending ----

// Idle-scan bounds: XPENDING IDLE cannot bound the work it does (with
// 1 000 000 pending and no entry over the limit it walks the whole list:
// 128 ms of Redis time on 7.0), so each consumer's pending list is read
// from its lowest id, at most idleScanBudget entries per group and at
// least idleScanPerConsumer per consumer.
const (
	idleScanBudget      = 1000
	idleScanPerConsumer = 100
)

// Groups implements core.OperatorBackend. Idle times come from the
// pending entries themselves (XPENDING … consumer, bounded; see
// idleScanBudget), not from XINFO CONSUMERS, whose idle any read resets.
func (b *Backend) Groups(ctx context.Context, topic string) ([]core.GroupInfo, error) {
	gs, err := b.rdb.XInfoGroups(ctx, topic).Result()
	if err != nil {
		return nil, b.keyErr(topic, "xinfo groups", err)
	}
	pipe := b.rdb.Pipeline()
	cons := make([]*redis.XInfoConsumersCmd, len(gs))
	lowest := make([]*redis.XPendingExtCmd, len(gs))
	for i, g := range gs {
		cons[i] = pipe.XInfoConsumers(ctx, topic, g.Name)
		lowest[i] = pipe.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: topic, Group: g.Name, Start: "-", End: "+", Count: 1})
	}
	if len(gs) > 0 {
		_, _ = pipe.Exec(ctx)
	}
	out := make([]core.GroupInfo, 0, len(gs))
	for i, g := range gs {
		gi := core.GroupInfo{
			Topic:         topic,
			Name:          g.Name,
			Pending:       g.Pending,
			Lag:           -1,
			LastDelivered: g.LastDeliveredID,
			Redelivered:   -1,
			Extra:         map[string]string{},
		}
		if b.version.hasLag() {
			gi.Lag = g.Lag
			gi.Extra["entries-read"] = strconv.FormatInt(g.EntriesRead, 10)
		}
		if cs, err := cons[i].Result(); err == nil {
			for _, c := range cs {
				gi.Consumers = append(gi.Consumers, core.ConsumerInfo{Name: c.Name, Pending: c.Pending, Idle: c.Idle})
			}
		} else if !isNoGroup(err) {
			return nil, fmt.Errorf("redis stream %q: xinfo consumers %q: %w", topic, g.Name, err)
		}
		if p, err := lowest[i].Result(); err == nil && len(p) > 0 {
			gi.AckFloor = prevID(p[0].ID)
			gi.Extra["lowest-pending-id"] = p[0].ID
			gi.Extra["lowest-pending-owner"] = p[0].Consumer
		} else {
			gi.AckFloor = g.LastDeliveredID
		}
		out = append(out, gi)
	}
	if err := b.pendingIdle(ctx, topic, out); err != nil {
		return nil, err
	}
	return out, nil
}

// pendingIdle fills each consumer's and group's OldestPendingIdle from the
// first entries of every consumer's own pending list, in one pipeline.
func (b *Backend) pendingIdle(ctx context.Context, topic string, gs []core.GroupInfo) error {
	type scan struct {
		g, c   int
		window int64
		cmd    *redis.XPendingExtCmd
	}
	var scans []scan
	pipe := b.rdb.Pipeline()
	for gi := range gs {
		holders := 0
		for _, c := range gs[gi].Consumers {
			if c.Pending > 0 {
				holders++
			}
		}
		if holders == 0 {
			continue
		}
		window := int64(max(idleScanBudget/holders, idleScanPerConsumer))
		for ci, c := range gs[gi].Consumers {
			if c.Pending > 0 {
				args := &redis.XPendingExtArgs{Stream: topic, Group: gs[gi].Name, Consumer: c.Name, Start: "-", End: "+", Count: window}
				scans = append(scans, scan{g: gi, c: ci, window: window, cmd: pipe.XPendingExt(ctx, args)})
			}
		}
	}
	if len(scans) == 0 {
		return nil
	}
	_, _ = pipe.Exec(ctx)
	for _, s := range scans {
		g := &gs[s.g]
		c := &g.Consumers[s.c]
		entries, err := s.cmd.Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			if isNoGroup(err) || isNoSuchKey(err) {
				continue // deleted since XINFO
			}
			return fmt.Errorf("redis stream %q: xpending %q consumer %q: %w", topic, g.Name, c.Name, err)
		}
		for _, e := range entries {
			c.OldestPendingIdle = max(c.OldestPendingIdle, e.Idle)
			if e.Idle > g.OldestPendingIdle || g.Extra["longest-idle-id"] == "" {
				g.OldestPendingIdle = e.Idle
				g.Extra["longest-idle-id"], g.Extra["longest-idle-owner"] = e.ID, e.Consumer
			}
		}
		if c.Pending > s.window {
			c.OldestPendingLowerBound, g.OldestPendingLowerBound = true, true
			g.Extra["idle-scan"] = fmt.Sprintf("idle times are lower bounds: read the first %d pending entries (by id) of each consumer, and some hold more", s.window)
		}
	}
	return nil
}

// Pending implements core.OperatorBackend: one XPENDING page (extended
// form) from the cursor; the whole pending list is never loaded.
func (b *Backend) Pending(ctx context.Context, q core.PendingQuery) (core.PendingPage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	start := "-"
	if q.Cursor != "" {
		if err := validID(q.Cursor); err != nil {
			return core.PendingPage{}, fmt.Errorf("redis stream %q: pending cursor: %w", q.Topic, err)
		}
		start = nextID(q.Cursor) // inclusive start just after the cursor works on every version
	}
	args := &redis.XPendingExtArgs{Stream: q.Topic, Group: q.Group, Start: start, End: "+", Count: int64(limit), Consumer: q.Consumer}
	page := core.PendingPage{Note: "Redis keeps a per-message pending list: owner, idle time and delivery count are exact"}
	serverIdle := b.version.hasAutoClaim()
	if q.MinIdle > 0 {
		if serverIdle {
			args.Idle = q.MinIdle
		} else {
			page.Note = "Redis " + b.version.raw + " < 6.2 has no XPENDING IDLE: the min-idle filter is applied to each page, so pages may be short"
		}
	}
	pipe := b.rdb.Pipeline()
	ext := pipe.XPendingExt(ctx, args)
	sum := pipe.XPending(ctx, q.Topic, q.Group)
	_, _ = pipe.Exec(ctx)
	entries, err := ext.Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return core.PendingPage{}, b.keyErr(q.Topic, "xpending "+q.Group, err)
	}
	if s, err := sum.Result(); err == nil {
		page.Total = s.Count
		if q.Consumer != "" {
			page.Total = s.Consumers[q.Consumer]
		}
	}
	for _, e := range entries {
		if q.MinIdle > 0 && !serverIdle && e.Idle < q.MinIdle {
			continue
		}
		page.Entries = append(page.Entries, core.PendingEntry{ID: e.ID, Consumer: e.Consumer, Idle: e.Idle, Deliveries: int(e.RetryCount)})
	}
	if len(entries) == limit {
		page.Next = entries[len(entries)-1].ID
	}
	return page, nil
}

// ---- browse, get, tail ----

func record(topic string, m redis.XMessage) core.Record {
	data, h := decodeValues(m.Values)
	return core.Record{Topic: topic, ID: m.ID, Data: data, Header: h, Time: idTime(m.ID), Size: len(data)}
}

// Browse implements core.OperatorBackend with XRANGE / XREVRANGE.
func (b *Backend) Browse(ctx context.Context, q core.BrowseQuery) (core.BrowsePage, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	var from string
	switch q.From.Kind {
	case core.PosAll, core.PosNew:
		from = "-"
		if q.Reverse {
			from = "+"
		}
	case core.PosID:
		if err := validID(q.From.ID); err != nil {
			return core.BrowsePage{}, err
		}
		from = q.From.ID
	case core.PosTime:
		from = timeID(q.From.Time)
		if q.Reverse {
			from = prevID(timeID(q.From.Time.Add(time.Millisecond)))
		}
	case core.PosLast:
		after, err := b.afterID(ctx, q.Topic, q.From, false)
		if err != nil {
			return core.BrowsePage{}, err
		}
		from = nextID(after)
		if q.Reverse {
			from = "+"
		}
	case core.PosSeq:
		return core.BrowsePage{}, &core.UnsupportedError{Op: core.OpBrowse, Reason: "Redis streams have entry ids, not sequences: browse from an id or a time"}
	}
	var msgs []redis.XMessage
	var err error
	if q.Reverse {
		msgs, err = b.rdb.XRevRangeN(ctx, q.Topic, from, "-", int64(limit+1)).Result()
	} else {
		msgs, err = b.rdb.XRangeN(ctx, q.Topic, from, "+", int64(limit+1)).Result()
	}
	if err != nil {
		return core.BrowsePage{}, fmt.Errorf("redis stream %q: browse from %s: %w", q.Topic, from, err)
	}
	page := core.BrowsePage{}
	if len(msgs) > limit {
		page.More = true
		page.Next = core.AtID(msgs[limit].ID)
		msgs = msgs[:limit]
	}
	page.Records = make([]core.Record, len(msgs))
	for i, m := range msgs {
		page.Records[i] = record(q.Topic, m)
	}
	return page, nil
}

// Get implements core.OperatorBackend.
func (b *Backend) Get(ctx context.Context, topic, id string) (core.Record, error) {
	if err := validID(id); err != nil {
		return core.Record{}, err
	}
	msgs, err := b.rdb.XRangeN(ctx, topic, id, id, 1).Result()
	if err != nil {
		return core.Record{}, fmt.Errorf("redis stream %q: xrange %s: %w", topic, id, err)
	}
	if len(msgs) == 0 {
		return core.Record{}, fmt.Errorf("redis stream %q: entry %s: %w", topic, id, core.ErrNotFound)
	}
	return record(topic, msgs[0]), nil
}

// Tail implements core.OperatorBackend: XREAD without a group (no
// membership, no pending entries) from the resolved start.
func (b *Backend) Tail(ctx context.Context, q core.TailQuery, sink func(core.Record)) error {
	topic := q.Pattern
	after, err := b.afterID(ctx, topic, q.From, false)
	if err != nil {
		return err
	}
	go func() {
		bo := newBackoff()
		for ctx.Err() == nil {
			res, err := b.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{topic, after}, Count: 500, Block: b.blockFor}).Result()
			if err != nil {
				if errors.Is(err, redis.Nil) {
					continue
				}
				if ctx.Err() != nil || errors.Is(err, redis.ErrClosed) {
					return
				}
				b.logger.Debug("redis stream: tail read failed; retrying", "topic", topic, "err", err)
				select {
				case <-time.After(bo.next()):
				case <-ctx.Done():
					return
				}
				continue
			}
			bo.reset()
			for _, st := range res {
				for _, m := range st.Messages {
					sink(record(topic, m))
					after = m.ID
				}
			}
		}
	}()
	return nil
}

// ---- actions on pending entries ----

// chunks of ids for bulk commands.
func chunks(ids []string, n int) [][]string {
	var out [][]string
	for i := 0; i < len(ids); i += n {
		out = append(out, ids[i:min(i+n, len(ids))])
	}
	return out
}

func validIDs(ids []string) error {
	for _, id := range ids {
		if err := validID(id); err != nil {
			return err
		}
	}
	return nil
}

// Ack implements core.OperatorBackend (XACK). Entries that were not
// pending are counted as skipped.
func (b *Backend) Ack(ctx context.Context, r core.ActionRequest) (core.Result, error) {
	return b.ackIDs(ctx, r, "xack")
}

// Term acks: Redis has no terminal reject.
func (b *Backend) Term(ctx context.Context, r core.ActionRequest) (core.Result, error) {
	return b.ackIDs(ctx, r, "xack (term)")
}

func (b *Backend) ackIDs(ctx context.Context, r core.ActionRequest, what string) (core.Result, error) {
	res := core.Result{Requested: len(r.IDs)}
	if err := validIDs(r.IDs); err != nil {
		return res, err
	}
	for _, part := range chunks(r.IDs, 500) {
		n, err := b.rdb.XAck(ctx, r.Topic, r.Group, part...).Result()
		if err != nil {
			return res, b.keyErr(r.Topic, what+" "+r.Group, err)
		}
		res.Done += int(n)
		res.Skipped += len(part) - int(n)
		res.Report(r.Progress)
	}
	if res.Skipped > 0 {
		res.Detail = fmt.Sprintf("%d of %d were not pending in group %s", res.Skipped, res.Requested, r.Group)
	}
	return res, nil
}

// nakReason is what Nak does, for Capabilities and the console: Redis
// has no nak, and the only command that sets an entry's idle time (XCLAIM
// … IDLE) also records activity of the consumer it names.
const nakReason = "XCLAIM to the same owner with IDLE (default 24h; delivery count kept): the group's next reclaim sweep redelivers the entries. " +
	"Redis counts that XCLAIM as activity of the owner: XINFO CONSUMERS then shows it just active (idle reset; on 7.2+ also inactive), " +
	"and the entries show the given idle time. Entries already idle that long are left alone. " +
	"mqscope marks consumers stuck by their pending entries' idle, so a dead owner stays marked"

// Nak marks the entries idle (XCLAIM to their current owner with IDLE and
// JUSTID, delivery count unchanged) so the group's next reclaim sweep
// redelivers them. r.MinIdle, when set, is the idle time given; default
// 24h, above any sensible ClaimIdle. Entries already idle that long are
// not touched: XCLAIM would make them look younger and would reset their
// owner's idle in XINFO CONSUMERS (see nakReason).
func (b *Backend) Nak(ctx context.Context, r core.ActionRequest) (core.Result, error) {
	res := core.Result{Requested: len(r.IDs)}
	if r.Delay > 0 {
		return res, fmt.Errorf("%w: nak with a delay: Redis Streams has no delayed redelivery (an entry stays pending until claimed); nak without a delay", core.ErrUnsupported)
	}
	if err := validIDs(r.IDs); err != nil {
		return res, err
	}
	idle := r.MinIdle
	if idle <= 0 {
		idle = 24 * time.Hour
	}
	already := 0
	var owners []string
	for _, part := range chunks(r.IDs, 100) {
		pipe := b.rdb.Pipeline()
		cmds := make([]*redis.XPendingExtCmd, len(part))
		for i, id := range part {
			cmds[i] = pipe.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: r.Topic, Group: r.Group, Start: id, End: id, Count: 1})
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return res, b.keyErr(r.Topic, "xpending "+r.Group, err)
		}
		pipe = b.rdb.Pipeline()
		var claims []*redis.Cmd
		for _, c := range cmds {
			p := c.Val()
			switch {
			case len(p) == 0:
				res.Skipped++
				continue
			case p[0].Idle >= idle:
				already++
				res.Done++
				continue
			}
			if !slices.Contains(owners, p[0].Consumer) {
				owners = append(owners, p[0].Consumer)
			}
			claims = append(claims, pipe.Do(ctx, "XCLAIM", r.Topic, r.Group, p[0].Consumer, 0, p[0].ID,
				"IDLE", idle.Milliseconds(), "RETRYCOUNT", p[0].RetryCount, "JUSTID"))
		}
		if len(claims) > 0 {
			_, _ = pipe.Exec(ctx)
		}
		for _, c := range claims {
			if err := c.Err(); err != nil {
				res.Fail(err)
			} else {
				res.Done++
			}
		}
		res.Report(r.Progress)
	}
	res.Detail = "marked idle " + core.HumanDuration(idle) + ": redelivered by the group's next reclaim sweep"
	if len(owners) > 0 {
		res.Detail += "; Redis now shows " + strings.Join(owners, ", ") + " as just active (XCLAIM counts as the owner's activity)"
	}
	if already > 0 {
		res.Detail += fmt.Sprintf("; %d already idle %s or more, left alone", already, core.HumanDuration(idle))
	}
	return res, nil
}

// Claim implements core.OperatorBackend: XCLAIM … JUSTID to r.Consumer for
// entries idle at least r.MinIdle; the delivery count is not bumped.
func (b *Backend) Claim(ctx context.Context, r core.ActionRequest) (core.Result, error) {
	res := core.Result{Requested: len(r.IDs)}
	if err := validIDs(r.IDs); err != nil {
		return res, err
	}
	for _, part := range chunks(r.IDs, 500) {
		got, err := b.rdb.XClaimJustID(ctx, &redis.XClaimArgs{Stream: r.Topic, Group: r.Group, Consumer: r.Consumer, MinIdle: r.MinIdle, Messages: part}).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return res, b.keyErr(r.Topic, "xclaim "+r.Group, err)
		}
		res.Done += len(got)
		res.Skipped += len(part) - len(got)
		res.Report(r.Progress)
	}
	if res.Skipped > 0 {
		res.Detail = fmt.Sprintf("%d not claimed: not pending, idle less than %s, or their message was trimmed", res.Skipped, core.HumanDuration(r.MinIdle))
	}
	return res, nil
}

// ---- replay and rewind ----

// fetch reads entries by id (pipelined XRANGE id id); missing ones are nil.
func (b *Backend) fetch(ctx context.Context, stream string, ids []string) ([]*redis.XMessage, error) {
	pipe := b.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.XRangeN(ctx, stream, id, id, 1)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redis stream %q: xrange: %w", stream, err)
	}
	out := make([]*redis.XMessage, len(ids))
	for i, c := range cmds {
		if v := c.Val(); len(v) > 0 {
			out[i] = &v[0]
		}
	}
	return out, nil
}

func rangeEnd(p core.Position) (string, error) {
	switch p.Kind {
	case core.PosNew, core.PosAll:
		return "+", nil
	case core.PosID:
		return p.ID, validID(p.ID)
	case core.PosTime:
		return prevID(timeID(p.Time.Add(time.Millisecond))), nil
	}
	return "", fmt.Errorf("redis stream: a range must end at an id or a time, not %s", p)
}

// Replay implements core.OperatorBackend: read first (a snapshot, bounded
// by Limit), then XADD copies with core.ReplayHeader.
func (b *Backend) Replay(ctx context.Context, r core.ReplayRequest) (core.Result, error) {
	target := r.Target
	if target == "" {
		target = r.Topic
	}
	var recs []core.Record
	res := core.Result{}
	if len(r.IDs) > 0 {
		if err := validIDs(r.IDs); err != nil {
			return res, err
		}
		res.Requested = len(r.IDs)
		for _, part := range chunks(r.IDs, 500) {
			msgs, err := b.fetch(ctx, r.Topic, part)
			if err != nil {
				return res, err
			}
			for i, m := range msgs {
				if m == nil {
					res.Skipped++
					res.Note(fmt.Errorf("entry %s: %w", part[i], core.ErrNotFound))
					continue
				}
				recs = append(recs, record(r.Topic, *m))
			}
		}
	} else {
		after, err := b.afterID(ctx, r.Topic, r.From, false)
		if err != nil {
			return res, err
		}
		end, err := rangeEnd(r.To)
		if err != nil {
			return res, err
		}
		limit := r.Limit
		if limit <= 0 {
			limit = 1000
		}
		msgs, err := b.rdb.XRangeN(ctx, r.Topic, nextID(after), end, int64(limit)).Result()
		if err != nil {
			return res, fmt.Errorf("redis stream %q: xrange (replay): %w", r.Topic, err)
		}
		res.Requested = len(msgs)
		for _, m := range msgs {
			recs = append(recs, record(r.Topic, m))
		}
	}
	now := time.Now()
	for i := 0; i < len(recs); i += 200 {
		part := recs[i:min(i+200, len(recs))]
		pipe := b.rdb.Pipeline()
		cmds := make([]*redis.StringCmd, len(part))
		for j, rec := range part {
			vals, err := headerValues(core.ReplayHeader(rec, now), rec.Data)
			if err != nil {
				return res, err
			}
			cmds[j] = pipe.XAdd(ctx, &redis.XAddArgs{Stream: target, Values: vals})
		}
		_, _ = pipe.Exec(ctx)
		for j, c := range cmds {
			if err := c.Err(); err != nil {
				res.Fail(fmt.Errorf("replay %s to %q: %w", part[j].ID, target, err))
			} else {
				res.Done++
			}
		}
		res.Report(r.Progress)
	}
	res.Detail = fmt.Sprintf("replayed %d to %s", res.Done, target)
	if res.Failed > 0 {
		return res, fmt.Errorf("redis stream %q: replay: %d of %d failed: %s", r.Topic, res.Failed, res.Requested, res.Errors[0])
	}
	return res, nil
}

// Rewind implements core.OperatorBackend with XGROUP SETID: the group's
// next delivery is the first entry at or after the position. Pending
// entries are not touched.
func (b *Backend) Rewind(ctx context.Context, r core.RewindRequest) (core.Result, error) {
	var id string
	var err error
	switch r.To.Kind {
	case core.PosNew:
		id = "$"
	default:
		id, err = b.afterID(ctx, r.Topic, r.To, false)
		if err != nil {
			return core.Result{}, err
		}
	}
	if err := b.rdb.XGroupSetID(ctx, r.Topic, r.Group, id).Err(); err != nil {
		return core.Result{Requested: 1, Failed: 1}, b.keyErr(r.Topic, "xgroup setid "+r.Group+" "+id, err)
	}
	detail := fmt.Sprintf("group %s delivers next the first entry after %s; entries already pending stay pending", r.Group, id)
	return core.Result{Requested: 1, Done: 1, Detail: detail}, nil
}

// ---- dead letter ----

// MoveToDLQ implements core.OperatorBackend. For each chunk: read the
// entries (and, with a group, their pending owner and count), then XADD the
// copies to the DLQ and XACK (group) or XDEL (stored messages) the
// originals in one MULTI/EXEC. When EXEC's reply is lost, the originals'
// state tells whether it ran; only those still in place are retried, so a
// dropped connection neither loses nor duplicates. When the topic and the
// DLQ are in different cluster hash slots (see oneTx), copies are confirmed
// before originals are acked/deleted; after a lost reply the DLQ is read
// from where it ended before the first write, and copies found there are
// not written again (so a retry duplicates only if that read is cut short).
func (b *Backend) MoveToDLQ(ctx context.Context, r core.MoveRequest) (core.Result, error) {
	res := core.Result{Requested: len(r.IDs)}
	if err := validIDs(r.IDs); err != nil {
		return res, err
	}
	if err := b.mustBeStream(ctx, r.DLQ); err != nil {
		return res, err
	}
	for _, part := range chunks(r.IDs, 100) {
		b.moveChunk(ctx, r, part, &res)
		res.Report(r.Progress)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	res.Detail = fmt.Sprintf("moved %d of %d to %s", res.Done, res.Requested, r.DLQ)
	if b.oneTx(r.Topic, r.DLQ) {
		res.Detail += " (one MULTI/EXEC per chunk)"
	} else {
		res.Detail += " (copied, then settled: the topic and the DLQ are in different cluster hash slots)"
	}
	if res.Failed > 0 {
		return res, fmt.Errorf("redis stream %q: move to %q: %d of %d failed: %s", r.Topic, r.DLQ, res.Failed, res.Requested, res.Errors[0])
	}
	return res, nil
}

type moveItem struct {
	id         string
	vals       []any
	consumer   string
	deliveries int
}

func (b *Backend) moveChunk(ctx context.Context, r core.MoveRequest, ids []string, res *core.Result) {
	bo := newBackoff()
	todo := ids
	var lastErr error
	split := !b.oneTx(r.Topic, r.DLQ)
	mark := ""   // split: the DLQ's last id before the first write
	cut := false // split: a write failed, copies may have landed
	for attempt := 0; attempt < 8; attempt++ {
		if attempt > 0 && !sleepCtx(ctx, bo.next()) {
			lastErr = orErr(ctx.Err(), lastErr)
			break
		}
		items, skipped, err := b.moveRead(ctx, r, todo)
		if err != nil {
			lastErr = err
			if permanent(err) {
				break
			}
			b.logger.Debug("redis stream: dead-letter read failed; retrying", "topic", r.Topic, "attempt", attempt+1, "err", err)
			continue
		}
		for _, s := range skipped {
			if attempt == 0 {
				res.Skipped++
				res.Note(s)
			} else {
				// Gone since an earlier attempt whose EXEC reply was lost:
				// that EXEC ran (MULTI is all or nothing).
				res.Done++
			}
		}
		todo = nil
		if len(items) == 0 {
			return
		}
		retry := func(err error) {
			lastErr = err
			for _, it := range items {
				todo = append(todo, it.id)
			}
		}
		var landed map[string]bool
		if split {
			if mark == "" {
				if mark, err = b.lastID(ctx, r.DLQ); err != nil {
					retry(err)
					continue
				}
			}
			if cut {
				want := make(map[string]bool, len(items))
				for _, it := range items {
					want[it.id] = true
				}
				landed, err = b.landedSince(ctx, r.DLQ, mark, want, func(h core.Header) string {
					if h.Get(core.HeaderOriginTopic) != r.Topic || h.Get(core.HeaderOriginGroup) != r.Group {
						return ""
					}
					return h.Get(core.HeaderOriginID)
				})
				if err != nil {
					retry(err)
					continue
				}
				if len(landed) > 0 {
					b.logger.Debug("redis stream: dead-letter copies already landed before a lost reply; settling them without a second copy", "topic", r.Topic, "dlq", r.DLQ, "n", len(landed))
				}
			}
		}
		if err := b.moveWrite(ctx, r, items, split, landed); err != nil {
			cut = true
			retry(err)
			if permanent(err) {
				break // the server refused it (maxmemory, ACL, type): retrying cannot help
			}
			b.logger.Debug("redis stream: dead-letter write failed; checking what landed and retrying", "topic", r.Topic, "dlq", r.DLQ, "n", len(items), "attempt", attempt+1, "err", err)
			continue
		}
		res.Done += len(items)
		return
	}
	for range todo {
		res.Fail(fmt.Errorf("move: %w", lastErr))
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func orErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// moveRead reads what to move. An id that is no longer pending (group) or
// no longer stored (no group) is reported as skipped, because it was either
// settled elsewhere or already moved by an earlier attempt whose reply was
// lost — callers tell the two apart by their own bookkeeping.
func (b *Backend) moveRead(ctx context.Context, r core.MoveRequest, ids []string) ([]moveItem, []error, error) {
	msgs, err := b.fetch(ctx, r.Topic, ids)
	if err != nil {
		return nil, nil, err
	}
	var pend []*redis.XPendingExtCmd
	if r.Group != "" {
		pipe := b.rdb.Pipeline()
		pend = make([]*redis.XPendingExtCmd, len(ids))
		for i, id := range ids {
			pend[i] = pipe.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: r.Topic, Group: r.Group, Start: id, End: id, Count: 1})
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, nil, b.keyErr(r.Topic, "xpending "+r.Group, err)
		}
	}
	now := time.Now()
	var items []moveItem
	var skipped []error
	for i, id := range ids {
		it := moveItem{id: id}
		if pend != nil {
			p := pend[i].Val()
			if len(p) == 0 {
				skipped = append(skipped, fmt.Errorf("entry %s: not pending in group %s", id, r.Group))
				continue
			}
			it.consumer, it.deliveries = p[0].Consumer, int(p[0].RetryCount)
		}
		if msgs[i] == nil {
			if pend != nil {
				skipped = append(skipped, fmt.Errorf("entry %s: pending but its message was trimmed; nothing to move (ack it)", id))
			} else {
				skipped = append(skipped, fmt.Errorf("entry %s: %w", id, core.ErrNotFound))
			}
			continue
		}
		rec := record(r.Topic, *msgs[i])
		h := core.DeadLetterHeader(rec, r.Group, it.consumer, it.deliveries, r.Reason, now)
		vals, err := headerValues(h, rec.Data)
		if err != nil {
			return nil, nil, err
		}
		it.vals = vals
		items = append(items, it)
	}
	return items, skipped, nil
}

// mustBeStream refuses a target key that holds something other than a
// stream: inside MULTI/EXEC a failing XADD (WRONGTYPE) would not stop the
// XACK/XDEL queued after it, and the original would be lost.
func (b *Backend) mustBeStream(ctx context.Context, key string) error {
	typ, err := b.rdb.Type(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("redis stream %q: type: %w", key, err)
	}
	if typ != "none" && typ != "stream" {
		return fmt.Errorf("redis stream %q: the key holds a %s, not a stream: refusing to write copies there", key, typ)
	}
	return nil
}

// moveWrite writes the copies and settles the originals: in one MULTI/EXEC,
// or (split) copies first, confirmed, then the settle; copies in landed are
// already in the DLQ and are not written again.
func (b *Backend) moveWrite(ctx context.Context, r core.MoveRequest, items []moveItem, split bool, landed map[string]bool) error {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	settle := func(p redis.Pipeliner) {
		if r.Group != "" {
			p.XAck(ctx, r.Topic, r.Group, ids...)
		} else {
			p.XDel(ctx, r.Topic, ids...)
		}
	}
	if !split {
		tx := b.rdb.TxPipeline()
		for _, it := range items {
			tx.XAdd(ctx, &redis.XAddArgs{Stream: r.DLQ, Values: it.vals})
		}
		settle(tx)
		if cmds, err := tx.Exec(ctx); err != nil {
			return fmt.Errorf("redis stream %q: multi xadd %q + settle: %w", r.Topic, r.DLQ, txCause(err, cmds))
		}
		return nil
	}
	pipe := b.rdb.Pipeline()
	for _, it := range items {
		if !landed[it.id] {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: r.DLQ, Values: it.vals})
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("redis stream %q: xadd copies: %w", r.DLQ, err)
		}
	}
	pipe = b.rdb.Pipeline()
	settle(pipe)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redis stream %q: settle originals after copy: %w", r.Topic, err)
	}
	return nil
}

// Redrive implements core.OperatorBackend: XADD each DLQ entry to its
// origin (or r.Target) with core.RedriveHeader and, with r.Remove, XDEL it
// from the DLQ in the same MULTI/EXEC. A lost EXEC reply is resolved by
// whether the DLQ entry is still there (with Remove; without it a retry
// after a lost reply may write a second copy). When the DLQ and the targets
// are in different cluster hash slots, the copies are confirmed before the
// XDEL; after a lost reply each target is read from where it ended before
// the first write, and copies found there (by Mq-Redriven-From) are not
// written again.
func (b *Backend) Redrive(ctx context.Context, r core.RedriveRequest) (core.Result, error) {
	res := core.Result{Requested: len(r.IDs)}
	if err := validIDs(r.IDs); err != nil {
		return res, err
	}
	split := false
	for _, part := range chunks(r.IDs, 100) {
		if b.redriveChunk(ctx, r, part, &res) {
			split = true
		}
		res.Report(r.Progress)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	res.Detail = fmt.Sprintf("redrove %d of %d from %s", res.Done, res.Requested, r.DLQ)
	if split {
		res.Detail += " (copied, then removed: the DLQ and the target are in different cluster hash slots)"
	} else if res.Done > 0 {
		res.Detail += " (one MULTI/EXEC per chunk)"
	}
	if res.Failed > 0 {
		return res, fmt.Errorf("redis stream %q: redrive: %d of %d failed: %s", r.DLQ, res.Failed, res.Requested, res.Errors[0])
	}
	return res, nil
}

type redriveItem struct {
	id     string
	target string
	vals   []any
}

// redriveChunk redrives ids; it reports whether any write was split
// (copies and XDEL not in one MULTI/EXEC).
func (b *Backend) redriveChunk(ctx context.Context, r core.RedriveRequest, ids []string, res *core.Result) (split bool) {
	bo := newBackoff()
	checked := map[string]bool{}
	todo := ids
	var lastErr error
	marks := map[string]string{} // split: each target's last id before the first write
	cut := false                 // split: a write failed, copies may have landed
	for attempt := 0; attempt < 8; attempt++ {
		if attempt > 0 && !sleepCtx(ctx, bo.next()) {
			lastErr = orErr(ctx.Err(), lastErr)
			break
		}
		msgs, err := b.fetch(ctx, r.DLQ, todo)
		if err != nil {
			lastErr = err
			if permanent(err) {
				break
			}
			b.logger.Debug("redis stream: redrive read failed; retrying", "dlq", r.DLQ, "attempt", attempt+1, "err", err)
			continue
		}
		now := time.Now()
		var items []redriveItem
		for i, m := range msgs {
			if m == nil {
				if attempt == 0 {
					res.Skipped++
					res.Note(fmt.Errorf("DLQ entry %s: %w", todo[i], core.ErrNotFound))
				} else {
					res.Done++ // removed by an earlier attempt whose EXEC reply was lost
				}
				continue
			}
			rec := record(r.DLQ, *m)
			target := r.Target
			if target == "" {
				target = rec.Header.Get(core.HeaderOriginTopic)
			}
			if target == "" {
				res.Fail(fmt.Errorf("DLQ entry %s has no %s header: give a target", m.ID, core.HeaderOriginTopic))
				continue
			}
			if err := b.ValidateTopic(target, false); err != nil {
				res.Fail(fmt.Errorf("DLQ entry %s: origin: %w", m.ID, err))
				continue
			}
			if !checked[target] {
				if err := b.mustBeStream(ctx, target); err != nil {
					res.Fail(fmt.Errorf("DLQ entry %s: %w", m.ID, err))
					continue
				}
				checked[target] = true
			}
			vals, err := headerValues(core.RedriveHeader(rec, now), rec.Data)
			if err != nil {
				res.Fail(err)
				continue
			}
			items = append(items, redriveItem{id: m.ID, target: target, vals: vals})
		}
		todo = nil
		if len(items) == 0 {
			return split
		}
		keys := []string{r.DLQ}
		for _, it := range items {
			keys = append(keys, it.target)
		}
		one := b.oneTx(keys...)
		split = split || !one
		var landed map[string]bool
		if !one {
			if landed, err = b.redriveLanded(ctx, r, items, marks, cut); err != nil {
				lastErr = err
				for _, it := range items {
					todo = append(todo, it.id)
				}
				continue
			}
		}
		if err := b.redriveWrite(ctx, r, items, one, landed); err != nil {
			lastErr = err
			cut = cut || !one
			b.logger.Debug("redis stream: redrive write failed; checking what landed and retrying", "dlq", r.DLQ, "n", len(items), "attempt", attempt+1, "err", err)
			if (one && !r.Remove) || permanent(err) {
				// Whether the copies were written cannot be told from the
				// DLQ: do not retry blindly (that could duplicate). A
				// refusal by the server (maxmemory, ACL) cannot heal.
				for range items {
					res.Fail(err)
				}
				return
			}
			for _, it := range items {
				todo = append(todo, it.id)
			}
			continue
		}
		res.Done += len(items)
		return
	}
	for range todo {
		res.Fail(fmt.Errorf("redrive: %w", lastErr))
	}
	return split
}

// redriveLanded takes each target's mark before its first split write and,
// once a write was cut, reads what landed in the targets since: the DLQ ids
// whose redriven copy is already there.
func (b *Backend) redriveLanded(ctx context.Context, r core.RedriveRequest, items []redriveItem, marks map[string]string, cut bool) (map[string]bool, error) {
	want := map[string]map[string]bool{} // target -> "<dlq>/<id>"
	for _, it := range items {
		if want[it.target] == nil {
			want[it.target] = map[string]bool{}
		}
		want[it.target][r.DLQ+"/"+it.id] = true
	}
	landed := map[string]bool{}
	for target, w := range want {
		mark, ok := marks[target]
		if !ok {
			m, err := b.lastID(ctx, target)
			if err != nil {
				return nil, err
			}
			marks[target] = m
			continue // nothing written there yet
		}
		if !cut {
			continue
		}
		got, err := b.landedSince(ctx, target, mark, w, func(h core.Header) string { return h.Get(core.HeaderRedrivenFrom) })
		if err != nil {
			return nil, err
		}
		for k := range got {
			landed[strings.TrimPrefix(k, r.DLQ+"/")] = true
		}
	}
	if len(landed) > 0 {
		b.logger.Debug("redis stream: redriven copies already landed before a lost reply; not writing them again", "dlq", r.DLQ, "n", len(landed))
	}
	return landed, nil
}

// redriveWrite writes the copies and, with Remove, deletes the DLQ entries:
// in one MULTI/EXEC (one), or copies first, confirmed, then the XDEL;
// copies in landed (by DLQ id) are already there and not written again.
func (b *Backend) redriveWrite(ctx context.Context, r core.RedriveRequest, items []redriveItem, one bool, landed map[string]bool) error {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.id
	}
	if one {
		tx := b.rdb.TxPipeline()
		for _, it := range items {
			tx.XAdd(ctx, &redis.XAddArgs{Stream: it.target, Values: it.vals})
		}
		if r.Remove {
			tx.XDel(ctx, r.DLQ, ids...)
		}
		if cmds, err := tx.Exec(ctx); err != nil {
			return fmt.Errorf("redis stream %q: multi xadd origin + xdel: %w", r.DLQ, txCause(err, cmds))
		}
		return nil
	}
	pipe := b.rdb.Pipeline()
	for _, it := range items {
		if !landed[it.id] {
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: it.target, Values: it.vals})
		}
	}
	if pipe.Len() > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("redis stream %q: xadd redriven copies: %w", r.DLQ, err)
		}
	}
	if r.Remove {
		if err := b.rdb.XDel(ctx, r.DLQ, ids...).Err(); err != nil {
			return fmt.Errorf("redis stream %q: xdel after redrive: %w", r.DLQ, err)
		}
	}
	return nil
}

// lastID is the id of stream's last entry ("0-0" when it is empty or
// missing): copies written later have greater ids.
func (b *Backend) lastID(ctx context.Context, stream string) (string, error) {
	ms, err := b.rdb.XRevRangeN(ctx, stream, "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("redis stream %q: xrevrange (mark before copying): %w", stream, err)
	}
	if len(ms) == 0 {
		return "0-0", nil
	}
	return ms[0].ID, nil
}

// landedScanMax bounds how many entries landedSince reads: a stream that
// took more than that since the mark (a busy origin) is not searched to the
// end, and copies beyond are written again (duplicated, never lost).
const landedScanMax = 20000

// landedSince reads stream after mark and returns the keys in want that
// key finds in an entry's headers.
func (b *Backend) landedSince(ctx context.Context, stream, mark string, want map[string]bool, key func(core.Header) string) (map[string]bool, error) {
	got := map[string]bool{}
	from := nextID(mark)
	for read := 0; read < landedScanMax && len(got) < len(want); {
		ms, err := b.rdb.XRangeN(ctx, stream, from, "+", 1000).Result()
		if err != nil {
			return nil, fmt.Errorf("redis stream %q: xrange (what landed since %s): %w", stream, mark, err)
		}
		for _, m := range ms {
			_, h := decodeValues(m.Values)
			if k := key(h); k != "" && want[k] {
				got[k] = true
			}
		}
		if len(ms) < 1000 {
			return got, nil
		}
		read += len(ms)
		from = nextID(ms[len(ms)-1].ID)
	}
	if len(got) < len(want) {
		b.logger.Debug("redis stream: stopped looking for copies that landed before a lost reply; the rest are written again", "stream", stream, "since", mark, "read", landedScanMax)
	}
	return got, nil
}

// ---- deletion ----

// DeleteGroup implements core.OperatorBackend (XGROUP DESTROY).
func (b *Backend) DeleteGroup(ctx context.Context, topic, group string) error {
	n, err := b.rdb.XGroupDestroy(ctx, topic, group).Result()
	if err != nil {
		return b.keyErr(topic, "xgroup destroy "+group, err)
	}
	if n == 0 {
		return fmt.Errorf("redis stream %q: group %q: %w", topic, group, core.ErrNotFound)
	}
	return nil
}

// delConsumerScript deletes a consumer only if it holds no pending entry,
// atomically (XGROUP DELCONSUMER would silently drop them from the pending
// list, and they would never be redelivered).
var delConsumerScript = redis.NewScript(`
local p = redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if #p > 0 then
  local s = redis.call('XPENDING', KEYS[1], ARGV[1])
  local n = 0
  if s[4] then
    for _, c in ipairs(s[4]) do
      if c[1] == ARGV[2] then n = tonumber(c[2]) end
    end
  end
  return -n
end
local found = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  for i = 1, #c, 2 do
    if c[i] == 'name' and c[i+1] == ARGV[2] then found = 1 end
  end
end
if found == 0 then return -1000000000000 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 0
`)

// DeleteConsumer implements core.OperatorBackend. It refuses while the
// consumer holds pending entries (claim or ack them first): deleting it
// would drop them from the pending list for good.
func (b *Backend) DeleteConsumer(ctx context.Context, topic, group, consumer string) error {
	n, err := delConsumerScript.Run(ctx, b.rdb, []string{topic}, group, consumer).Int64()
	if err != nil {
		return b.keyErr(topic, "delete consumer "+consumer+" of group "+group, err)
	}
	switch {
	case n == -1000000000000:
		return fmt.Errorf("redis stream %q: group %q: consumer %q: %w", topic, group, consumer, core.ErrNotFound)
	case n < 0:
		return fmt.Errorf("redis stream %q: group %q: consumer %q holds %d pending entries; claim them to another consumer or ack them first (deleting it would drop them for good)", topic, group, consumer, -n)
	}
	return nil
}

// DeleteMessages implements core.MessageDeleter with one XDEL per id in a
// pipeline, so that each id is told apart: deleted, or not stored
// (skipped).
func (b *Backend) DeleteMessages(ctx context.Context, r core.DeleteRequest) (core.Result, error) {
	res := core.Result{Requested: len(r.IDs)}
	if err := validIDs(r.IDs); err != nil {
		return res, err
	}
	for _, part := range chunks(r.IDs, 100) {
		pipe := b.rdb.Pipeline()
		cmds := make([]*redis.IntCmd, len(part))
		for i, id := range part {
			cmds[i] = pipe.XDel(ctx, r.Topic, id)
		}
		_, _ = pipe.Exec(ctx)
		for i, c := range cmds {
			switch n, err := c.Result(); {
			case err != nil:
				res.Fail(fmt.Errorf("xdel %s: %w", part[i], err))
			case n == 0:
				res.Skipped++
				res.Notef("%s is not stored in %q (deleted or trimmed already)", part[i], r.Topic)
			default:
				res.Done++
			}
		}
		res.Report(r.Progress)
	}
	if res.Failed > 0 {
		return res, fmt.Errorf("redis stream %q: delete: %d of %d failed: %s", r.Topic, res.Failed, res.Requested, res.Errors[0])
	}
	return res, nil
}

// Purge implements core.OperatorBackend: XTRIM MAXLEN 0 keeps the stream
// and its groups; pending entries now point at trimmed messages (mqscope
// subscribers ack those when they reclaim them).
func (b *Backend) Purge(ctx context.Context, topic string) (core.Result, error) {
	n, err := b.rdb.XTrimMaxLen(ctx, topic, 0).Result()
	if err != nil {
		return core.Result{Requested: 1, Failed: 1}, b.keyErr(topic, "xtrim maxlen 0", err)
	}
	return core.Result{Requested: int(n), Done: int(n), Detail: fmt.Sprintf("deleted %d messages; groups kept", n)}, nil
}

// EnsureStream implements core.StreamEnsurer: nothing to do, the first
// XADD creates the stream.
func (b *Backend) EnsureStream(ctx context.Context, topic string) error { return nil }
