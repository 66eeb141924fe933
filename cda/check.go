package cda

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/msscprobe/msscprobe/check"
)

// Options tune Check and CheckBytes; the zero value gives the defaults.
type Options struct {
	// MaxSize is the largest input (file, standard input, archive or
	// archive member) read, in bytes; 0 means 32 MiB, more than
	// MaxSizeLimit is lowered to it. Larger inputs are reported as CDA-004
	// without reading more than MaxSize+1 bytes.
	MaxSize int64
	// Jobs is the number of documents checked in parallel; 0 means
	// runtime.NumCPU(), and more than MaxJobs() is lowered to it.
	Jobs int
	// Production makes Report.Passed accept only production INS (.8/.9).
	Production bool
	// MaxArchiveEntries (0: 1000), MaxArchiveTotal (uncompressed bytes, 0:
	// 512 MiB) and MaxArchiveRatio (uncompressed/compressed for members over
	// 1 MiB, 0: 100) bound what an XDM archive may hold (XDM-005).
	MaxArchiveEntries int
	MaxArchiveTotal   int64
	MaxArchiveRatio   int
	// Stdin is read for the input "-"; nil means os.Stdin.
	Stdin io.Reader
}

// DefaultMaxSize is the input size limit when Options.MaxSize is 0.
const DefaultMaxSize = 32 << 20

// MaxSizeLimit is the largest Options.MaxSize: each worker may hold an input
// of MaxSize in memory, and a message to Mon espace santé is at most 25 MB
// whole (ENS v1.3 §6, research mssante.md), so 256 MiB leaves room for any genuine document or archive
// without letting a stream such as /dev/zero be read until memory runs out.
const MaxSizeLimit = 256 << 20

// MaxJobs is the most documents checked in parallel: 4 per core. Checking
// is CPU-bound, so more workers would only hold more buffers (up to MaxSize
// each) and open files, e.g. with --jobs 100000 on a large folder.
func MaxJobs() int { return 4 * runtime.NumCPU() }

