package probe

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/msscprobe/msscprobe/trust"
)

// credentials are the secrets of one login, read at run time from the
// environment or files named by the configuration; they are never logged
// and are registered with the transcripts for scrubbing.
type credentials struct {
	key      string // configuration key, "auth" or "reply.mailbox.auth"
	mech     string
	username string
	password string // plain, login
	token    string // xoauth2
	cert     *tls.Certificate
}

// secrets lists the values transcripts must scrub.
func (c *credentials) secrets() []string {
	return []string{c.password, c.token}
}

func loadCredentials(cfg Config, key string, a Auth, getenv func(string) string) (*credentials, error) {
	c := &credentials{key: key, mech: a.Mechanism, username: a.Username}
	var err error
	switch a.Mechanism {
	case MechPlain, MechLogin:
		c.password, err = readSecret(cfg, key+".password", a.PasswordEnv, a.PasswordFile, getenv)
	case MechXOAuth2:
		c.token, err = readSecret(cfg, key+".token", a.TokenEnv, a.TokenFile, getenv)
	case MechCertificate:
		c.cert, err = loadClientCert(cfg, key, a, getenv)
	default:
		err = cfg.keyError(key+".mechanism", "%q: want plain, login, xoauth2 or certificate", a.Mechanism)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// readSecret reads a secret from an environment variable or a file; a
// file's trailing newline is dropped.
func readSecret(cfg Config, key, env, file string, getenv func(string) string) (string, error) {
	switch {
	case env != "":
		if v := getenv(env); v != "" {
			return v, nil
		}
		return "", cfg.keyError(key+"_env", "environment variable %s is not set or empty", env)
	case file != "":
		b, err := os.ReadFile(cfg.Path(file))
		if err != nil {
			return "", cfg.keyError(key+"_file", "%v", unwrapPathError(err))
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", cfg.keyError(key+"_file", "%s is empty", cfg.Path(file))
		}
		return v, nil
	}
	return "", nil
}

// loadClientCert reads a PEM certificate and key, or a PKCS#12 bundle as
// IGC Santé delivers them (research mssante.md §2: applicative mailboxes
// authenticate with an organisation certificate).
func loadClientCert(cfg Config, key string, a Auth, getenv func(string) string) (*tls.Certificate, error) {
	if a.P12File == "" {
		cert, err := tls.LoadX509KeyPair(cfg.Path(a.CertFile), cfg.Path(a.KeyFile))
		if err != nil {
			return nil, cfg.keyError(key+".cert_file", "%s with %s.key_file: %v", cfg.Path(a.CertFile), key, unwrapPathError(err))
		}
		return &cert, nil
	}
	data, err := os.ReadFile(cfg.Path(a.P12File))
	if err != nil {
		return nil, cfg.keyError(key+".p12_file", "%v", unwrapPathError(err))
	}
	pass, err := readSecret(cfg, key+".p12_password", a.P12PasswordEnv, a.P12PasswordFile, getenv)
	if err != nil {
		return nil, err
	}
	priv, leaf, chain, err := pkcs12.DecodeChain(data, pass)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, cfg.keyError(key+".p12_file", "%s: wrong password (%s)", cfg.Path(a.P12File), strings.TrimPrefix(err.Error(), "pkcs12: "))
		}
		return nil, cfg.keyError(key+".p12_file", "%s: %v", cfg.Path(a.P12File), err)
	}
	cert := &tls.Certificate{PrivateKey: priv, Leaf: leaf, Certificate: [][]byte{leaf.Raw}}
	for _, c := range chain {
		cert.Certificate = append(cert.Certificate, c.Raw)
	}
	return cert, nil
}

// loadRoots reads trust.ca_file: roots added to the built-in IGC-Santé
// anchors and the system's.
func loadRoots(cfg Config) ([]*x509.Certificate, error) {
	if cfg.Trust.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(cfg.Path(cfg.Trust.CAFile))
	if err != nil {
		return nil, cfg.keyError("trust.ca_file", "%v", unwrapPathError(err))
	}
	certs, err := trust.ParsePEM(pem)
	if err != nil {
		return nil, cfg.keyError("trust.ca_file", "%s holds no PEM certificate", cfg.Path(cfg.Trust.CAFile))
	}
	return certs, nil
}
