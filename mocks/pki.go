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
	"slices"
	"strings"
	"sync"
	"time"
)

// The mock's test PKI has the shape of IGC-Santé (shared corpus
// igc-sante/SOURCES.md): a root, an "ORGANISATIONS" intermediate CA with
// pathlen 0, and leaves with the subject layout
// C=FR, ST=<département (NN)>, O=<organisation>, OU=<structure identifier>,
// CN=<FQDN or service> and the key usages and certificate policies of the
// SERV SSL, ORG AUTH_CLI and ORG SIGN profiles. Its CAs are named as the
// mock's own ("msscprobe mock … TEST ONLY") and have fresh keys, so nothing
// it issues can chain to the real IGC-Santé roots. Keys are ECDSA P-256
// (the real ones are RSA) to keep mock start-up and handshakes cheap.

// Profile is an IGC-Santé certificate profile the mock can issue.
type Profile string

// Profiles (igc-sante/SOURCES.md, from the public leaf examples).
const (
	// ProfileServSSL: KU digitalSignature+keyEncipherment, EKU
	// serverAuth+clientAuth, dNSName SANs. MSSanté operators' SMTP/IMAP
	// servers use it (Ref#2 ECO.1.1.5, Ségur SC.MSS/CONF.27).
	ProfileServSSL Profile = "SERV SSL"
	// ProfileOrgAuthCli: KU digitalSignature, EKU clientAuth, no SAN; the
	// client certificate of applicative mailboxes.
	ProfileOrgAuthCli Profile = "ORG AUTH_CLI"
	// ProfileOrgSign: KU digitalSignature+nonRepudiation, EKU
	// emailProtection; an establishment's signing certificate.
	ProfileOrgSign Profile = "ORG SIGN"
)

// Certificate policy OIDs of the real profiles (igc-sante/SOURCES.md).
const (
	PolicyServSSL    = "1.2.250.1.213.1.7.1.1.2.5.1"
	PolicyOrgAuthCli = "1.2.250.1.213.1.7.1.1.2.4.1"
	PolicyOrgSign    = "1.2.250.1.213.1.7.1.1.2.3.1"
	// PolicyTest is carried by IGC-Santé TEST leaves whatever the usage.
	PolicyTest = "1.2.250.1.213.1.7.2.1.1.1.1"
	// anyPolicy (RFC 5280 §4.2.1.4), as on the IGC-Santé CAs.
	policyAny = "2.5.29.32.0"
)

// Names of the mock's CAs. Both contain "msscprobe mock" and "TEST ONLY".
const (
	RootCAName          = "msscprobe mock AC RACINE IGC-SANTE TEST ONLY"
	OrganisationsCAName = "msscprobe mock AC IGC-SANTE ORGANISATIONS TEST ONLY"
)

// PKIConfig shapes the subjects of the mock's leaf certificates. The zero
// value is usable.
type PKIConfig struct {
	// Organisation and StructureID are the O and OU of the ORG AUTH_CLI
	// and ORG SIGN certificates. The OU of an IGC-Santé organisation
	// certificate is a type digit then the identifier: 1 + FINESS,
	// 3 + SIRET. Default "CH MSSCPROBE MOCK (TEST ONLY)" and "1010000016"
	// (FINESS 010000016, a valid check digit).
	Organisation, StructureID string
	// OperatorName and OperatorID are the O and OU of the SERV SSL server
	// certificate. Default "MSSCPROBE MOCK OPERATEUR (TEST ONLY)" and
	// "300000000000000".
	OperatorName, OperatorID string
	// Department is the ST of every leaf, default "Paris (75)".
	Department string
	// ServerNames are the dNSName SANs of the SERV SSL server certificate,
	// the first one its CN; default ["localhost"]. The certificate also
	// names 127.0.0.1 and ::1.
	ServerNames []string
	// TestPolicies gives every leaf the IGC-Santé TEST policy
	// (PolicyTest) instead of its production profile policy.
	TestPolicies bool
}

