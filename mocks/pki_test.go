package mocks

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPKIProfiles: every leaf has the subject layout, key usages, policy
// and URLs of its IGC-Santé profile (corpus igc-sante/SOURCES.md) and
// chains to the mock root through the ORGANISATIONS CA.
func TestPKIProfiles(t *testing.T) {
	op := startOp(t, testConfig())
	info := op.PKI()
	base := "http://" + op.PKIAddr()
	for _, c := range []*x509.Certificate{info.Root, info.Organisations} {
		if cn := c.Subject.CommonName; !strings.Contains(cn, "msscprobe mock") || !strings.Contains(cn, "TEST ONLY") {
			t.Errorf("CA %q is not named as the mock's own", cn)
		}
		if !c.IsCA || c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
			t.Errorf("CA %q: IsCA %v, key usage %b", c.Subject.CommonName, c.IsCA, c.KeyUsage)
		}
	}
	if !info.Organisations.MaxPathLenZero || info.Organisations.MaxPathLen != 0 {
		t.Error("ORGANISATIONS CA has no pathlen 0")
	}
	if !slices.Equal(info.Organisations.CRLDistributionPoints, []string{base + pathRootCRL}) {
		t.Errorf("ORGANISATIONS CA CRL DP %v", info.Organisations.CRLDistributionPoints)
	}
	roots := x509.NewCertPool()
	roots.AddCert(info.Root)
	inter := x509.NewCertPool()
	inter.AddCert(info.Organisations)
	tests := []struct {
		name   string
		cert   *x509.Certificate
		ku     x509.KeyUsage
		eku    []x509.ExtKeyUsage
		policy string
		o, ou  string
		cn     string
		dns    []string
	}{
		{"SERV SSL", info.Server, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			[]x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, PolicyServSSL,
			"MSSCPROBE MOCK OPERATEUR (TEST ONLY)", "300000000000000", "localhost", []string{"localhost"}},
		{"ORG AUTH_CLI", info.OrgAuth.Leaf, x509.KeyUsageDigitalSignature,
			[]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, PolicyOrgAuthCli,
			"CH MSSCPROBE MOCK (TEST ONLY)", "1010000016", doctor, nil},
		{"ORG SIGN", info.OrgSign.Leaf, x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
			[]x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}, PolicyOrgSign,
			"CH MSSCPROBE MOCK (TEST ONLY)", "1010000016", "msscprobe mock SIGN (TEST ONLY)", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cert
			s := c.Subject
			if !slices.Equal(s.Country, []string{"FR"}) || !slices.Equal(s.Province, []string{"Paris (75)"}) ||
				!slices.Equal(s.Organization, []string{tc.o}) || !slices.Equal(s.OrganizationalUnit, []string{tc.ou}) || s.CommonName != tc.cn {
				t.Errorf("subject %s", s)
			}
			if c.KeyUsage != tc.ku || !slices.Equal(c.ExtKeyUsage, tc.eku) {
				t.Errorf("key usage %b / %v, want %b / %v", c.KeyUsage, c.ExtKeyUsage, tc.ku, tc.eku)
			}
			if len(c.Policies) != 1 || c.Policies[0].String() != tc.policy {
				t.Errorf("policies %v, want %s", c.Policies, tc.policy)
			}
			if !slices.Equal(c.DNSNames, tc.dns) || len(c.EmailAddresses) > 0 {
				t.Errorf("SAN DNS %v email %v", c.DNSNames, c.EmailAddresses)
			}
			if !slices.Equal(c.CRLDistributionPoints, []string{base + pathOrgCRL}) || !slices.Equal(c.OCSPServer, []string{base + pathOCSP}) ||
				!slices.Equal(c.IssuingCertificateURL, []string{base + pathOrgCert}) {
				t.Errorf("URLs CRL %v OCSP %v AIA %v", c.CRLDistributionPoints, c.OCSPServer, c.IssuingCertificateURL)
			}
			if c.Issuer.String() != info.Organisations.Subject.String() || c.IsCA {
				t.Errorf("issuer %s, IsCA %v", c.Issuer, c.IsCA)
			}
			if _, err := c.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: tc.eku}); err != nil {
				t.Errorf("does not chain to the mock root: %v", err)
			}
		})
	}
	if info.CRLURL != base+pathOrgCRL || info.RootCRLURL != base+pathRootCRL || info.OCSPURL != base+pathOCSP || info.CAIssuersURL != base+pathOrgCert {
		t.Errorf("PKIInfo URLs %+v", info)
	}
	if r := op.Roots(); len(r) != 1 || !r[0].Equal(info.Root) {
		t.Errorf("Roots() = %v", r)
	}
	// The ORG AUTH_CLI certificate logs in the account it names when that
	// account may use a client certificate (IssueClientCert's mapping).
	if cert, err := op.IssueClientCert(nurse); err != nil || cert.Leaf.Subject.CommonName != nurse || len(cert.Leaf.EmailAddresses) != 0 {
		t.Errorf("IssueClientCert: %v %v", err, cert.Leaf)
	}
}

