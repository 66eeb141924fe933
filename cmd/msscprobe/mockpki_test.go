package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/mocks"
)

// TestMockServePKIOut: --pki-out writes the CA and the ORG AUTH_CLI / ORG
// SIGN chains with their keys in 0600 files (even over a wider existing
// file), nothing secret reaches stdout, the files chain to ca.pem, and the
// Pro Santé Connect token endpoint accepts the secret written by
// --psc-secret-out.
func TestMockServePKIOut(t *testing.T) {
	dir := t.TempDir()
	pki, secretFile, pwFile := filepath.Join(dir, "pki"), filepath.Join(dir, "psc-secret"), filepath.Join(dir, "pw")
	os.MkdirAll(pki, 0o700)
	os.WriteFile(filepath.Join(pki, pkiSignKey), []byte("old"), 0o644) // must end up 0600
	out, _ := serveMock(t, "--pki-out", pki, "--psc-secret-out", secretFile, "--password-out", pwFile, "--psc-token-ttl", "90s")
	s := out.String()
	pkiAddr, pscAddr := listenAddr(s, "pki"), listenAddr(s, "psc")
	for _, want := range []string{"listen pki   " + pkiAddr, "listen psc   " + pscAddr, `pki root "` + mocks.RootCAName + `"`, "pki crl http://" + pkiAddr,
		"pki files dans " + pki, "psc issuer http://" + pscAddr + "/auth/realms/esante-wallet", secretFile + ")"} {
		if pkiAddr == "" || pscAddr == "" || !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	secret, _ := os.ReadFile(secretFile)
	if len(strings.TrimSpace(string(secret))) < 16 || strings.Contains(s, strings.TrimSpace(string(secret))) || strings.Contains(s, "PRIVATE KEY") {
		t.Fatalf("secret missing or printed:\n%s", s)
	}
	for name, mode := range map[string]os.FileMode{pkiRootFile: 0o644, pkiOrgCAFile: 0o644, pkiAuthCert: 0o644, pkiAuthKey: 0o600,
		pkiSignCert: 0o644, pkiSignKey: 0o600} {
		st, err := os.Stat(filepath.Join(pki, name))
		if err != nil || st.Mode().Perm() != mode {
			t.Errorf("%s: %v, mode %v, want %v", name, err, st.Mode().Perm(), mode)
		}
	}
	if st, _ := os.Stat(secretFile); st.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v", st.Mode().Perm())
	}
	rootPEM, _ := os.ReadFile(filepath.Join(pki, pkiRootFile))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(rootPEM)
	for _, c := range []struct {
		cert, key string
		eku       x509.ExtKeyUsage
	}{{pkiAuthCert, pkiAuthKey, x509.ExtKeyUsageClientAuth}, {pkiSignCert, pkiSignKey, x509.ExtKeyUsageEmailProtection}} {
		pair, err := tls.LoadX509KeyPair(filepath.Join(pki, c.cert), filepath.Join(pki, c.key))
		if err != nil || len(pair.Certificate) != 2 {
			t.Fatalf("%s/%s: %v", c.cert, c.key, err)
		}
		inter := x509.NewCertPool()
		ic, _ := x509.ParseCertificate(pair.Certificate[1])
		inter.AddCert(ic)
		if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{c.eku}}); err != nil {
			t.Errorf("%s does not chain to %s: %v", c.cert, pkiRootFile, err)
		}
	}
	// The password grant with the written secret and generated password.
	pw, _ := os.ReadFile(pwFile)
	form := url.Values{"grant_type": {"password"}, "username": {"medecin@hopital.test.mssante.fr"}, "password": {strings.TrimSpace(string(pw))}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+pscAddr+"/auth/realms/esante-wallet/protocol/openid-connect/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("msscprobe-mock", strings.TrimSpace(string(secret)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != 200 || tr.AccessToken == "" || tr.ExpiresIn != 90 {
		t.Errorf("token endpoint: %d %v %+v", resp.StatusCode, err, tr)
	}
}

// TestMockServePKIConfig: the YAML keys, "off" for the HTTP listeners (no
// URL in certificates, no issuer line), TEST policies, and bad values
// refused with exit 2 naming the flag.
func TestMockServePKIConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mock.yaml")
	pki := filepath.Join(dir, "pki")
	os.WriteFile(cfg, []byte("listen_pki: \"off\"\nlisten_psc: \"off\"\npki_out: "+pki+"\npki_test_policies: true\npki_organisation: CH EXEMPLE\npki_structure_id: \"1750000000\"\npsc_token_ttl: 1m\n"), 0o600)
	out, _ := serveMock(t, "--config", cfg)
	if s := out.String(); strings.Contains(s, "listen pki") || strings.Contains(s, "listen psc") || strings.Contains(s, "psc issuer") || strings.Contains(s, "pki crl") {
		t.Errorf("HTTP off but announced:\n%s", s)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(pki, pkiSignCert), filepath.Join(pki, pkiSignKey))
	if err != nil {
		t.Fatal(err)
	}
	leaf := pair.Leaf
	if len(leaf.Policies) != 1 || leaf.Policies[0].String() != mocks.PolicyTest || leaf.Subject.Organization[0] != "CH EXEMPLE" ||
		leaf.Subject.OrganizationalUnit[0] != "1750000000" || len(leaf.OCSPServer) != 0 || len(leaf.CRLDistributionPoints) != 0 {
		t.Errorf("ORG SIGN from YAML: policies %v subject %s OCSP %v", leaf.Policies, leaf.Subject, leaf.OCSPServer)
	}
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, nil, 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--psc-token-ttl", "-1s"}, "--psc-token-ttl"},
		{[]string{"--listen-pki", "127.0.0.1:99999"}, "listen pki"},
		{[]string{"--listen-psc", "127.0.0.1:99999"}, "listen psc"},
		{[]string{"--pki-organisation", strings.Repeat("O", 65)}, "organisation"},
		{[]string{"--pki-out", filepath.Join(notDir, "pki")}, "--pki-out"},
		{[]string{"--psc-secret-out", filepath.Join(dir, "missing", "s")}, "--psc-secret-out"},
		{[]string{"--listen-psc", "off", "--psc-secret-out", filepath.Join(dir, "s")}, "--psc-secret-out n'a d'effet qu'avec l'émetteur Pro Santé Connect"},
	} {
		code, _, errs := runCLI(t, "", nil, append([]string{"mock", "serve"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: code %d, stderr %q, want %q", tc.args, code, errs, tc.want)
		}
	}
}
