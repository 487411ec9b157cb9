package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqscope/mqscope/core"
)

// ResultRow is what a mutating command prints.
type ResultRow struct {
	Op        string   `json:"op"`
	Target    string   `json:"target"`
	Requested int      `json:"requested"`
	Done      int      `json:"done"`
	Failed    int      `json:"failed"`
	Skipped   int      `json:"skipped"`
	Errors    []string `json:"errors"`
	Detail    string   `json:"detail,omitempty"`
}

// mutation is one mutating command's work.
type mutation struct {
	op     core.Op
	target string // "orders group billing"
	// ask is the confirmation question, with the count ("ack 3 messages of …").
	ask string
	run func(ctx context.Context, op *core.Operator) (core.Result, error)
}

// mutate checks the capability, asks (or needs --yes), runs through
// core.Operator (which refuses in read-only mode and writes the audit
// line), and prints the result. Per-item failures exit 4.
func (a *app) mutate(cmd *cobra.Command, m mutation) error {
	op, err := a.operator(cmd.Context())
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if !op.ReadOnly() { // read-only: the operator refuses, and audits the refusal
		cctx, cancel := a.callTimeout(ctx)
		ok, why := op.Capabilities(cctx).Can(m.op)
		cancel()
		if !ok {
			return fmt.Errorf("%s %s: %w", m.op, m.target, &core.UnsupportedError{Op: m.op, Reason: why})
		}
		if err := a.confirm(m.ask); err != nil {
			return err
		}
	}
	if a.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	res, err := m.run(ctx, op)
	if errors.Is(err, core.ErrReadOnly) {
		return err // core's refusal already names the action and its target
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", m.op, m.target, err)
	}
	row := ResultRow{Op: string(m.op), Target: m.target, Requested: res.Requested, Done: res.Done, Failed: res.Failed,
		Skipped: res.Skipped, Errors: append([]string{}, res.Errors...), Detail: res.Detail}
	for _, e := range res.Errors {
		fmt.Fprintln(a.o.Stderr, "mqscope:", m.op, m.target+":", e)
	}
	if err := a.writeOne(row, func(w io.Writer) {
		fmt.Fprintf(w, "%s %s: %d of %d done", m.op, m.target, res.Done, res.Requested)
		if res.Failed > 0 {
			fmt.Fprintf(w, ", %d failed", res.Failed)
		}
		if res.Skipped > 0 {
			fmt.Fprintf(w, ", %d skipped", res.Skipped)
		}
		fmt.Fprintln(w)
		if res.Detail != "" {
			fmt.Fprintln(w, res.Detail)
		}
	}); err != nil {
		return err
	}
	if res.Failed > 0 {
		return &exitError{code: ExitPartial}
	}
	return nil
}

// confirm asks on the terminal, or needs --yes.
func (a *app) confirm(question string) error {
	if a.yes {
		return nil
	}
	if !a.o.Terminal() {
		return &exitError{ExitRefused, fmt.Errorf("%s: %w: no terminal to ask on; pass --yes", question, errNotConfirmed)}
	}
	ok, err := a.prompt(question + "? [y/N] ")
	if err != nil {
		return &exitError{ExitRefused, fmt.Errorf("%s: %w: %w", question, errNotConfirmed, err)}
	}
	if !ok {
		return &exitError{ExitRefused, fmt.Errorf("%s: %w", question, errNotConfirmed)}
	}
	return nil
}