// TestPKITestPolicies: TestPolicies gives every leaf the IGC-Santé TEST
// policy; the subject fields follow PKIConfig.
func TestPKITestPolicies(t *testing.T) {
	cfg := testConfig()
	cfg.PKI = PKIConfig{TestPolicies: true, Organisation: "CH EXEMPLE", StructureID: "1750000000", Department: "Rhône (69)",
		ServerNames: []string{"mx.hopital.test.mssante.fr", "localhost"}}
	info := startOp(t, cfg).PKI()
	if s := info.Server; s.Subject.CommonName != "mx.hopital.test.mssante.fr" || !slices.Equal(s.DNSNames, cfg.PKI.ServerNames) {
		t.Errorf("server names: CN %q SAN %v", s.Subject.CommonName, s.DNSNames)
	}
	for _, c := range []*x509.Certificate{info.Server, info.OrgAuth.Leaf, info.OrgSign.Leaf} {
		if len(c.Policies) != 1 || c.Policies[0].String() != PolicyTest {
			t.Errorf("%s: policies %v", c.Subject.CommonName, c.Policies)
		}
		if c.Subject.Province[0] != "Rhône (69)" {
			t.Errorf("%s: ST %v", c.Subject.CommonName, c.Subject.Province)
		}
	}
	if s := info.OrgSign.Leaf.Subject; s.Organization[0] != "CH EXEMPLE" || s.OrganizationalUnit[0] != "1750000000" {
		t.Errorf("ORG SIGN subject %s", s)
	}
}

func TestIssueCertRefusals(t *testing.T) {
	op := startOp(t, testConfig())
	now := time.Now()
	for _, tc := range []struct {
		name string
		req  CertRequest
		want string
	}{
		{"unknown profile", CertRequest{Profile: "ORG CONF", CommonName: "x"}, "unknown profile"},
		{"no CN", CertRequest{Profile: ProfileOrgSign}, "no common name"},
		{"SAN on ORG", CertRequest{Profile: ProfileOrgAuthCli, CommonName: "x", DNSNames: []string{"x.test"}}, "no subject alternative name"},
		{"dates", CertRequest{Profile: ProfileOrgSign, CommonName: "x", NotBefore: now, NotAfter: now.Add(-time.Hour)}, "not after"},
	} {
		if _, err := op.IssueCert(tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
	past := now.Add(-48 * time.Hour)
	if c, err := op.IssueCert(CertRequest{Profile: ProfileOrgSign, CommonName: "expired signer", NotAfter: past}); err != nil ||
		!c.Leaf.NotAfter.Equal(past.Truncate(time.Second)) || !c.Leaf.NotBefore.Before(past) {
		t.Errorf("expired signer with NotAfter alone: %v", err)
	}
	if err := op.Revoke(mustSelfSigned(t, op), now); err == nil {
		t.Error("Revoke accepted a certificate the mock did not issue")
	}
	for _, tc := range []struct {
		conf PKIConfig
		want string
	}{
		{PKIConfig{Organisation: strings.Repeat("x", 65)}, "organisation"},
		{PKIConfig{StructureID: "1\n2"}, "structure id"},
		{PKIConfig{ServerNames: []string{"a b"}}, "server name"},
	} {
		if _, err := Start(t.Context(), Config{PKI: tc.conf}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.conf, err, tc.want)
		}
	}
}

func mustSelfSigned(t *testing.T, op *Operator) *x509.Certificate {
	t.Helper()
	c, err := op.IssueCert(CertRequest{Profile: ProfileServSSL, CommonName: "localhost", SelfSigned: true})
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf
}

// sharedCorpus finds the shared corpus (MSSCPROBE_SHARED, else ../shared
// from the repository root), skipping when absent.
func sharedCorpus(t *testing.T, sub string) string {
	t.Helper()
	dir := os.Getenv("MSSCPROBE_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared")
	}
	p := filepath.Join(dir, "corpus", sub)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared corpus %s not found (set MSSCPROBE_SHARED): %v", p, err)
	}
	return p
}

