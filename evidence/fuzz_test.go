package evidence

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/probe"
)

// cmsSeeds are a real signature (with its chain), a timestamped one, and
// the hostile shapes of hostile_test.go.
func cmsSeeds(f *testing.F) [][]byte {
	key, chain, err := ephemeralSigner(time.Now())
	if err != nil {
		f.Fatal(err)
	}
	sig, err := signManifest(context.Background(), []byte("manifest"), key, chain, "")
	if err != nil {
		f.Fatal(err)
	}
	return [][]byte{sig, nestedBER(60), nestedBER(75), deepDER(maxDERDepth, 64), {0x30, 0x80, 0x00, 0x00}}
}

// FuzzParseCMS feeds the CMS reader of verify (and of the TSA client)
// arbitrary bytes: never a panic; whatever is not strict DER within the
// bounds is refused before smallstep/pkcs7 sees it.
func FuzzParseCMS(f *testing.F) {
	for _, s := range cmsSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p7, err := parseCMS(b)
		if derErr := checkDER(b); derErr != nil && !errors.Is(err, ErrNotDER) && !errors.Is(err, ErrCMSLimit) {
			t.Fatalf("refused by the DER check (%v) but parseCMS said %v", derErr, err)
		}
		if err == nil && p7 == nil {
			t.Fatal("no error and no CMS")
		}
	})
}

// FuzzVerify feeds Verify arbitrary archives, seeded with a genuine bundle
// and crafted ones: never a panic, an error only with no verification, and
// a mutated bundle is never valid unless it still holds the signed files.
func FuzzVerify(f *testing.F) {
	var genuine bytes.Buffer
	if err := Write(context.Background(), &genuine, &probe.Result{Met: true, Token: "fuzz"}, Options{Now: fixedNow}); err != nil {
		f.Fatal(err)
	}
	f.Add(genuine.Bytes())
	f.Add(append(bytes.Clone(genuine.Bytes()), "trailing"...))
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Verify(bytes.NewReader(b), int64(len(b)), VerifyOptions{})
		if (err == nil) == (v == nil) {
			t.Fatalf("err %v with verification %v", err, v)
		}
		if err != nil || !v.Valid {
			return
		}
		if len(v.Files) == 0 || v.Signer == nil {
			t.Fatalf("valid without files or signer: %+v", v)
		}
	})
}
