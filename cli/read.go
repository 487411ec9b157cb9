package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqscope/mqscope/core"
)

// ContextRow is one line of `mqscope contexts`.
type ContextRow struct {
	Name        string `json:"name"`
	Backend     string `json:"backend"`
	URL         string `json:"url"` // credentials removed
	Source      string `json:"source,omitempty"`
	Description string `json:"description,omitempty"`
	ReadOnly    bool   `json:"read_only"`
	Current     bool   `json:"current"` // what commands use without --context
}

// TopicRow is one line of `mqscope topics`.
type TopicRow struct {
	Name      string            `json:"name"`
	Subjects  []string          `json:"subjects,omitempty"`
	Messages  uint64            `json:"messages"`
	Bytes     uint64            `json:"bytes"`
	Groups    int               `json:"groups"`
	Rate      float64           `json:"rate"` // messages/s; 0 from a single look
	FirstID   string            `json:"first_id,omitempty"`
	LastID    string            `json:"last_id,omitempty"`
	FirstTime time.Time         `json:"first_time,omitzero"`
	LastTime  time.Time         `json:"last_time,omitzero"`
	Extra     map[string]string `json:"extra,omitempty"`
}

// ConsumerRow is one member of a group.
type ConsumerRow struct {
	Name                 string   `json:"name"`
	Pending              int64    `json:"pending"`
	IdleMS               int64    `json:"idle_ms"`
	OldestPendingIdleMS  int64    `json:"oldest_pending_idle_ms"`
	OldestPendingAtLeast bool     `json:"oldest_pending_lower_bound,omitempty"`
	Stuck                []string `json:"stuck"`
}

// GroupRow is one line of `mqscope groups`.
type GroupRow struct {
	Topic                string            `json:"topic"`
	Name                 string            `json:"name"`
	Pending              int64             `json:"pending"`
	Lag                  int64             `json:"lag"`         // -1 unknown
	Redelivered          int64             `json:"redelivered"` // -1 unknown
	LastDelivered        string            `json:"last_delivered,omitempty"`
	AckFloor             string            `json:"ack_floor,omitempty"`
	OldestPendingIdleMS  int64             `json:"oldest_pending_idle_ms"`
	OldestPendingAtLeast bool              `json:"oldest_pending_lower_bound,omitempty"`
	MaxAckPending        int               `json:"max_ack_pending,omitempty"`
	MaxDeliver           int               `json:"max_deliver,omitempty"`
	WaitingPulls         int               `json:"waiting_pulls,omitempty"`
	Stuck                []string          `json:"stuck"` // empty when healthy
	Consumers            []ConsumerRow     `json:"consumers"`
	Extra                map[string]string `json:"extra,omitempty"`
}

// PendingRow is one line of `mqscope pending`.
type PendingRow struct {
	ID         string `json:"id"`
	Consumer   string `json:"consumer,omitempty"`
	IdleMS     int64  `json:"idle_ms"`
	Deliveries int    `json:"deliveries"`
	// Where the backend reads the message to list it (JetStream): its
	// subject, when it was stored and its payload size.
	Subject string     `json:"subject,omitempty"`
	Stored  *time.Time `json:"stored,omitempty"`
	Size    *int       `json:"size,omitempty"`
}

// CapRow is one line of `mqscope caps`.
type CapRow struct {
	Op        string `json:"op"`
	Supported bool   `json:"supported"`
	Reason    string `json:"reason"`
	Command   string `json:"command"`
}