// prompt asks on the terminal (not stdin, which may carry ids).
func (a *app) prompt(q string) (bool, error) {
	if a.o.Prompt != nil {
		return a.o.Prompt(q)
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer tty.Close()
	fmt.Fprint(tty, q)
	line, err := bufio.NewReader(tty).ReadString('\n')
	if err != nil && line == "" {
		return false, err
	}
	s := strings.ToLower(strings.TrimSpace(line))
	return s == "y" || s == "yes", nil
}

// ids returns the message ids given as arguments; "-" reads them from
// stdin, separated by whitespace.
func (a *app) ids(args []string) ([]string, error) {
	var out []string
	stdin := false
	for _, s := range args {
		if s != "-" {
			out = append(out, s)
			continue
		}
		stdin = true
		sc := bufio.NewScanner(a.o.Stdin)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sc.Split(bufio.ScanWords)
		for sc.Scan() {
			out = append(out, sc.Text())
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read ids from stdin: %w", err)
		}
	}
	if len(out) == 0 && stdin {
		// An empty selection in a pipeline (nothing pending that long) is
		// not a failure of the runbook.
		return nil, &exitError{ExitOK, errors.New("no message ids on stdin: nothing to do")}
	}
	if len(out) == 0 {
		return nil, usageErr("no message ids given (as arguments, or - to read them from stdin)")
	}
	return out, nil
}

func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %ss", n, one)
}

func (a *app) addMutatingCommands(root *cobra.Command) {
	for _, x := range []struct {
		op    core.Op
		short string
		long  string
		fn    func(*core.Operator) func(context.Context, core.ActionRequest) (core.Result, error)
	}{
		{core.OpAck, "Acknowledge pending messages of a group as the operator",
			"Acknowledge the given pending messages of GROUP on TOPIC: the group will not get them again.",
			func(o *core.Operator) func(context.Context, core.ActionRequest) (core.Result, error) { return o.Ack }},
		{core.OpNak, "Ask for redelivery of pending messages of a group",
			"Return the given pending messages of GROUP to be delivered again (JetStream: nak; Redis: the entry\nis released for another consumer to claim).",
			func(o *core.Operator) func(context.Context, core.ActionRequest) (core.Result, error) { return o.Nak }},
		{core.OpTerm, "Stop redelivery of pending messages of a group (they are not processed)",
			"Terminate the given pending messages of GROUP: they are never delivered again and are not dead-lettered\n(see dlq move to keep a copy).",
			func(o *core.Operator) func(context.Context, core.ActionRequest) (core.Result, error) { return o.Term }},
	} {
		var reason string
		var delay time.Duration
		cmd := &cobra.Command{
			Use: string(x.op) + " TOPIC GROUP ID... (- reads ids from stdin)", GroupID: "act", Args: minArgs("TOPIC", "GROUP", "ID"),
			Short: x.short, Long: x.long + "\n\nAsks on a terminal; without one, needs --yes. Refused in read-only mode.",
			Example:           fmt.Sprintf("  mqscope %s orders billing 1700000000000-0 1700000000001-0 --yes\n  mqscope pending orders billing --min-idle 1h --limit 0 -o jsonl | jq -r .id | mqscope %s orders billing - --yes", x.op, x.op),
			ValidArgsFunction: a.completeTopicGroup,
		}
		cmd.RunE = runE(func(cmd *cobra.Command, args []string) error {
			ids, err := a.ids(args[2:])
			if err != nil {
				return err
			}
			req := core.ActionRequest{Topic: args[0], Group: args[1], IDs: ids, Reason: reason, Delay: delay}
			ask := fmt.Sprintf("%s %s of %s group %s", x.op, plural(len(ids), "message"), args[0], args[1])
			if delay > 0 {
				ask += ", redelivered after " + delay.String()
			}
			return a.mutate(cmd, mutation{op: x.op, target: args[0] + " group " + args[1],
				ask: ask,
				run: func(ctx context.Context, o *core.Operator) (core.Result, error) { return x.fn(o)(ctx, req) }})
		})
		switch x.op {
		case core.OpTerm:
			cmd.Flags().StringVar(&reason, "reason", "", "why (JetStream: sent with the term)")
		case core.OpNak:
			cmd.Flags().DurationVar(&delay, "delay", 0, "redeliver after `D` (JetStream; Redis refuses a delay)")
		}
		root.AddCommand(cmd)
	}
	root.AddCommand(a.claimCommand(), a.replayCommand(), a.rewindCommand(), a.dlqCommand(), a.purgeCommand(), a.deleteCommand())
}

