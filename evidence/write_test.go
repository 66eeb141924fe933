package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"mime"
	"slices"
	"strings"
	"testing"

	"github.com/msscprobe/msscprobe/cda"
)

func TestWriteLayout(t *testing.T) {
	b := writeBundle(t, loadResult(t), Options{IncludePersonalData: true})
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	want := []string{"mimetype", "cda/document.xml", "cda/report.json", "junit.xml", "messages/reply.eml", "messages/sent.eml",
		"report.pdf", "results.json", "tls/imap-chain.pem", "tls/smtp-chain.pem", "transcripts/imap.log", "transcripts/smtp.log",
		"META-INF/ASiCManifest.xml", "META-INF/signature.p7s"}
	if !slices.Equal(names, want) {
		t.Errorf("entries:\n got %q\nwant %q", names, want)
	}
	mt := zr.File[0]
	if off, _ := mt.DataOffset(); mt.Method != zip.Store || off != 38 || len(mt.Extra) != 0 || mt.Flags&0x8 != 0 {
		t.Errorf("mimetype: method %d, data offset %d, extra %d, flags %#x; want stored at 38 with no extra and no data descriptor", mt.Method, off, len(mt.Extra), mt.Flags)
	}
	if !bytes.Contains(b[:80], []byte("mimetype"+mimetypeASiCE)) {
		t.Error("mimetype content not readable at the start of the file")
	}
	refs, err := parseManifest(readMust(t, zr, nameManifest))
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != len(want)-3 {
		t.Errorf("manifest lists %d files, want %d", len(refs), len(want)-3)
	}
	if v := verifyBytes(t, b, VerifyOptions{}); !v.Valid {
		t.Errorf("fresh bundle invalid: %v", v.Problems)
	}
}

