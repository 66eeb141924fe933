package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// maxPEMFile bounds --ca and --tsa-ca: a bundle of every IGC Santé root and
// intermediate is tens of kilobytes, a whole system trust store under 1 MiB.
const maxPEMFile = 4 << 20

// openRegular opens path for reading only when it is a regular file,
// without ever blocking: a FIFO, a terminal or a device given by mistake
// (or by a hostile attachment name) is refused at once instead of hanging
// the command or being read without end (/dev/zero). O_NONBLOCK makes the
// open itself return for a FIFO swapped in after the first stat. Errors
// name the file type; the caller names the file.
func (e *env) openRegular(path string) (*os.File, os.FileInfo, error) {
	notRegular := func(st os.FileInfo) error {
		return fmt.Errorf("%s (%s)", e.tr("pas un fichier ordinaire", "not a regular file"), e.kind(st.Mode()))
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, notRegular(st)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	if st, err = f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = notRegular(st)
		}
		return nil, nil, err
	}
	return f, st, nil
}

// kind names a file type for messages.
func (e *env) kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return e.tr("dossier", "directory")
	case m&os.ModeNamedPipe != 0:
		return e.tr("tube nommé", "named pipe")
	case m&os.ModeSocket != 0:
		return e.tr("socket", "socket")
	case m&os.ModeCharDevice != 0:
		return e.tr("périphérique caractère", "character device")
	case m&os.ModeDevice != 0:
		return e.tr("périphérique", "device")
	}
	return m.Type().String()
}

// readRegular reads a regular file of at most limit bytes; errors start
// with flag and path.
func (e *env) readRegular(flag, path string, limit int64) ([]byte, error) {
	f, st, err := e.openRegular(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: %w", flag, err) // already names the path
		}
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	defer f.Close()
	tooBig := fmt.Errorf("%s %s: %s %d %s", flag, path, e.tr("plus de", "over"), limit, e.tr("octets, la limite", "bytes, the limit"))
	if st.Size() > limit {
		return nil, tooBig
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	if int64(len(b)) > limit {
		return nil, tooBig
	}
	return b, nil
}