func (a *app) addReadCommands(root *cobra.Command) {
	root.AddCommand(
		&cobra.Command{
			Use: "contexts", GroupID: "read", Args: cobra.NoArgs,
			Short: "List the configured contexts (config file, natscli, --nats/--redis)",
			Long: `List the contexts commands can use: the config file's, natscli's, and those --nats/--redis
make (named nats, nats-core and redis). "current" marks the one used without --context.
Nothing is connected.`,
			RunE: runE(a.contexts),
		},
		&cobra.Command{
			Use: "topics", GroupID: "read", Args: cobra.NoArgs,
			Short: "List topics (streams) with message counts",
			Long: `List the topics of the context: Redis streams, JetStream streams, or the NATS Core subjects
seen so far. Columns as in the console's Topics pane; RATE needs two looks and is 0 here.`,
			RunE: runE(a.topics),
		},
		a.groupsCommand(),
		a.pendingCommand(),
		a.browseCommand(),
		&cobra.Command{
			Use: "get TOPIC ID", GroupID: "read", Args: exactArgs("TOPIC", "ID"),
			Short: "Print one stored message (the envelope)",
			Long: `Print one stored message. -o json prints the message envelope (see README, "Scripting"):
topic, subject, id, seq, time, headers, data (text, or base64 with "encoding": "base64").`,
			ValidArgsFunction: a.completeTopicGroup,
			RunE:              runE(a.get),
		},
		a.diffCommand(),
		a.tailCommand(),
		&cobra.Command{
			Use: "caps", GroupID: "read", Args: cobra.NoArgs,
			Short: "List what the context's backend can do, with reasons, and the command for each",
			Long: `List every operation with whether the context's backend (at the connected server's version)
supports it, why or why not, and the command that performs it. In read-only mode the mutating
operations read "read-only mode".`,
			RunE: runE(a.caps),
		},
	)
}

// exactArgs checks the positional arguments and names the missing ones.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return usageErr("%s: missing %s (usage: mqscope %s)", cmd.Name(), strings.Join(names[len(args):], " "), cmd.Use)
		}
		if len(args) > len(names) {
			return usageErr("%s: unexpected argument %q (usage: mqscope %s)", cmd.Name(), args[len(names)], cmd.Use)
		}
		return nil
	}
}

// minArgs checks for at least the named arguments (then a list).
func minArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return usageErr("%s: missing %s (usage: mqscope %s)", cmd.Name(), strings.Join(names[len(args):], " "), cmd.Use)
		}
		return nil
	}
}

func (a *app) contexts(_ *cobra.Command, _ []string) error {
	cfg, err := a.load()
	if err != nil {
		return err
	}
	rows := make([]ContextRow, 0, len(cfg.Contexts))
	for _, x := range cfg.Contexts {
		rows = append(rows, ContextRow{Name: x.Name, Backend: string(x.Backend), URL: core.RedactURL(x.URL), Source: x.Source,
			Description: x.Description, ReadOnly: x.ReadOnly, Current: x.Name == cfg.Initial})
	}
	return writeList(a, rows, []string{"NAME", "BACKEND", "URL", "READ-ONLY", "CURRENT", "SOURCE"}, func(r ContextRow) []string {
		cur := ""
		if r.Current {
			cur = "*"
		}
		return []string{r.Name, r.Backend, r.URL, strconv.FormatBool(r.ReadOnly), cur, r.Source}
	})
}

func (a *app) topics(cmd *cobra.Command, _ []string) error {
	op, err := a.operator(cmd.Context())
	if err != nil {
		return err
	}
	ctx, cancel := a.callTimeout(cmd.Context())
	defer cancel()
	ts, err := op.Topics(ctx)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	rows := make([]TopicRow, 0, len(ts))
	for _, t := range ts {
		rows = append(rows, TopicRow{Name: t.Name, Subjects: t.Subjects, Messages: t.Messages, Bytes: t.Bytes, Groups: t.Groups,
			Rate: t.Rate, FirstID: t.FirstID, LastID: t.LastID, FirstTime: t.FirstTime, LastTime: t.LastTime, Extra: t.Extra})
	}
	now := time.Now()
	return writeList(a, rows, []string{"NAME", "MSGS", "RATE/s", "BYTES", "GRPS", "LAST", "SUBJECTS"}, func(r TopicRow) []string {
		return []string{r.Name, strconv.FormatUint(r.Messages, 10), strconv.FormatFloat(r.Rate, 'f', 1, 64),
			strconv.FormatUint(r.Bytes, 10), strconv.Itoa(r.Groups), ago(r.LastTime, now), strings.Join(r.Subjects, ",")}
	})
}

