package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/internal/zipdir"
)

// Limits applied to bundles before anything is decompressed. A genuine
// bundle is a few hundred kilobytes; the caps leave room for a large XDM
// attachment and refuse zip bombs (docs/evidence-format.md §Limits).
const (
	maxEntries    = 256
	maxEntrySize  = 64 << 20  // uncompressed bytes per entry
	maxTotalSize  = 256 << 20 // uncompressed bytes in all entries
	maxRatio      = 200       // uncompressed/compressed, for entries over 1 MiB
	ratioFloor    = 1 << 20
	maxBundleSize = 512 << 20
)

// file is one member of a bundle, in memory.
type file struct {
	name string
	data []byte
}

// writeZip writes files as a deterministic ZIP: mimetype first and stored,
// the rest deflated in the given order, every entry with the same MS-DOS
// timestamp and no extra field, so the same files give the same bytes.
func writeZip(w io.Writer, files []file, mtime time.Time) error {
	zw := zip.NewWriter(w)
	date, tm := msDosTime(mtime)
	for _, f := range files {
		fh := &zip.FileHeader{Name: f.name, Method: zip.Deflate}
		// Modified is left zero on purpose: setting it makes archive/zip add
		// an extended-timestamp extra field, which ASiC forbids on mimetype
		// (EN 319 162-1 A.1: "mimetype" readable at offset 38).
		//lint:ignore SA1019 Modified would add the extra field, see above.
		fh.ModifiedDate, fh.ModifiedTime = date, tm
		create := zw.CreateHeader
		if f.name == nameMimetype {
			// Stored with its sizes in the local header and no data
			// descriptor: Java's ZipInputStream (EU DSS, DigiDoc4j) refuses
			// a stored entry followed by a descriptor.
			fh.Method = zip.Store
			fh.CRC32 = crc32.ChecksumIEEE(f.data)
			fh.CompressedSize64, fh.UncompressedSize64 = uint64(len(f.data)), uint64(len(f.data))
			create = zw.CreateRaw
		}
		fw, err := create(fh)
		if err != nil {
			return fmt.Errorf("zip %s: %w", f.name, err)
		}
		if _, err := fw.Write(f.data); err != nil {
			return fmt.Errorf("zip %s: %w", f.name, err)
		}
	}
	return zw.Close()
}

// msDosTime converts t (UTC) to MS-DOS date and time fields, clamped to the
// format's 1980 epoch.
func msDosTime(t time.Time) (date, tm uint16) {
	t = t.UTC()
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	tm = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, tm
}

// Members verify keeps in memory, each with its own cap: every other
// member is streamed through SHA-256 and never held (a genuine results.json
// or report.pdf is a few hundred kilobytes).
var keptCaps = map[string]int64{
	nameMimetype:  64,
	nameManifest:  1 << 20,
	nameSignature: maxCMSSize,
	nameResults:   8 << 20,
	nameReport:    8 << 20,
}

// member is one entry of a bundle as verify knows it: its SHA-256, and its
// bytes only for the members in keptCaps.
type member struct {
	name string
	sum  [sha256.Size]byte
	data []byte
}

