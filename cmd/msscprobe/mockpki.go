package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/mocks"
)

// mockPKIFlags are the mock serve settings of the test PKI, its CRL/OCSP
// HTTP listener and the mock Pro Santé Connect issuer (docs/mock.md). They
// are inlined in the YAML --config.
type mockPKIFlags struct {
	ListenPKI       string        `yaml:"listen_pki"`
	ListenPSC       string        `yaml:"listen_psc"`
	PKIOut          string        `yaml:"pki_out"`
	PKIOrganisation string        `yaml:"pki_organisation"`
	PKIStructureID  string        `yaml:"pki_structure_id"`
	PKITestPolicies bool          `yaml:"pki_test_policies"`
	PSCClientID     string        `yaml:"psc_client_id"`
	PSCSecretOut    string        `yaml:"psc_secret_out"`
	PSCTokenTTL     time.Duration `yaml:"psc_token_ttl"`
	PSCRefreshTTL   time.Duration `yaml:"psc_refresh_ttl"`
}

func (p *mockPKIFlags) addFlags(e *env, fl *pflag.FlagSet) {
	fl.StringVar(&p.ListenPKI, "listen-pki", "127.0.0.1:0", e.tr(
		`écoute HTTP de l'IGC de test : CRL, OCSP, certificats d'AC ("off" désactive : certificats sans URL)`,
		`HTTP listener of the test PKI: CRLs, OCSP, CA certificates ("off" disables: certificates without URLs)`))
	fl.StringVar(&p.ListenPSC, "listen-psc", "127.0.0.1:0", e.tr(
		`écoute HTTP de l'émetteur de jetons Pro Santé Connect ("off" désactive)`,
		`HTTP listener of the Pro Santé Connect token issuer ("off" disables)`))
	fl.StringVar(&p.PKIOut, "pki-out", "", e.tr(
		"écrire dans ce dossier l'AC racine, l'AC ORGANISATIONS et les certificats ORG AUTH_CLI et ORG SIGN avec leurs clés (0600)",
		"write the root CA, the ORGANISATIONS CA and the ORG AUTH_CLI and ORG SIGN certificates with their keys (0600) to this folder"))
	fl.StringVar(&p.PKIOrganisation, "pki-organisation", "", e.tr(
		"O des certificats ORG de l'établissement (défaut CH MSSCPROBE MOCK (TEST ONLY))",
		"O of the establishment's ORG certificates (default CH MSSCPROBE MOCK (TEST ONLY))"))
	fl.StringVar(&p.PKIStructureID, "pki-structure-id", "", e.tr(
		"OU des certificats ORG : 1 + FINESS ou 3 + SIRET (défaut 1010000016)",
		"OU of the ORG certificates: 1 + FINESS or 3 + SIRET (default 1010000016)"))
	fl.BoolVar(&p.PKITestPolicies, "pki-test-policies", false, e.tr(
		"politique de certification IGC-Santé TEST sur chaque certificat final, au lieu de celle du profil de production",
		"IGC-Santé TEST certificate policy on every leaf instead of the production profile's"))
	fl.StringVar(&p.PSCClientID, "psc-client-id", "", e.tr(
		"client_id du point de jeton Pro Santé Connect (défaut msscprobe-mock)",
		"client_id of the Pro Santé Connect token endpoint (default msscprobe-mock)"))
	fl.StringVar(&p.PSCSecretOut, "psc-secret-out", "", e.tr(
		"fichier recevant le secret client Pro Santé Connect généré (0600)",
		"file receiving the generated Pro Santé Connect client secret (0600)"))
	fl.DurationVar(&p.PSCTokenTTL, "psc-token-ttl", 0, e.tr(
		"durée de vie des jetons d'accès (défaut 5m)", "access token lifetime (default 5m)"))
	fl.DurationVar(&p.PSCRefreshTTL, "psc-refresh-ttl", 0, e.tr(
		"durée de vie des jetons de rafraîchissement (défaut 30m)", "refresh token lifetime (default 30m)"))
}

// merge takes the YAML values the command line did not set.
func (p *mockPKIFlags) merge(y mockPKIFlags, cmd *cobra.Command) {
	fromYAML(cmd, "listen-pki", &p.ListenPKI, y.ListenPKI)
	fromYAML(cmd, "listen-psc", &p.ListenPSC, y.ListenPSC)
	fromYAML(cmd, "pki-out", &p.PKIOut, y.PKIOut)
	fromYAML(cmd, "pki-organisation", &p.PKIOrganisation, y.PKIOrganisation)
	fromYAML(cmd, "pki-structure-id", &p.PKIStructureID, y.PKIStructureID)
	fromYAML(cmd, "psc-client-id", &p.PSCClientID, y.PSCClientID)
	fromYAML(cmd, "psc-secret-out", &p.PSCSecretOut, y.PSCSecretOut)
	fromYAML(cmd, "pki-test-policies", &p.PKITestPolicies, y.PKITestPolicies)
	fromYAML(cmd, "psc-token-ttl", &p.PSCTokenTTL, y.PSCTokenTTL)
	fromYAML(cmd, "psc-refresh-ttl", &p.PSCRefreshTTL, y.PSCRefreshTTL)
}

