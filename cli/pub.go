package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mqscope/mqscope/core"
)

// PubRow is what pub prints.
type PubRow struct {
	Published int    `json:"published"`
	Failed    int    `json:"failed"`
	Topic     string `json:"topic,omitempty"` // "" for a replay to each message's own topic
	// Duplicates counts messages JetStream dropped as duplicates (same
	// Nats-Msg-Id within the stream's window): published, not stored.
	Duplicates int `json:"duplicates,omitempty"`
	// For one message: what the broker did ("stored as seq 7 in stream
	// ORDERS", "duplicate of seq 3 …, not stored", "not stored: …"), and
	// the id or sequence it is stored under.
	Result string `json:"result,omitempty"`
	// Format is what a single message's DATA was encoded as ("msgpack",
	// "protobuf:shop.v1.Order"; "text" when published as given).
	Format string `json:"format,omitempty"`
	ID     string `json:"id,omitempty"`
	Seq    uint64 `json:"seq,omitempty"`
}

func (a *app) pubCommand() *cobra.Command {
	var headers []string
	var msgID, from, to, rate, speed, encode string
	var createStream bool
	cmd := &cobra.Command{
		Use: "pub TOPIC [DATA|-] | pub --from FILE.jsonl [--to TOPIC] [--rate N/s | --speed xN]", GroupID: "act",
		Args:  cobra.MaximumNArgs(2),
		Short: "Publish a message, or replay a recording (.jsonl of envelopes)",
		Long: `Publish DATA (or stdin with - or no DATA) to TOPIC, with -H key=value headers and --msg-id
(JetStream de-duplication id).

With --from, publish every envelope of FILE.jsonl (as written by tail, browse or the console's
save; - is stdin) to its own subject, or to --to TOPIC, keeping payloads byte for byte and
headers. --rate N/s paces the replay; --speed x2 keeps the recorded gaps, twice as fast
(x1: as recorded). By default it publishes as fast as the broker takes it.

DATA is published encoded with the context's decoder for TOPIC ([contexts.NAME.decode], or a
-H Content-Type header): for msgpack, CBOR or protobuf, write DATA as JSON. --encode FORMAT
chooses the format; --encode raw publishes DATA as given. --from publishes payloads as recorded.

Refused in read-only mode; it publishes without asking, like nats pub and redis-cli XADD.`,
		Example: `  echo '{"id":1}' | mqscope pub orders - -H trace=abc
  mqscope pub orders.eu '{"id":"o-1","currency":"EUR"}' --encode protobuf:shop.v1.Order
  mqscope --context staging pub --from orders.jsonl --to orders --speed x1`,
		ValidArgsFunction: a.completeTopicGroup,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			h := core.Header{}
			for _, kv := range headers {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageErr("-H %q: want key=value", kv)
				}
				h.Add(k, v)
			}
			if msgID != "" {
				h.Set(core.HeaderMsgID, msgID)
			}
			pace, err := parsePace(rate, speed)
			if err != nil {
				return err
			}
			if from == "" {
				if len(args) == 0 {
					return usageErr("pub: missing TOPIC (or --from FILE.jsonl)")
				}
				if to != "" || pace != nil {
					return usageErr("pub: --to, --rate and --speed go with --from")
				}
				return a.pubOne(cmd, args, h, createStream, encode)
			}
			if len(args) > 0 {
				return usageErr("pub --from: publishes the recording's messages; use --to TOPIC, not an argument")
			}
			if len(h) > 0 || encode != "" {
				return usageErr("pub --from: -H, --msg-id and --encode apply to a single message")
			}
			return a.pubFrom(cmd, from, to, pace, createStream)
		}),
	}
	f := cmd.Flags()
	f.StringArrayVarP(&headers, "header", "H", nil, "header `key=value` (repeatable)")
	f.StringVar(&msgID, "msg-id", "", "de-duplication `ID` (the Nats-Msg-Id header)")
	f.StringVar(&from, "from", "", "replay the envelopes of `FILE.jsonl` (- = stdin)")
	f.StringVar(&to, "to", "", "with --from: publish every message to `TOPIC`")
	f.StringVar(&rate, "rate", "", "with --from: at most `N/s` messages per second")
	f.StringVar(&speed, "speed", "", "with --from: keep the recorded gaps, `xN` times as fast")
	f.StringVar(&encode, "encode", "", "encode DATA, written as JSON, as `FORMAT`: json, msgpack, cbor, protobuf:<message type>, text or raw (default: the context's decode rule for TOPIC or a Content-Type header; else as given)")
	f.BoolVar(&createStream, "create-stream", false, "JetStream: create a stream for the topic when none stores it")
	return cmd
}

