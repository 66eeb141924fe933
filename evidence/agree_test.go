package evidence

import (
	"bytes"
	"encoding/binary"
	"encoding/pem"
	"strings"
	"testing"
)

// The documented openssl script and Verify must give the same answer on
// bundles crafted to pass one and not the other: each refuses every
// zip-level field the format forbids, and neither follows a link or reads
// a name as an option.
func TestScriptAndVerifyAgree(t *testing.T) {
	needTools(t, "openssl", "unzip", "awk", "od")
	script := docScript(t)
	pki, other := validPKI(t), validPKI(t)
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: pki.root.Raw})
	otherPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other.root.Raw})

	var data []rawEntry
	for _, f := range members(t, writeBundle(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain})) {
		if !containerFile(f.name) {
			data = append(data, rawEntry{name: f.name, data: f.data, deflate: true})
		}
	}
	// with returns the data files with entry name changed by change.
	with := func(name string, change func(e *rawEntry)) []rawEntry {
		out := make([]rawEntry, 0, len(data)+1)
		found := false
		for _, e := range data {
			if e.name == name {
				change(&e)
				found = true
			}
			out = append(out, e)
		}
		if !found {
			e := rawEntry{name: name, data: []byte("added\n"), deflate: true}
			change(&e)
			out = append(out, e)
		}
		return out
	}
	signed := func(entries []rawEntry) []byte { return rawZip(t, signedEntries(t, pki, entries, nil)) }
	// afterSigning signs data, then applies change to the entries.
	afterSigning := func(change func([]rawEntry) []rawEntry) []byte {
		return rawZip(t, change(signedEntries(t, pki, data, nil)))
	}
	const unixHost, unixFile, unixSetuid = 3 << 8, 0o100644 << 16, 0o104755 << 16
	genuine := signed(data)
	withComment := bytes.Clone(genuine)
	binary.LittleEndian.PutUint16(withComment[len(withComment)-2:], 5)
	withComment = append(withComment, "hello"...)

	for _, tc := range []struct {
		name  string
		b     []byte
		ca    []byte
		valid bool
		code  string
	}{
		{name: "genuine", b: genuine, valid: true},
		{name: "genuine, Unix modes", b: signed(with("junit.xml", func(e *rawEntry) { e.creator, e.extAttrs = unixHost, unixFile })), valid: true},
		{name: "wrong CA", b: genuine, ca: otherPEM, code: CodeSignerUntrusted},
		{name: "modified file", code: CodeDigestMismatch, b: afterSigning(func(es []rawEntry) []rawEntry {
			for i := range es {
				if es[i].name == "junit.xml" {
					es[i].data = append(bytes.Clone(es[i].data), ' ')
				}
			}
			return es
		})},
		{name: "added file", code: CodeFileUnlisted, b: afterSigning(func(es []rawEntry) []rawEntry {
			return append(es, rawEntry{name: "notes.txt", data: []byte("PS 4.1 atteint\n")})
		})},
		{name: "removed file", code: CodeFileMissing, b: afterSigning(func(es []rawEntry) []rawEntry {
			var out []rawEntry
			for _, e := range es {
				if e.name != "junit.xml" {
					out = append(out, e)
				}
			}
			return out
		})},
		{name: "symlink entry", code: CodeUnsafeEntry, b: signed(with("junit.xml", func(e *rawEntry) {
			e.data, e.deflate, e.creator, e.extAttrs = []byte("/etc/hostname"), false, unixHost, 0o120777<<16
		}))},
		{name: "setuid entry", code: CodeUnsafeEntry, b: signed(with("junit.xml", func(e *rawEntry) { e.creator, e.extAttrs = unixHost, unixSetuid }))},
		// unzip honours the Unix bits of an MS-DOS entry when they agree
		// with its read-only bit: it extracts a symlink or a setuid file.
		{name: "symlink bits on an MS-DOS entry", code: CodeUnsafeEntry, b: signed(with("junit.xml", func(e *rawEntry) { e.extAttrs = 0o120644 << 16 }))},
		{name: "setuid bits on an MS-DOS entry", code: CodeUnsafeEntry, b: signed(with("junit.xml", func(e *rawEntry) { e.extAttrs = 0o104644 << 16 }))},
		{name: "Unix entry without file type", code: CodeUnsafeEntry, b: signed(with("junit.xml", func(e *rawEntry) { e.creator, e.extAttrs = unixHost, 0o644<<16 }))},
		{name: "NTFS creator", code: CodeZipField, b: signed(with("junit.xml", func(e *rawEntry) { e.creator = 11 << 8 }))},
		{name: "genuine, MS-DOS entry with Unix file bits", b: signed(with("junit.xml", func(e *rawEntry) { e.extAttrs = unixFile })), valid: true},
		{name: "central extra field", code: CodeZipField, b: signed(with("junit.xml", func(e *rawEntry) { e.cdXtra = []byte{0xfe, 0xca, 4, 0, 'h', 'i', 'd', 'e'} }))},
		{name: "local extra field", code: CodeZipField, b: signed(with("junit.xml", func(e *rawEntry) { e.localXtra = []byte{0xfe, 0xca, 4, 0, 'h', 'i', 'd', 'e'} }))},
		{name: "version needed 4.5", code: CodeZipField, b: signed(with("junit.xml", func(e *rawEntry) { e.version = 45 }))},
		{name: "unknown flag", code: CodeZipField, b: signed(with("junit.xml", func(e *rawEntry) { e.flags = 0x2000 }))},
		{name: "local name differs", code: CodeZipStructure, b: signed(with("junit.xml", func(e *rawEntry) { e.localName = "../../x.xml" }))},
		{name: "name starting with -", code: CodeUnsafePath, b: signed(with("-n", func(*rawEntry) {}))},
		{name: "folder starting with -", code: CodeUnsafePath, b: signed(with("cda/-x.xml", func(*rawEntry) {}))},
		{name: "climbing name", code: CodeUnsafePath, b: signed(with("../evil.txt", func(*rawEntry) {}))},
		{name: "directory entry", code: CodeUnsafePath, b: signed(with("cda/", func(e *rawEntry) { e.data, e.deflate = nil, false }))},
		{name: "names equal ignoring case", code: CodeDuplicateEntry, b: signed(with("JUNIT.xml", func(*rawEntry) {}))},
		{name: "archive comment", code: CodeZipStructure, b: withComment},
		{name: "appended bytes", code: CodeZipStructure, b: append(bytes.Clone(genuine), "trailing"...)},
		{name: "mimetype compressed", code: CodeLayout, b: afterSigning(func(es []rawEntry) []rawEntry { es[0].deflate = true; return es })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := caPEM
			if tc.ca != nil {
				ca = tc.ca
			}
			roots := pki.pool()
			if tc.ca != nil {
				roots = other.pool()
			}
			var verdict bool
			var got []string
			if v, err := Verify(bytes.NewReader(tc.b), int64(len(tc.b)), VerifyOptions{Roots: roots}); err == nil {
				verdict, got = v.Valid, codes(v)
			}
			out, err := runDocScript(t, script, tc.b, ca)
			scriptOK := err == nil && strings.Contains(out, "Bundle OK")
			if verdict != tc.valid || scriptOK != tc.valid {
				t.Errorf("want valid=%v: verify valid=%v %v, script ok=%v\n%s", tc.valid, verdict, got, scriptOK, out)
			}
			if tc.code != "" && !strings.Contains(strings.Join(got, " "), tc.code) {
				t.Errorf("verify problems %v, want %s", got, tc.code)
			}
		})
	}
}
