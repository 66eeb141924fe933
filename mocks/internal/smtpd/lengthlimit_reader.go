package smtpd

import (
	"errors"
	"io"
)

var ErrTooLongLine = errors.New("smtp: too long a line in input stream")

// lineLimitReader reads from the underlying Reader but restricts
// line length of lines in input stream to a certain length.
//
// If line length exceeds the limit - Read returns ErrTooLongLine
type lineLimitReader struct {
	R         io.Reader
	LineLimit int

	curLineLength int
}

func (r *lineLimitReader) Read(b []byte) (int, error) {
	if r.LineLimit > 0 && r.curLineLength > r.LineLimit {
		return 0, ErrTooLongLine
	}
	// The bytes read are always returned, even past the limit: the next
	// Read fails instead. Upstream dropped the whole read, which lost the
	// start of a BDAT chunk sent with its command when the chunk held a
	// long line. A line still cannot grow beyond the limit plus one read.
	n, err := r.R.Read(b)
	for _, chr := range b[:n] {
		if chr == '\n' {
			r.curLineLength = 0
		} else {
			r.curLineLength++
		}
	}
	return n, err
}

// binary lifts the limit for chunk data; the returned function restores
// it for the next command line.
func (r *lineLimitReader) binary() (restore func()) {
	limit := r.LineLimit
	r.LineLimit = 0
	return func() {
		r.LineLimit = limit
		r.curLineLength = 0
	}
}
