package mocks

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// pki is the mock's certificate authority: it signs the server certificate,
// the deliberately broken ones of the tls-* faults and client certificates
// for applicative mailboxes. ECDSA P-256 keeps handshakes cheap.
type pki struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPEM  []byte
	pool   *x509.CertPool
}

func newPKI() (*pki, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "msscprobe mock CA (TEST ONLY)", Organization: []string{"msscprobe"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &pki{
		caCert: cert, caKey: key, pool: pool,
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+).
		panic(err)
	}
	return n
}

// leafSpec describes a certificate issued by the mock CA (or self-signed).
type leafSpec struct {
	cn         string
	dns        []string
	ips        []net.IP
	emails     []string
	notBefore  time.Time
	notAfter   time.Time
	client     bool
	selfSigned bool
}

func (p *pki) issue(s leafSpec) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:   serial(),
		Subject:        pkix.Name{CommonName: s.cn, Organization: []string{"msscprobe mock"}},
		NotBefore:      s.notBefore,
		NotAfter:       s.notAfter,
		KeyUsage:       x509.KeyUsageDigitalSignature,
		DNSNames:       s.dns,
		IPAddresses:    s.ips,
		EmailAddresses: s.emails,
	}
	if s.client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	parent, signer := p.caCert, p.caKey
	if s.selfSigned {
		parent, signer = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create certificate %q: %w", s.cn, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	chain := [][]byte{der}
	if !s.selfSigned {
		chain = append(chain, p.caCert.Raw)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

var loopbackIPs = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}

// serverCert is the valid certificate: SANs 127.0.0.1, ::1 and localhost.
func (p *pki) serverCert() (tls.Certificate, error) {
	now := time.Now()
	return p.issue(leafSpec{cn: "localhost", dns: []string{"localhost"}, ips: loopbackIPs,
		notBefore: now.Add(-time.Hour), notAfter: now.Add(365 * 24 * time.Hour)})
}

// faultyCert returns the certificate served under a tls-* fault.
func (p *pki) faultyCert(fault string) (tls.Certificate, error) {
	now := time.Now()
	s := leafSpec{cn: "localhost", dns: []string{"localhost"}, ips: loopbackIPs,
		notBefore: now.Add(-time.Hour), notAfter: now.Add(365 * 24 * time.Hour)}
	switch fault {
	case FaultTLSExpired:
		s.notBefore, s.notAfter = now.Add(-60*24*time.Hour), now.Add(-30*24*time.Hour)
	case FaultTLSSelfSigned:
		s.selfSigned = true
	case FaultTLSWrongHost:
		// RFC 2606 reserves .invalid: the name can never match what a client dialled.
		s.cn, s.dns, s.ips = "wrong-host.invalid", []string{"wrong-host.invalid"}, nil
	default:
		return tls.Certificate{}, fmt.Errorf("fault %q has no certificate", fault)
	}
	return p.issue(s)
}

// IssueClientCert issues a TLS client certificate for an applicative
// mailbox (research mssante.md §2: APP mailboxes authenticate with an
// organisation client certificate). The address is carried as an
// rfc822Name SAN and as the CN; only accounts with ClientCert set may log in
// with it.
func (o *Operator) IssueClientCert(address string) (tls.Certificate, error) {
	addr := strings.ToLower(strings.TrimSpace(address))
	if _, ok := o.accountByAddr(addr); !ok {
		return tls.Certificate{}, fmt.Errorf("issue client certificate: %q is not an account of this mock", address)
	}
	now := time.Now()
	return o.pki.issue(leafSpec{cn: addr, emails: []string{addr}, client: true,
		notBefore: now.Add(-time.Hour), notAfter: now.Add(30 * 24 * time.Hour)})
}

// certAddress returns the mailbox address a verified client certificate
// names, or "".
func certAddress(st tls.ConnectionState) string {
	if len(st.VerifiedChains) == 0 || len(st.PeerCertificates) == 0 {
		return ""
	}
	leaf := st.PeerCertificates[0]
	if len(leaf.EmailAddresses) > 0 {
		return strings.ToLower(leaf.EmailAddresses[0])
	}
	return ""
}

func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("server certificate %s / key %s: %w", certFile, keyFile, err)
	}
	return c, nil
}
