package cda

import (
	"archive/zip"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/beevik/etree"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/internal/zipdir"
)

// ebXML RIM classification schemes of the XDS metadata (IHE ITI TF-3 §4.2.5).
const (
	schemeDEPatientID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427" // XDSDocumentEntry.patientId
	schemeDEUniqueID  = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" // XDSDocumentEntry.uniqueId
	schemeSSPatientID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446" // XDSSubmissionSet.patientId
	schemeDETypeCode  = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983" // XDSDocumentEntry.typeCode
	schemeDEConfCode  = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f" // XDSDocumentEntry.confidentialityCode
)

// XDM is what the METADATA.XML files of an IHE XDM archive (IHE_XDM.ZIP)
// say, read without checking the documents themselves.
type XDM struct {
	Subsets []XDMSubset `json:"subsets"`
	// Members lists every archive member name (slashes, as stored), so
	// callers can look for INDEX.HTM and README.TXT (IHE ITI TF-1 §16).
	Members []string `json:"members,omitempty"`
}

// XDMSubset is one IHE_XDM/<subset>/ folder (SUBSET01, SS000001, ...).
type XDMSubset struct {
	Dir                    string     `json:"dir"` // e.g. "IHE_XDM/SUBSET01"
	SubmissionSetPatientID string     `json:"submission_set_patient_id,omitempty"`
	Entries                []XDMEntry `json:"entries"`
}

// XDMEntry is one DocumentEntry (an ExtrinsicObject).
type XDMEntry struct {
	ID        string `json:"id"`            // ExtrinsicObject/@id
	URI       string `json:"uri,omitempty"` // the URI slot, relative to the subset folder
	MimeType  string `json:"mime_type,omitempty"`
	UniqueID  string `json:"unique_id,omitempty"`
	PatientID string `json:"patient_id,omitempty"`
	// Member is the archive path of the document found for the entry, ""
	// when none was found.
	Member string `json:"member,omitempty"`
	// Hash and Size are the hash (SHA-1, hex) and size (bytes) slots as
	// written in METADATA.XML (ITI TF-3 §4.2.3.2.11, §4.2.3.2.20).
	Hash string `json:"hash,omitempty"`
	Size string `json:"size,omitempty"`
	// TypeCode is the typeCode classification's nodeRepresentation (the
	// CDA code), Confidentiality every confidentialityCode.
	TypeCode        string   `json:"type_code,omitempty"`
	Confidentiality []string `json:"confidentiality,omitempty"`
	// SourcePatientID and SourcePatientInfo (PID-5|…, PID-7|…, PID-8|…)
	// are the slot values.
	SourcePatientID   string   `json:"source_patient_id,omitempty"`
	SourcePatientInfo []string `json:"source_patient_info,omitempty"`
	// MemberSHA1 and MemberSize are computed from the member by CheckXDM
	// ("" and -1 when the member is absent or could not be read).
	MemberSHA1 string `json:"member_sha1,omitempty"`
	MemberSize int64  `json:"member_size"`

	file *zip.File
}

// ReadXDM reads an XDM archive's metadata. It returns nil and the findings
// (XDM-001, XDM-005, or CDA-* on a METADATA.XML) when the archive cannot be
// used; nothing is extracted from an unsafe archive.
func ReadXDM(data []byte, opts Options) (*XDM, []check.Finding) {
	x, docs := openXDM("", data, opts.withDefaults())
	if x == nil {
		var fs []check.Finding
		for _, d := range docs {
			fs = append(fs, d.Findings...)
		}
		return nil, fs
	}
	return x, nil
}

// IsZip tells a zip archive (an empty one included) by its first record
// signature (APPNOTE 4.3.6-7, 4.3.16).
func IsZip(b []byte) bool {
	return bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06"))
}

// archiveDoc is a result row for the archive itself or for one of its
// members that could not be checked.
func archiveDoc(p string, fs ...check.Finding) Document {
	return Document{Path: p, Status: StatusInvalid, Findings: fs}
}

// maxMetadataNodes bounds the tree built from one METADATA.XML: a
// DocumentEntry takes about a hundred elements and attributes, so this
// leaves room for a thousand documents in about 30 MB of tree.
const maxMetadataNodes = 100000