func (a *app) claimCommand() *cobra.Command {
	var to string
	var minIdle time.Duration
	cmd := &cobra.Command{
		Use: "claim TOPIC GROUP ID... --to CONSUMER", GroupID: "act", Args: minArgs("TOPIC", "GROUP", "ID"),
		Short:             "Move pending messages of a group to another consumer",
		Long:              "Give the given pending messages of GROUP to CONSUMER (Redis XCLAIM).\n\nAsks on a terminal; without one, needs --yes. Refused in read-only mode.",
		Example:           "  mqscope claim orders billing 1700000000000-0 --to worker-2 --yes",
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return usageErr("claim: --to CONSUMER is required")
			}
			ids, err := a.ids(args[2:])
			if err != nil {
				return err
			}
			req := core.ActionRequest{Topic: args[0], Group: args[1], Consumer: to, IDs: ids, MinIdle: minIdle}
			return a.mutate(cmd, mutation{op: core.OpClaim, target: args[0] + " group " + args[1] + " to " + to,
				ask: fmt.Sprintf("claim %s of %s group %s to %s", plural(len(ids), "message"), args[0], args[1], to),
				run: func(ctx context.Context, o *core.Operator) (core.Result, error) { return o.Claim(ctx, req) }})
		}),
	}
	cmd.Flags().StringVar(&to, "to", "", "the consumer to give the messages to (required)")
	cmd.Flags().DurationVar(&minIdle, "min-idle", 0, "only messages idle at least `D` (guards against claiming one being worked on)")
	return cmd
}

func (a *app) replayCommand() *cobra.Command {
	var from, to, target string
	var limit int
	cmd := &cobra.Command{
		Use: "replay TOPIC [ID...] [--from A --to B]", GroupID: "act", Args: minArgs("TOPIC"),
		Short: "Publish stored messages again (to the same topic or --target)",
		Long: `Republish stored messages of TOPIC: the given ids, or the range --from A --to B (ids,
sequences or times; --to defaults to now). Copies carry Mq-Replayed-From.

Asks on a terminal; without one, needs --yes. Refused in read-only mode.`,
		Example:           "  mqscope replay orders --from -1h --to -30m --target orders.retry --yes",
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			req := core.ReplayRequest{Topic: args[0], Target: target, Limit: limit}
			what := ""
			switch {
			case len(args) > 1 && (from != "" || to != ""):
				return usageErr("replay: give ids or --from/--to, not both")
			case len(args) > 1:
				ids, err := a.ids(args[1:])
				if err != nil {
					return err
				}
				req.IDs, what = ids, plural(len(ids), "message")
			case from != "":
				p, err := position("from", from)
				if err != nil {
					return err
				}
				req.From = p
				if to != "" {
					if req.To, err = position("to", to); err != nil {
						return err
					}
				}
				what = fmt.Sprintf("messages from %s to %s (at most %d)", req.From, orDefault(to, "now"), max(limit, 1000*btoi(limit == 0)))
			default:
				return usageErr("replay: give message ids or --from")
			}
			t := args[0] + " -> " + orDefault(target, args[0])
			return a.mutate(cmd, mutation{op: core.OpReplay, target: t, ask: "replay " + what + " of " + t,
				run: func(ctx context.Context, o *core.Operator) (core.Result, error) { return o.Replay(ctx, req) }})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "range start `ID|SEQ|TIME` (-1h, 2026-11-30T10:00:00Z, 42, 1700000000000-0)")
	f.StringVar(&to, "to", "", "range end, inclusive `ID|SEQ|TIME` (default: now)")
	f.StringVar(&target, "target", "", "publish to `TOPIC` instead of the same topic")
	f.IntVar(&limit, "limit", 0, "at most `N` messages of a range (default 1000)")
	return cmd
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (a *app) rewindCommand() *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use: "rewind TOPIC GROUP --to ID|SEQ|TIME", GroupID: "act", Args: exactArgs("TOPIC", "GROUP"),
		Short: "Move a group's position back (or forward): it gets messages again from there",
		Long: `Set where GROUP reads TOPIC from. On JetStream this recreates the durable consumer, which loses
its pending state: the question says so, and --yes accepts it.

Asks on a terminal; without one, needs --yes. Refused in read-only mode.`,
		Example:           "  mqscope rewind orders billing --to -2h --yes",
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return usageErr("rewind: --to ID|SEQ|TIME is required")
			}
			p, err := position("to", to)
			if err != nil {
				return err
			}
			req := core.RewindRequest{Topic: args[0], Group: args[1], To: p, Confirmed: a.yes}
			return a.mutate(cmd, mutation{op: core.OpRewind, target: args[0] + " group " + args[1] + " to " + p.String(),
				ask: fmt.Sprintf("rewind %s group %s to %s", args[0], args[1], p),
				run: func(ctx context.Context, o *core.Operator) (core.Result, error) {
					r, err := o.Rewind(ctx, req)
					if errors.Is(err, core.ErrNeedsConfirmation) && !req.Confirmed {
						if cerr := a.confirm(err.Error() + "; go ahead"); cerr != nil {
							return r, cerr
						}
						req.Confirmed = true
						return o.Rewind(ctx, req)
					}
					return r, err
				}})
		}),
	}
	cmd.Flags().StringVar(&to, "to", "", "the new position `ID|SEQ|TIME` (-2h, 42, 1700000000000-0, all) (required)")
	return cmd
}

