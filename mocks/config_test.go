package mocks

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestConfigErrors: every bad configuration is refused by Start with a
// message naming the faulty value.
func TestConfigErrors(t *testing.T) {
	acct := func(addr string) []Account { return []Account{{Address: addr, Password: pw}} }
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"establishment domain", Config{EstablishmentDomains: []string{"not a domain"}}, `"not a domain"`},
		{"citizen domain", Config{CitizenDomain: "patient_mssante"}, `"patient_mssante"`},
		{"same domain twice", Config{EstablishmentDomains: []string{"patient.mssante.fr"}}, `"patient.mssante.fr"`},
		{"half a certificate", Config{CertFile: "cert.pem"}, "KeyFile"},
		{"negative delay", Config{AutoReplyDelay: -1}, "negative"},
		{"NIL mode", Config{NILMode: "maybe"}, `"maybe"`},
		{"negative size", Config{MaxMessageBytes: -1}, "-1"},
		{"account address", Config{Accounts: acct("not-an-address")}, `"not-an-address"`},
		{"account twice", Config{Accounts: append(acct(doctor), acct(doctor)...)}, "listed twice"},
		{"account without secret", Config{Accounts: []Account{{Address: doctor}}}, "could never log in"},
		{"account on another domain", Config{Accounts: acct("dr@clinique.test.mssante.fr")}, `"dr@clinique.test.mssante.fr" is not on an establishment domain (hopital.test.mssante.fr)`},
		{"account on the citizen domain", Config{Accounts: acct(patientA)}, "CitizenAccounts"},
		{"citizen account elsewhere", Config{CitizenAccounts: acct(doctor)}, "not on the citizen domain"},
		{"fault", Config{Faults: []Fault{{Name: FaultRcpt, Code: 250}}}, "400-599"},
		{"listen address", Config{ListenSMTP: "127.0.0.1:99999"}, "127.0.0.1:99999"},
		{"store is a file", Config{StoreDir: notDir}, notDir},
		{"certificate file", Config{CertFile: "missing.pem", KeyFile: "missing.key"}, "missing.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op, err := Start(t.Context(), tc.cfg)
			if err == nil {
				op.Close()
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %q", err, tc.want)
			}
		})
	}
}

// TestServerCertificateFromFiles: CertFile/KeyFile replace the generated
// certificate on every TLS listener.
func TestServerCertificateFromFiles(t *testing.T) {
	conf, _ := PKIConfig{}.normalize()
	p, err := newPKI(conf, pkiURLs{})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := p.issue(p.serverRequest())
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := testConfig()
	cfg.CertFile, cfg.KeyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	var chain []byte // leaf then intermediate, as servers send them
	for _, der := range cert.Certificate {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	os.WriteFile(cfg.CertFile, chain, 0o600)
	os.WriteFile(cfg.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), 0o600)
	op := startOp(t, cfg)
	tconf := &tls.Config{RootCAs: p.pool, ServerName: "127.0.0.1"}
	for _, addr := range []string{op.SMTPSAddr(), op.IMAPSAddr()} {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, tconf)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if got := c.ConnectionState().PeerCertificates[0]; !got.Equal(cert.Leaf) {
			t.Errorf("%s serves %s, not the certificate file", addr, got.Subject)
		}
		c.Close()
	}
}