func groupRow(g core.GroupInfo) GroupRow {
	r := GroupRow{Topic: g.Topic, Name: g.Name, Pending: g.Pending, Lag: g.Lag, Redelivered: g.Redelivered,
		LastDelivered: g.LastDelivered, AckFloor: g.AckFloor, OldestPendingIdleMS: g.OldestPendingIdle.Milliseconds(),
		OldestPendingAtLeast: g.OldestPendingLowerBound, MaxAckPending: g.MaxAckPending, MaxDeliver: g.MaxDeliver,
		WaitingPulls: g.WaitingPulls, Stuck: append([]string{}, g.Stuck...), Consumers: []ConsumerRow{}, Extra: g.Extra}
	for _, c := range g.Consumers {
		r.Consumers = append(r.Consumers, ConsumerRow{Name: c.Name, Pending: c.Pending, IdleMS: c.Idle.Milliseconds(),
			OldestPendingIdleMS: c.OldestPendingIdle.Milliseconds(), OldestPendingAtLeast: c.OldestPendingLowerBound,
			Stuck: append([]string{}, c.Stuck...)})
	}
	return r
}

func (a *app) groupsCommand() *cobra.Command {
	var w watchFlags
	cmd := &cobra.Command{
		Use: "groups TOPIC", GroupID: "read", Args: exactArgs("TOPIC"),
		Short: "List a topic's consumer groups (JetStream: durable consumers), stuck first",
		Long: `List the groups of TOPIC with pending, lag, the oldest pending idle time and why a group looks stuck.
-o json adds each group's consumers.

--watch samples the groups every --interval until interrupted (or --count samples) and prints, per
group and sample, what the console's history keeps: pending, lag, backlog (pending + lag), the in
and acked rates since the previous sample, and the trend signal ("growing", "stalled", "draining"
with an ETA) with its basis, judged by the context's [trends] thresholds (--window, --stalled).`,
		Example: `  # one JSON line per group every 5 s, for a dashboard or an alert script
  mqscope groups orders --watch --interval 5s -o jsonl | jq -c 'select(.signal == "stalled")'`,
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if w.watch {
				return a.watchGroups(cmd, args[0], w)
			}
			if cmd.Flags().Changed("interval") || cmd.Flags().Changed("count") {
				return usageErr("--interval and --count go with --watch")
			}
			return a.groups(cmd, args)
		}),
	}
	f := cmd.Flags()
	f.BoolVar(&w.watch, "watch", false, "sample the groups every --interval and print each sample with its trend, until interrupted")
	f.DurationVar(&w.interval, "interval", 5*time.Second, "time between samples with --watch")
	f.IntVar(&w.count, "count", 0, "with --watch: stop after this many samples (0 = until interrupted)")
	f.DurationVar(&w.th.Window, "window", 0, "with --watch: rates and slopes over this stretch (default the context's [trends] window, 2m)")
	f.DurationVar(&w.th.Stalled, "stalled", 0, "with --watch: growing this long with nothing acked is \"stalled\" (default [trends] stalled, 5m)")
	return cmd
}

func (a *app) groups(cmd *cobra.Command, args []string) error {
	op, err := a.operator(cmd.Context())
	if err != nil {
		return err
	}
	ctx, cancel := a.callTimeout(cmd.Context())
	defer cancel()
	gs, err := op.Groups(ctx, args[0])
	if err != nil {
		return fmt.Errorf("list groups of %s: %w", args[0], err)
	}
	rows := make([]GroupRow, 0, len(gs))
	for _, g := range gs {
		rows = append(rows, groupRow(g))
	}
	return writeList(a, rows, []string{"NAME", "PEND", "LAG", "OLDEST", "STATUS", "REDLV", "DELIVERED", "ACKFLOOR", "CONSUMERS"}, func(r GroupRow) []string {
		status := "ok"
		if len(r.Stuck) > 0 {
			status = "STUCK: " + strings.Join(r.Stuck, "; ")
		}
		oldest := "-"
		if r.OldestPendingIdleMS > 0 {
			oldest = core.HumanDuration(time.Duration(r.OldestPendingIdleMS) * time.Millisecond)
			if r.OldestPendingAtLeast {
				oldest = "≥" + oldest
			}
		}
		return []string{r.Name, count(r.Pending), count(r.Lag), oldest, status, count(r.Redelivered), r.LastDelivered, r.AckFloor, strconv.Itoa(len(r.Consumers))}
	})
}