func (c PKIConfig) normalize() (PKIConfig, error) {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.Organisation, "CH MSSCPROBE MOCK (TEST ONLY)")
	def(&c.StructureID, "1010000016")
	def(&c.OperatorName, "MSSCPROBE MOCK OPERATEUR (TEST ONLY)")
	def(&c.OperatorID, "300000000000000")
	def(&c.Department, "Paris (75)")
	if len(c.ServerNames) == 0 {
		c.ServerNames = []string{"localhost"}
	}
	for _, n := range c.ServerNames {
		if n == "" || len(n) > 253 || strings.ContainsAny(n, " \t\r\n/@:") {
			return c, fmt.Errorf("PKI server name %q is not a DNS name", n)
		}
	}
	c.ServerNames = slices.Clone(c.ServerNames)
	for name, v := range map[string]string{"organisation": c.Organisation, "structure id": c.StructureID,
		"operator name": c.OperatorName, "operator id": c.OperatorID, "department": c.Department} {
		if len(v) > 64 || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return c, fmt.Errorf("PKI %s %q: at most 64 printable characters (RFC 5280 upper bound)", name, v)
		}
	}
	return c, nil
}

// pkiURLs are the addresses certificates point at: served by the mock's
// PKI listener, all empty when it is off.
type pkiURLs struct {
	orgCRL, rootCRL, ocsp, orgCert, rootCert string
}

func newPKIURLs(base string) pkiURLs {
	if base == "" {
		return pkiURLs{}
	}
	return pkiURLs{
		orgCRL: base + pathOrgCRL, rootCRL: base + pathRootCRL, ocsp: base + pathOCSP,
		orgCert: base + pathOrgCert, rootCert: base + pathRootCert,
	}
}

// ca is one certificate authority of the mock.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// issued is a certificate the mock signed, with its revocation state for
// the CRLs and the OCSP responder.
type issued struct {
	cert      *x509.Certificate
	issuer    *ca
	revokedAt time.Time // zero: not revoked
}

// pki is the mock's certificate authority.
type pki struct {
	conf  PKIConfig
	urls  pkiURLs
	root  *ca
	org   *ca
	caPEM []byte // the root, PEM
	// pool verifies client certificates: the root and the intermediate,
	// so a client that sends its leaf alone (swaks --tls-cert with one
	// certificate) is accepted, as operators that install the whole
	// IGC-Santé chain do.
	pool *x509.CertPool

	orgAuth, orgSign tls.Certificate

	mu     sync.Mutex
	certs  map[string]*issued // serial (hex) -> certificate
	crlNum int64
}

func newPKI(conf PKIConfig, urls pkiURLs) (*pki, error) {
	p := &pki{conf: conf, urls: urls, certs: map[string]*issued{}}
	now := time.Now()
	dn := func(cn string) pkix.Name {
		return pkix.Name{Country: []string{"FR"}, Organization: []string{"msscprobe mock"},
			OrganizationalUnit: []string{"IGC-SANTE MOCK (TEST ONLY)"}, CommonName: cn}
	}
	var err error
	p.root, err = p.newCA(&x509.Certificate{Subject: dn(RootCAName), NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(10 * 365 * 24 * time.Hour)}, nil)
	if err != nil {
		return nil, err
	}
	// The intermediate, like AC IGC-SANTE ELEMENTAIRE ORGANISATIONS, has
	// pathlen 0 and points at its root's CRL.
	p.org, err = p.newCA(&x509.Certificate{Subject: dn(OrganisationsCAName), NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(9 * 365 * 24 * time.Hour), MaxPathLenZero: true,
		CRLDistributionPoints: nonEmpty(urls.rootCRL)}, p.root)
	if err != nil {
		return nil, err
	}
	p.pool = x509.NewCertPool()
	p.pool.AddCert(p.root.cert)
	p.pool.AddCert(p.org.cert)
	p.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.root.cert.Raw})
	return p, nil
}

