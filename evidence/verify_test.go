package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/msscprobe/msscprobe/check"
)

func TestVerifySigners(t *testing.T) {
	valid := validPKI(t)
	now := time.Now()
	expired := newSignerPKI(t, now.Add(-72*time.Hour), now.Add(-time.Hour))
	other := validPKI(t)
	for _, tc := range []struct {
		name      string
		opts      Options
		roots     *x509.CertPool
		valid     bool
		code      string // expected among the problems ("" = none)
		trusted   bool
		ephemeral bool
	}{
		{"CA-signed, --ca", Options{Signer: valid.key, Chain: valid.chain}, valid.pool(), true, "", true, false},
		{"CA-signed, no --ca", Options{Signer: valid.key, Chain: valid.chain}, nil, true, CodeSignerNotChecked, false, false},
		{"wrong CA", Options{Signer: valid.key, Chain: valid.chain}, other.pool(), false, CodeSignerUntrusted, false, false},
		{"expired signer", Options{Signer: expired.key, Chain: expired.chain}, expired.pool(), false, CodeSignerExpired, false, false},
		{"ephemeral", Options{}, nil, true, CodeSignerEphemeral, false, true},
		{"ephemeral, --ca", Options{}, valid.pool(), false, CodeSignerUntrusted, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := verifyBytes(t, writeBundle(t, loadResult(t), tc.opts), VerifyOptions{Roots: tc.roots})
			if v.Valid != tc.valid || (tc.code != "" && !hasCode(v, tc.code)) || (tc.code == "" && len(v.Problems) > 0) {
				t.Fatalf("valid=%v problems=%v; want valid=%v code %q", v.Valid, codes(v), tc.valid, tc.code)
			}
			if v.Ephemeral != tc.ephemeral || v.Signer == nil || v.Signer.Trusted != tc.trusted {
				t.Errorf("ephemeral=%v signer=%+v", v.Ephemeral, v.Signer)
			}
			if !v.PS41Met || v.Establishment.FINESS != "010000016" || v.Fingerprint == "" {
				t.Errorf("summary facts missing: %+v", v)
			}
		})
	}
}

// Changing a byte anywhere in any entry, then re-zipping, makes the bundle
// invalid with the reason that names that entry.
func TestVerifyTamperedContent(t *testing.T) {
	pki := validPKI(t)
	orig := members(t, writeBundle(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain, IncludePersonalData: true}))
	want := func(name string) []string {
		switch name {
		case nameMimetype:
			return []string{CodeLayout}
		case nameManifest:
			return []string{CodeManifestInvalid, CodeSignatureInvalid}
		case nameSignature:
			// A flip inside the intermediate certificate breaks the chain.
			return []string{CodeSignatureInvalid, CodeSignerExpired, CodeSignerUntrusted}
		}
		return []string{CodeDigestMismatch}
	}
	for i, m := range orig {
		n := len(m.data)
		for _, pos := range []int{0, n / 3, n / 2, 2 * n / 3, n - 1} {
			fs := append([]file(nil), orig...)
			data := bytes.Clone(m.data)
			data[pos] ^= 0x01
			fs[i] = file{m.name, data}
			v := verifyBytes(t, rezip(t, fs), VerifyOptions{Roots: pki.pool()})
			ok := false
			for _, c := range want(m.name) {
				ok = ok || hasCode(v, c)
			}
			if v.Valid || !ok {
				t.Errorf("%s byte %d flipped: valid=%v problems=%v, want one of %v", m.name, pos, v.Valid, codes(v), want(m.name))
			}
		}
	}
}

