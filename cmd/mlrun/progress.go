package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/mlrun-go/mlrun/archive"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress draws a progress bar on w for archive.Progress reports, one
// bar per phase, if w is a terminal; otherwise it draws nothing. unit is
// the unit to draw ("bytes" or "runs"); reports of other units are
// ignored. Call done at the end.
type progress struct {
	w     io.Writer
	unit  string
	phase string
	bar   *progressbar.ProgressBar
}

func newProgress(w io.Writer, unit string) *progress {
	if !isTerminal(w) {
		return nil
	}
	return &progress{w: w, unit: unit}
}

// report is an archive progress callback; nil when there is no terminal.
func (p *progress) report() func(archive.Progress) {
	if p == nil {
		return nil
	}
	return func(r archive.Progress) {
		if r.Unit != p.unit {
			return
		}
		if r.Phase != p.phase || p.bar == nil {
			p.finish()
			p.phase = r.Phase
			max := r.Total
			if max <= 0 {
				max = -1
			}
			opts := []progressbar.Option{
				progressbar.OptionSetWriter(p.w),
				progressbar.OptionSetDescription(r.Phase),
				progressbar.OptionThrottle(100 * time.Millisecond),
				progressbar.OptionClearOnFinish(),
				progressbar.OptionSetWidth(30),
			}
			if r.Unit == "bytes" {
				opts = append(opts, progressbar.OptionShowBytes(true))
			} else {
				opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionSetItsString(r.Unit), progressbar.OptionShowIts())
			}
			p.bar = progressbar.NewOptions64(max, opts...)
		}
		_ = p.bar.Set64(r.Done)
	}
}

func (p *progress) finish() {
	if p != nil && p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}