// openXDM checks the archive's safety, then reads every METADATA.XML.
func openXDM(name string, data []byte, o Options) (*XDM, []Document) {
	// archive/zip builds every directory record before they could be
	// counted: a 49 MB archive of one-letter records took 310 MB.
	if n := zipdir.Records(bytes.NewReader(data), int64(len(data)), o.MaxArchiveEntries); n > o.MaxArchiveEntries {
		f := RuleUnsafeArchive.Newf("", "plus de %d entrées, plus que la limite de %d", "over %d entries, more than the limit of %d", n-1, o.MaxArchiveEntries)
		return nil, []Document{archiveDoc(name, f)}
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, []Document{archiveDoc(name, RuleNotXDM.Newf("",
			"archive zip illisible (%v) : produire une archive IHE_XDM.ZIP valide", "unreadable zip archive (%v): produce a valid IHE_XDM.ZIP archive", err))}
	}
	if f := unsafeArchive(zr, o); f != nil {
		return nil, []Document{archiveDoc(name, *f)}
	}
	if f := localMismatch(data, zr); f != nil {
		return nil, []Document{archiveDoc(name, *f)}
	}
	members := make(map[string]*zip.File, len(zr.File))
	var metas []*zip.File
	names := make([]string, 0, len(zr.File))
	for _, f := range zr.File {
		names = append(names, slashed(f.Name))
		members[strings.ToLower(path.Clean(slashed(f.Name)))] = f
		// IHE_XDM/<subset>/METADATA.XML, case-insensitive, possibly under
		// a top-level folder added by whoever zipped it.
		parts := strings.Split(strings.ToLower(slashed(f.Name)), "/")
		if n := len(parts); n >= 3 && parts[n-1] == "metadata.xml" && parts[n-3] == "ihe_xdm" {
			metas = append(metas, f)
		}
	}
	if len(metas) == 0 {
		return nil, []Document{archiveDoc(name, RuleNotXDM.Newf("",
			"aucun IHE_XDM/<sous-dossier>/METADATA.XML dans l'archive : ce n'est pas une archive IHE XDM",
			"no IHE_XDM/<subset>/METADATA.XML in the archive: not an IHE XDM archive"))}
	}
	sort.Slice(metas, func(i, j int) bool { return metas[i].Name < metas[j].Name })
	x := &XDM{Members: names}
	var bad []Document
	for _, mf := range metas {
		mpath := name + "!" + mf.Name
		b, d := readMember(mpath, mf, o)
		if d != nil {
			bad = append(bad, *d)
			continue
		}
		text, serr := toUTF8(b)
		var sc *scanner
		if serr == nil {
			sc, serr = scanTree(text, maxDepth)
		}
		if serr != nil {
			bad = append(bad, checkXML(mpath, b))
			continue
		}
		if sc.nodes > maxMetadataNodes {
			bad = append(bad, archiveDoc(mpath, RuleUnsafeArchive.Newf(mf.Name,
				"METADATA.XML compte %d éléments et attributs, plus que la limite de %d : non lu (protection mémoire)",
				"METADATA.XML holds %d elements and attributes, more than the limit of %d: not read (memory protection)", sc.nodes, maxMetadataNodes)))
			continue
		}
		md := etree.NewDocument()
		md.ReadSettings = readSettings
		if err := md.ReadFromBytes(text); err != nil || md.Root() == nil {
			bad = append(bad, archiveDoc(mpath, RuleNotWellFormed.Newf("", "METADATA.XML illisible : %v", "unreadable METADATA.XML: %v", err)))
			continue
		}
		x.Subsets = append(x.Subsets, readSubset(path.Dir(slashed(mf.Name)), md.Root(), members))
	}
	if len(x.Subsets) == 0 {
		return nil, bad
	}
	return x, bad
}