func TestVerifyRemovedAddedSwapped(t *testing.T) {
	pki := validPKI(t)
	orig := members(t, writeBundle(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain}))
	other := members(t, writeBundle(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain}))
	var otherSig []byte
	for _, f := range other {
		if f.name == nameSignature {
			otherSig = f.data
		}
	}
	edit := func(f func([]file) []file) []byte { return rezip(t, f(append([]file(nil), orig...))) }
	for _, tc := range []struct {
		name string
		b    []byte
		code string
		file string
	}{
		{"removed", edit(func(fs []file) []file { return remove(fs, "junit.xml") }), CodeFileMissing, "junit.xml"},
		{"added", edit(func(fs []file) []file { return append(fs, file{"extra.txt", []byte("x")}) }), CodeFileUnlisted, "extra.txt"},
		{"added in META-INF", edit(func(fs []file) []file { return append(fs, file{"META-INF/x.xml", []byte("x")}) }), CodeFileUnlisted, "META-INF/x.xml"},
		{"no signature", edit(func(fs []file) []file { return remove(fs, nameSignature) }), CodeSignatureMissing, nameSignature},
		{"no manifest", edit(func(fs []file) []file { return remove(fs, nameManifest) }), CodeManifestMissing, nameManifest},
		{"signature of another bundle", edit(func(fs []file) []file {
			for i := range fs {
				if fs[i].name == nameSignature {
					fs[i].data = otherSig
				}
			}
			return fs
		}), CodeSignatureInvalid, nameSignature},
		{"mimetype not first", edit(func(fs []file) []file { return append(fs[1:], fs[0]) }), CodeLayout, nameMimetype},
	} {
		v := verifyBytes(t, tc.b, VerifyOptions{Roots: pki.pool()})
		found := false
		for _, p := range v.Problems {
			found = found || (p.Code == tc.code && p.File == tc.file)
		}
		if v.Valid || !found {
			t.Errorf("%s: valid=%v problems=%v, want %s on %s", tc.name, v.Valid, v.Problems, tc.code, tc.file)
		}
		checkProblemsReadable(t, v)
	}
}

// checkProblemsReadable: every problem is one line, and the French one
// carries no library dump (a changed file once printed pkcs7's
// multi-line English "Message digest mismatch").
func checkProblemsReadable(t *testing.T, v *Verification) {
	t.Helper()
	for _, p := range v.Problems {
		if strings.ContainsAny(p.Message.FR+p.Message.EN, "\n\t") || strings.Contains(p.Message.FR, "pkcs7") || strings.Contains(p.Message.FR, "mismatch") {
			t.Errorf("%s: message not one readable line: %q / %q", p.Code, p.Message.FR, p.Message.EN)
		}
	}
}

func remove(fs []file, name string) []file {
	var out []file
	for _, f := range fs {
		if f.name != name {
			out = append(out, f)
		}
	}
	return out
}

