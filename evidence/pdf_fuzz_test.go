package evidence

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"
	"time"
)

// FuzzVerifyDeliverable feeds the PDF verify path arbitrary bytes: it must
// return a result or an error, never panic or hang. ExtractEmbedded runs
// the bounded parser on every path verify takes after the signature check,
// cmsFromContents the DER check of the signature value. Inputs with a
// ByteRange go through VerifyDeliverable in the plain test run only: under
// the fuzzing engine, inputs reaching the signature's ECDSA verification
// ran at under one execution a second (unsigned ones at thousands), which
// stalls it.
func FuzzVerifyDeliverable(f *testing.F) {
	fuzzing := flag.Lookup("test.fuzz") != nil && flag.Lookup("test.fuzz").Value.String() != ""
	// A whole deliverable is a seed of the plain test run only (see above).
	if !fuzzing {
		var good bytes.Buffer
		if err := WriteDeliverable(context.Background(), &good, loadResult(f), Options{Now: fixedNow}); err != nil {
			f.Fatal(err)
		}
		f.Add(good.Bytes())
	}
	f.Add(signedHostile(f, signedCatalog("", "<< /Kids [5 0 R] >>")...))
	f.Add(signedHostile(f, append(signedCatalog("", "<< /Names [(a.asice) 5 0 R] >>"), "<< /EF << /F 6 0 R >> >>",
		"<< /Length 3 /Params << /Size 3 >> >>\nstream\nabc\nendstream")...))
	f.Add(hostilePDF("<< /AcroForm " + strings.Repeat("[", 100) + " >>"))
	f.Add(hostilePDF("<< /Names << /EmbeddedFiles 2 0 R >> >>", "<< /Names [(x) 3 0 R] >>", "<< /EF << /F 4 0 R >> >>",
		"<< /Length 3 /Params << /Size 3 >> >>\nstream\nabc\nendstream"))
	f.Add([]byte("%PDF-1.7\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		start := time.Now()
		if !fuzzing || !bytes.Contains(b, []byte("/ByteRange")) {
			v, err := VerifyDeliverable(bytes.NewReader(b), int64(len(b)), VerifyOptions{})
			if err == nil && v.Valid && (v.Container == "" || v.Fingerprint == "" || v.pdfSigner == "") {
				t.Fatalf("valid without a container, results or signer: %+v", v)
			}
		}
		_, _ = ExtractEmbedded(b)
		_, _ = cmsFromContents(b)
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("took %v on %d bytes", took, len(b))
		}
	})
}