// TestPKINeverChainsToRealRoots: none of the mock's certificates verifies
// against the real IGC-Santé production or TEST CAs, and its CAs share
// neither a name nor a key with them.
func TestPKINeverChainsToRealRoots(t *testing.T) {
	dir := sharedCorpus(t, "igc-sante")
	op := startOp(t, testConfig())
	info := op.PKI()
	for _, bundle := range []string{"bundle-prod-igc-sante.pem", "bundle-test-igc-sante.pem"} {
		b, err := os.ReadFile(filepath.Join(dir, bundle))
		if err != nil {
			t.Fatal(err)
		}
		real := x509.NewCertPool()
		if !real.AppendCertsFromPEM(b) {
			t.Fatalf("%s: no certificate", bundle)
		}
		// Even with the real CAs as both roots and intermediates, and the
		// mock's intermediate offered, nothing chains.
		inter := real.Clone()
		inter.AddCert(info.Organisations)
		for _, c := range []*x509.Certificate{info.Server, info.OrgAuth.Leaf, info.OrgSign.Leaf, info.Organisations} {
			if _, err := c.Verify(x509.VerifyOptions{Roots: real, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err == nil {
				t.Errorf("%s chains to %s", c.Subject.CommonName, bundle)
			}
		}
		for rest := b; ; {
			var blk *pem.Block
			if blk, rest = pem.Decode(rest); blk == nil {
				break
			}
			rc, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []*x509.Certificate{info.Root, info.Organisations} {
				if m.Subject.String() == rc.Subject.String() || string(m.RawSubjectPublicKeyInfo) == string(rc.RawSubjectPublicKeyInfo) {
					t.Errorf("mock CA %q looks like %q", m.Subject.CommonName, rc.Subject.CommonName)
				}
			}
		}
	}
}

// TestPKIOpenSSL: openssl verifies the chain strictly, with the purpose of
// each profile, and reads the policy and usages back.
func TestPKIOpenSSL(t *testing.T) {
	openssl := lookTool(t, "openssl")
	op := startOp(t, testConfig())
	info := op.PKI()
	root := writeFile(t, "root.pem", op.CACertPEM())
	org := writeFile(t, "org.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: info.Organisations.Raw}))
	for _, tc := range []struct {
		name, purpose, policy, usage string
		cert                         *x509.Certificate
	}{
		{"serv-ssl", "sslserver", PolicyServSSL, "Digital Signature, Key Encipherment", info.Server},
		{"org-auth-cli", "sslclient", PolicyOrgAuthCli, "Digital Signature", info.OrgAuth.Leaf},
		{"org-sign", "smimesign", PolicyOrgSign, "Digital Signature, Non Repudiation", info.OrgSign.Leaf},
	} {
		leaf := writeFile(t, tc.name+".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tc.cert.Raw}))
		out := runTool(t, openssl, "verify", "-x509_strict", "-purpose", tc.purpose, "-CAfile", root, "-untrusted", org, leaf)
		if !strings.Contains(out, ": OK") {
			t.Errorf("%s: openssl verify: %s", tc.name, out)
		}
		text := runTool(t, openssl, "x509", "-noout", "-text", "-in", leaf)
		for _, want := range []string{"Policy: " + tc.policy, tc.usage, "Issuer: C = FR, O = msscprobe mock, OU = IGC-SANTE MOCK (TEST ONLY), CN = " + OrganisationsCAName} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: openssl x509 -text lacks %q", tc.name, want)
			}
		}
	}
}

// TestPKIServedChain: the SMTP and IMAP listeners present the SERV SSL
// leaf and the ORGANISATIONS CA, which a client trusting only the root
// verifies by name (localhost) and by address.
func TestPKIServedChain(t *testing.T) {
	op := startOp(t, testConfig())
	info := op.PKI()
	pool := x509.NewCertPool()
	pool.AddCert(info.Root)
	for _, addr := range []string{op.SMTPSAddr(), op.IMAPSAddr()} {
		for _, name := range []string{"localhost", "127.0.0.1"} {
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool, ServerName: name})
			if err != nil {
				t.Fatalf("%s as %s: %v", addr, name, err)
			}
			st := c.ConnectionState()
			c.Close()
			if len(st.PeerCertificates) != 2 || !st.PeerCertificates[0].Equal(info.Server) || !st.PeerCertificates[1].Equal(info.Organisations) {
				t.Errorf("%s presents %d certificates", addr, len(st.PeerCertificates))
			}
		}
	}
}