// A bundle whose results.json and report.pdf disagree, although properly
// signed, is invalid: the signer cannot say two things.
func TestVerifyVerdictMismatch(t *testing.T) {
	res := loadResult(t)
	var good, bad bytes.Buffer
	if err := Write(context.Background(), &good, res, Options{Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	res.Met = false
	if err := Write(context.Background(), &bad, res, Options{Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	var badPDF []byte
	for _, f := range members(t, bad.Bytes()) {
		if f.name == nameReport {
			badPDF = f.data
		}
	}
	fs := members(t, good.Bytes())
	var data []file
	for _, f := range fs {
		if f.name == nameReport {
			f.data = badPDF
		}
		if !containerFile(f.name) {
			data = append(data, f)
		}
	}
	v := verifyBytes(t, resigned(t, data, renderManifest(manifestFor(data))), VerifyOptions{})
	if v.Valid || !hasCode(v, CodeVerdictMismatch) {
		t.Errorf("valid=%v problems=%v, want %s", v.Valid, codes(v), CodeVerdictMismatch)
	}
}

func TestVerifyTimestamp(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tsa, other := startTSA(t), startTSA(t)
	pki := validPKI(t)
	b := writeBundle(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain, TSAURL: tsa.URL})
	if tsa.Requests.Load() != 1 {
		t.Errorf("TSA served %d requests, want 1", tsa.Requests.Load())
	}
	tsaRoots := x509.NewCertPool()
	tsaRoots.AddCert(tsa.Root)
	wrongRoots := x509.NewCertPool()
	wrongRoots.AddCert(other.Root)

	v := verifyBytes(t, b, VerifyOptions{Roots: pki.pool(), TSARoots: tsaRoots})
	if !v.Valid || len(v.Problems) > 0 || v.Timestamp == nil || !v.Timestamp.Anchored || time.Since(v.Timestamp.Time) > time.Minute {
		t.Errorf("anchored timestamp: valid=%v problems=%v ts=%+v", v.Valid, v.Problems, v.Timestamp)
	}
	v = verifyBytes(t, b, VerifyOptions{Roots: pki.pool()})
	if !v.Valid || !hasCode(v, CodeTimestampNotChecked) || v.Timestamp == nil {
		t.Errorf("unanchored timestamp: valid=%v problems=%v", v.Valid, codes(v))
	}
	v = verifyBytes(t, b, VerifyOptions{Roots: pki.pool(), TSARoots: wrongRoots})
	if v.Valid || !hasCode(v, CodeTimestampUntrusted) {
		t.Errorf("wrong TSA root: valid=%v problems=%v", v.Valid, codes(v))
	}

	// A timestamp proves the signer certificate was valid when it signed,
	// even after it expires.
	later := func() time.Time { return time.Now().Add(30 * 24 * time.Hour) }
	v = verifyBytes(t, b, VerifyOptions{Roots: pki.pool(), TSARoots: tsaRoots, Now: later})
	if !v.Valid {
		t.Errorf("timestamped bundle after signer expiry: %v", v.Problems)
	}
	// An unanchored timestamp proves nothing about time (anyone can run a
	// TSA): it must not rescue an expired signer.
	if v := verifyBytes(t, b, VerifyOptions{Roots: pki.pool(), Now: later}); v.Valid || !hasCode(v, CodeSignerExpired) {
		t.Errorf("unanchored timestamp after signer expiry: valid=%v %v", v.Valid, codes(v))
	}
	noTS := writeBundle(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain})
	if v := verifyBytes(t, noTS, VerifyOptions{Roots: pki.pool(), Now: later}); v.Valid || !hasCode(v, CodeSignerExpired) {
		t.Errorf("untimestamped bundle after signer expiry: valid=%v %v", v.Valid, codes(v))
	}

	tsa.Refuse.Store(true)
	if err := Write(ctx, &bytes.Buffer{}, loadResult(t), Options{TSAURL: tsa.URL}); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("refusing TSA: err = %v", err)
	}
	if err := Write(ctx, &bytes.Buffer{}, loadResult(t), Options{TSAURL: "http://127.0.0.1:1/tsa"}); err == nil {
		t.Error("unreachable TSA: no error")
	}
}

// Malicious archives are refused from the central directory, before any
// decompression; garbage is an error (exit 2), not a verdict.
func TestVerifyMaliciousArchives(t *testing.T) {
	build := func(t *testing.T, names []string, method uint16, data []byte) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, n := range names {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: method})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
		}
		zw.Close()
		return buf.Bytes()
	}
	bomb := build(t, []string{"mimetype", "report.pdf"}, zip.Deflate, make([]byte, 8<<20))
	// Lie about the size in the central directory: 1 TiB declared.
	huge := build(t, []string{"mimetype", "big.bin"}, zip.Store, []byte("x"))
	patchCentralSize(t, huge, "big.bin", 1<<40)
	for _, tc := range []struct {
		name string
		b    []byte
		code string
	}{
		{"path traversal", build(t, []string{"mimetype", "../../etc/passwd"}, zip.Store, []byte("x")), CodeUnsafePath},
		{"absolute path", build(t, []string{"/etc/passwd"}, zip.Store, []byte("x")), CodeUnsafePath},
		{"backslash", build(t, []string{`..\evil`}, zip.Store, []byte("x")), CodeUnsafePath},
		{"accented name", build(t, []string{"mimetype", "résultats.json"}, zip.Store, []byte("x")), CodeUnsafePath},
		{"NFD twin", build(t, []string{"mimetype", "re\u0301sultats.json"}, zip.Store, []byte("x")), CodeUnsafePath},
		{"bidi override", build(t, []string{"mimetype", "report\u202efdp.exe"}, zip.Store, []byte("x")), CodeUnsafePath},
		{"fullwidth look-alike", build(t, []string{"mimetype", "ｒeport.pdf"}, zip.Store, []byte("x")), CodeUnsafePath},
		{"not UTF-8", build(t, []string{"mimetype", "r\xe9sultats.json"}, zip.Store, []byte("x")), CodeUnsafePath},
		{"colon", build(t, []string{"mimetype", "C:report.pdf"}, zip.Store, []byte("x")), CodeUnsafePath},
		{"duplicate", build(t, []string{"mimetype", "a.txt", "a.txt"}, zip.Store, []byte("x")), CodeDuplicateEntry},
		{"case duplicate", build(t, []string{"a.txt", "A.TXT"}, zip.Store, []byte("x")), CodeDuplicateEntry},
		{"zip bomb", bomb, CodeEntryTooLarge},
		{"huge declared entry", huge, CodeEntryTooLarge},
		{"too many entries", build(t, manyNames(maxEntries+1), zip.Store, nil), CodeTooManyEntries},
	} {
		v := verifyBytes(t, tc.b, VerifyOptions{})
		if v.Valid || !hasCode(v, tc.code) {
			t.Errorf("%s: valid=%v problems=%v, want %s", tc.name, v.Valid, codes(v), tc.code)
		}
	}
	for _, garbage := range [][]byte{nil, []byte("not a zip"), []byte("PK\x03\x04 truncated")} {
		if _, err := Verify(bytes.NewReader(garbage), int64(len(garbage)), VerifyOptions{}); err == nil {
			t.Errorf("%q: no error", garbage)
		}
	}
}