// newCA creates a CA certificate signed by parent, self-signed when parent
// is nil.
func (p *pki) newCA(tmpl *x509.Certificate, parent *ca) (*ca, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl.SerialNumber = serial()
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	tmpl.BasicConstraintsValid, tmpl.IsCA = true, true
	tmpl.Policies = []x509.OID{mustOID(policyAny)}
	signCert, signKey := tmpl, key
	if parent != nil {
		signCert, signKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signCert, &key.PublicKey, signKey)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	c := &ca{cert: cert, key: key}
	if parent != nil {
		p.record(&issued{cert: cert, issuer: parent})
	}
	return c, nil
}

func (p *pki) record(i *issued) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.certs[i.cert.SerialNumber.Text(16)] = i
}

func mustOID(dotted string) x509.OID {
	oid, err := x509.ParseOID(dotted)
	if err != nil {
		panic(err) // constants above
	}
	return oid
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, v := range s {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		// crypto/rand never fails on supported platforms (Go 1.24+).
		panic(err)
	}
	return n.Add(n, big.NewInt(1)) // never 0 (RFC 5280 §4.1.2.2: positive)
}

// CertRequest asks the mock's ORGANISATIONS CA for a leaf certificate (see
// Operator.IssueCert). Empty fields take the PKIConfig defaults.
type CertRequest struct {
	Profile     Profile
	CommonName  string   // FQDN for SERV SSL, service name or mailbox for ORG
	DNSNames    []string // SERV SSL only
	IPAddresses []net.IP // SERV SSL only
	// Organisation, StructureID, Department: O, OU and ST of the subject.
	Organisation, StructureID, Department string
	// NotBefore and NotAfter default to one hour ago and one year on; with
	// a NotAfter in the past alone, NotBefore is a year before it.
	NotBefore, NotAfter time.Time
	// SelfSigned makes a certificate with the same subject and profile
	// that no CA of the mock signed (and the responders do not know).
	SelfSigned bool
}

// issue signs a leaf of the request's profile with the ORGANISATIONS CA.
// The returned chain is the leaf then the intermediate, as a server sends it.
func (p *pki) issue(r CertRequest) (tls.Certificate, error) {
	now := time.Now()
	if r.NotBefore.IsZero() {
		r.NotBefore = now.Add(-time.Hour)
		if !r.NotAfter.IsZero() && r.NotAfter.Before(r.NotBefore) {
			r.NotBefore = r.NotAfter.Add(-365 * 24 * time.Hour) // an expired certificate asked with NotAfter alone
		}
	}
	if r.NotAfter.IsZero() {
		r.NotAfter = now.Add(365 * 24 * time.Hour)
	}
	if !r.NotAfter.After(r.NotBefore) {
		return tls.Certificate{}, fmt.Errorf("issue %s certificate %q: NotAfter %s is not after NotBefore %s", r.Profile, r.CommonName, r.NotAfter, r.NotBefore)
	}
	if r.CommonName == "" {
		return tls.Certificate{}, fmt.Errorf("issue %s certificate: no common name", r.Profile)
	}
	org, id := p.conf.Organisation, p.conf.StructureID
	if r.Profile == ProfileServSSL {
		org, id = p.conf.OperatorName, p.conf.OperatorID
	}
	if r.Organisation != "" {
		org = r.Organisation
	}
	if r.StructureID != "" {
		id = r.StructureID
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		NotBefore:             r.NotBefore,
		NotAfter:              r.NotAfter,
		BasicConstraintsValid: true,
		CRLDistributionPoints: nonEmpty(p.urls.orgCRL),
		OCSPServer:            nonEmpty(p.urls.ocsp),
		IssuingCertificateURL: nonEmpty(p.urls.orgCert),
	}
	var policy string
	switch r.Profile {
	case ProfileServSSL:
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		tmpl.DNSNames, tmpl.IPAddresses = r.DNSNames, r.IPAddresses
		policy = PolicyServSSL
	case ProfileOrgAuthCli:
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		policy = PolicyOrgAuthCli
	case ProfileOrgSign:
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
		policy = PolicyOrgSign
	default:
		return tls.Certificate{}, fmt.Errorf("issue certificate: unknown profile %q (want %q, %q or %q)", r.Profile, ProfileServSSL, ProfileOrgAuthCli, ProfileOrgSign)
	}
	if r.Profile != ProfileServSSL && (len(r.DNSNames) > 0 || len(r.IPAddresses) > 0) {
		return tls.Certificate{}, fmt.Errorf("issue %s certificate %q: this profile has no subject alternative name", r.Profile, r.CommonName)
	}
	dept := r.Department
	if dept == "" {
		dept = p.conf.Department
	}
	if p.conf.TestPolicies {
		policy = PolicyTest
	}
	tmpl.Policies = []x509.OID{mustOID(policy)}
	tmpl.Subject = pkix.Name{Country: []string{"FR"}, Province: []string{dept}, Organization: []string{org},
		OrganizationalUnit: []string{id}, CommonName: r.CommonName}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate key: %w", err)
	}
	parent, signer := p.org.cert, p.org.key
	if r.SelfSigned {
		parent, signer = tmpl, key
		tmpl.CRLDistributionPoints, tmpl.OCSPServer, tmpl.IssuingCertificateURL = nil, nil, nil
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create %s certificate %q: %w", r.Profile, r.CommonName, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse %s certificate: %w", r.Profile, err)
	}
	chain := [][]byte{der}
	if !r.SelfSigned {
		chain = append(chain, p.org.cert.Raw)
		p.record(&issued{cert: leaf, issuer: p.org})
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// revoke marks a certificate of the mock revoked at the given time.
func (p *pki) revoke(cert *x509.Certificate, at time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.certs[cert.SerialNumber.Text(16)]
	if !ok || !i.cert.Equal(cert) {
		return fmt.Errorf("revoke %q: not a certificate issued by this mock's CAs", cert.Subject.CommonName)
	}
	i.revokedAt = at.UTC().Truncate(time.Second)
	return nil
}

// lookup finds a certificate by issuer and serial number.
func (p *pki) lookup(issuer *ca, sn *big.Int) (issued, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	i, ok := p.certs[sn.Text(16)]
	if !ok || i.issuer != issuer {
		return issued{}, false
	}
	return *i, true
}

var loopbackIPs = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}

