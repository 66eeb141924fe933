package probe

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/msscprobe/msscprobe/check"
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
	// tokenCmd, when set, is run before each login; its standard output
	// is the bearer token (a site's own Pro Santé Connect client).
	tokenCmd string
	dir      string       // working directory of tokenCmd
	scrub    func(string) // registers a fetched token with the transcripts
}

// maxTokenOutput bounds what auth.token_cmd may print.
const maxTokenOutput = 64 << 10

// fetchToken runs auth.token_cmd, within the step deadline, and keeps its
// output as the token. Neither the token nor the command's error output is
// ever logged: a failure says only how the command ended.
func (c *credentials) fetchToken(ctx context.Context, s *stepRec, rule string, timeout time.Duration) bool {
	if c == nil || c.tokenCmd == "" {
		return true
	}
	tok, err := runTokenCmd(ctx, c.tokenCmd, c.dir, timeout)
	if err != nil {
		s.fail(rule, check.Textf("%s.token_cmd n'a pas donné de jeton : %v. Lancez la commande vous-même pour voir son erreur.",
			"%s.token_cmd gave no token: %v. Run the command yourself to see its error.", c.key, err))
		return false
	}
	c.token = tok
	if c.scrub != nil {
		c.scrub(tok)
	}
	return true
}

// runTokenCmd runs cmd with /bin/sh in dir and returns its first line of
// output.
func runTokenCmd(ctx context.Context, cmd, dir string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := exec.CommandContext(ctx, "/bin/sh", "-c", cmd)
	c.Dir = dir
	c.WaitDelay = time.Second
	var out limitedBuffer
	out.left = maxTokenOutput
	c.Stdout = &out
	err := c.Run()
	switch {
	case ctx.Err() != nil:
		return "", fmt.Errorf("no token within %s (timeouts.step)", timeout)
	case out.over:
		return "", fmt.Errorf("more than %d KiB of output", maxTokenOutput>>10)
	case err != nil:
		return "", err
	}
	tok, _, _ := strings.Cut(strings.TrimLeft(out.b.String(), "\r\n"), "\n")
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", errors.New("empty output")
	}
	if strings.ContainsFunc(tok, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return "", errors.New("the output is not a bearer token (spaces or control characters)")
	}
	return tok, nil
}

type limitedBuffer struct {
	b    bytes.Buffer
	left int
	over bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if len(p) > l.left {
		l.over = true
		p = p[:l.left]
	}
	l.left -= len(p)
	l.b.Write(p)
	return len(p), nil
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
		if a.TokenCmd != "" {
			c.tokenCmd, c.dir = a.TokenCmd, cfg.dir
			break
		}
		c.token, err = readSecret(cfg, key+".token", a.TokenEnv, a.TokenFile, getenv)
	case MechCertificate:
		c.cert, err = loadClientCert(cfg, key, a, getenv)
	default:
		err = cfg.keyError(key+".mechanism", "%q : plain, login, xoauth2 ou certificate attendu", "%q: want plain, login, xoauth2 or certificate", a.Mechanism)
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
		return "", cfg.keyError(key+"_env", "la variable d'environnement %s n'est pas définie ou est vide", "environment variable %s is not set or empty", env)
	case file != "":
		b, err := os.ReadFile(cfg.Path(file))
		if err != nil {
			return "", cfg.keyError(key+"_file", "%v", "%v", unwrapPathError(err))
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", cfg.keyError(key+"_file", "%s est vide", "%s is empty", cfg.Path(file))
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
			return nil, cfg.keyError(key+".cert_file", "%s avec %s.key_file : %v", "%s with %s.key_file: %v", cfg.Path(a.CertFile), key, unwrapPathError(err))
		}
		return &cert, nil
	}
	data, err := os.ReadFile(cfg.Path(a.P12File))
	if err != nil {
		return nil, cfg.keyError(key+".p12_file", "%v", "%v", unwrapPathError(err))
	}
	pass, err := readSecret(cfg, key+".p12_password", a.P12PasswordEnv, a.P12PasswordFile, getenv)
	if err != nil {
		return nil, err
	}
	priv, leaf, chain, err := pkcs12.DecodeChain(data, pass)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, cfg.keyError(key+".p12_file", "%s : mauvais mot de passe (%s)", "%s: wrong password (%s)", cfg.Path(a.P12File), strings.TrimPrefix(err.Error(), "pkcs12: "))
		}
		return nil, cfg.keyError(key+".p12_file", "%s : fichier PKCS#12 illisible (%v)", "%s: unreadable PKCS#12 file (%v)", cfg.Path(a.P12File), err)
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
		return nil, cfg.keyError("trust.ca_file", "%v", "%v", unwrapPathError(err))
	}
	certs, err := trust.ParsePEM(pem)
	if err != nil {
		return nil, cfg.keyError("trust.ca_file", "%s ne contient aucun certificat PEM", "%s holds no PEM certificate", cfg.Path(cfg.Trust.CAFile))
	}
	return certs, nil
}