// dlqOf is the dead-letter topic of topic (topic itself when it is one).
func dlqOf(o *core.Operator, topic string) string {
	if s := o.DLQSuffix(); s != "" && strings.HasSuffix(topic, s) {
		return topic
	}
	return topic + o.DLQSuffix()
}

func (a *app) dlqCommand() *cobra.Command {
	dlq := &cobra.Command{Use: "dlq", GroupID: "act", Short: "Dead-letter queue: move messages there, list them, send them back",
		Long: "Dead-letter topics are TOPIC plus the context's DLQ suffix (default .dlq); copies carry Mq-Origin-* headers."}
	var reason, target string
	var create, all, keep bool
	move := &cobra.Command{
		Use: "move TOPIC GROUP ID... (- reads ids from stdin)", Args: minArgs("TOPIC", "GROUP", "ID"),
		Short: "Move pending messages of a group to the topic's DLQ (copy, then ack)",
		Long: `Copy the given pending messages of GROUP to the dead-letter topic with origin headers, then ack
them in GROUP. --create makes storage for the DLQ first where it needs one (JetStream).

Asks on a terminal; without one, needs --yes. Refused in read-only mode.`,
		Example: `  # everything pending longer than 10 minutes
  mqscope pending orders billing --min-idle 10m --limit 0 -o jsonl | jq -r .id |
    mqscope dlq move orders billing - --create --yes`,
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			ids, err := a.ids(args[2:])
			if err != nil {
				return err
			}
			req := core.MoveRequest{Topic: args[0], Group: args[1], IDs: ids, Reason: reason}
			return a.mutate(cmd, mutation{op: core.OpDeadLetter, target: args[0] + " group " + args[1],
				ask: fmt.Sprintf("move %s of %s group %s to the DLQ", plural(len(ids), "message"), args[0], args[1]),
				run: func(ctx context.Context, o *core.Operator) (core.Result, error) {
					if create {
						if err := o.EnsureDLQ(ctx, dlqOf(o, args[0])); err != nil {
							return core.Result{}, fmt.Errorf("create DLQ %s: %w", dlqOf(o, args[0]), err)
						}
					}
					return o.MoveToDLQ(ctx, req)
				}})
		}),
	}
	move.Flags().StringVar(&reason, "reason", "", "why (the Mq-Reason header; default \"moved by operator\")")
	move.Flags().BoolVar(&create, "create", false, "create the DLQ's storage first when it has none (JetStream)")
	var lsLimit, lsScan int
	var lsWhere string
	ls := &cobra.Command{
		Use: "ls TOPIC", Args: exactArgs("TOPIC"),
		Short:             "List the dead-lettered messages of TOPIC (or of a DLQ topic named directly)",
		Long:              "Print the messages of TOPIC's dead-letter topic, oldest first, like browse; -o jsonl prints envelopes\nwith their Mq-Origin-* and Mq-Reason headers.",
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if lsScan < 0 {
				return usageErr("--scan %d: want 0 (no bound) or more", lsScan)
			}
			w, err := a.compileWhere(lsWhere)
			if err != nil {
				return err
			}
			op, err := a.operator(cmd.Context())
			if err != nil {
				return err
			}
			q := core.BrowseQuery{Topic: dlqOf(op, args[0]), From: core.StartAll()}
			if w != nil {
				return a.search(cmd.Context(), op, q, w, lsLimit, lsScan)
			}
			return a.browse(cmd.Context(), op, q, lsLimit, false)
		}),
	}
	ls.Flags().IntVar(&lsLimit, "limit", 0, "at most `N` messages (0 = all)")
	whereFlags(ls.Flags(), &lsWhere, &lsScan)
	redrive := &cobra.Command{
		Use: "redrive TOPIC [ID...|--all]", Args: minArgs("TOPIC"),
		Short: "Send dead-lettered messages back to where they came from",
		Long: `Publish the given messages of TOPIC's dead-letter topic (or all of them) back to their origin
(the Mq-Origin-Topic header, or --target), then delete the DLQ copy unless --keep.

Asks on a terminal; without one, needs --yes. Refused in read-only mode.`,
		Example:           "  mqscope dlq redrive orders --all --yes",
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 1) {
				return usageErr("dlq redrive: give message ids or --all (not both)")
			}
			op, err := a.operator(cmd.Context())
			if err != nil {
				return err
			}
			d := dlqOf(op, args[0])
			var ids []string
			if all {
				if ids, err = a.allIDs(cmd.Context(), op, d); err != nil {
					return err
				}
				if len(ids) == 0 {
					fmt.Fprintf(a.o.Stderr, "mqscope: %s is empty: nothing to redrive\n", d)
					return nil
				}
			} else if ids, err = a.ids(args[1:]); err != nil {
				return err
			}
			req := core.RedriveRequest{DLQ: d, IDs: ids, Target: target, Remove: !keep}
			return a.mutate(cmd, mutation{op: core.OpRedrive, target: d + " -> " + orDefault(target, "origin"),
				ask: fmt.Sprintf("redrive %s of %s to %s", plural(len(ids), "message"), d, orDefault(target, "their origin")),
				run: func(ctx context.Context, o *core.Operator) (core.Result, error) { return o.Redrive(ctx, req) }})
		}),
	}
	redrive.Flags().BoolVar(&all, "all", false, "every message of the DLQ")
	redrive.Flags().StringVar(&target, "target", "", "publish to `TOPIC` instead of each message's origin")
	redrive.Flags().BoolVar(&keep, "keep", false, "keep the DLQ copies")
	dlq.AddCommand(move, ls, redrive)
	return dlq
}

