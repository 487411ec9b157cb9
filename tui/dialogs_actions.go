package tui

// The dialogs of the actions: what each asks, and the job it starts.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
)

func parseHeaders(s string) (core.Header, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	h := core.Header{}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("header %q: want key=value (separate headers with ;)", part)
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return h, nil
}

func formatHeaders(h core.Header) string {
	var parts []string
	for k, vs := range h {
		if k == core.HeaderMsgID {
			continue // a resend with the same id would be de-duplicated away
		}
		for _, v := range vs {
			parts = append(parts, k+"="+v)
		}
	}
	sortStrings(parts)
	return strings.Join(parts, "; ")
}

func newPublishDialog(c *Common, topic string, h core.Header, payload []byte) dialog {
	return newPublishDialogFrom(c, topic, h, payload, nil)
}

// newPublishDialogFrom is the publish dialog; orig, when set, is the
// message being edited and resent. The payload is written as JSON and
// published encoded with the topic's decoder (msgpack, CBOR, protobuf); a
// resent message its decoder reads as one of those opens as its decoded
// JSON, and goes out as its original bytes when nothing was changed.
func newPublishDialogFrom(c *Common, topic string, h core.Header, payload []byte, orig *core.Record) dialog {
	title := "Publish"
	label := "payload"
	var origText string
	if orig != nil {
		if text, format, ok := editableDecoded(c.Decoder, *orig); ok {
			payload, origText = text, string(text)
			label = "payload (" + SanitizeString(format) + " as JSON)"
		}
	}
	origHeaders := formatHeaders(h)
	d := newForm(c, title, nil, func(d *formDialog) (tea.Cmd, error) {
		topic := d.val(fieldTopic)
		if topic == "" {
			return nil, errors.New("topic is required")
		}
		hs, err := parseHeaders(d.val(fieldHeaders))
		if err != nil {
			return nil, err
		}
		f := d.field(fieldPayload)
		data := []byte(f.value())
		switch {
		case f.raw != nil && f.value() == "":
			data = f.raw // a binary payload kept as is
		case origText != "" && f.value() == origText && topic == orStr(orig.Subject, orig.Topic) && d.val(fieldHeaders) == strings.TrimSpace(origHeaders):
			// unchanged: the very bytes (re-encoding need not give them
			// back: unknown protobuf fields, other encoders' choices)
			data = orig.Data
		default:
			rec := core.Record{Topic: topic, Subject: topic, Header: hs}
			if orig != nil {
				rec.Data, rec.Size = orig.Data, orig.Size // auto keeps the original's encoding
			}
			enc, _, err := encodePayload(c.Decoder, rec, data)
			if err != nil {
				return nil, err
			}
			data = enc
		}
		return publishCmd(c, topic, data, hs, func(err error) dialog {
			// a failed publish brings this very dialog back, with what was
			// typed and why it failed
			d.err = "publish failed: " + err.Error()
			return d
		}), nil
	})
	// text inputs show their value as is: anything a terminal could act on
	// is escaped first (and then sent as shown), and the operator is told.
	hs := formatHeaders(h)
	if !editableText([]byte(hs)) || !editableText([]byte(topic)) {
		hs, topic = SanitizeString(hs), SanitizeString(topic)
		d.lines = append(d.lines, "control characters in the topic or headers are shown escaped and sent as shown")
	}
	d.addInput(fieldTopic, "topic", topic, "orders.created")
	d.addInput(fieldHeaders, "headers (k=v; k2=v2)", hs, "")
	d.addArea(fieldPayload, label, payload)
	if topic != "" {
		d.setFocus(2)
	}
	return d
}

// publishCmd publishes; on an error other than ErrNoStream, failed
// decides what opens (the publish dialog again).
func publishCmd(c *Common, topic string, data []byte, hs core.Header, failed func(error) dialog) tea.Cmd {
	return runAction(c, "publish to "+topic, 1, func(ctx context.Context, op *core.Operator, _ func(int, int)) (core.Result, error) {
		return published(op.Publish(ctx, topic, data, hs))
	}, publishFollowUp(c, topic, data, hs, failed))
}

