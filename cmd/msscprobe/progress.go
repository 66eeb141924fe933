package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"
)

// progress draws one updatable status line on a terminal's stderr. When
// stderr is not a terminal (CI logs, pipes) every method is a no-op, so
// machine output on stdout stays untouched and logs stay readable.
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	active bool
	last   time.Time
	width  int
}

func newProgress(w io.Writer) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, active: ok && term.IsTerminal(int(f.Fd()))}
}

// Update redraws the line, at most every 100 ms unless force is set.
func (p *progress) Update(force bool, format string, args ...any) {
	if p == nil || !p.active {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if !force && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	line := fmt.Sprintf(format, args...)
	pad := p.width - len(line)
	p.width = len(line)
	if pad < 0 {
		pad = 0
	}
	fmt.Fprintf(p.w, "\r%s%*s", line, pad, "")
}

// Done clears the line.
func (p *progress) Done() {
	if p == nil || !p.active {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.width > 0 {
		fmt.Fprintf(p.w, "\r%*s\r", p.width, "")
		p.width = 0
	}
}

// Active reports whether a terminal is attached.
func (p *progress) Active() bool { return p != nil && p.active }
