package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mqscope/mqscope/core"
	"github.com/mqscope/mqscope/core/decode"
)

// writeList prints items as a table (header, then one row each), a JSON
// array (-o json) or one JSON object per line (-o jsonl).
func writeList[T any](a *app, items []T, header []string, row func(T) []string) error {
	w := a.o.Stdout
	switch a.output {
	case "json":
		if items == nil {
			items = []T{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	case "jsonl":
		return writeJSONL(w, items)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, it := range items {
		cells := row(it)
		for i := range cells {
			cells[i] = cell(cells[i])
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func writeJSONL[T any](w io.Writer, items []T) error {
	enc := json.NewEncoder(w)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}

// writeOne prints one object: indented JSON, one JSON line, or the table
// rendering.
func (a *app) writeOne(v any, table func(w io.Writer)) error {
	switch a.output {
	case "json":
		enc := json.NewEncoder(a.o.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "jsonl":
		return json.NewEncoder(a.o.Stdout).Encode(v)
	}
	table(a.o.Stdout)
	return nil
}

// cell makes broker-supplied text safe for a table cell: control
// characters escaped (a payload is untrusted), tabs and newlines too.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ' {
			clean = false
			break
		}
	}
	if clean && utf8.ValidString(s) {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// payloadCell shows a payload in a table: text escaped and cut, binary as
// its size.
func payloadCell(data []byte, max int) string {
	if !utf8.Valid(data) {
		return fmt.Sprintf("<%d bytes, not UTF-8>", len(data))
	}
	s := cell(string(data))
	if len(data) == 0 {
		return "<empty>"
	}
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = string(r[:max-1]) + "…"
	}
	return s
}

func timeCell(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func ago(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return core.HumanDuration(now.Sub(t))
}

func count(n int64) string {
	if n < 0 {
		return "?"
	}
	return strconv.FormatInt(n, 10)
}

// streamWriter prints a stream of messages: one envelope per line in JSON
// modes (-o json too: a stream has no end to close an array at), else a
// row per message.
type streamWriter struct {
	w    *bufio.Writer
	json bool
	buf  []byte
	dec  *decode.Set
}

func (a *app) newStreamWriter() *streamWriter {
	return &streamWriter{w: bufio.NewWriterSize(a.o.Stdout, 64<<10), json: a.output != "table", dec: a.decoder()}
}

func (s *streamWriter) header() {
	if !s.json {
		fmt.Fprintf(s.w, "%-30s  %-20s  %-24s  %6s  %s\n", "TIME", "ID", "SUBJECT", "SIZE", "PAYLOAD")
	}
}

func (s *streamWriter) write(rec core.Record) error {
	if s.json {
		s.buf = append(envelope(s.dec, rec).AppendJSON(s.buf[:0]), '\n')
		_, err := s.w.Write(s.buf)
		return err
	}
	size := rec.Size
	if size < len(rec.Data) {
		size = len(rec.Data)
	}
	id := rec.ID
	if id == "" && rec.Seq > 0 {
		id = strconv.FormatUint(rec.Seq, 10)
	}
	subject := rec.Subject
	if subject == "" {
		subject = rec.Topic
	}
	_, err := fmt.Fprintf(s.w, "%-30s  %-20s  %-24s  %6d  %s\n", timeCell(rec.Time), cell(id), cell(subject), size, decodedCell(s.dec, rec, 120))
	return err
}

func (s *streamWriter) flush() error { return s.w.Flush() }