// serverRequest is the valid SERV SSL certificate of the SMTP and IMAP
// listeners: CN and SANs the server names (localhost), SANs 127.0.0.1 and
// ::1.
func (p *pki) serverRequest() CertRequest {
	return CertRequest{Profile: ProfileServSSL, CommonName: p.conf.ServerNames[0], DNSNames: p.conf.ServerNames, IPAddresses: loopbackIPs}
}

// faultyCert returns the certificate served under a tls-* fault.
func (p *pki) faultyCert(fault string) (tls.Certificate, error) {
	now := time.Now()
	r := p.serverRequest()
	switch fault {
	case FaultTLSExpired:
		r.NotBefore, r.NotAfter = now.Add(-60*24*time.Hour), now.Add(-30*24*time.Hour)
	case FaultTLSSelfSigned:
		r.SelfSigned = true
	case FaultTLSWrongHost:
		// RFC 2606 reserves .invalid: the name can never match what a client dialled.
		r.CommonName, r.DNSNames, r.IPAddresses = "wrong-host.invalid", []string{"wrong-host.invalid"}, nil
	case FaultTLSRevoked:
		c, err := p.issue(r)
		if err != nil {
			return c, err
		}
		return c, p.revoke(c.Leaf, now.Add(-time.Minute))
	default:
		return tls.Certificate{}, fmt.Errorf("fault %q has no certificate", fault)
	}
	return p.issue(r)
}

// IssueClientCert issues an ORG AUTH_CLI client certificate for an
// applicative mailbox (research mssante.md §2: APP mailboxes authenticate
// with an organisation client certificate). The profile has no SAN: the
// mailbox address is the CN, which is how the mock maps the certificate to
// the account; only accounts with ClientCert set may log in with it.
func (o *Operator) IssueClientCert(address string) (tls.Certificate, error) {
	addr := strings.ToLower(strings.TrimSpace(address))
	if _, ok := o.accountByAddr(addr); !ok {
		return tls.Certificate{}, fmt.Errorf("issue client certificate: %q is not an account of this mock", address)
	}
	now := time.Now()
	return o.pki.issue(CertRequest{Profile: ProfileOrgAuthCli, CommonName: addr,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour)})
}