// readBundle opens a bundle, checks names, sizes and zip-level fields from
// the central directory and the local headers before anything is
// decompressed, then streams every member through SHA-256, keeping only the
// members in keptCaps. Structural problems of a readable zip are returned
// as problems; an error means the input is not a zip (or ctx ended).
func readBundle(ctx context.Context, r io.ReaderAt, size int64) (members []member, first *zip.File, probs []Problem, err error) {
	if size > maxBundleSize {
		return nil, nil, []Problem{problem(CodeEntryTooLarge, "", "le fichier fait %d octets, au-delà de la limite de %d", "the file is %d bytes, over the %d limit", size, maxBundleSize)}, nil
	}
	// archive/zip builds every directory record before its entries could be
	// counted: 1 M one-letter records (49 MB) took 240 MB.
	if n := zipdir.Records(r, size, maxEntries); n > maxEntries {
		return nil, nil, []Problem{problem(CodeTooManyEntries, "", "plus de %d entrées, au-delà de la limite de %d", "over %d entries, over the %d limit", n-1, maxEntries)}, nil
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, nil, nil, check.Errorf("pas une archive ZIP lisible : %w", "not a readable ZIP archive: %w", err)
	}
	if len(zr.File) > maxEntries {
		return nil, nil, []Problem{problem(CodeTooManyEntries, "", "%d entrées, au-delà de la limite de %d", "%d entries, over the %d limit", len(zr.File), maxEntries)}, nil
	}
	seen := map[string]bool{}
	var total uint64
	for _, f := range zr.File {
		if p, ok := unsafeName(f.Name); !ok {
			probs = append(probs, p)
			continue
		}
		key := strings.ToLower(f.Name)
		if seen[key] {
			probs = append(probs, problem(CodeDuplicateEntry, f.Name, "nom présent plusieurs fois dans l'archive", "name appears more than once in the archive"))
			continue
		}
		seen[key] = true
		if f.Flags&0x1 != 0 {
			probs = append(probs, problem(CodeUnsafeEntry, f.Name, "entrée chiffrée", "encrypted entry"))
			continue
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			probs = append(probs, problem(CodeUnsafeEntry, f.Name, "méthode de compression %d non prise en charge", "unsupported compression method %d", f.Method))
			continue
		}
		if p, ok := forbiddenFields(f); !ok {
			probs = append(probs, p)
			continue
		}
		total += f.UncompressedSize64
		if f.UncompressedSize64 > maxEntrySize || total > maxTotalSize {
			probs = append(probs, problem(CodeEntryTooLarge, f.Name, "%d octets décompressés annoncés, au-delà des limites", "%d uncompressed bytes declared, over the limits", f.UncompressedSize64))
			continue
		}
		if c, ok := keptCaps[f.Name]; ok && f.UncompressedSize64 > uint64(c) {
			probs = append(probs, problem(CodeEntryTooLarge, f.Name, "%d octets annoncés, au-delà de la limite de %d pour ce fichier", "%d bytes declared, over the %d limit for this file", f.UncompressedSize64, c))
			continue
		}
		if f.UncompressedSize64 > ratioFloor && f.UncompressedSize64 > maxRatio*max(f.CompressedSize64, 1) {
			probs = append(probs, problem(CodeEntryTooLarge, f.Name, "taux de compression suspect (bombe zip)", "suspicious compression ratio (zip bomb)"))
			continue
		}
	}
	if len(probs) > 0 {
		return nil, nil, probs, nil
	}
	if p := checkStructure(r, size, zr); p != nil {
		return nil, nil, []Problem{*p}, nil
	}
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return nil, nil, nil, err
		}
		m, err := readMember(ctx, f)
		if err != nil {
			if ctx.Err() != nil {
				return nil, nil, nil, ctx.Err()
			}
			return nil, nil, []Problem{problem(CodeUnsafeEntry, f.Name, "illisible : %v", "unreadable: %v", err)}, nil
		}
		members = append(members, m)
	}
	if len(zr.File) > 0 {
		first = zr.File[0]
	}
	return members, first, nil, nil
}

// Zip fields a bundle may carry: what writeZip (archive/zip) writes.
const (
	zipVersion     = 20 // version needed to extract: 2.0, deflate (APPNOTE 4.4.3)
	allowedFlags   = 0x8 | 0x800
	creatorFAT     = 0
	creatorUnix    = 3
	forbiddenModes = fs.ModeType | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	msdosForbidden = 0xde // all but read-only (0x01) and archive (0x20)
	unixRegular    = 0o100000
)