func readMust(t *testing.T, zr *zip.Reader, name string) []byte {
	t.Helper()
	for _, f := range zr.File {
		if f.Name == name {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("%s missing", name)
	return nil
}

// Same result, same clock: every entry but the signature is byte-identical,
// in the same order with the same headers (ECDSA signatures are randomised).
func TestWriteDeterministic(t *testing.T) {
	pki := validPKI(t)
	opts := Options{Signer: pki.key, Chain: pki.chain}
	res := loadResult(t)
	a, b := members(t, writeBundle(t, res, opts)), members(t, writeBundle(t, res, opts))
	if len(a) != len(b) {
		t.Fatalf("%d vs %d entries", len(a), len(b))
	}
	for i := range a {
		if a[i].name != b[i].name || (a[i].name != nameSignature && !bytes.Equal(a[i].data, b[i].data)) {
			t.Errorf("entry %d differs: %s vs %s", i, a[i].name, b[i].name)
		}
	}
}

func TestPersonalDataWithheld(t *testing.T) {
	b := writeBundle(t, loadResult(t), Options{})
	if bytes.Contains(b, []byte(testNIR)) {
		t.Error("production INS in the raw bundle bytes")
	}
	fs := members(t, b)
	for _, f := range fs {
		if bytes.Contains(f.data, []byte(testNIR)) {
			t.Errorf("%s holds the production INS", f.name)
		}
		if f.name == "cda/document.xml" {
			t.Error("document with a production INS copied without --include-personal-data")
		}
		if f.name == "messages/sent.eml" && (!bytes.Contains(f.data, []byte("part withheld")) || bytes.Contains(f.data, []byte("UEsDB"))) {
			t.Errorf("sent.eml attachment not withheld:\n%s", f.data)
		}
		if f.name == "messages/sent.eml" && !bytes.Contains(f.data, []byte("Message-ID: <probe-7f3a9c@hopital.test.mssante.fr>")) {
			t.Error("sent.eml lost its headers")
		}
		if f.name == "transcripts/smtp.log" && (bytes.Contains(f.data, []byte("UEsDB")) || !bytes.Contains(f.data, []byte("base64 lines withheld"))) {
			t.Errorf("smtp.log still carries the attachment:\n%s", f.data)
		}
	}
	var res Results
	for _, f := range fs {
		if f.name == nameResults {
			if err := json.Unmarshal(f.data, &res); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !res.PersonalDataWithheld || res.Probe.Document == nil || res.Probe.Document.Documents[0].Status != cda.StatusQualified ||
		res.Probe.Document.Documents[0].INS.Value != strings.Repeat("*", len(testNIR)) {
		t.Errorf("CDA results not kept with a masked INS: %+v", res.Probe.Document)
	}
	v := verifyBytes(t, b, VerifyOptions{})
	if !v.Valid || !v.PersonalDataWithheld {
		t.Errorf("valid=%v withheld=%v %v", v.Valid, v.PersonalDataWithheld, v.Problems)
	}
}

func TestPersonalDataIncludedOnRequestOrForTestINS(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		oid  string
	}{
		{"--include-personal-data", Options{IncludePersonalData: true}, cda.OIDInsNIR},
		{"test INS", Options{}, cda.OIDInsTest},
		{"demo INS", Options{}, cda.OIDInsDemo},
	} {
		res := loadResult(t)
		res.Document.Documents[0].INS.OID = tc.oid
		fs := members(t, writeBundle(t, res, tc.opts))
		if !slices.ContainsFunc(fs, func(f file) bool { return f.name == "cda/document.xml" && bytes.Contains(f.data, []byte(testNIR)) }) {
			t.Errorf("%s: document not copied", tc.name)
		}
	}
}

// The signing key never enters the bundle, in any encoding.
func TestNoPrivateKeyInBundle(t *testing.T) {
	pki := validPKI(t)
	b := writeBundle(t, loadResult(t), Options{Signer: pki.key, Chain: pki.chain, IncludePersonalData: true})
	der, err := x509.MarshalPKCS8PrivateKey(pki.key)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalECPrivateKey(pki.key)
	raw, err := pki.key.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	secrets := [][]byte{der, ecDER, raw, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})}
	scan := [][]byte{b}
	for _, f := range members(t, b) {
		scan = append(scan, f.data)
	}
	for _, s := range secrets {
		for _, data := range scan {
			if bytes.Contains(data, s) {
				t.Fatal("private key material found in the bundle")
			}
		}
	}
}

func TestWithholdAttachmentsKeepsTextAndDSN(t *testing.T) {
	raw := "Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n" +
		"--r\r\nContent-Type: text/plain\r\n\r\nUndelivered\r\n" +
		"--r\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n" +
		"--r\r\nContent-Type: message/rfc822\r\n\r\nSubject: original\r\n\r\nsecret body\r\n--r--\r\n"
	out, err := withholdAttachments([]byte(raw), []string{testNIR})
	if err != nil {
		t.Fatal(err)
	}
	for _, keep := range []string{"Undelivered", "Status: 5.1.1", "report-type=delivery-status", "Type: message/rfc822"} {
		if !bytes.Contains(out, []byte(keep)) {
			t.Errorf("lost %q:\n%s", keep, out)
		}
	}
	if bytes.Contains(out, []byte("secret body")) {
		t.Errorf("embedded message kept:\n%s", out)
	}
}

// A production-INS document withheld also takes the patient's names and
// birth date out of every file: the probe writes them into the subject
// (Ref#2 ECO.2.1.3), which headers (RFC 2047 words split mid-name), check
// messages, the message list, the MDN's returned headers and quoted-
// printable text all repeat.
func TestPersonalDataWithheldIdentity(t *testing.T) {
	const family, given, born = "DURAND-LÉGER", "Éloïse", "19850312"
	subject := "XDM/1.0/DDM+Lettre de liaison " + family + " " + given + " " + born + " [MSSCPROBE-7F3A9C]"
	encoded := mime.QEncoding.Encode("utf-8", subject)
	if !strings.Contains(encoded, "?= =?") {
		t.Fatalf("subject not split into several encoded words: %s", encoded)
	}
	res := loadResult(t)
	res.Document.Documents[0].Meta = &cda.Meta{Title: "Lettre de liaison", BirthFamily: family, BirthGiven: given, BirthTime: born}
	res.Messages[0].Subject = subject
	res.Messages[0].Raw = bytes.Replace(res.Messages[0].Raw, []byte("Subject: XDM/1.0/DDM+msscprobe 7f3a9c"), []byte("Subject: "+encoded), 1)
	res.Steps[2].Checks[0].Message.FR += " ; objet « " + subject + " »"
	qp := "Votre message =C2=AB " + subject[:40] + "=\r\n" + subject[40:] + " =C2=BB a =C3=A9t=C3=A9 re=C3=A7u."
	res.Messages[1].Raw = []byte("From: reponse.automatique-test@patient.mssante.fr\r\nMessage-ID: <reply-1@patient.mssante.fr>\r\nSubject: Re: " + encoded +
		"\r\nContent-Type: multipart/report; report-type=disposition-notification; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp + "\r\n" +
		"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nSubject: " + encoded + "\r\n" +
		"--b--\r\n")
	b := writeBundle(t, res, Options{})
	for _, f := range members(t, b) {
		for _, view := range []string{string(f.data), decodedText(string(f.data))} {
			for _, v := range []string{family, given, born, testNIR} {
				if strings.Contains(view, v) {
					t.Errorf("%s still holds %q", f.name, v)
				}
			}
		}
		if strings.HasPrefix(f.name, "messages/") && !bytes.Contains(f.data, []byte("Message-ID: <")) {
			t.Errorf("%s lost its Message-ID", f.name)
		}
		if f.name == "messages/reply.eml" && !strings.Contains(decodedText(string(f.data)), "Lettre de liaison ************ ****** ********") {
			t.Errorf("reply subject not masked in place:\n%s", f.data)
		}
	}
	if v := verifyBytes(t, b, VerifyOptions{}); !v.Valid {
		t.Errorf("bundle invalid: %v", v.Problems)
	}
	// With --include-personal-data nothing is masked.
	fs := members(t, writeBundle(t, res, Options{IncludePersonalData: true}))
	if !slices.ContainsFunc(fs, func(f file) bool { return f.name == nameResults && bytes.Contains(f.data, []byte(family)) }) {
		t.Error("--include-personal-data: patient name masked anyway")
	}
}