func (a *app) pendingCommand() *cobra.Command {
	var consumer string
	var minIdle time.Duration
	var limit int
	cmd := &cobra.Command{
		Use: "pending TOPIC GROUP", GroupID: "read", Args: exactArgs("TOPIC", "GROUP"),
		Short: "List a group's pending (delivered, not acked) messages",
		Long: `List the pending messages of GROUP on TOPIC, oldest first: id, consumer, idle time, deliveries.
--limit 0 lists all of them (paging through the broker's list).`,
		Example: `  # ids of messages pending longer than 10 minutes, for xargs
  mqscope pending orders billing --min-idle 10m --limit 0 -o jsonl | jq -r .id`,
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usageErr("--limit %d: want 0 (all) or more", limit)
			}
			op, err := a.operator(cmd.Context())
			if err != nil {
				return err
			}
			rows, note, err := a.pendingRows(cmd.Context(), op, core.PendingQuery{Topic: args[0], Group: args[1], Consumer: consumer, MinIdle: minIdle}, limit)
			if err != nil {
				return err
			}
			if note != "" && a.output == "table" {
				fmt.Fprintln(a.o.Stderr, "note:", note)
			}
			return writeList(a, rows, []string{"ID", "CONSUMER", "IDLE", "DLV"}, func(r PendingRow) []string {
				// unknown (JetStream keeps no per-message idle or count): "-"
				idle, dlv := "-", "-"
				if r.IdleMS > 0 {
					idle = core.HumanDuration(time.Duration(r.IdleMS) * time.Millisecond)
				}
				if r.Deliveries > 0 {
					dlv = strconv.Itoa(r.Deliveries)
				}
				return []string{r.ID, r.Consumer, idle, dlv}
			})
		}),
	}
	cmd.Flags().StringVar(&consumer, "consumer", "", "only the messages held by consumer `C`")
	cmd.Flags().DurationVar(&minIdle, "min-idle", 0, "only messages idle at least `D` (10m, 1h)")
	cmd.Flags().IntVar(&limit, "limit", 100, "list at most `N` (0 = all)")
	return cmd
}

// pendingRows pages through a pending list up to limit (0 = all).
func (a *app) pendingRows(ctx context.Context, op *core.Operator, q core.PendingQuery, limit int) ([]PendingRow, string, error) {
	rows := []PendingRow{}
	var note string
	for {
		q.Limit = 500
		if limit > 0 {
			q.Limit = min(500, limit-len(rows))
		}
		cctx, cancel := a.callTimeout(ctx)
		page, err := op.Pending(cctx, q)
		cancel()
		if err != nil {
			return nil, "", fmt.Errorf("pending of %s group %s: %w", q.Topic, q.Group, err)
		}
		note = page.Note
		for _, e := range page.Entries {
			row := PendingRow{ID: e.ID, Consumer: e.Consumer, IdleMS: e.Idle.Milliseconds(), Deliveries: e.Deliveries, Subject: e.Subject}
			if !e.Stored.IsZero() {
				stored, size := e.Stored.UTC(), e.Size
				row.Stored, row.Size = &stored, &size
			}
			rows = append(rows, row)
		}
		if page.Next == "" || (limit > 0 && len(rows) >= limit) || len(page.Entries) == 0 {
			return rows, note, nil
		}
		q.Cursor = page.Next
	}
}

// position parses a --from/--to value, naming the flag on error.
func position(flag, s string) (core.Position, error) {
	p, err := core.ParsePosition(s, time.Now())
	if err != nil {
		return p, usageErr("--%s: %w", flag, err)
	}
	return p, nil
}

