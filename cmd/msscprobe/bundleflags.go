package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/evidence"
	"github.com/msscprobe/msscprobe/probe"
	"github.com/msscprobe/msscprobe/trust"
)

// bundleFlags are the evidence bundle flags of `probe` (format:
// docs/evidence-format.md). Secrets are never flag values: the flags name the environment
// variable or the file that holds the PKCS#12 password.
type bundleFlags struct {
	out                 string
	signCert, signKey   string
	signP12             string
	p12PasswordEnv      string
	p12PasswordFile     string
	tsa                 string
	includePersonalData bool

	// Loaded by prepare, before the probe sends anything.
	prepared bool
	key      crypto.Signer
	chain    []*x509.Certificate
	// timestampErr is why --tsa gave no timestamp; the evidence was then
	// written without one rather than lost, and the command exits 1.
	timestampErr error
}

func addBundleFlags(e *env, cmd *cobra.Command) *bundleFlags {
	b := &bundleFlags{}
	f := cmd.Flags()
	f.StringVar(&b.out, "out", "", e.tr("écrire la preuve signée dans ce fichier : .pdf pour le PDF à déposer sur démarches-simplifiées (conteneur et fichiers de preuve joints), .asice ou .zip pour le conteneur ASiC-E seul (archives, validateurs européens)",
		"write the signed evidence to this file: .pdf for the PDF to upload on démarches-simplifiées (container and evidence files embedded), .asice or .zip for the bare ASiC-E container (archives, EU validators)"))
	f.StringVar(&b.signCert, "sign-cert", "", e.tr("chaîne de certificats PEM (feuille d'abord) signant la preuve", "PEM certificate chain (leaf first) signing the evidence"))
	f.StringVar(&b.signKey, "sign-key", "", e.tr("clé privée PEM de --sign-cert (non chiffrée ; protégez le fichier)", "PEM private key of --sign-cert (unencrypted; protect the file)"))
	f.StringVar(&b.signP12, "sign-p12", "", e.tr("fichier PKCS#12 (certificat, chaîne et clé) signant la preuve, par exemple un certificat IGC-Santé", "PKCS#12 file (certificate, chain and key) signing the evidence, e.g. an IGC-Santé certificate"))
	f.StringVar(&b.p12PasswordEnv, "sign-p12-password-env", "", e.tr("nom de la variable d'environnement contenant le mot de passe de --sign-p12", "name of the environment variable holding the --sign-p12 password"))
	f.StringVar(&b.p12PasswordFile, "sign-p12-password-file", "", e.tr("fichier contenant le mot de passe de --sign-p12", "file holding the --sign-p12 password"))
	f.StringVar(&b.tsa, "tsa", "", e.tr("URL d'une autorité d'horodatage RFC 3161 pour horodater la signature", "RFC 3161 time-stamping authority URL to timestamp the signature"))
	f.BoolVar(&b.includePersonalData, "include-personal-data", false, e.tr("copier le document joint même s'il porte un INS de production", "copy an attached document even when it carries a production INS"))
	return b
}

// check refuses, before anything runs, evidence flags that would be
// ignored: without --out nothing is written, so a signing certificate given
// alone would silently sign nothing.
func (b *bundleFlags) check(cmd *cobra.Command) error {
	if b.out != "" {
		return nil
	}
	for _, name := range []string{"sign-p12", "sign-cert", "sign-key", "sign-p12-password-env", "sign-p12-password-file", "tsa", "include-personal-data"} {
		if cmd.Flags().Changed(name) {
			return check.Errorf("--%s n'a d'effet qu'avec --out : ajoutez --out preuve-ps41.pdf pour écrire la preuve signée",
				"--%s only applies with --out: add --out evidence.pdf to write the signed evidence", name)
		}
	}
	return nil
}

// outKind is what --out asks for, from its extension: the PDF deliverable
// or the bare container.
func outKind(path string) (deliverable bool, err error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".pdf":
		return true, nil
	case ".asice", ".zip":
		return false, nil
	}
	return false, check.Errorf("--out %s : un nom finissant par .pdf (le livrable à déposer sur démarches-simplifiées) ou .asice/.zip (le conteneur ASiC-E seul) est attendu",
		"--out %s: want a name ending in .pdf (the deliverable to upload on démarches-simplifiées) or .asice/.zip (the bare ASiC-E container)", path)
}