func manyNames(n int) []string {
	var s []string
	for i := range n {
		s = append(s, fmt.Sprintf("f%d", i))
	}
	return s
}

// patchCentralSize rewrites the uncompressed size of name in the central
// directory (signature 0x02014b50, size at offset 24, name at 46).
func patchCentralSize(t *testing.T, b []byte, name string, size uint64) {
	t.Helper()
	i := bytes.Index(b, []byte("PK\x01\x02"))
	for i >= 0 && i+46 <= len(b) {
		nl := int(binary.LittleEndian.Uint16(b[i+28:]))
		if string(b[i+46:i+46+nl]) == name {
			binary.LittleEndian.PutUint32(b[i+24:], uint32(min(size, 0xfffffffe)))
			return
		}
		j := bytes.Index(b[i+4:], []byte("PK\x01\x02"))
		if j < 0 {
			break
		}
		i += 4 + j
	}
	t.Fatalf("%s not in the central directory", name)
}

func TestWriteTextSummary(t *testing.T) {
	pki := validPKI(t)
	eph := verifyBytes(t, writeBundle(t, loadResult(t), Options{}), VerifyOptions{})
	trusted := verifyBytes(t, writeBundle(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain}), VerifyOptions{Roots: pki.pool()})
	fs := members(t, writeBundle(t, loadResult(t), Options{}))
	for i, f := range fs {
		if f.name == nameReport {
			fs[i].data = append(bytes.Clone(f.data), ' ')
		}
	}
	tampered := verifyBytes(t, rezip(t, fs), VerifyOptions{})
	for _, tc := range []struct {
		name   string
		v      *Verification
		lang   check.Lang
		want   []string
		unwant []string
	}{
		{"ephemeral fr", eph, check.FR, []string{"TEST — PS 4.1 atteint contre un opérateur de test (127.0.0.1) — dossier intègre, signé par une clé éphémère (identité non prouvée)\n", "PS 4.1 atteint", "Hôpital Sainte-Émilie de Test",
			"FINESS 010000016", "2026-05-04 10:00:00 UTC", "Testé :                SMTP 127.0.0.1:587, IMAP 127.0.0.1:143 → reponse.automatique-test@patient.mssante.fr",
			"clé éphémère", "META-INF/signature.p7s : signé"}, []string{"non fiable"}},
		{"ephemeral en", eph, check.EN, []string{"TEST — PS 4.1 met against a test operator (127.0.0.1) — evidence intact, signed with an ephemeral key (identity not proven)\n", "PS 4.1 met", "ephemeral key", "META-INF/signature.p7s: signed"}, nil},
		{"trusted fr", trusted, check.FR, []string{"TEST — PS 4.1 atteint contre un opérateur de test (127.0.0.1) — dossier intègre, signé par Hôpital Sainte-Émilie de Test (identité vérifiée)\n", "rattaché aux autorités fournies"}, []string{"intégrité seulement"}},
		{"tampered fr", tampered, check.FR, []string{"TEST — PS 4.1 atteint contre un opérateur de test (127.0.0.1) — DOSSIER NON INTÈGRE (modifié ou mal signé), signé par une clé éphémère", "report.pdf : contenu modifié", "n'est pas fiable"}, nil},
	} {
		var b strings.Builder
		if err := tc.v.WriteText(&b, tc.lang); err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: summary lacks %q:\n%s", tc.name, w, b.String())
			}
		}
		for _, w := range tc.unwant {
			if strings.Contains(b.String(), w) {
				t.Errorf("%s: summary has %q:\n%s", tc.name, w, b.String())
			}
		}
	}
}