// unsafeArchive refuses, from the central directory only, archives that
// could write outside a folder (zip slip) or exhaust memory (zip bomb).
func unsafeArchive(zr *zip.Reader, o Options) *check.Finding {
	if n := len(zr.File); n > o.MaxArchiveEntries {
		f := RuleUnsafeArchive.Newf("", "%d entrées, plus que la limite de %d", "%d entries, more than the limit of %d", n, o.MaxArchiveEntries)
		return &f
	}
	var total uint64
	seen := make(map[string]string, len(zr.File))
	for _, f := range zr.File {
		n := slashed(f.Name)
		// Two members of one name (or of names equal ignoring case, the
		// same file on Windows and macOS): an extractor keeps one, this
		// checker another.
		key := strings.ToLower(path.Clean(n))
		if prev, ok := seen[key]; ok {
			r := RuleUnsafeArchive.Newf(f.Name, "« %s » et « %s » désignent le même fichier (noms égaux à la casse près) : un seul serait extrait",
				"%q and %q name the same file (equal ignoring case): only one would be extracted", prev, f.Name)
			return &r
		}
		seen[key] = f.Name
		if strings.HasPrefix(n, "/") || len(n) > 1 && n[1] == ':' || strings.Contains(n, "\x00") ||
			n == ".." || strings.HasPrefix(n, "../") || strings.HasSuffix(n, "/..") || strings.Contains(n, "/../") {
			r := RuleUnsafeArchive.Newf(f.Name, "chemin « %s » absolu ou contenant « .. » : il sortirait du dossier d'extraction",
				"path %q is absolute or contains \"..\": it would escape the extraction folder", f.Name)
			return &r
		}
		total += f.UncompressedSize64
		if f.UncompressedSize64 > 1<<20 && f.UncompressedSize64/max(f.CompressedSize64, 1) > uint64(o.MaxArchiveRatio) {
			r := RuleUnsafeArchive.Newf(f.Name, "« %s » se décompresse %d fois (limite %d) : bombe zip probable",
				"%q expands %d times (limit %d): likely a zip bomb", f.Name, f.UncompressedSize64/max(f.CompressedSize64, 1), o.MaxArchiveRatio)
			return &r
		}
	}
	if total > uint64(o.MaxArchiveTotal) {
		f := RuleUnsafeArchive.Newf("", "%d octets une fois décompressée, plus que la limite de %d", "%d bytes once uncompressed, more than the limit of %d", total, o.MaxArchiveTotal)
		return &f
	}
	return nil
}

// localMismatch compares each member's local header name with its central
// directory name: archive/zip reads the central directory, while streaming
// extractors (Java's ZipInputStream, many XDM importers) trust local
// headers, so "../../x" hidden in a local header would be written where
// the central name never pointed (APPNOTE 4.3.7, 4.3.12).
func localMismatch(data []byte, zr *zip.Reader) *check.Finding {
	offs, err := localOffsets(data, len(zr.File))
	for i, f := range zr.File {
		if err != nil {
			break
		}
		off := offs[i]
		if !fits(data, off, 30) || binary.LittleEndian.Uint32(data[off:]) != 0x04034b50 {
			err = fmt.Errorf("no local header for %q", f.Name)
			break
		}
		nl := uint64(binary.LittleEndian.Uint16(data[off+26:]))
		if !fits(data, off, 30+nl) {
			err = fmt.Errorf("local header of %q cut", f.Name)
			break
		}
		if local := string(data[off+30 : off+30+nl]); local != f.Name {
			r := RuleUnsafeArchive.Newf(f.Name, "l'en-tête local nomme « %s » mais le répertoire central « %s » : un extracteur lisant les en-têtes locaux écrirait un autre fichier",
				"the local header names %q but the central directory %q: an extractor reading local headers would write another file", local, f.Name)
			return &r
		}
	}
	if err != nil {
		r := RuleUnsafeArchive.Newf("", "structure zip incohérente : %v", "inconsistent zip structure: %v", err)
		return &r
	}
	return nil
}