func (a *app) browseCommand() *cobra.Command {
	var from string
	var limit int
	var reverse, follow bool
	var subject, whereExpr string
	var scan int
	cmd := &cobra.Command{
		Use: "browse TOPIC", GroupID: "read", Args: exactArgs("TOPIC"),
		Short: "Print a topic's stored messages, oldest first (or newest with --reverse)",
		Long: `Print the stored messages of TOPIC without changing anything, then exit; --follow keeps
printing new ones. With -o json or -o jsonl each message is one envelope per line.

--from takes an id (1700000000000-0), a sequence (42 or seq:42), a time (RFC 3339),
a duration ago (-15m), all or last:N.

--where EXPR keeps the messages a jq expression matches (see README, Queries) and searches
history: it examines at most --scan messages (default 10000), says how many it examined and
matched on stderr, and ctrl-c stops it with what it found printed.`,
		Example: `  mqscope browse orders --from -1h -o jsonl > orders.jsonl
  mqscope browse orders --reverse --limit 10
  # the last 5 big EUR orders among the newest 50000 messages
  mqscope browse orders --reverse --where '.amount > 100 and .currency == "EUR"' --limit 5 --scan 50000`,
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			q := core.BrowseQuery{Topic: args[0], Reverse: reverse, Subject: subject, From: core.StartAll()}
			if from != "" {
				p, err := position("from", from)
				if err != nil {
					return err
				}
				q.From = p
			}
			if limit < 0 {
				return usageErr("--limit %d: want 0 (all) or more", limit)
			}
			if follow && reverse {
				return usageErr("--follow and --reverse: a follow goes forward")
			}
			if scan < 0 {
				return usageErr("--scan %d: want 0 (no bound) or more", scan)
			}
			w, err := a.compileWhere(whereExpr)
			if err != nil {
				return err
			}
			if w != nil && follow {
				return usageErr("--where and --follow: use tail --where to follow")
			}
			op, err := a.operator(cmd.Context())
			if err != nil {
				return err
			}
			if w != nil {
				return a.search(cmd.Context(), op, q, w, limit, scan)
			}
			return a.browse(cmd.Context(), op, q, limit, follow)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "start at `ID|SEQ|TIME` (default: the oldest; newest with --reverse)")
	f.IntVar(&limit, "limit", 0, "print at most `N` messages (0 = to the end)")
	f.BoolVar(&reverse, "reverse", false, "newest first")
	f.BoolVar(&follow, "follow", false, "at the end, keep printing new messages until interrupted")
	f.StringVar(&subject, "subject", "", "JetStream: only messages on `SUBJECT` (wildcards allowed)")
	whereFlags(f, &whereExpr, &scan)
	return cmd
}

// search is browse --where: a bounded, stoppable scan of history that
// prints the matches as it finds them.
func (a *app) search(ctx context.Context, op *core.Operator, q core.BrowseQuery, w *where, limit, scan int) error {
	out := a.newStreamWriter()
	out.header()
	prog := newProgress(a.o.Stderr)
	examined, matched := 0, 0
	end := "the end of the topic"
	var failed error
scan:
	for {
		page, err := a.browsePage(ctx, op, q, 500, scan, examined)
		if ctx.Err() != nil {
			end = "interrupted"
			break
		}
		if err != nil {
			failed = fmt.Errorf("browse %s from %s: %w", q.Topic, q.From, err)
			break
		}
		for _, r := range page.Records {
			if ctx.Err() != nil {
				end = "interrupted"
				break scan
			}
			examined++
			if w.keep(ctx, r, 0) {
				matched++
				if err := out.write(r); err != nil {
					return err
				}
				if limit > 0 && matched >= limit {
					end = fmt.Sprintf("--limit %d reached", limit)
					break scan
				}
			}
			if scan > 0 && examined >= scan {
				end = fmt.Sprintf("--scan %d reached; --scan N looks further", scan)
				break scan
			}
		}
		prog.show(examined, scan, matched)
		if !page.More || len(page.Records) == 0 || page.Next.Kind == core.PosNew {
			break
		}
		q.From = page.Next
	}
	prog.done()
	if err := out.flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.o.Stderr, "mqscope: browse %s: examined %d, matched %d (%s)\n", q.Topic, examined, matched, end)
	w.report(a.o.Stderr)
	return failed
}

