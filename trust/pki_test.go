package trust

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"
)

// testCA is a certificate authority made by a test.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

var serial int64 = 100

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t testing.TB, tmpl *x509.Certificate, parent *testCA, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	t.Helper()
	serial++
	tmpl.SerialNumber = big.NewInt(serial)
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour)
	}
	p, pk := tmpl, key
	if parent != nil {
		p, pk = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p, pub, pk)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newRootCA makes a self-signed root named cn.
func newRootCA(t testing.TB, cn string) *testCA {
	k := newKey(t)
	c := sign(t, &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, nil, k.Public(), k)
	return &testCA{cert: c, key: k}
}

// sub makes a sub-CA of ca.
func (ca *testCA) sub(t testing.TB, cn string) *testCA {
	k := newKey(t)
	c := sign(t, &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, ca, k.Public(), k)
	return &testCA{cert: c, key: k}
}

// servSSL issues an IGC-Santé SERV SSL shaped certificate for host (corpus
// igc-sante/SOURCES.md layout); edit adjusts the template first.
func (ca *testCA) servSSL(t testing.TB, host string, edit func(*x509.Certificate)) (*x509.Certificate, crypto.Signer) {
	k := newKey(t)
	tmpl := &x509.Certificate{
		Subject: pkix.Name{Country: []string{"FR"}, Province: []string{"Paris (75)"}, Organization: []string{"OPERATEUR DE TEST"},
			OrganizationalUnit: []string{"318751275100020"}, CommonName: host},
		DNSNames:    []string{host},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		Policies:    []x509.OID{oidOf(OIDPolicyServSSL)},
	}
	if edit != nil {
		edit(tmpl)
	}
	return sign(t, tmpl, ca, k.Public(), k), k
}

// oidOf converts for x509.Certificate.Policies, which CreateCertificate
// writes (PolicyIdentifiers is ignored since Go 1.24).
func oidOf(o asn1.ObjectIdentifier) x509.OID {
	u := make([]uint64, len(o))
	for i, v := range o {
		u[i] = uint64(v)
	}
	oid, err := x509.OIDFromInts(u)
	if err != nil {
		panic(err)
	}
	return oid
}
