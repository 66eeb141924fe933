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
	sig, err := signDetached(context.Background(), []byte("manifest"), key, chain, "")
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

// FuzzReadBundle feeds verify's zip reader arbitrary archives, seeded with
// a genuine bundle and crafted ones: never a panic; an accepted archive has
// a first entry, and only the members verify reads kept, within their caps.
// It stops before the signature: under the fuzzing engine, ECDSA
// verification runs at under one execution a second and stalls it
// (FuzzParseCMS covers the CMS reader).
func FuzzReadBundle(f *testing.F) {
	var genuine bytes.Buffer
	if err := Write(context.Background(), &genuine, &probe.Result{Met: true, Token: "fuzz"}, Options{Now: fixedNow}); err != nil {
		f.Fatal(err)
	}
	f.Add(genuine.Bytes())
	f.Add(append(bytes.Clone(genuine.Bytes()), "trailing"...))
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	f.Fuzz(func(t *testing.T, b []byte) {
		members, first, probs, err := readBundle(context.Background(), bytes.NewReader(b), int64(len(b)))
		if err != nil || len(probs) > 0 {
			return
		}
		if len(members) > 0 && first == nil {
			t.Fatal("members without a first entry")
		}
		for _, m := range members {
			limit, kept := keptCaps[m.name]
			if kept != (m.data != nil) || int64(len(m.data)) > limit {
				t.Fatalf("%s: %d bytes kept (kept %v, cap %d)", m.name, len(m.data), kept, limit)
			}
		}
	})
}