// allIDs lists every stored message id of topic.
func (a *app) allIDs(ctx context.Context, op *core.Operator, topic string) ([]string, error) {
	var ids []string
	q := core.BrowseQuery{Topic: topic, From: core.StartAll(), Limit: 1000}
	for {
		cctx, cancel := a.callTimeout(ctx)
		page, err := op.Browse(cctx, q)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", topic, err)
		}
		for _, r := range page.Records {
			ids = append(ids, r.ID)
		}
		if !page.More || len(page.Records) == 0 || page.Next.Kind == core.PosNew {
			return ids, nil
		}
		q.From = page.Next
	}
}

func (a *app) purgeCommand() *cobra.Command {
	return &cobra.Command{
		Use: "purge TOPIC", GroupID: "act", Args: exactArgs("TOPIC"),
		Short:             "Delete every message of a topic (groups stay)",
		Long:              "Delete every stored message of TOPIC. The question says how many.\n\nAsks on a terminal; without one, needs --yes. Refused in read-only mode.",
		Example:           "  mqscope purge orders.test --yes",
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			op, err := a.operator(cmd.Context())
			if err != nil {
				return err
			}
			ask := "purge every message of " + args[0]
			cctx, cancel := a.callTimeout(cmd.Context())
			if t, err := op.Topic(cctx, args[0]); err == nil {
				ask = fmt.Sprintf("purge %s of %s", plural(int(t.Messages), "message"), args[0])
			}
			cancel()
			return a.mutate(cmd, mutation{op: core.OpPurge, target: args[0], ask: ask,
				run: func(ctx context.Context, o *core.Operator) (core.Result, error) { return o.Purge(ctx, args[0]) }})
		}),
	}
}