// localOffsets reads the local header offset of the n entries of the
// central directory archive/zip read (zipdir.Start), in order (APPNOTE
// 4.3.12, zip64 4.5.3).
func localOffsets(data []byte, n int) ([]uint64, error) {
	le16, le32, le64 := binary.LittleEndian.Uint16, binary.LittleEndian.Uint32, binary.LittleEndian.Uint64
	start, ok := zipdir.Start(bytes.NewReader(data), int64(len(data)))
	if !ok {
		return nil, errors.New("no end of central directory")
	}
	cd := uint64(start)
	offs := make([]uint64, 0, n)
	p := cd
	for range n {
		if !fits(data, p, 46) || le32(data[p:]) != 0x02014b50 {
			return nil, errors.New("central directory cut")
		}
		nl, xl, cl := uint64(le16(data[p+28:])), uint64(le16(data[p+30:])), uint64(le16(data[p+32:]))
		if !fits(data, p, 46+nl+xl+cl) {
			return nil, errors.New("central directory cut")
		}
		off := uint64(le32(data[p+42:]))
		if off == 0xffffffff { // in the zip64 extra field, after the sizes that overflow
			x := data[p+46+nl : p+46+nl+xl]
			for len(x) >= 4 {
				id, sz := le16(x), int(le16(x[2:]))
				if len(x) < 4+sz {
					break
				}
				if id == 0x0001 {
					k := 0
					if le32(data[p+24:]) == 0xffffffff {
						k += 8
					}
					if le32(data[p+20:]) == 0xffffffff {
						k += 8
					}
					if k+8 <= sz {
						off = le64(x[4+k:])
					}
				}
				x = x[4+sz:]
			}
		}
		offs = append(offs, off)
		p += 46 + nl + xl + cl
	}
	return offs, nil
}

// fits reports whether n bytes at off lie inside data.
func fits(data []byte, off, n uint64) bool {
	return off <= uint64(len(data)) && uint64(len(data))-off >= n
}

// slashed turns the backslashes that some Windows tools write in zip
// member names (against the zip specification) into slashes.
func slashed(name string) string { return strings.ReplaceAll(name, "\\", "/") }

// readMember reads one archive member, never more than the size limit
// (archive/zip also fails when a member yields more than it declared).
func readMember(p string, f *zip.File, o Options) ([]byte, *Document) {
	if f.UncompressedSize64 > uint64(o.MaxSize) {
		d := tooLarge(p, int64(f.UncompressedSize64), o.MaxSize)
		return nil, &d
	}
	rc, err := f.Open()
	if err == nil {
		// Sized from the central directory (already bounded above), so the
		// read does not grow its buffer step by step (a lying size costs at
		// most 4 MiB up front).
		buf := bytes.NewBuffer(make([]byte, 0, int(min(f.UncompressedSize64, 4<<20))+bytes.MinRead))
		_, err = buf.ReadFrom(io.LimitReader(rc, o.MaxSize+1))
		rc.Close()
		b := buf.Bytes()
		if err == nil && int64(len(b)) > o.MaxSize {
			d := tooLarge(p, -1, o.MaxSize)
			return nil, &d
		}
		if err == nil {
			return b, nil
		}
	}
	d := archiveDoc(p, RuleNotXDM.Newf(f.Name, "membre illisible : %v", "unreadable member: %v", err))
	return nil, &d
}

// readSubset reads the DocumentEntries of one METADATA.XML. Matching is by
// local name so that ebRIM 3.0 and older 2.1 namespaces both work.
func readSubset(dir string, root *etree.Element, members map[string]*zip.File) XDMSubset {
	s := XDMSubset{Dir: dir}
	var walk func(e *etree.Element)
	walk = func(e *etree.Element) {
		switch e.Tag {
		case "ExtrinsicObject":
			s.Entries = append(s.Entries, readEntry(dir, e, members))
			return
		case "RegistryPackage":
			if v := externalID(e, schemeSSPatientID); v != "" && s.SubmissionSetPatientID == "" {
				s.SubmissionSetPatientID = v
			}
		}
		for _, c := range e.ChildElements() {
			walk(c)
		}
	}
	walk(root)
	return s
}

func readEntry(dir string, e *etree.Element, members map[string]*zip.File) XDMEntry {
	x := XDMEntry{ID: e.SelectAttrValue("id", ""), MimeType: e.SelectAttrValue("mimeType", ""),
		UniqueID: externalID(e, schemeDEUniqueID), PatientID: externalID(e, schemeDEPatientID), URI: uriSlot(e),
		Hash: first(slotValues(e, "hash")), Size: first(slotValues(e, "size")),
		SourcePatientID: first(slotValues(e, "sourcePatientId")), SourcePatientInfo: slotValues(e, "sourcePatientInfo"),
		MemberSize: -1}
	for _, c := range e.ChildElements() {
		if c.Tag != "Classification" {
			continue
		}
		code := strings.TrimSpace(c.SelectAttrValue("nodeRepresentation", ""))
		switch c.SelectAttrValue("classificationScheme", "") {
		case schemeDETypeCode:
			if x.TypeCode == "" {
				x.TypeCode = code
			}
		case schemeDEConfCode:
			x.Confidentiality = append(x.Confidentiality, code)
		}
	}
	// ITI-32: the URI slot names the file relative to METADATA.XML; some
	// producers only name it by the ExtrinsicObject id or the uniqueId.
	for _, cand := range []string{x.URI, x.ID, x.ID + ".xml", x.UniqueID} {
		if cand == "" {
			continue
		}
		if f := members[strings.ToLower(path.Join(dir, cand))]; f != nil {
			x.Member, x.file = f.Name, f
			break
		}
	}
	return x
}