// prepare is the pre-flight of the evidence inputs, run before the probe
// sends anything: the output path (a writable file, not a folder), the
// signing key and its password, the signer's validity dates and key usage
// (an expired signer is refused here, not by verify afterwards), and the
// TSA URL. Its errors name the flag (exit 2).
func (b *bundleFlags) prepare(e *env, now time.Time) error {
	if b.out == "" {
		return nil
	}
	if st, err := os.Stat(b.out); err == nil && st.IsDir() {
		return fmt.Errorf(e.tr("--out %s est un dossier : donnez un nom de fichier, par exemple %s", "--out %s is a folder: give a file name, e.g. %s"),
			b.out, filepath.Join(b.out, "preuve-ps41.pdf"))
	}
	if _, err := outKind(b.out); err != nil {
		return err
	}
	probeFile, err := os.CreateTemp(filepath.Dir(b.out), ".msscprobe-check-*")
	if err != nil {
		return fmt.Errorf(e.tr("--out %s : écriture impossible dans %s : %w", "--out %s: cannot write in %s: %w"), b.out, filepath.Dir(b.out), err)
	}
	probeFile.Close()
	os.Remove(probeFile.Name())
	key, chain, err := b.signer(e)
	if err != nil {
		return err
	}
	if len(chain) > 0 {
		flag := "--sign-cert"
		if b.signP12 != "" {
			flag = "--sign-p12"
		}
		if err := evidence.CheckSigningCertificate(chain[0], now); err != nil {
			var se *evidence.SigningCertError
			if errors.As(err, &se) {
				return fmt.Errorf("%s: %s", flag, se.Msg.In(e.lang))
			}
			return fmt.Errorf("%s: %w", flag, err)
		}
	}
	if b.tsa != "" {
		u, err := url.Parse(b.tsa)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf(e.tr("--tsa %q : une URL http:// ou https:// est attendue", "--tsa %q: want an http:// or https:// URL"), b.tsa)
		}
	}
	b.key, b.chain, b.prepared = key, chain, true
	return nil
}

// write builds the evidence for res into b.out, returning its path, or ""
// when --out is not set: the PDF deliverable for a .pdf name, the bare
// container for .asice/.zip (with a warning that démarches-simplifiées
// refuses it). The file is written next to its final name and renamed, so
// a failed run never leaves half a file. Signing material errors are usage
// errors (exit 2). Warnings go to stderr.
func (b *bundleFlags) write(ctx context.Context, e *env, res *probe.Result, lang check.Lang) (string, error) {
	if b.out == "" {
		return "", nil
	}
	deliverable, err := outKind(b.out)
	if err != nil {
		return "", usageError(err)
	}
	if !b.prepared {
		if err := b.prepare(e, time.Now()); err != nil {
			return "", usageError(err)
		}
	}
	var buf bytes.Buffer
	// Page 1 says "identité vérifiée" for a signer of IGC-Santé production.
	opts := evidence.Options{Lang: lang, Signer: b.key, Chain: b.chain, TSAURL: b.tsa, IncludePersonalData: b.includePersonalData,
		SignerRoots: trust.ProdPool()}
	write := evidence.Write
	if deliverable {
		write = evidence.WriteDeliverable
	}
	err = write(ctx, &buf, res, opts)
	if errors.Is(err, evidence.ErrTimestamp) {
		// A failing or hostile TSA must not cost the run's evidence.
		b.timestampErr = err
		fmt.Fprintf(e.stderr, "%s%s\n", e.tr("--tsa : la preuve est écrite sans horodatage : ", "--tsa: the evidence is written without a timestamp: "), check.ErrorText(err, e.lang))
		opts.TSAURL = ""
		buf.Reset()
		err = write(ctx, &buf, res, opts)
	}
	if err != nil {
		return "", err
	}
	if err := writeAtomic(b.out, buf.Bytes()); err != nil {
		return "", check.Errorf("--out %s : %w", "--out %s: %w", b.out, err)
	}
	// Self-check: would démarches-simplifiées accept this file?
	for _, w := range evidence.DSCheck(buf.Bytes()) {
		fmt.Fprintf(e.stderr, "%s %s%s%s\n", e.tr("attention :", "warning:"), b.out, e.tr(" : ", ": "), w.In(lang))
	}
	return b.out, nil
}

// writeAtomic writes data to a temporary file beside path and renames it.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".msscprobe-evidence-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// signer loads the signing key and chain; nil, nil means ephemeral.
func (b *bundleFlags) signer(e *env) (crypto.Signer, []*x509.Certificate, error) {
	switch {
	case b.signP12 != "" && (b.signCert != "" || b.signKey != ""):
		return nil, nil, check.Errorf("--sign-p12 exclut --sign-cert/--sign-key : donnez l'un ou l'autre", "--sign-p12 excludes --sign-cert/--sign-key: give one or the other")
	case b.signP12 != "":
		return b.loadP12(e)
	case b.signCert != "" || b.signKey != "":
		if b.signCert == "" || b.signKey == "" {
			return nil, nil, check.Errorf("--sign-cert et --sign-key vont ensemble", "--sign-cert and --sign-key go together")
		}
		return loadPEMSigner(e, b.signCert, b.signKey)
	case b.p12PasswordEnv != "" || b.p12PasswordFile != "":
		return nil, nil, check.Errorf("--sign-p12-password-env/--sign-p12-password-file demandent --sign-p12", "--sign-p12-password-env/--sign-p12-password-file need --sign-p12")
	}
	return nil, nil, nil
}