func (p mockPKIFlags) apply(e *env, cfg *mocks.Config) error {
	if p.PSCTokenTTL < 0 || p.PSCRefreshTTL < 0 {
		return fmt.Errorf("%s", e.tr("--psc-token-ttl / --psc-refresh-ttl : une durée positive est attendue",
			"--psc-token-ttl / --psc-refresh-ttl: want a positive duration"))
	}
	if p.PSCSecretOut != "" && strings.EqualFold(strings.TrimSpace(p.ListenPSC), "off") {
		// The secret belongs to the issuer: with no issuer there is none
		// to write, and saying nothing would leave a script waiting for it.
		return fmt.Errorf("%s", e.tr("--psc-secret-out n'a d'effet qu'avec l'émetteur Pro Santé Connect : retirez --listen-psc off ou --psc-secret-out",
			"--psc-secret-out only works with the Pro Santé Connect issuer: drop --listen-psc off or --psc-secret-out"))
	}
	cfg.ListenPKI, cfg.ListenPSC = p.ListenPKI, p.ListenPSC
	cfg.PKI = mocks.PKIConfig{Organisation: p.PKIOrganisation, StructureID: p.PKIStructureID, TestPolicies: p.PKITestPolicies}
	cfg.PSC = mocks.PSCConfig{ClientID: p.PSCClientID, TokenTTL: p.PSCTokenTTL, RefreshTTL: p.PSCRefreshTTL}
	return nil
}

// report writes the PKI files and the client secret, and prints where the
// HTTP services are. Private keys and the secret go to 0600 files only.
func (p mockPKIFlags) report(e *env, w io.Writer, op *mocks.Operator) error {
	if a := op.PKIAddr(); a != "" {
		fmt.Fprintf(w, "listen %-5s %s (%s)\n", "pki", a, e.tr("CRL, OCSP, certificats d'AC", "CRL, OCSP, CA certificates"))
	}
	if a := op.PSCAddr(); a != "" {
		fmt.Fprintf(w, "listen %-5s %s (Pro Santé Connect)\n", "psc", a)
	}
	info := op.PKI()
	fmt.Fprintf(w, "pki root %q (%s)\n", info.Root.Subject.CommonName, e.tr("TESTS SEULEMENT", "TEST ONLY"))
	if info.OCSPURL != "" {
		fmt.Fprintf(w, "pki crl %s ocsp %s\n", info.CRLURL, info.OCSPURL)
	}
	if p.PKIOut != "" {
		if err := writePKI(p.PKIOut, info, op.CACertPEM()); err != nil {
			return check.Errorf("--pki-out : %w", "--pki-out: %w", err)
		}
		fmt.Fprintf(w, "pki files %s %s\n", e.tr("dans", "in"), p.PKIOut)
	}
	psc := op.PSC()
	if psc.TokenURL == "" {
		return nil
	}
	// The secret is written only when asked for: a temp file per run would
	// leave secrets behind for a feature most runs do not use.
	where := e.tr("secret : --psc-secret-out FICHIER", "secret: --psc-secret-out FILE")
	if p.PSCSecretOut != "" {
		if err := writeSecret(p.PSCSecretOut, psc.ClientSecret+"\n"); err != nil {
			return check.Errorf("--psc-secret-out : %w", "--psc-secret-out: %w", err)
		}
		where = e.tr("secret dans ", "secret in ") + p.PSCSecretOut
	}
	fmt.Fprintf(w, "psc issuer %s token %s client %s (%s)\n", psc.Issuer, psc.TokenURL, psc.ClientID, where)
	return nil
}

// PKI file names under --pki-out.
const (
	pkiRootFile    = "ca.pem"               // the trust anchor (as --ca-out)
	pkiOrgCAFile   = "organisations-ca.pem" // the intermediate
	pkiAuthCert    = "org-auth-cli.pem"     // chain, leaf first
	pkiAuthKey     = "org-auth-cli.key"
	pkiSignCert    = "org-sign.pem" // chain, leaf first: --sign-cert
	pkiSignKey     = "org-sign.key" // --sign-key
	pkiPrivateMode = 0o600
)

func writePKI(dir string, info mocks.PKIInfo, rootPEM []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	type file struct {
		name   string
		data   []byte
		secret bool
	}
	files := []file{
		{pkiRootFile, rootPEM, false},
		{pkiOrgCAFile, certPEM(info.Organisations), false},
	}
	for _, c := range []struct {
		cert, key string
		pair      tls.Certificate
	}{{pkiAuthCert, pkiAuthKey, info.OrgAuth}, {pkiSignCert, pkiSignKey, info.OrgSign}} {
		var chain []byte
		for _, der := range c.pair.Certificate {
			chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
		}
		key, err := x509.MarshalPKCS8PrivateKey(c.pair.PrivateKey)
		if err != nil {
			return err
		}
		files = append(files, file{c.cert, chain, false},
			file{c.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}), true})
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		var err error
		if f.secret {
			err = writeSecret(path, string(f.data))
		} else {
			err = os.WriteFile(path, f.data, 0o644)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// writeSecret writes data to path with mode 0600, also when the file
// existed with a wider mode (os.WriteFile would keep that mode).
func writeSecret(path, data string) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, pkiPrivateMode)
	if err != nil {
		return err
	}
	if err := fh.Chmod(pkiPrivateMode); err != nil {
		fh.Close()
		return err
	}
	if _, err := fh.WriteString(data); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}
