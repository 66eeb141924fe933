package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/internal/testpki"
	"github.com/msscprobe/msscprobe/mocks"
	"github.com/msscprobe/msscprobe/probe"
)

const fixtures = "../testdata/evidence"

// testNIR is the production INS carried by the fixture document.
const testNIR = "279035121518989"

// loadResult builds the hand-made probe result of testdata/evidence: a
// met PS 4.1 run with a document carrying a production INS.
func loadResult(t testing.TB) *probe.Result {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var res probe.Result
	if err := json.Unmarshal(read("result.json"), &res); err != nil {
		t.Fatal(err)
	}
	res.SMTPTranscript = read("smtp.log")
	res.IMAPTranscript = read("imap.log")
	res.Messages[0].Raw = read("sent.eml")
	res.Messages[1].Raw = read("reply.eml")
	res.Attachment = &probe.Attachment{Name: "document.xml", Raw: read("document.xml")}
	ca := newCA(t, "mock MSSanté operator")
	res.SMTP.PeerChain = [][]byte{ca.Cert.Raw}
	res.IMAP.PeerChain = [][]byte{ca.Cert.Raw}
	return &res
}

// fixedNow is the generation time used in tests.
func fixedNow() time.Time { return time.Date(2026, 5, 4, 10, 1, 0, 0, time.UTC) }

// newCA makes a self-signed root valid two days either side of now.
func newCA(t testing.TB, cn string) *testpki.CA {
	t.Helper()
	k, now := testpki.Key(t), time.Now()
	return &testpki.CA{Cert: testpki.Issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: cn, Organization: []string{"Test"}}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}, nil, k.Public(), k), Key: k}
}

// signerPKI is a root, an intermediate and a leaf signer.
type signerPKI struct {
	root  *x509.Certificate
	key   *ecdsa.PrivateKey
	chain []*x509.Certificate // leaf, intermediate
}

func newSignerPKI(t *testing.T, notBefore, notAfter time.Time) *signerPKI {
	t.Helper()
	root := newCA(t, "IGC Santé TEST racine")
	interKey := testpki.Key(t)
	inter := &testpki.CA{Cert: testpki.Issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "IGC Santé TEST organisations"}, NotBefore: root.Cert.NotBefore, NotAfter: root.Cert.NotAfter,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}, root, interKey.Public(), nil), Key: interKey}
	key := testpki.Key(t)
	leaf := testpki.Issue(t, &x509.Certificate{
		Subject:   pkix.Name{CommonName: "Hôpital Sainte-Émilie de Test", Organization: []string{"010000016"}},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}, inter, key.Public(), nil)
	return &signerPKI{root: root.Cert, key: key, chain: []*x509.Certificate{leaf, inter.Cert}}
}

func (p *signerPKI) pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.root)
	return pool
}

func validPKI(t *testing.T) *signerPKI {
	now := time.Now()
	return newSignerPKI(t, now.Add(-time.Hour), now.Add(24*time.Hour))
}

func writeBundle(t *testing.T, res *probe.Result, opts Options) []byte {
	t.Helper()
	return written(t, Write, res, opts)
}

// written runs a writer (Write or WriteDeliverable) at the fixed time.
func written(t *testing.T, write func(context.Context, io.Writer, *probe.Result, Options) error, res *probe.Result, opts Options) []byte {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	var buf bytes.Buffer
	if err := write(context.Background(), &buf, res, opts); err != nil {
		t.Fatalf("writing: %v", err)
	}
	return buf.Bytes()
}

func verifyBytes(t *testing.T, b []byte, opts VerifyOptions) *Verification {
	t.Helper()
	v, err := Verify(bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return v
}

func codes(v *Verification) []string {
	var cs []string
	for _, p := range v.Problems {
		cs = append(cs, p.Code)
	}
	return cs
}

func hasCode(v *Verification, code string) bool { return slices.Contains(codes(v), code) }

// members lists a bundle's entries with their bytes, after Verify's
// reader found the archive sound (test-side reading of trusted bundles).
func members(t *testing.T, b []byte) []file {
	t.Helper()
	if _, _, probs, err := readBundle(context.Background(), bytes.NewReader(b), int64(len(b))); err != nil || len(probs) > 0 {
		t.Fatalf("reading bundle: %v %v", err, probs)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var fs []file
	for _, f := range zr.File {
		fs = append(fs, file{f.Name, readMust(t, zr, f.Name)})
	}
	return fs
}

func rezip(t *testing.T, fs []file) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := writeZip(&buf, fs, fixedNow()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// resigned builds a bundle of data files with the given manifest, signed by
// a fresh ephemeral key, as anyone could.
func resigned(t *testing.T, data []file, manifest []byte) []byte {
	t.Helper()
	key, chain, err := ephemeralSigner(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signDetached(context.Background(), manifest, key, chain, "")
	if err != nil {
		t.Fatal(err)
	}
	all := append([]file{{nameMimetype, []byte(mimetypeASiCE)}}, data...)
	return rezip(t, append(all, file{nameManifest, manifest}, file{nameSignature, sig}))
}

// startTSA runs a mock time-stamping authority for the test.
func startTSA(t *testing.T) *mocks.TSA {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	tsa, err := mocks.StartTSA(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return tsa
}