func externalID(e *etree.Element, scheme string) string {
	for _, c := range e.ChildElements() {
		if c.Tag == "ExternalIdentifier" && c.SelectAttrValue("identificationScheme", "") == scheme {
			return strings.TrimSpace(c.SelectAttrValue("value", ""))
		}
	}
	return ""
}

// slotValues returns the trimmed values of the first slot called name.
func slotValues(e *etree.Element, name string) []string {
	for _, c := range e.ChildElements() {
		if c.Tag != "Slot" || c.SelectAttrValue("name", "") != name {
			continue
		}
		var vals []string
		for _, vl := range c.ChildElements() {
			for _, v := range vl.ChildElements() {
				if v.Tag == "Value" {
					vals = append(vals, strings.TrimSpace(v.Text()))
				}
			}
		}
		return vals
	}
	return nil
}

func first(vals []string) string {
	if len(vals) == 0 {
		return ""
	}
	return vals[0]
}

// uriSlot reads the URI slot; long URIs are split into "1|...", "2|..."
// values (ITI TF-3 §4.2.3.2.24).
func uriSlot(e *etree.Element) string {
	if vals := slotValues(e, "URI"); vals != nil {
		if len(vals) == 1 {
			return vals[0]
		}
		sort.SliceStable(vals, func(i, j int) bool { return partIndex(vals[i]) < partIndex(vals[j]) })
		var b strings.Builder
		for _, v := range vals {
			if k := strings.IndexByte(v, '|'); k >= 0 {
				v = v[k+1:]
			}
			b.WriteString(v)
		}
		return b.String()
	}
	return ""
}

func partIndex(v string) int {
	n := 0
	for i := 0; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		n = n*10 + int(v[i]-'0')
	}
	return n
}

// isXMLEntry tells which entries are candidate CDA documents: XDM may also
// carry PDFs or images, which are not checked.
func isXMLEntry(mime string) bool {
	switch strings.ToLower(strings.TrimSpace(mime)) {
	case "", "text/xml", "application/xml", "application/xslt+xml", "application/hl7-cda+xml":
		return true
	}
	return false
}

// CheckXDM checks an IHE XDM zip as CheckBytes does and also returns what
// its METADATA.XML files say, with each DocumentEntry's member hash and
// size computed (nil when the archive could not be used). A document's
// Path is name+"!"+the entry's Member.
func CheckXDM(name string, data []byte, opts Options) (*XDM, []Document) {
	o := opts.withDefaults()
	if int64(len(data)) > o.MaxSize {
		return nil, []Document{tooLarge(name, int64(len(data)), o.MaxSize)}
	}
	return checkXDMTree(name, data, o)
}

// checkXDM checks every CDA document referenced by the archive's
// DocumentEntries and compares the patientIds with their INS.
func checkXDM(name string, data []byte, o Options) []Document {
	_, docs := checkXDMTree(name, data, o)
	return docs
}