// browsePage reads one page of at most size messages from q.From, fewer
// when a bound (0 = none) leaves fewer after done.
func (a *app) browsePage(ctx context.Context, op *core.Operator, q core.BrowseQuery, size, bound, done int) (core.BrowsePage, error) {
	q.Limit = size
	if bound > 0 {
		q.Limit = min(size, bound-done)
	}
	cctx, cancel := a.callTimeout(ctx)
	defer cancel()
	return op.Browse(cctx, q)
}

func (a *app) browse(ctx context.Context, op *core.Operator, q core.BrowseQuery, limit int, follow bool) error {
	out := a.newStreamWriter()
	out.header()
	n := 0
	var last core.Record
	for {
		page, err := a.browsePage(ctx, op, q, 1000, limit, n)
		if err != nil {
			_ = out.flush()
			return fmt.Errorf("browse %s from %s: %w", q.Topic, q.From, err)
		}
		for _, r := range page.Records {
			if err := out.write(r); err != nil {
				return err
			}
			last = r
		}
		n += len(page.Records)
		if !page.More || len(page.Records) == 0 || (limit > 0 && n >= limit) || page.Next.Kind == core.PosNew {
			break
		}
		q.From = page.Next
	}
	if err := out.flush(); err != nil {
		return err
	}
	if !follow || (limit > 0 && n >= limit) {
		return nil
	}
	// Follow from the last message printed; it comes again first and is
	// skipped.
	tq := core.TailQuery{Pattern: q.Topic, From: core.StartAll()}
	if last.ID != "" {
		tq.From = core.AtID(last.ID)
	}
	rest := 0
	if limit > 0 {
		rest = limit - n
	}
	return a.follow(ctx, op, tq, out, func(r core.Record) bool { return last.ID == "" || r.ID != last.ID }, rest)
}

func (a *app) get(cmd *cobra.Command, args []string) error {
	op, err := a.operator(cmd.Context())
	if err != nil {
		return err
	}
	ctx, cancel := a.callTimeout(cmd.Context())
	defer cancel()
	rec, err := op.Get(ctx, args[0], args[1])
	if err != nil {
		return fmt.Errorf("get %s %s: %w", args[0], args[1], err)
	}
	dec := a.decoder()
	return a.writeOne(envelope(dec, rec), func(w io.Writer) {
		fmt.Fprintf(w, "Topic:    %s\n", cell(rec.Topic))
		if rec.Subject != "" {
			fmt.Fprintf(w, "Subject:  %s\n", cell(rec.Subject))
		}
		fmt.Fprintf(w, "ID:       %s\n", cell(rec.ID))
		if rec.Seq > 0 {
			fmt.Fprintf(w, "Sequence: %d\n", rec.Seq)
		}
		fmt.Fprintf(w, "Time:     %s\n", timeCell(rec.Time))
		fmt.Fprintf(w, "Size:     %d\n", max(rec.Size, len(rec.Data)))
		for _, k := range rec.Header.Keys() {
			for _, v := range rec.Header[k] {
				fmt.Fprintf(w, "Header:   %s: %s\n", cell(k), cell(v))
			}
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, decodedCell(dec, rec, 1<<20))
	})
}