func (a *app) pubOne(cmd *cobra.Command, args []string, h core.Header, create bool, encode string) error {
	var data []byte
	if len(args) == 2 && args[1] != "-" {
		data = []byte(args[1])
	} else {
		b, err := io.ReadAll(a.o.Stdin)
		if err != nil {
			return fmt.Errorf("pub %s: read stdin: %w", args[0], err)
		}
		data = b
	}
	op, err := a.operator(cmd.Context())
	if err != nil {
		return err
	}
	format := encode
	if encode != "" {
		data, err = a.decoder().EncodeAs(encode, data)
	} else {
		data, format, err = a.decoder().Encode(core.Record{Topic: args[0], Subject: args[0], Header: h}, data)
	}
	if err != nil {
		return usageErr("pub %s: %v", args[0], err)
	}
	ctx, cancel := a.callTimeout(cmd.Context())
	defer cancel()
	res, err := a.publish(ctx, op, args[0], data, h, create)
	if err != nil {
		return err
	}
	row := PubRow{Published: 1, Topic: args[0], Result: res.String(), ID: res.ID, Seq: res.Seq, Format: format}
	if res.Duplicate {
		row.Duplicates = 1
	}
	return a.writeOne(row, func(w io.Writer) {
		fmt.Fprintf(w, "published %d bytes to %s: %s\n", len(data), args[0], row.Result)
	})
}

// publish publishes once; with create, a missing stream is created first.
func (a *app) publish(ctx context.Context, op *core.Operator, topic string, data []byte, h core.Header, create bool) (core.PublishResult, error) {
	res, err := op.Publish(ctx, topic, data, h)
	if create && errors.Is(err, core.ErrNoStream) {
		if err = op.EnsureStream(ctx, topic); err != nil {
			return res, fmt.Errorf("pub %s: create stream: %w", topic, err)
		}
		res, err = op.Publish(ctx, topic, data, h)
	}
	if err != nil {
		return res, fmt.Errorf("pub %s: %w", topic, err)
	}
	return res, nil
}

// pace spaces a replay: a fixed interval (--rate) or the recorded gaps
// divided by a factor (--speed).
type pace struct {
	every  time.Duration
	factor float64
}

func parsePace(rate, speed string) (*pace, error) {
	switch {
	case rate != "" && speed != "":
		return nil, usageErr("--rate and --speed: choose one")
	case rate != "":
		n, err := strconv.ParseFloat(strings.TrimSuffix(rate, "/s"), 64)
		if err != nil || n <= 0 {
			return nil, usageErr("--rate %q: want a positive rate like 100/s", rate)
		}
		return &pace{every: time.Duration(float64(time.Second) / n)}, nil
	case speed != "":
		n, err := strconv.ParseFloat(strings.TrimPrefix(speed, "x"), 64)
		if err != nil || n <= 0 {
			return nil, usageErr("--speed %q: want a factor like x2 or x0.5", speed)
		}
		return &pace{factor: n}, nil
	}
	return nil, nil
}

func (a *app) pubFrom(cmd *cobra.Command, file, to string, p *pace, create bool) error {
	in := a.o.Stdin
	if file != "-" && a.o.Remote != nil {
		return usageErr("pub --from %s: over SSH that file would be the server's; send yours on stdin: --from - < FILE", file)
	}
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return usageErr("pub --from: %w", err)
		}
		defer f.Close()
		in = f
	}
	op, err := a.operator(cmd.Context())
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var row PubRow
	row.Topic = to
	var prev time.Time
	start := time.Now()
	for line := 1; sc.Scan(); line++ {
		if len(strings.TrimSpace(sc.Text())) == 0 {
			continue
		}
		var e core.Envelope
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Errorf("pub --from %s:%d: not a message envelope: %w", file, line, err)
		}
		rec, err := e.Record()
		if err != nil {
			return fmt.Errorf("pub --from %s:%d: %w", file, line, err)
		}
		if e.Truncated {
			return fmt.Errorf("pub --from %s:%d: message %s was recorded truncated (%d of %d bytes); refusing to publish a cut payload", file, line, e.ID, len(rec.Data), e.Size)
		}
		topic := to
		if topic == "" {
			topic = orDefault(rec.Subject, rec.Topic)
		}
		if topic == "" {
			return fmt.Errorf("pub --from %s:%d: the envelope names no topic; give --to", file, line)
		}
		if p != nil {
			var wait time.Duration
			if p.every > 0 {
				wait = time.Until(start.Add(time.Duration(row.Published+row.Failed) * p.every))
			} else if !prev.IsZero() && !rec.Time.IsZero() && rec.Time.After(prev) {
				wait = time.Duration(float64(rec.Time.Sub(prev)) / p.factor)
			}
			if !rec.Time.IsZero() {
				prev = rec.Time
			}
			if wait > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(wait):
				}
			}
		}
		cctx, cancel := a.callTimeout(ctx)
		res, err := a.publish(cctx, op, topic, rec.Data, rec.Header, create)
		cancel()
		if err != nil {
			if codeOf(err) == ExitRefused || ctx.Err() != nil || row.Published == 0 {
				return fmt.Errorf("%s:%d: %w", file, line, err)
			}
			row.Failed++
			fmt.Fprintf(a.o.Stderr, "mqscope: %s:%d: %v\n", file, line, err)
			continue
		}
		row.Published++
		if res.Duplicate {
			row.Duplicates++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("pub --from %s: read: %w", file, err)
	}
	if err := a.writeOne(row, func(w io.Writer) {
		fmt.Fprintf(w, "published %d messages from %s", row.Published, file)
		if row.Failed > 0 {
			fmt.Fprintf(w, ", %d failed", row.Failed)
		}
		if row.Duplicates > 0 {
			fmt.Fprintf(w, ", %d dropped by the broker as duplicates", row.Duplicates)
		}
		fmt.Fprintln(w)
	}); err != nil {
		return err
	}
	if row.Failed > 0 {
		return &exitError{code: ExitPartial}
	}
	return nil
}
