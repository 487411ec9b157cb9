package tui

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mqscope/mqscope/core"
)

// job is a running action; its progress is written by the command's
// goroutine and read by the UI on its tick (no message per item).
type job struct {
	label       string
	done, total atomic.Int64
	// finished is set before the result is sent: tea.Batch may deliver
	// the result before jobStartedMsg, which must then not show a job.
	finished atomic.Bool
}

type jobStartedMsg struct{ job *job }

// runAction runs fn as a command with progress, a timeout that grows with
// the size of the request, and a follow-up dialog for errors that need the
// operator (ErrNoStream, ErrNeedsConfirmation).
func runAction(c *Common, label string, total int, fn func(ctx context.Context, op *core.Operator, progress func(d, t int)) (core.Result, error), next func(error) dialog) tea.Cmd {
	j := &job{label: label}
	j.total.Store(int64(total))
	op, base, gen := c.Op, c.Ctx, c.Gen
	timeout := c.Timeout + time.Duration(total)*20*time.Millisecond
	if op == nil {
		return msgCmd(statusMsg{err: errors.New("not connected")})
	}
	run := func() tea.Msg {
		ctx, cancel := context.WithTimeout(base, timeout)
		defer cancel()
		res, err := fn(ctx, op, func(d, t int) { j.done.Store(int64(d)); j.total.Store(int64(t)) })
		j.finished.Store(true)
		return actionDoneMsg{gen: gen, job: j, res: res, err: err, next: next}
	}
	return tea.Batch(msgCmd(jobStartedMsg{job: j}), run)
}

// actionDone ends a job: the status line says what it did, per-item
// errors are kept for E, and a follow-up dialog opens when the error asks
// for one.
func (m *Model) actionDone(msg actionDoneMsg) tea.Cmd {
	for i, j := range m.jobs {
		if j == msg.job {
			m.jobs = append(m.jobs[:i], m.jobs[i+1:]...)
			break
		}
	}
	r := msg.res
	count := ""
	if r.Requested > 0 {
		count = fmt.Sprintf(": %d/%d done", r.Done, r.Requested)
		if r.Failed > 0 {
			count += fmt.Sprintf(", %d failed", r.Failed)
		}
		if r.Skipped > 0 {
			count += fmt.Sprintf(", %d skipped", r.Skipped)
		}
	}
	if r.Detail != "" {
		count += " — " + r.Detail
	}
	if len(r.Errors) > 0 {
		m.lastErrs = append([]string(nil), r.Errors...)
		m.lastErrsLabel = msg.job.label + count
		count += fmt.Sprintf(" (first: %s; E shows %s)", r.Errors[0], plural(len(r.Errors), "error"))
	}
	if msg.err != nil {
		m.setErr(fmt.Errorf("%s%s: %w", msg.job.label, count, msg.err))
		if msg.next != nil && msg.gen == m.com.Gen {
			if d := msg.next(msg.err); d != nil {
				m.pushDialog(d)
			}
		}
	} else {
		m.setStatusLine(msg.job.label+count, r.Failed > 0)
	}
	m.pending.ClearMarks()
	m.messages.ClearMarks()
	return m.refreshAll()
}