// forbiddenFields refuses, by name, the central-directory fields the
// format forbids (docs/evidence-format.md §Container): extra fields (data
// hidden from every extractor's view), a version or flags other than the
// writer's, and any mode but a plain file (a symlink entry makes unzip
// create a link, so a script would hash a file of the reviewer's machine;
// setuid bits survive extraction as root).
func forbiddenFields(f *zip.File) (Problem, bool) {
	bad := func(fr, en string, args ...any) (Problem, bool) {
		return problem(CodeZipField, f.Name, fr, en, args...), false
	}
	switch host := f.CreatorVersion >> 8; {
	case len(f.Extra) > 0:
		return bad("champ extra de %d octets dans le répertoire central (interdit)", "%d-byte extra field in the central directory (forbidden)", len(f.Extra))
	case f.ReaderVersion > zipVersion:
		return bad("version nécessaire %d.%d, au plus 2.0 attendue", "version needed %d.%d, at most 2.0 expected", f.ReaderVersion/10, f.ReaderVersion%10)
	case f.Flags&^(allowedFlags|0x1) != 0:
		return bad("indicateurs 0x%04x inattendus", "unexpected flags 0x%04x", f.Flags&^allowedFlags)
	case host != creatorFAT && host != creatorUnix:
		return bad("système d'origine %d inattendu (0 MS-DOS ou 3 Unix attendu)", "unexpected creator system %d (0 MS-DOS or 3 Unix expected)", host)
	case f.ExternalAttrs&msdosForbidden != 0:
		return bad("attributs MS-DOS 0x%02x (caché, système, volume ou dossier) interdits", "MS-DOS attributes 0x%02x (hidden, system, volume or directory) forbidden", f.ExternalAttrs&0xff)
	case f.Mode()&forbiddenModes != 0:
		p := problem(CodeUnsafeEntry, f.Name, "mode %s : seul un fichier ordinaire, sans setuid, setgid ni sticky, est permis", "mode %s: only a plain file, without setuid, setgid or sticky, is allowed", f.Mode())
		return p, false
	case (host == creatorUnix || f.ExternalAttrs>>16 != 0) && f.ExternalAttrs>>16&^0o777 != unixRegular:
		// f.Mode ignores the Unix bits of an MS-DOS entry and reads a Unix
		// entry without file type as a plain file, but Info-ZIP's unzip
		// honours the Unix bits of an MS-DOS entry (a symlink or setuid
		// when they agree with the read-only bit) and lists a typeless
		// entry as '?': only a plain file's bits are allowed.
		p := problem(CodeUnsafeEntry, f.Name, "mode Unix %06o : seul un fichier ordinaire (0100xxx) est permis", "Unix mode %06o: only a plain file (0100xxx) is allowed", f.ExternalAttrs>>16)
		return p, false
	}
	return Problem{}, true
}

// checkStructure requires the archive to be exactly what its central
// directory describes, as writeZip lays it out: the first entry at offset
// 0, each local header naming the same file with the same method and flags
// as the central directory, entries back to back (each followed by its data
// descriptor when flagged), the central directory right after the last
// entry, no comments and nothing after the end record. Streaming readers
// (Java's ZipInputStream, used by many ASiC tools) trust local headers, not
// the central directory that archive/zip reads: where the two differ, or
// where bytes hide between entries, such a reader would see other files
// than the ones verified.
func checkStructure(r io.ReaderAt, size int64, zr *zip.Reader) *Problem {
	err := structure(r, size, zr)
	var fe *fieldError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		p := problem(CodeZipField, fe.name, "", "")
		p.Message = check.Text{FR: "en-tête local : " + fe.fr, EN: "local header: " + fe.en}
		return &p
	}
	p := problem(CodeZipStructure, "", "structure ZIP non conforme : %v", "non-conforming ZIP structure: %v", err)
	return &p
}

// fieldError names a forbidden field of a local header.
type fieldError struct{ name, fr, en string }

func (e *fieldError) Error() string { return e.name + ": " + e.en }

func structure(r io.ReaderAt, size int64, zr *zip.Reader) error {
	le16, le32 := binary.LittleEndian.Uint16, binary.LittleEndian.Uint32
	if zr.Comment != "" {
		return errors.New("archive comment")
	}
	var pos, cdSize int64
	for _, f := range zr.File {
		if f.Comment != "" {
			return fmt.Errorf("%s: entry comment", f.Name)
		}
		var h [30]byte
		if _, err := r.ReadAt(h[:], pos); err != nil || le32(h[0:]) != 0x04034b50 {
			return fmt.Errorf("%s: no local header at offset %d where the previous entry ends", f.Name, pos)
		}
		nl, el := int64(le16(h[26:])), int64(le16(h[28:]))
		if el != 0 {
			return &fieldError{f.Name, fmt.Sprintf("champ extra de %d octets (interdit)", el), fmt.Sprintf("%d-byte extra field (forbidden)", el)}
		}
		if v := le16(h[4:]); v != f.ReaderVersion {
			return &fieldError{f.Name, fmt.Sprintf("version nécessaire %d, %d dans le répertoire central", v, f.ReaderVersion), fmt.Sprintf("version needed %d, %d in the central directory", v, f.ReaderVersion)}
		}
		name := make([]byte, nl)
		if _, err := r.ReadAt(name, pos+30); err != nil {
			return fmt.Errorf("%s: truncated local header", f.Name)
		}
		off, err := f.DataOffset()
		if string(name) != f.Name || le16(h[6:]) != f.Flags || le16(h[8:]) != f.Method || err != nil || off != pos+30+nl+el {
			return fmt.Errorf("%s: local header differs from the central directory (local name %q)", f.Name, name)
		}
		pos = off + int64(f.CompressedSize64)
		sums := h[14:26] // CRC-32, compressed and uncompressed sizes
		if f.Flags&0x8 != 0 {
			var d [16]byte
			if _, err := r.ReadAt(d[:], pos); err != nil {
				return fmt.Errorf("%s: truncated data descriptor", f.Name)
			}
			sums = d[:12]
			if le32(d[0:]) == 0x08074b50 {
				sums, pos = d[4:16], pos+4
			}
			pos += 12
		}
		if le32(sums[0:]) != f.CRC32 || uint64(le32(sums[4:])) != f.CompressedSize64 || uint64(le32(sums[8:])) != f.UncompressedSize64 {
			return fmt.Errorf("%s: local CRC or sizes differ from the central directory", f.Name)
		}
		cdSize += 46 + int64(len(f.Name)+len(f.Extra)+len(f.Comment))
	}
	var sig [4]byte
	if _, err := r.ReadAt(sig[:], pos+cdSize); err != nil || le32(sig[:]) != 0x06054b50 || pos+cdSize+22 != size {
		return errors.New("bytes between the entries, the central directory and the end record")
	}
	return nil
}