// TestPKIHTTPOff: without the PKI listener the certificates carry no URL;
// without the issuer's, it has an offline name; each runs without the
// other.
func TestPKIHTTPOff(t *testing.T) {
	cfg := testConfig()
	cfg.ListenPKI = "off"
	op := startOp(t, cfg)
	info := op.PKI()
	if op.PKIAddr() != "" || info.OCSPURL != "" || len(info.Server.OCSPServer) != 0 || len(info.Server.CRLDistributionPoints) != 0 {
		t.Errorf("PKI off: addr %q, info %+v", op.PKIAddr(), info)
	}
	if p := op.PSC(); op.PSCAddr() == "" || !strings.HasPrefix(p.TokenURL, "http://"+op.PSCAddr()+"/") {
		t.Errorf("PSC with the PKI off: %+v", p)
	}
	cfg.ListenPKI, cfg.ListenPSC = "", "off"
	op = startOp(t, cfg)
	if p := op.PSC(); op.PSCAddr() != "" || p.TokenURL != "" || p.Issuer != pscOfflineIssuer {
		t.Errorf("PSC off: %+v", p)
	}
	if op.PKIAddr() == "" || op.PKI().OCSPURL != "http://"+op.PKIAddr()+pathOCSP {
		t.Errorf("PKI with the PSC off: %q", op.PKI().OCSPURL)
	}
	tok, err := op.PSCToken(doctor, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialSMTP(t, op, clientTLS(op), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(&recordingClient{mech: mechXOAuth2, user: doctor, token: tok}); err != nil {
		t.Errorf("offline token: %v", err)
	}
}

// TestPKIListenersReleasedOnFailedStart: when Start fails after binding
// the PKI and PSC listeners (here on a store path that is a file), their
// ports are free again.
func TestPKIListenersReleasedOnFailedStart(t *testing.T) {
	var addrs []string
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, ln.Addr().String())
		ln.Close()
	}
	cfg := testConfig()
	cfg.ListenPKI, cfg.ListenPSC = addrs[0], addrs[1]
	cfg.StoreDir = writeFile(t, "not-a-dir", nil)
	if _, err := Start(t.Context(), cfg); err == nil {
		t.Fatal("Start accepted a file as store")
	}
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("%s still held after the failed Start: %v", a, err)
		}
		ln.Close()
	}
}