// A manifest that is signed (anyone can sign with a throw-away key) but
// not in the one form the writer makes is refused, whatever the trick.
func TestVerifyHostileManifest(t *testing.T) {
	var data []file
	for _, f := range members(t, writeBundle(t, loadResult(t), Options{})) {
		if !containerFile(f.name) {
			data = append(data, f)
		}
	}
	refs := manifestFor(data)
	good := renderManifest(refs)
	withDoctype := func(doctype string) []byte {
		return bytes.Replace(good, []byte("?>\n"), []byte("?>\n"+doctype+"\n"), 1)
	}
	laughs := `<!DOCTYPE asic:ASiCManifest [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>`
	mimetypeSum := sha256.Sum256([]byte(mimetypeASiCE))
	for _, tc := range []struct {
		name     string
		manifest []byte
	}{
		{"file listed twice", renderManifest(append(slices.Clone(refs), refs[0]))},
		{"out of order", renderManifest(append([]manifestRef{refs[1], refs[0]}, refs[2:]...))},
		{"container file listed", renderManifest(append([]manifestRef{{URI: nameMimetype, MimeType: "text/plain", Digest: mimetypeSum[:]}}, refs...))},
		{"DOCTYPE", withDoctype(`<!DOCTYPE asic:ASiCManifest SYSTEM "file:///etc/passwd">`)},
		{"entity expansion", bytes.Replace(withDoctype(laughs), []byte(`URI="junit.xml"`), []byte(`URI="&c;"`), 1)},
		{"CRLF line ends", bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n"))},
		{"foreign element", bytes.Replace(good, []byte("</asic:ASiCManifest>"), []byte("<x:y xmlns:x=\"urn:x\"/></asic:ASiCManifest>"), 1)},
	} {
		v := verifyBytes(t, resigned(t, data, tc.manifest), VerifyOptions{})
		if v.Valid || !hasCode(v, CodeManifestInvalid) {
			t.Errorf("%s: valid=%v problems=%v, want %s", tc.name, v.Valid, codes(v), CodeManifestInvalid)
		}
	}
	if v := verifyBytes(t, resigned(t, data, good), VerifyOptions{}); !v.Valid {
		t.Errorf("control: the canonical manifest re-signed is refused: %v", codes(v))
	}
}

// The archive must be exactly what its central directory says: readers
// that stream local headers must see the same files Verify checked.
func TestVerifyZipStructure(t *testing.T) {
	good := writeBundle(t, loadResult(t), Options{})
	le := binary.LittleEndian
	eocd := len(good) - 22
	if le.Uint32(good[eocd:]) != 0x06054b50 {
		t.Fatal("test bundle has an archive comment")
	}
	cdOffset := int(le.Uint32(good[eocd+16:]))
	localName := bytes.Clone(good)
	i := bytes.Index(localName, []byte("PK\x03\x04"))
	for i >= 0 && string(localName[i+30:i+30+len("junit.xml")]) != "junit.xml" {
		i = bytes.Index(localName[i+4:], []byte("PK\x03\x04")) + i + 4
	}
	copy(localName[i+30:], "junit.xmX")
	// A whole local entry slipped in before the central directory.
	var hidden bytes.Buffer
	hidden.Write(good[:cdOffset])
	hidden.Write(localEntry("report.pdf", []byte("%PDF-1.7 PS 4.1 ATTEINT")))
	extra := hidden.Len() - cdOffset
	hidden.Write(good[cdOffset:])
	hb := hidden.Bytes()
	le.PutUint32(hb[len(hb)-22+16:], uint32(cdOffset+extra))
	comment := append(bytes.Clone(good[:len(good)-2]), 0x0e, 0x00)
	comment = append(comment, "PS 4.1 ATTEINT"...)
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"local name differs from central directory", localName},
		{"hidden local entry", hb},
		{"archive comment", comment},
		{"prepended bytes", append([]byte("%PDF-1.7\n% polyglot\n"), good...)},
		{"appended bytes", append(bytes.Clone(good), "trailing"...)},
	} {
		v, err := Verify(bytes.NewReader(tc.b), int64(len(tc.b)), VerifyOptions{})
		if err != nil {
			continue // unreadable is refused too (exit 2)
		}
		if v.Valid || !(hasCode(v, CodeZipStructure) || hasCode(v, CodeLayout)) {
			t.Errorf("%s: valid=%v problems=%v, want %s", tc.name, v.Valid, codes(v), CodeZipStructure)
		}
	}
	// Truncated anywhere: never valid, never a panic.
	for _, n := range []int{len(good) - 1, len(good) - 22, cdOffset + 10, cdOffset, len(good) / 2, 100, 38} {
		if v, err := Verify(bytes.NewReader(good[:n]), int64(n), VerifyOptions{}); err == nil && v.Valid {
			t.Errorf("truncated to %d bytes: valid", n)
		}
	}
}

