// Package testpki makes IGC-Santé-shaped certificate authorities, server
// and signer certificates and CRLs for tests, and a loopback listener that
// counts connections (a pre-flight refusal must leave it at zero). Nothing
// here chains to a real root: tests hand its roots to trust.NewAnchors
// through the Go API, never through the command line.
package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// IGC-Santé policy OIDs of the profiles made here (corpus
// igc-sante/SOURCES.md).
var (
	PolicyServSSL = []uint64{1, 2, 250, 1, 213, 1, 7, 1, 1, 2, 5, 1}
	PolicyOrgSign = []uint64{1, 2, 250, 1, 213, 1, 7, 1, 1, 2, 3, 1}
)

// CA is a certificate authority made by a test.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

var serial atomic.Int64

// Key makes a P-256 key.
func Key(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Issue signs tmpl with parent (self-signed with key when parent is nil);
// the serial number is filled in, and a validity around now when unset.
func Issue(t testing.TB, tmpl *x509.Certificate, parent *CA, pub crypto.PublicKey, key crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl.SerialNumber = big.NewInt(1000 + serial.Add(1))
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour)
	}
	p, pk := tmpl, key
	if parent != nil {
		p, pk = parent.Cert, parent.Key
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

// Root makes a self-signed root named cn.
func Root(t testing.TB, cn string) *CA {
	k := Key(t)
	c := Issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{"IGC-SANTE TEST ONLY"}}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, nil, k.Public(), k)
	return &CA{Cert: c, Key: k}
}

// Sub makes a sub-CA of ca.
func (ca *CA) Sub(t testing.TB, cn string) *CA {
	k := Key(t)
	c := Issue(t, &x509.Certificate{Subject: pkix.Name{CommonName: cn}, IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}, ca, k.Public(), k)
	return &CA{Cert: c, Key: k}
}

// OID converts for x509.Certificate.Policies, which CreateCertificate
// writes (PolicyIdentifiers is ignored since Go 1.24).
func OID(t testing.TB, o []uint64) x509.OID {
	oid, err := x509.OIDFromInts(o)
	if err != nil {
		t.Fatal(err)
	}
	return oid
}

// OrgSubject is the subject layout of IGC-Santé organisation certificates:
// C, ST, O, OU (structure identifier), CN.
func OrgSubject(org, ou, cn string) pkix.Name {
	return pkix.Name{Country: []string{"FR"}, Province: []string{"Paris (75)"}, Organization: []string{org}, OrganizationalUnit: []string{ou}, CommonName: cn}
}

// ServSSL issues a SERV SSL shaped server certificate for host; edit
// adjusts the template first.
func (ca *CA) ServSSL(t testing.TB, host string, edit func(*x509.Certificate)) (*x509.Certificate, crypto.Signer) {
	k := Key(t)
	tmpl := &x509.Certificate{
		Subject:     OrgSubject("OPERATEUR DE TEST", "318751275100020", host),
		DNSNames:    []string{host},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		Policies:    []x509.OID{OID(t, PolicyServSSL)},
	}
	if edit != nil {
		edit(tmpl)
	}
	return Issue(t, tmpl, ca, k.Public(), k), k
}

// OrgSign issues an ORG SIGN shaped signer certificate whose OU is ou (a
// prefix digit then the FINESS or SIRET); edit adjusts the template.
func (ca *CA) OrgSign(t testing.TB, org, ou string, edit func(*x509.Certificate)) (*x509.Certificate, crypto.Signer) {
	k := Key(t)
	tmpl := &x509.Certificate{
		Subject:     OrgSubject(org, ou, "SIGNATURE "+org),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		Policies:    []x509.OID{OID(t, PolicyOrgSign)},
	}
	if edit != nil {
		edit(tmpl)
	}
	return Issue(t, tmpl, ca, k.Public(), k), k
}

// CRL makes a CRL signed by ca that lists revoked, valid until next.
func (ca *CA) CRL(t testing.TB, next time.Time, revoked ...*big.Int) []byte {
	t.Helper()
	var entries []x509.RevocationListEntry
	for _, s := range revoked {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: time.Now().Add(-time.Hour)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(serial.Add(1)), ThisUpdate: time.Now().Add(-time.Hour),
		NextUpdate: next, RevokedCertificateEntries: entries}, ca.Cert, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// WritePEM writes certificates (and a key, when not nil) as PEM to path.
func WritePEM(t testing.TB, path string, key crypto.Signer, certs ...*x509.Certificate) {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if key != nil {
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// CountingListener listens on 127.0.0.1 and counts the connections it
// accepts (closing each at once); it stops with the test.
func CountingListener(t testing.TB) (addr string, n *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	n = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().String(), n
}