func (b *bundleFlags) loadP12(e *env) (crypto.Signer, []*x509.Certificate, error) {
	// Read as verify reads its inputs: a regular file, bounded, so that a
	// named pipe cannot block the pre-flight before anything is checked.
	data, err := e.readRegular("--sign-p12", b.signP12, maxPEMFile)
	if err != nil {
		return nil, nil, err
	}
	if t := bytes.TrimSpace(data); bytes.HasPrefix(t, []byte("-----BEGIN")) {
		// A PEM file: people export a certificate and key as text and
		// expect it to do; PKCS#12 is a binary container (RFC 7292).
		return nil, nil, check.Errorf("--sign-p12 %s : c'est un fichier PEM (texte « -----BEGIN ») ; --sign-p12 attend un fichier PKCS#12 binaire (.p12 ou .pfx). "+
			"Pour un certificat et une clé PEM, utilisez --sign-cert et --sign-key, ou convertissez : openssl pkcs12 -export -in cert.pem -inkey cle.pem -out cert.p12",
			"--sign-p12 %s: this is a PEM file (\"-----BEGIN\" text); --sign-p12 wants a binary PKCS#12 file (.p12 or .pfx). "+
				"For a PEM certificate and key use --sign-cert and --sign-key, or convert: openssl pkcs12 -export -in cert.pem -inkey key.pem -out cert.p12", b.signP12)
	}
	var pass string
	switch {
	case b.p12PasswordEnv != "" && b.p12PasswordFile != "":
		return nil, nil, check.Errorf("donnez --sign-p12-password-env ou --sign-p12-password-file, pas les deux", "give --sign-p12-password-env or --sign-p12-password-file, not both")
	case b.p12PasswordEnv != "":
		if pass = e.getenv(b.p12PasswordEnv); pass == "" {
			return nil, nil, check.Errorf("--sign-p12-password-env : la variable d'environnement %s n'est pas définie ou est vide", "--sign-p12-password-env: environment variable %s is not set or empty", b.p12PasswordEnv)
		}
	case b.p12PasswordFile != "":
		raw, err := e.readRegular("--sign-p12-password-file", b.p12PasswordFile, maxPEMFile)
		if err != nil {
			return nil, nil, err
		}
		pass = strings.TrimRight(string(raw), "\r\n")
	}
	key, leaf, cas, err := pkcs12.DecodeChain(data, pass)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) && b.p12PasswordEnv == "" && b.p12PasswordFile == "" {
		// The usual cause: the password was not given at all.
		return nil, nil, check.Errorf("--sign-p12 %s : le fichier est protégé par un mot de passe : donnez-le avec --sign-p12-password-env VARIABLE ou --sign-p12-password-file FICHIER",
			"--sign-p12 %s: the file is password-protected: give the password with --sign-p12-password-env VARIABLE or --sign-p12-password-file FILE", b.signP12)
	}
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, nil, check.Errorf("--sign-p12 %s : mauvais mot de passe", "--sign-p12 %s: wrong password", b.signP12)
	}
	if err != nil {
		return nil, nil, check.Errorf("--sign-p12 %s : fichier PKCS#12 illisible (%w)", "--sign-p12 %s: unreadable PKCS#12 file (%w)", b.signP12, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, check.Errorf("--sign-p12 %s : type de clé non pris en charge %T", "--sign-p12 %s: unsupported key type %T", b.signP12, key)
	}
	return s, append([]*x509.Certificate{leaf}, cas...), nil
}

// loadPEMSigner reads a certificate chain and its unencrypted key; the key
// must match the first certificate.
func loadPEMSigner(e *env, certPath, keyPath string) (crypto.Signer, []*x509.Certificate, error) {
	certPEM, err := e.readRegular("--sign-cert", certPath, maxPEMFile)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := e.readRegular("--sign-key", keyPath, maxPEMFile)
	if err != nil {
		return nil, nil, err
	}
	if blk, _ := pem.Decode(keyPEM); blk != nil && (strings.Contains(blk.Type, "ENCRYPTED") || blk.Headers["Proc-Type"] != "") {
		return nil, nil, check.Errorf("--sign-key %s : les clés PEM chiffrées ne sont pas prises en charge ; utilisez --sign-p12 avec un mot de passe donné par --sign-p12-password-env/-file",
			"--sign-key %s: encrypted PEM keys are not supported; use --sign-p12 with a password from --sign-p12-password-env/-file", keyPath)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, check.Errorf("--sign-cert %s / --sign-key %s : %w", "--sign-cert %s / --sign-key %s: %w", certPath, keyPath, err)
	}
	var chain []*x509.Certificate
	for _, der := range pair.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, check.Errorf("--sign-cert %s : %w", "--sign-cert %s: %w", certPath, err)
		}
		chain = append(chain, c)
	}
	s, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, nil, check.Errorf("--sign-key %s : type de clé non pris en charge %T", "--sign-key %s: unsupported key type %T", keyPath, pair.PrivateKey)
	}
	return s, chain, nil
}
