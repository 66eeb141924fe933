package message

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/msscprobe/msscprobe/cda"
	"github.com/msscprobe/msscprobe/check"
)

// Check checks every message of inputs: .eml files, mbox files (told by
// their first line "From "), folders (walked for regular *.eml and *.mbox
// files, case-insensitive, in lexical order) and "-" for standard input.
// Results are in input order whatever Options.Jobs. onMsg, when not nil,
// is called (never concurrently) with the number of messages done.
//
// The error is for usage and I/O problems only (a missing or unreadable
// path, an input with no message) and names the path; problems in
// messages are findings.
func Check(ctx context.Context, inputs []string, opts Options, onMsg func(done int)) (*Report, error) {
	o := opts.withDefaults()
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	o.Jobs = min(o.Jobs, cda.MaxJobs())
	files, err := expand(inputs)
	if err != nil {
		return nil, err
	}
	type job struct {
		i    int
		name string
		raw  []byte
		big  int64 // > 0: the message was larger than MaxSize, raw is nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, o.Jobs)
	var (
		mu      sync.Mutex
		results []Result
		done    int
		gone    bool // Check has returned: no more onMsg calls
		wg      sync.WaitGroup
	)
	for range o.Jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				var r Result
				if j.big > 0 {
					r = tooLarge(j.name, j.big, o.MaxSize)
				} else {
					r = CheckBytes(j.name, j.raw, o)
				}
				mu.Lock()
				for len(results) <= j.i {
					results = append(results, Result{})
				}
				results[j.i] = r
				done++
				if onMsg != nil && !gone {
					onMsg(done)
				}
				mu.Unlock()
			}
		}()
	}
	n := 0
	emit := func(name string, raw []byte, big int64) bool {
		select {
		case jobs <- job{n, name, raw, big}:
			n++
			return true
		case <-ctx.Done():
			return false
		}
	}
	// Reading runs on its own so that Check returns as soon as ctx is done,
	// even when a read blocks (standard input, a FIFO).
	read := make(chan error, 1)
	go func() {
		var err error
		for _, f := range files {
			if err = readInput(f, o, emit); err != nil || ctx.Err() != nil {
				break
			}
		}
		close(jobs)
		read <- err
	}()
	var readErr error
	select {
	case readErr = <-read:
	case <-ctx.Done():
		mu.Lock()
		gone = true
		mu.Unlock()
		return nil, ctx.Err()
	}
	wg.Wait()
	if readErr != nil {
		return nil, readErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &Report{Schema: SchemaVersion, Messages: results, Summary: Summarize(results)}, nil
}

func tooLarge(name string, size, limit int64) Result {
	r := Result{Name: name, Size: int(min(size, 1<<62))}
	r.Findings = []check.Finding{
		RuleTotalSize.Newf("", "plus de %d octets : plus que les 25 Mo acceptés par Mon espace santé", "more than %d bytes: more than the 25 MB Mon espace santé accepts", limit),
		RuleUnreadable.Newf("", "plus de %d octets, la limite de lecture : le message n'est pas vérifié plus avant",
			"more than %d bytes, the read limit: the message is not checked further", limit),
	}
	return r
}

// expand turns inputs into the list of files to read ("-" kept).
func expand(inputs []string) ([]string, error) {
	if len(inputs) == 0 {
		return nil, check.Errorf("aucune entrée : donnez des fichiers .eml ou mbox, des dossiers, ou - pour l'entrée standard", "no input: give .eml or mbox files, folders, or - for standard input")
	}
	var out []string
	for _, in := range inputs {
		if in == "-" {
			out = append(out, in)
			continue
		}
		st, err := os.Stat(in)
		if err != nil {
			return nil, inputErr(in, err)
		}
		if !st.IsDir() {
			out = append(out, in)
			continue
		}
		var found []string
		err = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(filepath.Ext(p))
			if d.Type().IsRegular() && (ext == ".eml" || ext == ".mbox") {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, inputErr(in, err)
		}
		if len(found) == 0 {
			return nil, check.Errorf("%s : aucun fichier *.eml ou *.mbox dans ce dossier", "%s: no *.eml or *.mbox file in this folder", in)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// readInput reads one file (or standard input) and emits its messages:
// the whole file, or each message of an mbox. No message is held beyond
// MaxSize+1 bytes.
func readInput(name string, o Options, emit func(string, []byte, int64) bool) error {
	var r io.Reader
	sizeHint := int64(64 << 10)
	if name == "-" {
		r = o.Stdin
		if r == nil {
			r = os.Stdin
		}
	} else {
		f, err := os.Open(name)
		if err != nil {
			return inputErr(name, err)
		}
		defer f.Close()
		r = f
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			sizeHint = st.Size()
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(5)
	if err != nil && !errors.Is(err, io.EOF) {
		return inputErr(name, err)
	}
	if len(head) == 0 {
		return check.Errorf("%s : entrée vide, aucun message", "%s: empty input, no message", name)
	}
	if string(head) != "From " {
		buf := bytes.NewBuffer(make([]byte, 0, min(sizeHint, o.MaxSize)+bytes.MinRead))
		_, err := buf.ReadFrom(io.LimitReader(br, o.MaxSize+1))
		if err != nil {
			return inputErr(name, err)
		}
		raw := buf.Bytes()
		if int64(len(raw)) > o.MaxSize {
			emit(name, nil, int64(len(raw)))
			return nil
		}
		emit(name, raw, 0)
		return nil
	}
	return readMbox(name, br, o.MaxSize, emit)
}

// readMbox splits an mbox (mboxo or mboxrd: a line "From " starts each
// message, ">From " lines are unescaped by one ">").
func readMbox(name string, br *bufio.Reader, limit int64, emit func(string, []byte, int64) bool) error {
	var (
		cur  bytes.Buffer
		big  int64
		k    int
		open bool
	)
	flush := func() bool {
		if !open {
			return true
		}
		k++
		msgName := fmt.Sprintf("%s#%d", name, k)
		if big > 0 {
			return emit(msgName, nil, big)
		}
		b := cur.Bytes()
		// The blank line before the next "From " belongs to the mbox.
		b = bytes.TrimSuffix(b, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		out := make([]byte, len(b))
		copy(out, b)
		return emit(msgName, out, 0)
	}
	// add keeps a piece of the current message, or only counts it once
	// the message is over the limit.
	add := func(piece []byte) {
		switch {
		case big > 0:
			big += int64(len(piece))
		case int64(cur.Len()+len(piece)) > limit:
			big = int64(cur.Len() + len(piece))
			cur.Reset()
		default:
			cur.Write(piece)
		}
	}
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: keep reading it in pieces.
			for errors.Is(err, bufio.ErrBufferFull) {
				add(line)
				line, err = br.ReadSlice('\n')
			}
		} else if bytes.HasPrefix(line, []byte("From ")) {
			if !flush() {
				return nil
			}
			cur.Reset()
			big, open = 0, true
			line = nil
		} else if isEscapedFrom(line) {
			line = line[1:]
		}
		add(line)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return inputErr(name, err)
		}
	}
	if !open {
		return check.Errorf("%s : aucun message dans cette boîte mbox", "%s: no message in this mbox", name)
	}
	flush()
	return nil
}

func isEscapedFrom(line []byte) bool {
	i := 0
	for i < len(line) && line[i] == '>' {
		i++
	}
	return i > 0 && bytes.HasPrefix(line[i:], []byte("From "))
}

// inputErr names the input in err, in both languages; a file-system error
// already names its path and is not prefixed twice.
func inputErr(name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == name {
		return err
	}
	return check.Errorf("%s : %w", "%s: %w", name, err)
}