func (a *app) deleteCommand() *cobra.Command {
	del := &cobra.Command{Use: "delete", GroupID: "act", Short: "Delete a group, one consumer of a group, or chosen stored messages"}
	group := &cobra.Command{
		Use: "group TOPIC GROUP", Args: exactArgs("TOPIC", "GROUP"),
		Short:             "Delete a consumer group (JetStream: the durable consumer) and its pending state",
		Long:              "Delete GROUP of TOPIC with its pending list; messages stay in the topic.\n\nAsks on a terminal; without one, needs --yes. Refused in read-only mode.",
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.mutate(cmd, mutation{op: core.OpDeleteGroup, target: args[0] + " group " + args[1],
				ask: fmt.Sprintf("delete group %s of %s and its pending list", args[1], args[0]),
				run: func(ctx context.Context, o *core.Operator) (core.Result, error) {
					return core.Result{Requested: 1, Done: 1}, o.DeleteGroup(ctx, args[0], args[1])
				}})
		}),
	}
	consumer := &cobra.Command{
		Use: "consumer TOPIC GROUP CONSUMER", Args: exactArgs("TOPIC", "GROUP", "CONSUMER"),
		Short:             "Remove one consumer from a group (Redis: refused while it holds pending entries)",
		Long:              "Remove CONSUMER from GROUP of TOPIC (Redis XGROUP DELCONSUMER). Redis would drop the entries it holds from the pending list for good, so mqscope refuses while it holds any: claim or ack them first. JetStream: the named consumer is deleted.\n\nAsks on a terminal; without one, needs --yes. Refused in read-only mode.",
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return a.mutate(cmd, mutation{op: core.OpDeleteConsumer, target: args[0] + " group " + args[1] + " consumer " + args[2],
				ask: fmt.Sprintf("delete consumer %s of %s group %s", args[2], args[0], args[1]),
				run: func(ctx context.Context, o *core.Operator) (core.Result, error) {
					return core.Result{Requested: 1, Done: 1}, o.DeleteConsumer(ctx, args[0], args[1], args[2])
				}})
		}),
	}
	messages := &cobra.Command{
		Use: "messages TOPIC ID...", Args: cobra.MinimumNArgs(2),
		Short:             "Delete chosen stored messages of a topic for good (no copy is kept)",
		Long:              "Delete the stored messages ID... of TOPIC (JetStream: by stream sequence, only messages on the topic's subject; Redis: XDEL). An id that is not stored is skipped and said so. Groups holding one as pending keep its id. To keep a copy, use dlq move.\n\nIDs as arguments, or - to read them from stdin. Asks on a terminal; without one, needs --yes. Refused in read-only mode.",
		Example:           "  mqscope delete messages orders 1712-0 1713-0 --yes",
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			ids, err := a.ids(args[1:])
			if err != nil {
				return err
			}
			return a.mutate(cmd, mutation{op: core.OpDeleteMessages, target: args[0],
				ask: fmt.Sprintf("delete %s of %s for good", plural(len(ids), "stored message"), args[0]),
				run: func(ctx context.Context, o *core.Operator) (core.Result, error) {
					return o.DeleteMessages(ctx, core.DeleteRequest{Topic: args[0], IDs: ids})
				}})
		}),
	}
	del.AddCommand(group, consumer, messages)
	return del
}
