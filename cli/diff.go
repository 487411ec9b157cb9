package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
	"github.com/mqscope/mqscope/core/diff"
)

// DiffOutput is `mqscope diff -o json`: what differs between message A
// and message B.
type DiffOutput struct {
	A         DiffSide       `json:"a"`
	B         DiffSide       `json:"b"`
	Identical bool           `json:"identical"`
	SameBytes bool           `json:"same_bytes"`
	Headers   []DiffHeader   `json:"headers"`
	Mode      string         `json:"mode"` // "structural" or "lines"
	Changes   []DiffChange   `json:"changes,omitempty"`
	More      int            `json:"more_changes,omitempty"` // changes beyond the first diff.DefaultMaxChanges
	Hunks     []DiffTextHunk `json:"hunks,omitempty"`
	Notes     []string       `json:"notes,omitempty"`
}

// DiffSide names one message and how its payload decoded.
type DiffSide struct {
	Topic       string `json:"topic"`
	ID          string `json:"id"`
	Format      string `json:"format"`
	DecodeError string `json:"decode_error,omitempty"`
}

// DiffHeader is one header whose values differ.
type DiffHeader struct {
	Key    string   `json:"key"`
	Change string   `json:"change"` // added, removed, changed
	Old    []string `json:"old,omitempty"`
	New    []string `json:"new,omitempty"`
}

// DiffChange is one structural change at a jq path.
type DiffChange struct {
	Path   string `json:"path"`
	Change string `json:"change"` // changed, added, removed, type changed
	Old    any    `json:"old,omitempty"`
	New    any    `json:"new,omitempty"`
}

// DiffTextHunk is one hunk of a line diff; each line starts with ' ', '-'
// or '+'.
type DiffTextHunk struct {
	Header string   `json:"header"`
	Lines  []string `json:"lines"`
}

func (a *app) diffCommand() *cobra.Command {
	return &cobra.Command{
		Use: "diff TOPIC ID_A ID_B", GroupID: "read", Args: exactArgs("TOPIC", "ID_A", "ID_B"),
		Short: "Show what differs between two stored messages (headers, decoded payloads)",
		Long: `Compare two stored messages of TOPIC: their headers, then their payloads. Payloads that both
decode to documents (JSON) are compared structurally, change by change with jq paths
(.order.items[2].qty: 3 → 4); anything else line by line, unified-diff style (binary as a hex
dump). Large inputs are compared within bounds, and the output says so. Exit status 0 whether
or not they differ; -o json has "identical".`,
		ValidArgsFunction: a.completeTopicGroup,
		RunE:              runE(a.diff),
	}
}

func (a *app) diff(cmd *cobra.Command, args []string) error {
	op, err := a.operator(cmd.Context())
	if err != nil {
		return err
	}
	ctx, cancel := a.callTimeout(cmd.Context())
	defer cancel()
	var recs [2]core.Record
	for i, id := range args[1:] {
		if recs[i], err = op.Get(ctx, args[0], id); err != nil {
			return fmt.Errorf("diff: get %s %s: %w", args[0], id, err)
		}
	}
	// the context's decoder once contexts configure one (issue 12); JSON
	// or text until then
	rep := diff.Messages(recs[0], recs[1], a.decoder())
	return a.writeOne(diffOutput(recs[0], recs[1], rep), func(w io.Writer) { writeDiffTable(w, recs[0], recs[1], rep) })
}

func diffOutput(a, b core.Record, rep diff.Report) DiffOutput {
	side := func(r core.Record, d decode.Result) DiffSide {
		s := DiffSide{Topic: r.Topic, ID: r.ID, Format: d.Format}
		if d.Err != nil {
			s.DecodeError = d.Err.Error()
		}
		return s
	}
	out := DiffOutput{A: side(a, rep.A), B: side(b, rep.B), Identical: rep.Equal() && rep.SameBytes, SameBytes: rep.SameBytes,
		Headers: []DiffHeader{}, Mode: "lines"}
	for _, h := range rep.Headers {
		out.Headers = append(out.Headers, DiffHeader{Key: h.Key, Change: h.Kind.String(), Old: h.Old, New: h.New})
	}
	if rep.Structural {
		out.Mode = "structural"
		for _, c := range rep.Values.Changes {
			out.Changes = append(out.Changes, DiffChange{Path: c.Path, Change: c.Kind.String(), Old: c.Old, New: c.New})
		}
		out.More = rep.Values.More
		return out
	}
	out.Notes = rep.Text.Notes
	for _, h := range rep.Text.Hunks {
		th := DiffTextHunk{Header: h.Header()}
		for _, l := range h.Lines {
			th.Lines = append(th.Lines, string(l.Op)+l.Text)
		}
		out.Hunks = append(out.Hunks, th)
	}
	return out
}

// writeDiffTable is the comparison as text: every broker byte escaped,
// +/-/~ prefixes.
func writeDiffTable(w io.Writer, a, b core.Record, rep diff.Report) {
	fmt.Fprintf(w, "A: %s %s (%s)\nB: %s %s (%s)\n", cell(a.Topic), cell(a.ID), rep.A.Format, cell(b.Topic), cell(b.ID), rep.B.Format)
	for _, s := range []struct {
		id string
		d  decode.Result
	}{{a.ID, rep.A}, {b.ID, rep.B}} {
		if s.d.Err != nil {
			fmt.Fprintf(w, "%s did not decode: %s\n", cell(s.id), cell(s.d.Err.Error()))
		}
	}
	fmt.Fprintln(w, "\nHeaders:")
	if len(rep.Headers) == 0 {
		fmt.Fprintln(w, "  identical")
	}
	for _, h := range rep.Headers {
		fmt.Fprintf(w, "%s %s\n", changePrefix(h.Kind), cell(h.String()))
	}
	if rep.Structural {
		fmt.Fprintln(w, "\nPayload (structural):")
		for _, c := range rep.Values.Changes {
			fmt.Fprintf(w, "%s %s\n", changePrefix(c.Kind), cell(c.String()))
		}
		if rep.Values.More > 0 {
			fmt.Fprintf(w, "… and %d more changes\n", rep.Values.More)
		}
	} else {
		fmt.Fprintln(w, "\nPayload (line diff):")
		for _, n := range rep.Text.Notes {
			fmt.Fprintf(w, "  (%s)\n", n)
		}
		for _, h := range rep.Text.Hunks {
			fmt.Fprintln(w, h.Header())
			for _, l := range h.Lines {
				t := ""
				if l.Text != "" {
					t = cell(l.Text)
				}
				fmt.Fprintf(w, "%c %s\n", l.Op, t)
			}
		}
	}
	switch {
	case rep.PayloadEqual() && rep.SameBytes:
		fmt.Fprintln(w, "  identical")
	case rep.PayloadEqual() || (!rep.Structural && rep.Text.Equal()):
		fmt.Fprintln(w, "  no difference once decoded (the bytes differ, or lie beyond what was compared)")
	}
}

func changePrefix(k diff.Kind) string {
	switch k {
	case diff.Added:
		return "+"
	case diff.Removed:
		return "-"
	}
	return "~"
}
