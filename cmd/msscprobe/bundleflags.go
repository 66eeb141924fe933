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
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/evidence"
	"github.com/msscprobe/msscprobe/probe"
)

// bundleFlags are the evidence bundle flags shared by `probe` and `demo`
// (issue 5). Secrets are never flag values: the flags name the environment
// variable or the file that holds the PKCS#12 password.
type bundleFlags struct {
	out                 string
	signCert, signKey   string
	signP12             string
	p12PasswordEnv      string
	p12PasswordFile     string
	tsa                 string
	includePersonalData bool
}

func addBundleFlags(cmd *cobra.Command) *bundleFlags {
	b := &bundleFlags{}
	f := cmd.Flags()
	f.StringVar(&b.out, "out", "", "write a signed evidence bundle (ASiC-E zip) to this file")
	f.StringVar(&b.signCert, "sign-cert", "", "PEM certificate chain (leaf first) signing the bundle")
	f.StringVar(&b.signKey, "sign-key", "", "PEM private key of --sign-cert (unencrypted; protect the file)")
	f.StringVar(&b.signP12, "sign-p12", "", "PKCS#12 file (certificate, chain and key) signing the bundle, e.g. an IGC Santé certificate")
	f.StringVar(&b.p12PasswordEnv, "sign-p12-password-env", "", "name of the environment variable holding the --sign-p12 password")
	f.StringVar(&b.p12PasswordFile, "sign-p12-password-file", "", "file holding the --sign-p12 password")
	f.StringVar(&b.tsa, "tsa", "", "RFC 3161 time-stamping authority URL to timestamp the signature")
	f.BoolVar(&b.includePersonalData, "include-personal-data", false, "copy an attached document even when it carries a production INS")
	return b
}

// write builds the bundle for res into b.out, returning its path, or ""
// when --out is not set. The file is written next to its final name and
// renamed, so a failed run never leaves a half bundle. Signing material
// errors are usage errors (exit 2).
func (b *bundleFlags) write(ctx context.Context, e *env, res *probe.Result, lang check.Lang) (string, error) {
	if b.out == "" {
		return "", nil
	}
	signer, chain, err := b.signer(e)
	if err != nil {
		return "", usageError(err)
	}
	var buf bytes.Buffer
	opts := evidence.Options{Lang: lang, Signer: signer, Chain: chain, TSAURL: b.tsa, IncludePersonalData: b.includePersonalData}
	if err := evidence.Write(ctx, &buf, res, opts); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(b.out), ".msscprobe-bundle-*")
	if err != nil {
		return "", fmt.Errorf("--out %s: %w", b.out, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return "", fmt.Errorf("--out %s: %w", b.out, err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("--out %s: %w", b.out, err)
	}
	if err := os.Rename(tmp.Name(), b.out); err != nil {
		return "", fmt.Errorf("--out %s: %w", b.out, err)
	}
	return b.out, nil
}

// signer loads the signing key and chain; nil, nil means ephemeral.
func (b *bundleFlags) signer(e *env) (crypto.Signer, []*x509.Certificate, error) {
	switch {
	case b.signP12 != "" && (b.signCert != "" || b.signKey != ""):
		return nil, nil, errors.New("--sign-p12 excludes --sign-cert/--sign-key")
	case b.signP12 != "":
		return b.loadP12(e)
	case b.signCert != "" || b.signKey != "":
		if b.signCert == "" || b.signKey == "" {
			return nil, nil, errors.New("--sign-cert and --sign-key go together")
		}
		return loadPEMSigner(b.signCert, b.signKey)
	case b.p12PasswordEnv != "" || b.p12PasswordFile != "":
		return nil, nil, errors.New("--sign-p12-password-env/--sign-p12-password-file need --sign-p12")
	}
	return nil, nil, nil
}

func (b *bundleFlags) loadP12(e *env) (crypto.Signer, []*x509.Certificate, error) {
	data, err := os.ReadFile(b.signP12)
	if err != nil {
		return nil, nil, fmt.Errorf("--sign-p12: %w", err)
	}
	var pass string
	switch {
	case b.p12PasswordEnv != "" && b.p12PasswordFile != "":
		return nil, nil, errors.New("give --sign-p12-password-env or --sign-p12-password-file, not both")
	case b.p12PasswordEnv != "":
		if pass = e.getenv(b.p12PasswordEnv); pass == "" {
			return nil, nil, fmt.Errorf("--sign-p12-password-env: environment variable %s is not set or empty", b.p12PasswordEnv)
		}
	case b.p12PasswordFile != "":
		raw, err := os.ReadFile(b.p12PasswordFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--sign-p12-password-file: %w", err)
		}
		pass = strings.TrimRight(string(raw), "\r\n")
	}
	key, leaf, cas, err := pkcs12.DecodeChain(data, pass)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, nil, fmt.Errorf("--sign-p12 %s: wrong password", b.signP12)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--sign-p12 %s: %w", b.signP12, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("--sign-p12 %s: unsupported key type %T", b.signP12, key)
	}
	return s, append([]*x509.Certificate{leaf}, cas...), nil
}

// loadPEMSigner reads a certificate chain and its unencrypted key; the key
// must match the first certificate.
func loadPEMSigner(certPath, keyPath string) (crypto.Signer, []*x509.Certificate, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, fmt.Errorf("--sign-cert: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("--sign-key: %w", err)
	}
	if blk, _ := pem.Decode(keyPEM); blk != nil && (strings.Contains(blk.Type, "ENCRYPTED") || blk.Headers["Proc-Type"] != "") {
		return nil, nil, fmt.Errorf("--sign-key %s: encrypted PEM keys are not supported; use --sign-p12 with a password from --sign-p12-password-env/-file", keyPath)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("--sign-cert %s / --sign-key %s: %w", certPath, keyPath, err)
	}
	var chain []*x509.Certificate
	for _, der := range pair.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, nil, fmt.Errorf("--sign-cert %s: %w", certPath, err)
		}
		chain = append(chain, c)
	}
	s, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("--sign-key %s: unsupported key type %T", keyPath, pair.PrivateKey)
	}
	return s, chain, nil
}
