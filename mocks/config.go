package mocks

import (
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/message"
)

// Config configures a mock operator. The zero value is usable: see the
// defaults on each field.
type Config struct {
	EstablishmentDomains []string // default ["hopital.test.mssante.fr"]
	CitizenDomain        string   // default "patient.mssante.fr"
	// Accounts are establishment mailboxes; none means one default account
	// with a generated password, see Operator.Accounts.
	Accounts []Account
	// CitizenAccounts are citizen mailboxes that can log in (IMAP and
	// submission) to reply themselves.
	CitizenAccounts []Account
	// Listen addresses, default "127.0.0.1:0" each; "off" disables one.
	ListenSMTP, ListenSMTPS, ListenIMAP, ListenIMAPS string
	// ListenHTTP is the loopback address of the HTTP API and page
	// ("127.0.0.1:0" = any free port); "" or "off" disables it.
	ListenHTTP string
	// CertFile and KeyFile give the server certificate; a CA and a
	// certificate are generated otherwise.
	CertFile, KeyFile string
	// ListenPKI serves (HTTP) the CRLs, OCSP and CA certificates the test
	// PKI's certificates point at; ListenPSC the Pro Santé Connect issuer.
	// Default "127.0.0.1:0" each, "off" disables (certificates then carry
	// no URL; tokens can still be minted with PSCToken).
	ListenPKI, ListenPSC string
	PKI                  PKIConfig     // subjects of the test PKI's leaves (pki.go)
	PSC                  PSCConfig     // mock Pro Santé Connect issuer (psc.go)
	AutoReplyDelay       time.Duration // default 0
	// AutoReplyCitizens makes every citizen mailbox auto-reply, not only
	// reponse.automatique-test@.
	AutoReplyCitizens bool
	// TrustedDomains is the trust space; default: establishment domains and
	// the citizen domain. See LoadWhitelist for the ANS format.
	TrustedDomains []string
	NILMode        string // "warn" (default) | "refuse"
	// Conformance is what the MSSanté message rules (package message) do
	// to a received message: ConformanceWarn (default) records the verdict,
	// ConformanceRefuse also answers 550 to a non-conforming message,
	// ConformanceOff checks nothing.
	Conformance     string
	MaxMessageBytes int64 // default 25 MB
	// MaxInFlightBytes bounds the memory of messages being received (SMTP
	// DATA and IMAP APPEND together, every connection); past it DATA gets
	// 452 4.3.1 and APPEND NO [LIMIT]. Default 128 MiB; at least
	// MaxMessageBytes.
	MaxInFlightBytes int64
	Faults           []Fault
	RateLimits       []RateLimit // token buckets per client or account, see ParseRateLimit
	StoreDir         string      // "" = in memory
	Log              io.Writer   // JSON lines event log, nil = none
}

// Account is a mailbox that can log in. Password enables AUTH PLAIN/LOGIN
// and IMAP LOGIN, Token enables SASL XOAUTH2 (Pro Santé Connect bearer
// token), ClientCert allows login with a certificate issued by
// Operator.IssueClientCert (SASL EXTERNAL, or implicitly on SMTP).
type Account struct {
	Address, Password, Token string
	ClientCert               bool
}

// Defaults.
const (
	DefaultEstablishmentDomain = "hopital.test.mssante.fr"
	DefaultCitizenDomain       = message.DefaultCitizenDomain
	DefaultMaxMessageBytes     = message.MaxMessageBytes // ENS Messagerie v1.3 §6 (research mssante.md §1)
	DefaultMaxInFlightBytes    = 128 << 20
	DefaultAccountLocalPart    = "medecin"
	// AutoReplyLocalPart is the test mailbox of the real service, declared
	// in the ANS whitelist description of patient.mssante.fr (research
	// mssante.md §6).
	AutoReplyLocalPart = message.AutoReplyLocalPart
)

// NIL modes.
const (
	NILWarn   = "warn"
	NILRefuse = "refuse"
)