// publishFollowUp offers to create a stream when none stores the topic
// (JetStream without CreateStreams), then publishes again.
func publishFollowUp(c *Common, topic string, data []byte, hs core.Header, failed func(error) dialog) func(error) dialog {
	return func(err error) dialog {
		if !errors.Is(err, core.ErrNoStream) {
			if failed != nil {
				return failed(err)
			}
			return nil
		}
		return newConfirm(c, "No stream stores "+SanitizeString(topic), []string{
			SanitizeString(err.Error()),
			"Create a file stream capturing " + SanitizeString(topic) + " and publish again?"},
			runAction(c, "create a stream for "+topic+" and publish", 1, func(ctx context.Context, op *core.Operator, _ func(int, int)) (core.Result, error) {
				if err := op.EnsureStream(ctx, topic); err != nil {
					return core.Result{Requested: 1, Failed: 1}, err
				}
				return published(op.Publish(ctx, topic, data, hs))
			}, nil))
	}
}

// published is the Result of one publish: a duplicate the broker dropped
// is skipped, not done; Detail says what was stored.
func published(r core.PublishResult, err error) (core.Result, error) {
	switch {
	case err != nil:
		return core.Result{Requested: 1, Failed: 1}, err
	case r.Duplicate:
		return core.Result{Requested: 1, Skipped: 1, Detail: r.String()}, nil
	}
	return core.Result{Requested: 1, Done: 1, Detail: r.String()}, nil
}

// resendDialog is publish prefilled from an existing message.
func resendDialog(c *Common, r core.Record) dialog {
	d := newPublishDialogFrom(c, orStr(r.Subject, r.Topic), r.Header, r.Data, &r).(*formDialog)
	d.title = "Edit & resend " + r.ID
	return d
}

func plural(n int, one string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + one + "s"
}

func idPreview(ids []string) string {
	if len(ids) <= 4 {
		return "ids: " + SanitizeString(strings.Join(ids, ", "))
	}
	return "ids: " + SanitizeString(strings.Join(ids[:4], ", ")) + fmt.Sprintf(", … (%d in all)", len(ids))
}

func ackDialog(c *Common, op core.Op, topic, group string, ids []string) dialog {
	verb := map[core.Op]string{core.OpAck: "Ack", core.OpNak: "Nak (redeliver)", core.OpTerm: "Term (stop redelivery of)"}[op]
	ids = append([]string(nil), ids...)
	title := fmt.Sprintf("%s %s in %s / %s?", verb, plural(len(ids), "message"), topic, group)
	lines := []string{idPreview(ids)}
	if op == core.OpNak {
		// What nak does varies by backend (on Redis it touches the owner).
		if _, why := c.Caps.Can(op); why != "" {
			lines = append(lines, wrapLines(SanitizeString("nak here: "+why), dialogWidth(80))...)
		}
	}
	run := func(delay time.Duration) tea.Cmd {
		return runAction(c, strings.ToLower(string(op)), len(ids),
			func(ctx context.Context, o *core.Operator, progress func(int, int)) (core.Result, error) {
				req := core.ActionRequest{Topic: topic, Group: group, IDs: ids, Progress: progress, Delay: delay}
				switch op {
				case core.OpNak:
					return o.Nak(ctx, req)
				case core.OpTerm:
					return o.Term(ctx, req)
				}
				return o.Ack(ctx, req)
			}, nil)
	}
	if op == core.OpNak && c.Caps.Driver == core.DriverJetStream {
		// JetStream can hold the redelivery back (nak with delay).
		d := newForm(c, title, lines, func(d *formDialog) (tea.Cmd, error) {
			delay, err := parseDelay(d.val(fieldDelay))
			if err != nil {
				return nil, err
			}
			return run(delay), nil
		})
		d.addInput(fieldDelay, "redeliver after (empty: now)", "", "30s")
		return d
	}
	return newConfirm(c, title, lines, run(0))
}

// parseDelay reads the nak dialog's delay: empty is now.
func parseDelay(s string) (time.Duration, error) {
	if s = strings.TrimSpace(s); s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("delay %q: not a duration (30s, 5m, 1h)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("delay %q: must not be negative", s)
	}
	return d, nil
}