func checkXDMTree(name string, data []byte, o Options) (*XDM, []Document) {
	x, out := openXDM(name, data, o)
	if x == nil {
		return nil, out
	}
	for _, s := range x.Subsets {
		var docs []Document
		for i := range s.Entries {
			e := &s.Entries[i]
			if !isXMLEntry(e.MimeType) {
				if e.file != nil {
					if b, bad := readMember(name+"!"+e.Member, e.file, o); bad == nil {
						e.digest(b)
					}
				}
				continue
			}
			if e.file == nil {
				ref := e.URI
				if ref == "" {
					ref = e.ID
				}
				docs = append(docs, archiveDoc(name+"!"+path.Join(s.Dir, ref), RuleXDMMissing.Newf("DocumentEntry "+e.ID,
					"METADATA.XML référence « %s » (DocumentEntry %s) mais l'archive ne le contient pas : ajouter le fichier ou corriger le slot URI",
					"METADATA.XML references %q (DocumentEntry %s) but the archive does not hold it: add the file or fix the URI slot", ref, e.ID)))
				continue
			}
			p := name + "!" + e.Member
			b, bad := readMember(p, e.file, o)
			if bad != nil {
				docs = append(docs, *bad)
				continue
			}
			e.digest(b)
			d := checkXML(p, b)
			comparePatientID(&d, "DocumentEntry "+e.ID+"/patientId", e.PatientID)
			docs = append(docs, d)
		}
		if len(docs) == 0 {
			docs = append(docs, archiveDoc(name+"!"+s.Dir, RuleXDMMissing.Newf(s.Dir+"/METADATA.XML",
				"METADATA.XML ne référence aucun document XML", "METADATA.XML references no XML document")))
		}
		// Compared per document; reported once per subset when malformed.
		_, _, ssBad := ParsePatientID(s.SubmissionSetPatientID)
		reported := false
		for i := range docs {
			if docs[i].Meta != nil && (ssBad == nil || !reported) {
				comparePatientID(&docs[i], "SubmissionSet/patientId", s.SubmissionSetPatientID)
				reported = true
			}
		}
		out = append(out, docs...)
	}
	return x, out
}

// digest records the member's SHA-1 (the hash slot's algorithm, ITI TF-3
// §4.2.3.2.11) and size.
func (e *XDMEntry) digest(b []byte) {
	sum := sha1.Sum(b)
	e.MemberSHA1, e.MemberSize = hex.EncodeToString(sum[:]), int64(len(b))
}

// comparePatientID applies XDM-003 and XDM-004 to one patientId
// (research cda-ins.md §5: CX.1 = matricule INS, CX.4 = &OID&ISO, CX.5 = NH).
func comparePatientID(d *Document, loc, cx string) {
	if d.Meta == nil {
		return
	}
	value, oid, problem := ParsePatientID(cx)
	if problem != nil {
		d.add(RulePatientIDFormat.New(check.Text{
			FR: fmt.Sprintf("patientId « %s » : %s ; forme attendue <matricule INS>^^^&<OID>&ISO^NH", cx, problem.FR),
			EN: fmt.Sprintf("patientId %q: %s; expected form <matricule INS>^^^&<OID>&ISO^NH", cx, problem.EN)}, loc))
		return
	}
	switch {
	case d.INS == nil:
		d.add(RulePatientIDMismatch.Newf(loc, "patientId %s^^^&%s mais le document CDA ne porte pas d'INS", "patientId %s^^^&%s but the CDA document carries no INS", value, oid))
	case d.INS.Value != value || d.INS.OID != oid:
		d.add(RulePatientIDMismatch.Newf(loc,
			"patientId %s (OID %s) différent de l'INS du document CDA %s (OID %s) : les métadonnées doivent reprendre l'INS de l'en-tête",
			"patientId %s (OID %s) differs from the CDA document's INS %s (OID %s): the metadata must carry the header's INS",
			value, oid, d.INS.Value, d.INS.OID))
	}
}

// ParsePatientID splits an XDS patientId of the form
// <matricule>^^^&<OID>&ISO^NH. It returns a reason (FR/EN) when malformed.
func ParsePatientID(cx string) (value, oid string, problem *check.Text) {
	bad := func(fr, en string) (string, string, *check.Text) { return "", "", &check.Text{FR: fr, EN: en} }
	if strings.TrimSpace(cx) == "" {
		return bad("absent", "missing")
	}
	c := strings.Split(cx, "^")
	if len(c) < 4 || c[0] == "" {
		return bad("composants CX manquants", "missing CX components")
	}
	auth := strings.Split(c[3], "&")
	if len(auth) != 3 || !isOID(auth[1]) {
		return bad("autorité d'affectation (CX.4) sans OID", "assigning authority (CX.4) has no OID")
	}
	if auth[2] != "ISO" {
		return bad("type d'autorité (CX.4.3) autre que ISO", "authority type (CX.4.3) other than ISO")
	}
	if len(c) < 5 || c[4] != "NH" {
		return bad("type d'identifiant (CX.5) autre que NH", "identifier type (CX.5) other than NH")
	}
	return c[0], auth[1], nil
}

func isOID(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}
