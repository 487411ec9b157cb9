package history

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
)

// The file of a context is one line per sample:
//
//	"<series key, Go-quoted>" <unix ms> <a> <b> <c>
//
// appended as samples are kept. It is rewritten from memory (what the
// rings hold, within retention) once it has twice as many lines as memory
// has points, so its size stays within about twice the in-memory bound.
type diskLog struct {
	path   string
	f      *os.File
	lines  int // lines in the file now
	logger *slog.Logger
}

type diskRec struct {
	key string
	p   point
}

// FileName is the file a context persists to inside Config.Dir.
func FileName(context string) string { return url.PathEscape(context) + ".hist" }

func openDisk(cfg Config, context string) *diskLog {
	return &diskLog{path: filepath.Join(cfg.Dir, FileName(context)), logger: cfg.Logger}
}

// load reads the file back (a missing one is an empty history); a line it
// cannot parse (a torn last write) is skipped.
func (d *diskLog) load(fn func(key string, p point)) {
	b, err := os.ReadFile(d.path)
	if err != nil {
		if !os.IsNotExist(err) {
			d.logger.Warn("history: read", "path", d.path, "err", err)
		}
		return
	}
	for line := range bytes.Lines(b) {
		key, p, ok := parseLine(line)
		if !ok {
			continue
		}
		d.lines++
		fn(key, p)
	}
}

func parseLine(line []byte) (string, point, bool) {
	s := string(bytes.TrimRight(line, "\n"))
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", point{}, false
	}
	key, err := strconv.Unquote(q)
	if err != nil {
		return "", point{}, false
	}
	var p point
	if n, err := fmt.Sscan(s[len(q):], &p.at, &p.a, &p.b, &p.c); err != nil || n != 4 {
		return "", point{}, false
	}
	return key, p, true
}

func appendLine(buf []byte, r diskRec) []byte {
	buf = strconv.AppendQuote(buf, r.key)
	for _, v := range [...]int64{r.p.at, r.p.a, r.p.b, r.p.c} {
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, v, 10)
	}
	return append(buf, '\n')
}

// append writes recs; when the file has grown to twice the live points it
// is rewritten from all (the rings' contents).
func (d *diskLog) append(recs []diskRec, live int, all func(func(string, point))) {
	if d.lines+len(recs) > 2*live+64 {
		d.compact(all)
		return // the rewrite holds recs: they are in the rings already
	}
	if d.f == nil {
		if err := os.MkdirAll(filepath.Dir(d.path), 0o700); err != nil {
			d.logger.Warn("history: mkdir", "err", err)
			return
		}
		f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			d.logger.Warn("history: open", "err", err)
			return
		}
		d.f = f
	}
	var buf []byte
	for _, r := range recs {
		buf = appendLine(buf, r)
	}
	if _, err := d.f.Write(buf); err != nil {
		d.logger.Warn("history: write", "err", err)
		return
	}
	d.lines += len(recs)
}

// compact rewrites the file atomically from memory.
func (d *diskLog) compact(all func(func(string, point))) {
	if err := os.MkdirAll(filepath.Dir(d.path), 0o700); err != nil {
		d.logger.Warn("history: mkdir", "err", err)
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(d.path), ".hist-*")
	if err != nil {
		d.logger.Warn("history: compact", "err", err)
		return
	}
	w := bufio.NewWriter(tmp)
	n := 0
	var buf []byte
	all(func(key string, p point) {
		buf = appendLine(buf[:0], diskRec{key, p})
		_, _ = w.Write(buf)
		n++
	})
	err = w.Flush()
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), d.path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		d.logger.Warn("history: compact", "err", err)
		return
	}
	if d.f != nil {
		_ = d.f.Close()
		d.f = nil // reopened on the next append: the old handle names the replaced file
	}
	d.lines = n
}

func (d *diskLog) close() error {
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