// newClaimDialog asks where to claim the selection to. The target
// defaults to the group's most recently active member that owns none of
// the selection (core.DefaultClaimTarget: never the owner, whose messages
// are stuck); min idle defaults to the stuck threshold, so a message its
// owner is working on right now is not taken away.
func newClaimDialog(c *Common, s msgScope, ids []string) dialog {
	ids = append([]string(nil), ids...)
	topic, group := s.topic, s.group
	var owners []string
	for _, id := range ids {
		if s.ownerOf != nil {
			if o := s.ownerOf(id); o != "" && !slices.Contains(owners, o) {
				owners = append(owners, o)
			}
		}
	}
	lines := []string{idPreview(ids)}
	if len(owners) > 0 {
		lines = append(lines, "held by: "+SanitizeString(strings.Join(owners, ", ")))
	}
	if ms := claimMembers(s.info, owners); ms != "" {
		lines = append(lines, "members: "+ms)
	}
	d := newForm(c, fmt.Sprintf("Claim %s of %s / %s to consumer", plural(len(ids), "message"), topic, group), lines,
		func(d *formDialog) (tea.Cmd, error) {
			to := d.val(fieldConsumer)
			if to == "" {
				return nil, errors.New("the consumer to claim to is required")
			}
			var minIdle time.Duration
			if s := d.val(fieldMinIdle); s != "" {
				v, err := time.ParseDuration(s)
				if err != nil {
					return nil, fmt.Errorf("min idle %q: %w", s, err)
				}
				minIdle = v
			}
			return runAction(c, "claim to "+to, len(ids), func(ctx context.Context, o *core.Operator, progress func(int, int)) (core.Result, error) {
				return o.Claim(ctx, core.ActionRequest{Topic: topic, Group: group, Consumer: to, IDs: ids, MinIdle: minIdle, Progress: progress})
			}, nil), nil
		})
	minIdle := ""
	if c.Op != nil {
		minIdle = shortDuration(c.Op.StuckThresholds().PendingIdle)
	}
	d.addInput(fieldConsumer, "consumer (default: most recently active, not the owner)", claimTarget(s.info, owners), "worker-2")
	d.addInput(fieldMinIdle, "min idle (default: the stuck threshold; 0 takes busy ones too)", minIdle, "0")
	return d
}

// claimTarget is core.DefaultClaimTarget with every owner of the
// selection left out (a selection may span consumers).
func claimTarget(g core.GroupInfo, owners []string) string {
	others := g
	others.Consumers = nil
	for _, cons := range g.Consumers {
		if !slices.Contains(owners, cons.Name) {
			others.Consumers = append(others.Consumers, cons)
		}
	}
	return core.DefaultClaimTarget(others, "")
}

// claimMembers lists the group's members with their idle times.
func claimMembers(g core.GroupInfo, owners []string) string {
	var ms []string
	for _, cons := range g.Consumers {
		m := SanitizeString(cons.Name) + " idle " + core.HumanDuration(cons.Idle)
		if slices.Contains(owners, cons.Name) {
			m += " (owner)"
		}
		ms = append(ms, m)
	}
	return strings.Join(ms, ", ")
}

// shortDuration prints d the way time.ParseDuration reads it, without
// zero tails ("1m", not "1m0s").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func newMoveDialog(c *Common, topic, group string, ids []string) dialog {
	ids = append([]string(nil), ids...)
	where := topic
	if group != "" {
		where += " / " + group
	}
	d := newForm(c, fmt.Sprintf("Move %s of %s to the DLQ", plural(len(ids), "message"), where), []string{idPreview(ids)},
		func(d *formDialog) (tea.Cmd, error) {
			req := core.MoveRequest{Topic: topic, Group: group, IDs: ids, Reason: d.val(fieldReason), DLQ: d.val(fieldDLQ)}
			return moveCmd(c, req), nil
		})
	d.addInput(fieldDLQ, "DLQ topic", dlqOf(c, topic), "")
	d.addInput(fieldReason, "reason", "moved by operator", "")
	return d
}

func moveCmd(c *Common, req core.MoveRequest) tea.Cmd {
	return runAction(c, "move to "+req.DLQ, len(req.IDs), func(ctx context.Context, o *core.Operator, progress func(int, int)) (core.Result, error) {
		req.Progress = progress
		return o.MoveToDLQ(ctx, req)
	}, moveFollowUp(c, req))
}

// moveFollowUp offers to create the DLQ's storage when no stream captures
// it (JetStream without CreateStreams), then moves again.
func moveFollowUp(c *Common, req core.MoveRequest) func(error) dialog {
	return func(err error) dialog {
		if !errors.Is(err, core.ErrNoStream) {
			return nil
		}
		dlq := req.DLQ
		return newConfirm(c, "No stream stores "+dlq, []string{
			SanitizeString(err.Error()),
			"Create storage for " + SanitizeString(dlq) + " and retry the move?"},
			runAction(c, "create DLQ "+dlq+" and move", len(req.IDs), func(ctx context.Context, o *core.Operator, progress func(int, int)) (core.Result, error) {
				if err := o.EnsureDLQ(ctx, dlq); err != nil {
					return core.Result{}, err
				}
				r := req
				r.Progress = progress
				return o.MoveToDLQ(ctx, r)
			}, nil))
	}
}