// certAddress returns the mailbox address a verified client certificate
// names (an rfc822Name SAN, else a CN that is an address), or "".
func certAddress(st tls.ConnectionState) string {
	if len(st.VerifiedChains) == 0 || len(st.PeerCertificates) == 0 {
		return ""
	}
	leaf := st.PeerCertificates[0]
	if len(leaf.EmailAddresses) > 0 {
		return strings.ToLower(leaf.EmailAddresses[0])
	}
	if cn := leaf.Subject.CommonName; strings.Contains(cn, "@") {
		return strings.ToLower(cn)
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

// PKIInfo describes the mock's test PKI for tests that classify or verify
// its certificates (Operator.PKI).
type PKIInfo struct {
	// Root is the only trust anchor (the same as CACertPEM);
	// Organisations the intermediate CA that signs every leaf.
	Root, Organisations *x509.Certificate
	// Server is the leaf the SMTP and IMAP listeners present: the SERV
	// SSL certificate, the one a tls-* fault asks for, or CertFile's.
	Server *x509.Certificate
	// OrgAuth (ORG AUTH_CLI, CN = the first establishment account) and
	// OrgSign (ORG SIGN) are the establishment's certificates issued at
	// start: chain (leaf, intermediate) and private key.
	OrgAuth, OrgSign tls.Certificate
	// URLs the certificates carry (served by the PKI listener; "" when
	// it is off): the ORGANISATIONS CA's CRL (leaves), the root's CRL
	// (the intermediate), the OCSP responder, the intermediate's
	// certificate (AIA caIssuers).
	CRLURL, RootCRLURL, OCSPURL, CAIssuersURL string
}

// PKI returns the test PKI. Tests of a classifier inject Root as an anchor
// (it is never one of the real IGC-Santé roots).
func (o *Operator) PKI() PKIInfo {
	p := o.pki
	info := PKIInfo{Root: p.root.cert, Organisations: p.org.cert, OrgAuth: p.orgAuth, OrgSign: p.orgSign,
		CRLURL: p.urls.orgCRL, RootCRLURL: p.urls.rootCRL, OCSPURL: p.urls.ocsp, CAIssuersURL: p.urls.orgCert}
	if len(o.tlsConf.Certificates) > 0 {
		info.Server = o.tlsConf.Certificates[0].Leaf
	}
	return info
}

// Roots returns the trust anchors of the test PKI (one root).
func (o *Operator) Roots() []*x509.Certificate { return []*x509.Certificate{o.pki.root.cert} }

// IssueCert issues a leaf of an IGC-Santé profile from the mock's
// ORGANISATIONS CA, e.g. an expired ORG SIGN signer. The OCSP responder
// answers "good" for it until Revoke.
func (o *Operator) IssueCert(r CertRequest) (tls.Certificate, error) { return o.pki.issue(r) }

// Revoke revokes a certificate the mock issued, from the given time: the
// next CRL lists it and OCSP answers "revoked".
func (o *Operator) Revoke(cert *x509.Certificate, at time.Time) error { return o.pki.revoke(cert, at) }

// PKIAddr is the address of the PKI's HTTP listener (CRLs, OCSP, CA
// certificates), "" when it is off.
func (o *Operator) PKIAddr() string { return o.addrs[lnPKI] }

// PSCAddr is the address of the Pro Santé Connect issuer's HTTP listener,
// "" when it is off.
func (o *Operator) PSCAddr() string { return o.addrs[lnPSC] }

// issueOrgCerts issues the establishment's ORG AUTH_CLI and ORG SIGN
// certificates of PKIInfo.
func (p *pki) issueOrgCerts(account string) error {
	var err error
	if p.orgAuth, err = p.issue(CertRequest{Profile: ProfileOrgAuthCli, CommonName: account}); err != nil {
		return err
	}
	p.orgSign, err = p.issue(CertRequest{Profile: ProfileOrgSign, CommonName: "msscprobe mock SIGN (TEST ONLY)"})
	return err
}