func (o Options) withDefaults() Options {
	if o.MaxSize <= 0 {
		o.MaxSize = DefaultMaxSize
	}
	o.MaxSize = min(o.MaxSize, MaxSizeLimit)
	if o.Jobs <= 0 {
		o.Jobs = runtime.NumCPU()
	}
	o.Jobs = min(o.Jobs, MaxJobs())
	if o.MaxArchiveEntries <= 0 {
		o.MaxArchiveEntries = 1000
	}
	if o.MaxArchiveTotal <= 0 {
		o.MaxArchiveTotal = 512 << 20
	}
	if o.MaxArchiveRatio <= 0 {
		o.MaxArchiveRatio = 100
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	return o
}

// CheckBytes checks one CDA document or one IHE XDM zip (told apart by
// content) held in memory; name is used as the document path.
func CheckBytes(name string, data []byte, opts Options) []Document {
	o := opts.withDefaults()
	if int64(len(data)) > o.MaxSize {
		return []Document{tooLarge(name, int64(len(data)), o.MaxSize)}
	}
	if IsZip(data) {
		return checkXDM(name, data, o)
	}
	if strings.EqualFold(filepath.Ext(name), ".eml") {
		return checkEML(name, data, o)
	}
	return []Document{checkXML(name, data)}
}

// tooLarge reports an input over the limit; size < 0 when only a stream
// read, stopped past the limit, told it.
func tooLarge(p string, size, limit int64) Document {
	if size < 0 {
		return archiveDoc(p, RuleTooLarge.Newf("",
			"plus de %d octets, la limite : la lecture s'arrête là et le document n'est pas vérifié ; relever --max-size si le document est légitime",
			"more than %d bytes, the limit: reading stops there and the document is not checked; raise --max-size if the document is legitimate", limit))
	}
	return archiveDoc(p, RuleTooLarge.Newf("",
		"%d octets, plus que la limite de %d : le fichier n'est pas lu ; relever --max-size si le document est légitime",
		"%d bytes, more than the limit of %d: the file is not read; raise --max-size if the document is legitimate", size, limit))
}

// Check checks inputs: CDA files, IHE XDM zips, directories (walked
// recursively for *.xml and *.zip, case-insensitive, in lexical order) and
// "-" for standard input. Documents come back in input order whatever
// Options.Jobs. onDoc, when not nil, is called (never concurrently) with
// the number of input files done so far.
//
// The error is for usage and I/O problems only (a missing path, an
// unreadable file or folder) and names the path; problems in documents are
// findings. When ctx is cancelled (Ctrl-C), Check returns the report of
// the inputs finished so far with ctx's error, so that they can be shown.
func Check(ctx context.Context, inputs []string, opts Options, onDoc func(done int)) (*Report, error) {
	o := opts.withDefaults()
	files, err := expand(inputs)
	if err != nil {
		return nil, err
	}
	results := make([][]Document, len(files))
	errs := make([]error, len(files))
	parent := ctx
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	next := make(chan int)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done int
		gone bool // Check has returned: no more onDoc calls
	)
	for range min(o.Jobs, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One read buffer per worker, reused: documents keep no
			// reference to the bytes they were read from.
			var buf bytes.Buffer
			for i := range next {
				docs, err := checkInput(files[i], o, &buf)
				if err != nil {
					cancel()
				}
				mu.Lock()
				if !gone {
					results[i], errs[i] = docs, err
					if done++; onDoc != nil {
						onDoc(done)
					}
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range files {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-parent.Done():
		// A worker may be blocked reading a terminal or a FIFO, which no
		// context can interrupt: return now rather than hang on ^C.
		mu.Lock()
		gone = true
		mu.Unlock()
		return partialReport(results, o), parent.Err()
	}
	// The first failing input in input order, so the message is stable.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := parent.Err(); err != nil {
		return partialReport(results, o), err
	}
	return partialReport(results, o), nil
}

// expand turns the inputs into the list of files to check.
func expand(inputs []string) ([]string, error) {
	if len(inputs) == 0 {
		return nil, check.Errorf("aucune entrée : donnez des fichiers CDA, des archives IHE XDM, des dossiers, ou - pour l'entrée standard",
			"no input: give CDA files, IHE XDM zips, folders, or - for standard input")
	}
	var files []string
	stdin := false
	for _, in := range inputs {
		if in == "-" {
			if stdin {
				return nil, check.Errorf("- : entrée standard donnée deux fois", "-: standard input given twice")
			}
			stdin = true
			files = append(files, in)
			continue
		}
		st, err := os.Stat(in)
		if err != nil {
			return nil, err // *PathError names the path
		}
		if !st.IsDir() {
			// A device (/dev/zero, a terminal) or a socket named on the
			// command line is refused; a named pipe is read (process
			// substitution), never more than MaxSize+1 bytes.
			if t := st.Mode().Type(); t&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeSocket|fs.ModeIrregular) != 0 {
				return nil, fmt.Errorf("%s: not a regular file, folder or pipe (%v)", in, t)
			}
			files = append(files, in)
			continue
		}
		n := len(files)
		// The trailing separator makes WalkDir enter a folder given as a
		// symbolic link (a mounted share); links below are not followed.
		err = filepath.WalkDir(filepath.Clean(in)+string(filepath.Separator), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(filepath.Ext(p))
			if d.IsDir() || ext != ".xml" && ext != ".zip" && ext != ".eml" {
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				st, err := os.Stat(p)
				if err != nil {
					return err
				}
				d = fs.FileInfoToDirEntry(st)
			}
			// Only regular files: opening a FIFO or a device found in a
			// folder could block for ever.
			if d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(files) == n {
			return nil, check.Errorf("%s : aucun fichier *.xml, *.zip ou *.eml dans ce dossier", "%s: no *.xml, *.zip or *.eml file in this folder", in)
		}
	}
	return files, nil
}

// readStream reads a stream (standard input, a named pipe) in 1 MiB chunks
// and copies it into buf only when it holds at most max bytes; it reports
// whether it holds more. bytes.Buffer doubles as it reads: a stream cut at
// 256 MiB took 1 GB of RSS, one cut at 32 MiB 150 MB.
func readStream(buf *bytes.Buffer, r io.Reader, max int64) (over bool, _ error) {
	var chunks [][]byte
	var n int64
	for n <= max {
		c := make([]byte, min(1<<20, max+1-n))
		k, err := io.ReadFull(r, c)
		chunks, n = append(chunks, c[:k]), n+int64(k)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return false, err
		}
	}
	if n > max {
		return true, nil
	}
	buf.Grow(int(n))
	for _, c := range chunks {
		buf.Write(c)
	}
	return false, nil
}

// checkInput reads one input, never more than MaxSize+1 bytes, and checks it.
func checkInput(p string, o Options, buf *bytes.Buffer) ([]Document, error) {
	var r io.Reader = o.Stdin
	size := int64(-1)
	if p != "-" {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return nil, err
		}
		if st.Size() > o.MaxSize {
			return []Document{tooLarge(p, st.Size(), o.MaxSize)}, nil
		}
		r = f
		if st.Mode().IsRegular() {
			size = st.Size()
		}
	}
	buf.Reset()
	var err error
	over := false
	if size >= 0 {
		buf.Grow(int(size) + bytes.MinRead)
		_, err = buf.ReadFrom(io.LimitReader(r, o.MaxSize+1))
	} else {
		over, err = readStream(buf, r, o.MaxSize)
	}
	if err != nil {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			return nil, err // already names the path
		}
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	if over || int64(buf.Len()) > o.MaxSize {
		return []Document{tooLarge(p, -1, o.MaxSize)}, nil
	}
	return CheckBytes(p, buf.Bytes(), o), nil
}

// refuseFictitious adds, under --production, an INS-012 error to every
// document whose INS is a test or demo one, saying why it fails.
func refuseFictitious(docs []Document) {
	for i := range docs {
		d := &docs[i]
		if d.Status != StatusQualifiedTest || d.INS == nil {
			continue
		}
		// The INS-011 warning becomes this error: same fact, now blocking.
		loc := ""
		kept := d.Findings[:0]
		for _, f := range d.Findings {
			if f.Rule == RuleFictitious.ID {
				loc = f.Location
				continue
			}
			kept = append(kept, f)
		}
		d.Findings = append(kept, RuleProductionOnly.Newf(loc,
			"INS %s (OID %s) : identité fictive de test ou de démonstration, refusée avec --production ; un document envoyé pour un vrai patient porte un INS de production (OID .8 NIR ou .9 NIA)",
			"INS %s (OID %s): a fictitious test or demo identity, refused with --production; a document sent for a real patient carries a production INS (OID .8 NIR or .9 NIA)",
			d.INS.Value, d.INS.OID))
	}
}

// partialReport gathers the documents of the inputs checked (all of them,
// or those finished before an interruption), in input order.
func partialReport(results [][]Document, o Options) *Report {
	r := &Report{Schema: SchemaVersion}
	for _, docs := range results {
		r.Documents = append(r.Documents, docs...)
	}
	if o.Production {
		refuseFictitious(r.Documents)
	}
	r.Summary = Summarize(r.Documents)
	return r
}