// readMember streams one entry through SHA-256, never more than its
// declared size (archive/zip also checks the CRC and the size at EOF), and
// keeps its bytes only when keptCaps names it.
func readMember(ctx context.Context, f *zip.File) (member, error) {
	m := member{name: f.Name}
	rc, err := f.Open()
	if err != nil {
		return m, err
	}
	defer rc.Close()
	h := sha256.New()
	var w io.Writer = h
	var buf bytes.Buffer
	_, kept := keptCaps[f.Name]
	if kept {
		buf.Grow(int(f.UncompressedSize64)) // at most its cap, checked before
		w = io.MultiWriter(h, &buf)
	}
	n, err := io.Copy(w, io.LimitReader(ctxReader{ctx, rc}, int64(f.UncompressedSize64)+1))
	if err != nil {
		return m, err
	}
	if uint64(n) != f.UncompressedSize64 {
		return m, fmt.Errorf("size %d differs from the declared %d", n, f.UncompressedSize64)
	}
	h.Sum(m.sum[:0])
	if kept {
		m.data = buf.Bytes()
		if m.data == nil {
			m.data = []byte{} // kept, and empty: not absent
		}
	}
	return m, nil
}

// ctxReader stops a long decompression when ctx ends (^C in verify).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// nameAlphabet is every character a bundle entry name may hold
// (docs/evidence-format.md §Container).
const nameAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-"

// unsafeName refuses names that could escape an extraction directory or
// confuse a reader: absolute, "..", characters outside the alphabet the
// writer uses, directories.
func unsafeName(name string) (Problem, bool) {
	bad := func(fr, en string) (Problem, bool) {
		p := problem(CodeUnsafePath, name, "", "")
		p.Message = check.Text{FR: "nom d'entrée dangereux : " + fr, EN: "unsafe entry name: " + en}
		return p, false
	}
	switch {
	case name == "":
		return bad("vide", "empty")
	case strings.ContainsFunc(name, func(r rune) bool { return !strings.ContainsRune(nameAlphabet, r) }):
		// The writer only makes names in this alphabet; anything else
		// (Unicode look-alikes, NFC/NFD twins, bidi controls, "\\", ":")
		// can only come from someone else.
		return bad("caractère hors de [A-Za-z0-9._/-]", "character outside [A-Za-z0-9._/-]")
	case strings.HasPrefix(name, "/"):
		return bad("chemin absolu", "absolute path")
	case strings.HasSuffix(name, "/"):
		return bad("répertoire", "directory entry")
	case strings.HasPrefix(name, "-") || strings.Contains(name, "/-"):
		// A name read as an option by unzip, openssl or awk in a script.
		return bad("élément de chemin commençant par « - »", "path element starting with \"-\"")
	case path.Clean(name) != name || name == ".." || strings.HasPrefix(name, "../") || strings.Contains(name, "/../"):
		return bad("chemin non canonique ou remontant (..)", "non-canonical or climbing (..) path")
	}
	return Problem{}, true
}

// sortedNames returns the names of files other than the container's own
// (mimetype, manifest, signature), sorted, as listed in the manifest.
func sortedNames(files []file) []string {
	var names []string
	for _, f := range files {
		if !containerFile(f.name) {
			names = append(names, f.name)
		}
	}
	sort.Strings(names)
	return names
}

func containerFile(name string) bool {
	return name == nameMimetype || name == nameManifest || name == nameSignature
}