func redriveDialog(c *Common, dlq string, ids []string) dialog {
	ids = append([]string(nil), ids...)
	return newConfirm(c, fmt.Sprintf("Redrive %s from %s to where they came from?", plural(len(ids), "message"), dlq),
		[]string{idPreview(ids), "The DLQ copies are removed once the origin has them."},
		runAction(c, "redrive from "+dlq, len(ids), func(ctx context.Context, o *core.Operator, progress func(int, int)) (core.Result, error) {
			return o.Redrive(ctx, core.RedriveRequest{DLQ: dlq, IDs: ids, Remove: true, Progress: progress})
		}, nil))
}

// deleteMessagesDialog deletes the chosen stored messages for good.
func deleteMessagesDialog(c *Common, topic string, ids []string) dialog {
	ids = append([]string(nil), ids...)
	lines := []string{idPreview(ids), "They are deleted from the broker for good; no copy is kept (move to DLQ keeps one)."}
	if _, why := c.Caps.Can(core.OpDeleteMessages); why != "" {
		lines = append(lines, "Here: "+why)
	}
	return newConfirm(c, fmt.Sprintf("Delete %s from %s?", plural(len(ids), "stored message"), topic), lines,
		runAction(c, "delete from "+topic, len(ids), func(ctx context.Context, o *core.Operator, progress func(int, int)) (core.Result, error) {
			return o.DeleteMessages(ctx, core.DeleteRequest{Topic: topic, IDs: ids, Progress: progress})
		}, nil))
}

func newReplayDialog(c *Common, topic string, ids []string, rangeMode bool) dialog {
	ids = append([]string(nil), ids...)
	title := fmt.Sprintf("Replay %s of %s", plural(len(ids), "message"), topic)
	lines := []string{idPreview(ids)}
	if rangeMode {
		title = "Replay a range of " + topic
		lines = []string{"positions: all, id:ID, seq:N, time:RFC3339, -15m, or a bare id/sequence"}
	}
	d := newForm(c, title, lines, func(d *formDialog) (tea.Cmd, error) {
		req := core.ReplayRequest{Topic: topic, IDs: ids, Target: d.val(fieldTarget)}
		if rangeMode {
			from, err := core.ParsePosition(d.val(fieldFrom), c.Now())
			if err != nil {
				return nil, err
			}
			req.From = from
			if s := d.val(fieldTo); s != "" {
				to, err := core.ParsePosition(s, c.Now())
				if err != nil {
					return nil, err
				}
				req.To = to
			}
			if s := d.val(fieldLimit); s != "" {
				n, err := strconv.Atoi(s)
				if err != nil || n < 1 {
					return nil, fmt.Errorf("limit %q: want a positive number", s)
				}
				req.Limit = n
			}
		}
		n := len(ids)
		if rangeMode {
			n = req.Limit
		}
		return runAction(c, "replay "+topic, n, func(ctx context.Context, o *core.Operator, progress func(int, int)) (core.Result, error) {
			req.Progress = progress
			return o.Replay(ctx, req)
		}, nil), nil
	})
	if rangeMode {
		d.addInput(fieldFrom, "from", "", "-15m")
		d.addInput(fieldTo, "to (inclusive, empty = now)", "", "")
		d.addInput(fieldLimit, "limit", "1000", "")
	}
	d.addInput(fieldTarget, "to topic", topic, "")
	return d
}

// rewindPositions is the rewind dialog's hint; the field has no
// placeholder: an untouched field is not a position (it used to show
// -15m and rewind to "new").
const rewindPositions = "to: all, new, id:ID, seq:N, time:RFC3339, -15m (a bare id or sequence works too)"

func newRewindDialog(c *Common, topic, group string) dialog {
	return newForm(c, fmt.Sprintf("Rewind group %s of %s", group, topic), []string{rewindPositions},
		func(d *formDialog) (tea.Cmd, error) {
			s := d.val(fieldTo)
			if s == "" {
				return nil, errors.New("a position is required (all, new, -15m, id:ID, …): nothing rewound")
			}
			to, err := core.ParsePosition(s, c.Now())
			if err != nil {
				return nil, err
			}
			return rewindPreview(c, core.RewindRequest{Topic: topic, Group: group, To: to}), nil
		}).addInput(fieldTo, "to", "", "")
}