func (a *app) tailCommand() *cobra.Command {
	var countN, buffer int
	var from, whereExpr string
	cmd := &cobra.Command{
		Use: "tail PATTERN", GroupID: "read", Args: exactArgs("PATTERN"),
		Short: "Print new messages as they arrive (NATS wildcards allowed), without consuming them",
		Long: `Follow a topic (or a NATS subject pattern such as orders.> or '>') and print each message as
it arrives, until interrupted or --count messages. With -o json or -o jsonl each message is one
envelope per line (pub --from replays such a recording).

The tail does not drop silently: when the output cannot keep up, it says on stderr how many
messages it lost, and exits with 4.`,
		Example: `  # record one minute of orders, replay it into staging
  timeout 60 mqscope tail orders -o jsonl > orders.jsonl
  mqscope --context staging pub --from orders.jsonl`,
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if countN < 0 || buffer < 0 {
				return usageErr("--count and --buffer want 0 or more")
			}
			q := core.TailQuery{Pattern: args[0], Buffer: buffer}
			if from != "" {
				p, err := position("from", from)
				if err != nil {
					return err
				}
				q.From = p
			}
			w, err := a.compileWhere(whereExpr)
			if err != nil {
				return err
			}
			op, err := a.operator(cmd.Context())
			if err != nil {
				return err
			}
			out := a.newStreamWriter()
			out.header()
			var keep func(core.Record) bool
			if w != nil {
				// the query's budget bounds each message, not the
				// interrupt: ctrl-c stops the tail, not a query
				keep = func(r core.Record) bool { return w.keep(context.WithoutCancel(cmd.Context()), r, 0) }
				defer w.report(a.o.Stderr)
			}
			return a.follow(cmd.Context(), op, q, out, keep, countN)
		}),
	}
	f := cmd.Flags()
	f.IntVar(&countN, "count", 0, "exit after `N` messages (0 = until interrupted)")
	f.StringVar(&from, "from", "", "start at `POS` where history exists: all, last:N, an id, a sequence, a time, -15m (default: new messages only)")
	f.IntVar(&buffer, "buffer", 1<<20, "messages held while the output catches up; beyond it the oldest are lost and counted")
	whereFlags(f, &whereExpr, nil)
	return cmd
}

// follow runs a tail into out until ctx ends or n messages (0 = no
// bound) were written; keep filters records.
func (a *app) follow(ctx context.Context, op *core.Operator, q core.TailQuery, out *streamWriter, keep func(core.Record) bool, n int) error {
	if q.Buffer == 0 {
		q.Buffer = 1 << 20
	}
	t, err := op.Tail(ctx, q)
	if err != nil {
		return fmt.Errorf("tail %s: %w", q.Pattern, err)
	}
	defer t.Stop()
	written := 0
	var reported uint64
	report := func() {
		if d := t.Dropped(); d > reported {
			fmt.Fprintf(a.o.Stderr, "mqscope: tail %s: lost %d messages: the output did not keep up (raise --buffer)\n", q.Pattern, d-reported)
			reported = d
		}
	}
	idle := time.NewTicker(5 * time.Millisecond)
	defer idle.Stop()
	for {
		recs := t.Drain(4096)
		for _, r := range recs {
			if keep != nil && !keep(r) {
				continue
			}
			if err := out.write(r); err != nil {
				return fmt.Errorf("tail %s: write: %w", q.Pattern, err)
			}
			written++
			if n > 0 && written >= n {
				report()
				return lostErr(out.flush(), reported)
			}
		}
		if len(recs) > 0 {
			continue
		}
		if err := out.flush(); err != nil {
			return fmt.Errorf("tail %s: write: %w", q.Pattern, err)
		}
		report()
		select {
		case <-ctx.Done():
			for _, r := range t.Drain(0) {
				if (keep == nil || keep(r)) && (n == 0 || written < n) {
					_ = out.write(r)
					written++
				}
			}
			report()
			return lostErr(out.flush(), reported)
		case <-idle.C:
		}
	}
}

func lostErr(err error, lost uint64) error {
	if err != nil {
		return err
	}
	if lost > 0 {
		return &exitError{ExitPartial, fmt.Errorf("tail: %d messages lost in all", lost)}
	}
	return nil
}

func (a *app) caps(cmd *cobra.Command, _ []string) error {
	op, err := a.operator(cmd.Context())
	if err != nil {
		return err
	}
	ctx, cancel := a.callTimeout(cmd.Context())
	defer cancel()
	c := op.Capabilities(ctx)
	rows := make([]CapRow, 0, len(core.AllOps))
	for _, o := range core.AllOps {
		ok, why := c.Can(o)
		rows = append(rows, CapRow{Op: string(o), Supported: ok, Reason: why, Command: OpCommands[o]})
	}
	if a.output == "table" {
		fmt.Fprintf(a.o.Stdout, "%s %s (%s)\n", c.Driver, c.ServerVersion, a.ctxName)
	}
	return writeList(a, rows, []string{"OP", "OK", "COMMAND", "REASON"}, func(r CapRow) []string {
		ok := "no"
		if r.Supported {
			ok = "yes"
		}
		return []string{r.Op, ok, r.Command, r.Reason}
	})
}