// normalize fills defaults and checks cfg. It never modifies the caller's
// slices.
func (cfg Config) normalize() (Config, error) {
	c := cfg
	if len(c.EstablishmentDomains) == 0 {
		c.EstablishmentDomains = []string{DefaultEstablishmentDomain}
	}
	var doms []string
	for _, d := range c.EstablishmentDomains {
		d = normDomain(d)
		if !validDomain(d) {
			return c, check.Errorf("domaine d'établissement %q : ce n'est pas un nom de domaine", "establishment domain %q is not a domain name", d)
		}
		doms = append(doms, d)
	}
	c.EstablishmentDomains = doms
	if c.CitizenDomain == "" {
		c.CitizenDomain = DefaultCitizenDomain
	}
	c.CitizenDomain = normDomain(c.CitizenDomain)
	if !validDomain(c.CitizenDomain) {
		return c, check.Errorf("domaine citoyen %q : ce n'est pas un nom de domaine", "citizen domain %q is not a domain name", c.CitizenDomain)
	}
	for _, d := range doms {
		if d == c.CitizenDomain {
			return c, check.Errorf("le domaine %q ne peut pas être à la fois d'établissement et citoyen", "domain %q cannot be both an establishment and the citizen domain", d)
		}
	}
	for _, p := range []*string{&c.ListenSMTP, &c.ListenSMTPS, &c.ListenIMAP, &c.ListenIMAPS, &c.ListenPKI, &c.ListenPSC} {
		if *p == "" {
			*p = "127.0.0.1:0"
		}
	}
	if c.ListenHTTP != "" && !strings.EqualFold(c.ListenHTTP, "off") {
		if err := checkLoopback(c.ListenHTTP); err != nil {
			return c, err
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return c, check.Errorf("certificat serveur : donnez le certificat et la clé (--cert et --key), ou aucun des deux", "server certificate: give both CertFile and KeyFile, or neither")
	}
	if c.AutoReplyDelay < 0 {
		return c, check.Errorf("délai de réponse automatique %s négatif", "auto-reply delay %s is negative", c.AutoReplyDelay)
	}
	if len(c.TrustedDomains) == 0 {
		c.TrustedDomains = append(append([]string(nil), doms...), c.CitizenDomain)
	}
	var trusted []string
	for _, d := range c.TrustedDomains {
		trusted = append(trusted, normDomain(d))
	}
	c.TrustedDomains = trusted
	switch c.NILMode {
	case "":
		c.NILMode = NILWarn
	case NILWarn, NILRefuse:
	default:
		return c, check.Errorf("mode NIL %q : %q ou %q attendu", "NIL mode %q: want %q or %q", c.NILMode, NILWarn, NILRefuse)
	}
	switch c.Conformance {
	case "":
		c.Conformance = ConformanceWarn
	case ConformanceWarn, ConformanceRefuse, ConformanceOff:
	default:
		return c, check.Errorf("mode de conformité %q : %q, %q ou %q attendu", "conformance mode %q: want %q, %q or %q", c.Conformance, ConformanceWarn, ConformanceRefuse, ConformanceOff)
	}
	if c.MaxMessageBytes == 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxMessageBytes < 0 {
		return c, check.Errorf("taille maximale de message %d négative", "maximum message size %d is negative", c.MaxMessageBytes)
	}
	if c.MaxInFlightBytes == 0 {
		c.MaxInFlightBytes = max(DefaultMaxInFlightBytes, c.MaxMessageBytes)
	}
	if c.MaxInFlightBytes < c.MaxMessageBytes {
		return c, check.Errorf("budget en cours de réception %d inférieur à la taille maximale de message %d : aucun message de cette taille ne pourrait être reçu",
			"in-flight budget %d is below the maximum message size %d: no message of that size could be received", c.MaxInFlightBytes, c.MaxMessageBytes)
	}
	if len(c.Accounts) == 0 {
		pw, err := generateSecret()
		if err != nil {
			return c, err
		}
		c.Accounts = []Account{{Address: DefaultAccountLocalPart + "@" + doms[0], Password: pw}}
	}
	seen := map[string]bool{}
	norm := func(list []Account, citizen bool) ([]Account, error) {
		var out []Account
		for _, a := range list {
			a.Address = strings.ToLower(strings.TrimSpace(a.Address))
			addr, err := mail.ParseAddress(a.Address)
			if err != nil || addr.Address != a.Address || !strings.Contains(a.Address, "@") {
				return nil, check.Errorf("compte %q : ce n'est pas une adresse de messagerie", "account %q is not a mail address", a.Address)
			}
			if seen[a.Address] {
				return nil, check.Errorf("compte %q listé deux fois", "account %q is listed twice", a.Address)
			}
			seen[a.Address] = true
			if a.Password == "" && a.Token == "" && !a.ClientCert {
				return nil, check.Errorf("compte %q sans mot de passe, jeton ni certificat client : il ne pourrait jamais se connecter", "account %q has no password, token or client certificate: it could never log in", a.Address)
			}
			if isCit := domainOf(a.Address) == c.CitizenDomain; isCit != citizen {
				if citizen {
					return nil, check.Errorf("compte citoyen %q hors du domaine citoyen %s", "citizen account %q is not on the citizen domain %s", a.Address, c.CitizenDomain)
				}
				return nil, check.Errorf("le compte %q est sur le domaine citoyen : listez-le dans les comptes citoyens (--citizen-accounts)", "account %q is on the citizen domain: list it in CitizenAccounts", a.Address)
			}
			// Mail to a mailbox outside the establishment domains would
			// be refused as relaying, and its sender is outside the trust
			// space by default: say so now rather than at the first RCPT.
			if !citizen && !slices.Contains(doms, domainOf(a.Address)) {
				return nil, check.Errorf("le compte %q n'est pas sur un domaine d'établissement (%s)", "account %q is not on an establishment domain (%s)", a.Address, strings.Join(doms, ", "))
			}
			out = append(out, a)
		}
		return out, nil
	}
	var err error
	if c.PKI, err = c.PKI.normalize(); err != nil {
		return c, err
	}
	if c.PSC, err = c.PSC.normalize(); err != nil {
		return c, err
	}
	if c.Accounts, err = norm(c.Accounts, false); err != nil {
		return c, err
	}
	if c.CitizenAccounts, err = norm(c.CitizenAccounts, true); err != nil {
		return c, err
	}
	return c, nil
}

func generateSecret() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", check.Errorf("génération du mot de passe : %w", "generate password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func normDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

func validDomain(d string) bool {
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// domainOf returns the lower-case domain of addr, "" without one.
func domainOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(addr[i+1:])
}

func localOf(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr
	}
	return addr[:i]
}
