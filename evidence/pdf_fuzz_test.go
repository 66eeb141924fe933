package evidence

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// FuzzVerifyDeliverable feeds the PDF verify path arbitrary bytes: it must
// return a result or an error, never panic or hang, and a file it calls
// valid must have passed every check. The seeds include a real deliverable
// and signed hostile files, so mutations reach the bounded parser behind
// the signature check; ExtractEmbedded runs the parser without it.
func FuzzVerifyDeliverable(f *testing.F) {
	var good bytes.Buffer
	if err := WriteDeliverable(context.Background(), &good, loadResult(f), Options{Now: fixedNow}); err != nil {
		f.Fatal(err)
	}
	f.Add(good.Bytes())
	f.Add(signedHostile(f, signedCatalog("", "<< /Kids [5 0 R] >>")...))
	f.Add(signedHostile(f, append(signedCatalog("", "<< /Names [(a.asice) 5 0 R] >>"), "<< /EF << /F 6 0 R >> >>",
		"<< /Length 3 /Params << /Size 3 >> >>\nstream\nabc\nendstream")...))
	f.Add(hostilePDF("<< /AcroForm " + strings.Repeat("[", 100) + " >>"))
	f.Add([]byte("%PDF-1.7\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		start := time.Now()
		v, err := VerifyDeliverable(bytes.NewReader(b), int64(len(b)), VerifyOptions{})
		if err == nil && v.Valid && (v.Container == "" || v.Fingerprint == "" || v.pdfSigner == "") {
			t.Fatalf("valid without a container, results or signer: %+v", v)
		}
		_, _ = ExtractEmbedded(b)
		if took := time.Since(start); took > 2*time.Second {
			t.Fatalf("took %v on %d bytes", took, len(b))
		}
	})
}