// localEntry is a stored local file header and its data.
func localEntry(name string, data []byte) []byte {
	h := make([]byte, 30, 30+len(name)+len(data))
	le := binary.LittleEndian
	le.PutUint32(h, 0x04034b50)
	le.PutUint16(h[4:], 20)
	le.PutUint32(h[14:], crc32.ChecksumIEEE(data))
	le.PutUint32(h[18:], uint32(len(data)))
	le.PutUint32(h[22:], uint32(len(data)))
	le.PutUint16(h[26:], uint16(len(name)))
	return append(append(h, name...), data...)
}

// A signature with a second signer, or with extra certificates, is judged
// on the one signer the format allows; extra certificates never make an
// untrusted signer trusted.
func TestVerifyHostileSignature(t *testing.T) {
	pki, other := validPKI(t), validPKI(t)
	var data []file
	var manifest []byte
	for _, f := range members(t, writeBundle(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain})) {
		switch {
		case f.name == nameManifest:
			manifest = f.data
		case !containerFile(f.name):
			data = append(data, f)
		}
	}
	bundle := func(sign func(sd *pkcs7.SignedData)) []byte {
		sd, err := pkcs7.NewSignedData(manifest)
		if err != nil {
			t.Fatal(err)
		}
		sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
		sign(sd)
		sd.Detach()
		sig, err := sd.Finish()
		if err != nil {
			t.Fatal(err)
		}
		all := append([]file{{nameMimetype, []byte(mimetypeASiCE)}}, data...)
		return rezip(t, append(all, file{nameManifest, manifest}, file{nameSignature, sig}))
	}
	add := func(sd *pkcs7.SignedData, p *signerPKI, extra ...*x509.Certificate) {
		cfg := pkcs7.SignerInfoConfig{ExtraSignedAttributes: []pkcs7.Attribute{essAttribute(p.chain[0])}}
		if err := sd.AddSignerChain(p.chain[0], p.key, p.chain[1:], cfg); err != nil {
			t.Fatal(err)
		}
		for _, c := range extra {
			sd.AddCertificate(c)
		}
	}
	twoSigners := bundle(func(sd *pkcs7.SignedData) { add(sd, pki); add(sd, other) })
	if v := verifyBytes(t, twoSigners, VerifyOptions{Roots: pki.pool()}); v.Valid || !hasCode(v, CodeSignatureInvalid) {
		t.Errorf("two signers: valid=%v %v", v.Valid, codes(v))
	}
	// The other PKI's root and intermediate ride along: the signer still
	// does not chain to the roots it was checked against.
	extraCerts := bundle(func(sd *pkcs7.SignedData) { add(sd, other, pki.root, pki.chain[1]) })
	if v := verifyBytes(t, extraCerts, VerifyOptions{Roots: pki.pool()}); v.Valid || !hasCode(v, CodeSignerUntrusted) {
		t.Errorf("extra certificates: valid=%v %v", v.Valid, codes(v))
	}
	noESS := bundle(func(sd *pkcs7.SignedData) {
		if err := sd.AddSignerChain(pki.chain[0], pki.key, pki.chain[1:], pkcs7.SignerInfoConfig{}); err != nil {
			t.Fatal(err)
		}
	})
	if v := verifyBytes(t, noESS, VerifyOptions{Roots: pki.pool()}); v.Valid || !hasCode(v, CodeSignatureInvalid) {
		t.Errorf("no ESS attribute: valid=%v %v", v.Valid, codes(v))
	}
	if v := verifyBytes(t, bundle(func(sd *pkcs7.SignedData) { add(sd, pki) }), VerifyOptions{Roots: pki.pool()}); !v.Valid {
		t.Errorf("control: %v", v.Problems)
	}
}