// rewindCountCap bounds how many messages the rewind preview counts (it
// pages through them): beyond it the dialog says "at least".
const rewindCountCap = 5000

// rewindEffect is what a rewind would do to a group: how many messages
// from the target to the end of the topic, against how many the group has
// not had yet (its lag).
type rewindEffect struct {
	group      core.GroupInfo
	firstID    string // the first message at the target ("" = none: the end)
	fromTarget int
	atLeast    bool // counting stopped at rewindCountCap
}

// measureRewind reads the group's position and counts the messages from
// the target on (a command's work: broker I/O).
func measureRewind(ctx context.Context, op *core.Operator, req core.RewindRequest) (rewindEffect, error) {
	var e rewindEffect
	gs, err := op.Groups(ctx, req.Topic)
	if err != nil {
		return e, fmt.Errorf("rewind preview: groups of %s: %w", req.Topic, err)
	}
	found := false
	for _, g := range gs {
		if g.Name == req.Group {
			e.group, found = g, true
		}
	}
	if !found {
		return e, fmt.Errorf("rewind preview: group %s of %s: %w", req.Group, req.Topic, core.ErrNotFound)
	}
	if req.To.Kind == core.PosNew {
		return e, nil
	}
	from := req.To
	for e.fromTarget < rewindCountCap {
		pg, err := op.Browse(ctx, core.BrowseQuery{Topic: req.Topic, From: from, Limit: min(1000, rewindCountCap-e.fromTarget)})
		if err != nil {
			return e, fmt.Errorf("rewind preview: count %s from %s: %w", req.Topic, req.To, err)
		}
		if e.fromTarget == 0 && len(pg.Records) > 0 {
			e.firstID = pg.Records[0].ID
		}
		e.fromTarget += len(pg.Records)
		if !pg.More || len(pg.Records) == 0 {
			return e, nil
		}
		from = pg.Next
	}
	e.atLeast = true
	return e, nil
}

// lines says what the rewind does, in the group's terms.
func (e rewindEffect) lines(req core.RewindRequest) []string {
	g := e.group
	pos := "last delivered " + orStr(g.LastDelivered, "(none)")
	if g.Lag >= 0 {
		pos += fmt.Sprintf(", %s not yet delivered", plural(int(g.Lag), "message"))
	}
	next := "only messages published from now on"
	if e.firstID != "" {
		next = "message " + e.firstID + " and what follows"
	}
	out := []string{"group now: " + pos, "rewound to " + req.To.String() + ", it gets " + next}
	n := strconv.Itoa(e.fromTarget)
	if e.atLeast {
		n = fmt.Sprintf("at least %d", e.fromTarget)
	}
	switch diff := int64(e.fromTarget) - g.Lag; {
	case g.Lag < 0:
		out = append(out, n+" messages from the target on go to the group; how many it had already is unknown")
	case diff > 0:
		more := ""
		if e.atLeast {
			more = "at least "
		}
		out = append(out, fmt.Sprintf("%s%s it already had will be DELIVERED AGAIN", more, plural(int(diff), "message")))
	case diff < 0 && e.atLeast:
		out = append(out, fmt.Sprintf("up to %s not yet delivered will be SKIPPED (counting stopped at %d)", plural(int(-diff), "message"), rewindCountCap))
	case diff < 0:
		out = append(out, fmt.Sprintf("%s not yet delivered will be SKIPPED: the group never gets them", plural(int(-diff), "message")))
	default:
		out = append(out, "no message is delivered again or skipped")
	}
	return out
}

// rewindPreview measures the rewind and asks for confirmation, showing
// what it would do.
func rewindPreview(c *Common, req core.RewindRequest) tea.Cmd {
	return c.call(func(ctx context.Context, op *core.Operator) tea.Msg {
		e, err := measureRewind(ctx, op, req)
		if err != nil {
			return statusMsg{err: err}
		}
		return pushDialogMsg{d: newConfirm(c, fmt.Sprintf("Rewind group %s of %s to %s?", req.Group, req.Topic, req.To), e.lines(req), rewindCmd(c, req))}
	})
}

func rewindCmd(c *Common, req core.RewindRequest) tea.Cmd {
	return runAction(c, "rewind "+req.Group+" to "+req.To.String(), 1, func(ctx context.Context, o *core.Operator, _ func(int, int)) (core.Result, error) {
		return o.Rewind(ctx, req)
	}, rewindFollowUp(c, req))
}

// rewindFollowUp asks again, showing core's text of what would be lost,
// when the backend can only rewind by recreating the consumer.
func rewindFollowUp(c *Common, req core.RewindRequest) func(error) dialog {
	return func(err error) dialog {
		if !errors.Is(err, core.ErrNeedsConfirmation) || req.Confirmed {
			return nil
		}
		r := req
		r.Confirmed = true
		// core's text is the whole consequence; its sentinel adds nothing
		why := strings.TrimSuffix(err.Error(), ": "+core.ErrNeedsConfirmation.Error())
		return newConfirm(c, "Rewind of "+req.Group+" needs confirmation", []string{SanitizeString(why), "Go ahead?"}, rewindCmd(c, r))
	}
}

func deleteGroupDialog(c *Common, topic string, g core.GroupInfo) dialog {
	return newConfirm(c, fmt.Sprintf("Delete group %s of %s?", g.Name, topic),
		[]string{fmt.Sprintf("It has %s and %d pending; this cannot be undone.", plural(len(g.Consumers), "consumer"), g.Pending)},
		runAction(c, "delete group "+g.Name, 1, func(ctx context.Context, o *core.Operator, _ func(int, int)) (core.Result, error) {
			if err := o.DeleteGroup(ctx, topic, g.Name); err != nil {
				return core.Result{Requested: 1, Failed: 1}, err
			}
			return core.Result{Requested: 1, Done: 1}, nil
		}, nil))
}

func deleteConsumerDialog(c *Common, topic, group string, cons core.ConsumerInfo) dialog {
	lines := []string{"It holds " + plural(int(cons.Pending), "pending message") + "."}
	return newConfirm(c, fmt.Sprintf("Delete consumer %s of %s / %s?", cons.Name, topic, group), lines,
		runAction(c, "delete consumer "+cons.Name, 1, func(ctx context.Context, o *core.Operator, _ func(int, int)) (core.Result, error) {
			if err := o.DeleteConsumer(ctx, topic, group, cons.Name); err != nil {
				return core.Result{Requested: 1, Failed: 1}, err
			}
			return core.Result{Requested: 1, Done: 1}, nil
		}, nil))
}

func newSaveDialog(c *Common, recs []core.Record, path string) dialog {
	return newForm(c, fmt.Sprintf("Save %s as JSON lines", plural(len(recs), "message")), nil,
		func(d *formDialog) (tea.Cmd, error) {
			p := d.val(fieldFile)
			if p == "" {
				return nil, errors.New("file is required")
			}
			return saveJSONL(p, recs, c.Decoder), nil
		}).addInput(fieldFile, "file", path, "")
}

// purgeConfirmLabel is the purge dialog's only field.
const purgeConfirmLabel = "type the topic name to confirm"

// newPurgeDialog guards a purge the way consoles guard deleting a whole
// repository or database: it states what goes (the topic and how many
// messages) and runs only once the operator has typed the topic's name.
func newPurgeDialog(c *Common, t core.TopicInfo) dialog {
	topic := t.Name
	lines := []string{
		fmt.Sprintf("This deletes all %s stored in %s", plural(int(t.Messages), "message"), SanitizeString(topic)),
		"(count as of the last refresh). Groups stay; their pending entries go.",
		"This cannot be undone.",
	}
	if len(t.Subjects) > 0 {
		lines = append(lines, "subjects: "+SanitizeString(strings.Join(t.Subjects, ", ")))
	}
	d := newForm(c, fmt.Sprintf("Purge %s (%s)?", topic, plural(int(t.Messages), "message")), lines,
		func(d *formDialog) (tea.Cmd, error) {
			if got := d.val(fieldConfirm); got != topic {
				return nil, fmt.Errorf("%q is not the topic name: nothing purged (esc cancels)", got)
			}
			return runAction(c, "purge "+topic, 0, func(ctx context.Context, o *core.Operator, _ func(int, int)) (core.Result, error) {
				return o.Purge(ctx, topic)
			}, nil), nil
		})
	d.addInput(fieldConfirm, purgeConfirmLabel, "", "") // no placeholder: it would look typed already
	return d
}
