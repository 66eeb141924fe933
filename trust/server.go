package trust

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/msscprobe/msscprobe/check"
)

// IGC-Santé certificate policy OIDs (corpus igc-sante/SOURCES.md layouts).
var (
	OIDPolicyServSSL = asn1.ObjectIdentifier{1, 2, 250, 1, 213, 1, 7, 1, 1, 2, 5, 1}
	OIDPolicyOrgAuth = asn1.ObjectIdentifier{1, 2, 250, 1, 213, 1, 7, 1, 1, 2, 4, 1}
	OIDPolicyOrgSign = asn1.ObjectIdentifier{1, 2, 250, 1, 213, 1, 7, 1, 1, 2, 3, 1}
	// OIDPolicyTest is carried by every IGC-Santé TEST leaf, whatever its use.
	OIDPolicyTest = asn1.ObjectIdentifier{1, 2, 250, 1, 213, 1, 7, 2, 1, 1, 1, 1}
)

// Address classes of what was dialled.
const (
	AddrLoopback = "loopback"
	AddrPrivate  = "private"
	AddrPublic   = "public"
)

// Revocation states. Unknown is never reported as good.
const (
	RevGood    = "good"
	RevRevoked = "revoked"
	RevUnknown = "unknown"
)

// Outcomes of a decision; the same words as probe.Status.
const (
	Pass = "pass"
	Fail = "fail"
	Warn = "warn"
)

// Policy is what a server is classified against.
type Policy struct {
	Anchors   *Anchors   // nil: Default()
	Whitelist *Whitelist // nil: Snapshot()
	// AddressClass classifies the dialled address; nil is ClassifyAddr.
	// Tests on loopback make it answer "public" through the Go API.
	AddressClass func(netip.Addr) string
	// HTTP fetches CRLs and OCSP answers; nil is a client that uses the
	// proxy of the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) and
	// follows at most 3 redirects, to http or https only.
	HTTP *http.Client
}

func (p *Policy) anchors() *Anchors {
	if p.Anchors == nil {
		p.Anchors = Default()
	}
	return p.Anchors
}

func (p *Policy) whitelist() *Whitelist {
	if p.Whitelist == nil {
		p.Whitelist = Snapshot()
	}
	return p.Whitelist
}

// Server is what the probe saw of one server.
type Server struct {
	Proto      string // "SMTP" or "IMAP"
	Name       string // the name the certificate must match
	Addr       string // "ip:port" dialled
	MailDomain string // the establishment's mail domain
	State      tls.ConnectionState
	Now        time.Time
	// Revocation is false to skip fetching CRL/OCSP (the chain did not
	// verify: nothing would be trusted from it anyway).
	Revocation bool
	// Timeout bounds the revocation fetch (the probe's step deadline).
	Timeout time.Duration
}

// Decision is one classification check, ready for a probe step.
type Decision struct {
	Rule    string
	Outcome string // Pass, Fail, Warn
	Message check.Text
}

// Class is the classification of a server; the probe copies it into its
// result (probe.ServerClass).
type Class struct {
	Anchor           string
	AnchorName       string
	ServSSL          bool
	Revocation       string
	RevocationSource string
	Address          string
	TrustSpace       bool
	TLSAcceptable    bool
	Decisions        []Decision
}

// ClassifyServer classifies s. The only network use is the revocation
// fetch, bounded by ctx and s.Timeout.
func (p *Policy) ClassifyServer(ctx context.Context, s Server) Class {
	c, ch := p.classify(s)
	if len(s.State.PeerCertificates) == 0 {
		return c
	}
	leaf := s.State.PeerCertificates[0]
	var issuer *x509.Certificate
	if len(ch.Verified) > 1 {
		issuer = ch.Verified[1]
	}
	var rev Revocation
	switch {
	case !s.Revocation:
		rev = Revocation{Status: RevUnknown, Why: check.Text{FR: "chaîne non vérifiée : révocation non interrogée", EN: "chain not verified: revocation not queried"}}
	case issuer == nil:
		rev = Revocation{Status: RevUnknown, Why: check.Text{FR: "émetteur inconnu : révocation non vérifiable", EN: "issuer unknown: revocation cannot be checked"}}
	default:
		rctx, cancel := context.WithTimeout(ctx, s.Timeout)
		rev = p.CheckRevocation(rctx, leaf, issuer, s.Now)
		cancel()
	}
	c.Revocation, c.RevocationSource = rev.Status, rev.Source
	id := RuleID(s.Proto, 3)
	switch rev.Status {
	case RevGood:
		c.add(id, Pass, check.Textf("Non révoqué (%s)", "Not revoked (%s)", rev.Source))
	case RevRevoked:
		c.add(id, Fail, check.Textf("Certificat du serveur %s RÉVOQUÉ (%s, le %s) : la connexion est refusée ; l'opérateur doit installer un certificat valide.",
			"The %s server certificate is REVOKED (%s, on %s): connection refused; the operator must install a valid certificate.",
			s.Proto, rev.Source, rev.RevokedAt.UTC().Format(time.DateOnly)))
	default:
		c.add(id, Warn, check.Textf("Révocation inconnue : %s (jamais considéré comme non révoqué sans réponse)", "Revocation unknown: %s (never taken as not revoked without an answer)", rev.Why))
	}
	c.sort()
	return c
}

// sort keeps the rule order of ServerRules.
func (c *Class) sort() {
	slices.SortStableFunc(c.Decisions, func(a, b Decision) int { return strings.Compare(a.Rule, b.Rule) })
}

func (c *Class) add(rule, outcome string, msg check.Text) {
	c.Decisions = append(c.Decisions, Decision{Rule: rule, Outcome: outcome, Message: msg})
}

// Classify makes every offline decision about s: anchor, SERV SSL profile,
// address class, trust space and TLS. Revocation is left "unknown"
// (ClassifyServer adds it). It never touches the network, so that it can
// be fuzzed.
func Classify(p *Policy, s Server) Class {
	c, _ := p.classify(s)
	return c
}

// classify is Classify, also returning the verified chain so that
// ClassifyServer finds the revocation issuer without verifying it again.
func (p *Policy) classify(s Server) (c Class, ch Chain) {
	c = Class{Revocation: RevUnknown}
	defer c.sort()
	certs := s.State.PeerCertificates
	c.Address = p.addressOf(s.Addr)
	if c.Address == AddrPublic {
		c.add(RuleID(s.Proto, 4), Pass, check.Textf("Adresse publique %s", "Public address %s", s.Addr))
	} else {
		c.add(RuleID(s.Proto, 4), Warn, check.Text{
			FR: fmt.Sprintf("Adresse %s (%s) : un opérateur MSSanté réel n'est pas joint ainsi ; environnement de test", addrWord(c.Address, check.FR), s.Addr),
			EN: fmt.Sprintf("%s address (%s): a real MSSanté operator is not reached this way; test environment", addrWord(c.Address, check.EN), s.Addr)})
	}
	c.TLSAcceptable = TLSAcceptable(s.State.Version, s.State.CipherSuite)
	suite := tls.VersionName(s.State.Version) + ", " + tls.CipherSuiteName(s.State.CipherSuite)
	if c.TLSAcceptable {
		c.add(RuleID(s.Proto, 6), Pass, check.Textf("%s : suite acceptée", "%s: accepted suite", suite))
	} else {
		c.add(RuleID(s.Proto, 6), Warn, check.Textf("%s : hors de la liste acceptée (TLS ≥ 1.2, ECDHE avec AES-GCM ou ChaCha20-Poly1305 ; docs/trust.md) : configurez le serveur.",
			"%s: not in the accepted list (TLS ≥ 1.2, ECDHE with AES-GCM or ChaCha20-Poly1305; docs/trust.md): configure the server.", suite))
	}
	if len(certs) == 0 {
		c.Anchor = AnchorNone
		return c, ch
	}
	leaf := certs[0]
	ch = p.anchors().Classify(certs, s.Now, x509.ExtKeyUsageServerAuth)
	c.Anchor, c.AnchorName = ch.Kind, ch.Name
	switch ch.Kind {
	case AnchorProd:
		c.add(RuleID(s.Proto, 1), Pass, check.Textf("Rattaché à %q (IGC-Santé production)", "Chains to %q (IGC-Santé production)", ch.Name))
	case AnchorTest:
		c.add(RuleID(s.Proto, 1), Warn, check.Textf("Rattaché à %q : IGC-Santé de TEST, environnement de test", "Chains to %q: IGC-Santé TEST, a test environment", ch.Name))
	case AnchorNone:
		c.add(RuleID(s.Proto, 1), Warn, check.Textf("Aucune chaîne vérifiée (émetteur %q) : pas l'IGC-Santé", "No chain verified (issuer %q): not IGC-Santé", ch.Name))
	default:
		c.add(RuleID(s.Proto, 1), Warn, check.Text{
			FR: fmt.Sprintf("Rattaché à %q (autorité %s), pas à l'IGC-Santé : hors de l'espace de confiance MSSanté", ch.Name, anchorWord(ch.Kind, check.FR)),
			EN: fmt.Sprintf("Chains to %q (%s authority), not to IGC-Santé: outside the MSSanté trust space", ch.Name, anchorWord(ch.Kind, check.EN))})
	}
	why := ServSSLProblems(leaf, s.Name, ch.Kind == AnchorTest)
	c.ServSSL = len(why) == 0
	if c.ServSSL {
		c.add(RuleID(s.Proto, 2), Pass, check.Textf("Profil SERV SSL pour %s", "SERV SSL profile for %s", s.Name))
	} else {
		c.add(RuleID(s.Proto, 2), Warn, check.Textf("Pas le profil SERV SSL : %s", "Not the SERV SSL profile: %s", check.JoinTexts(why)))
	}
	c.TrustSpace = p.inTrustSpace(&c, s, leaf)
	return c, ch
}

func (p *Policy) inTrustSpace(c *Class, s Server, leaf *x509.Certificate) bool {
	wl := p.whitelist()
	dated := check.Textf("liste blanche du %s", "whitelist of %s", wl.Generated.UTC().Format(time.DateOnly))
	entries := wl.Lookup(s.MailDomain)
	id := RuleID(s.Proto, 5)
	if len(entries) == 0 {
		// Point to --whitelist only when the embedded snapshot was used:
		// a user who gave a list already has the newer one.
		hint := check.Text{}
		if wl.embedded {
			hint = check.Text{FR: " (une liste plus récente : --whitelist)", EN: " (a newer list: --whitelist)"}
		}
		c.add(id, Warn, check.Textf("Le domaine %s n'est pas dans la %s : hors de l'espace de confiance%s",
			"Domain %s is not in the %s: outside the trust space%s", s.MailDomain, dated, hint))
		return false
	}
	subject := SubjectAttrs(leaf)
	for _, e := range entries {
		if dn, err := ParseDN(e.OperatorDN); err == nil && SameDN(dn, subject) {
			c.add(id, Pass, check.Textf("Domaine %s listé (%s), certificat de l'opérateur %s", "Domain %s listed (%s), operator certificate %s", s.MailDomain, dated, e.OperatorDN))
			return true
		}
	}
	c.add(id, Warn, check.Textf("Domaine %s listé (%s) mais le certificat %q n'est pas celui de son opérateur (%s)",
		"Domain %s listed (%s) but certificate %q is not its operator's (%s)", s.MailDomain, dated, leaf.Subject.String(), entries[0].OperatorDN))
	return false
}

// ServSSLProblems lists how leaf departs from the IGC-Santé SERV SSL
// profile for host: policy OID (the TEST policy when test), key usages
// digitalSignature and keyEncipherment, extended usage serverAuth, and a
// dNSName matching host. Empty means the profile holds.
func ServSSLProblems(leaf *x509.Certificate, host string, test bool) []check.Text {
	var out []check.Text
	want := OIDPolicyServSSL
	if test {
		want = OIDPolicyTest
	}
	if !slices.ContainsFunc(leaf.PolicyIdentifiers, want.Equal) {
		out = append(out, check.Textf("politique %s absente", "policy %s missing", want))
	}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 || leaf.KeyUsage&x509.KeyUsageKeyEncipherment == 0 {
		out = append(out, check.Text{FR: "usages digitalSignature et keyEncipherment attendus", EN: "key usages digitalSignature and keyEncipherment expected"})
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		out = append(out, check.Text{FR: "usage étendu serverAuth absent", EN: "extended key usage serverAuth missing"})
	}
	if len(leaf.DNSNames) == 0 || leaf.VerifyHostname(host) != nil || net.ParseIP(host) != nil {
		out = append(out, check.Textf("aucun nom DNS du certificat ne correspond à %s", "no DNS name of the certificate matches %s", host))
	}
	return out
}

// TLSAcceptable is the documented list (docs/trust.md): TLS 1.3 (every
// suite is AEAD), or TLS 1.2 with ECDHE key exchange and AES-GCM or
// ChaCha20-Poly1305 (Ségur SC.MSS/CONF.01, CONF.03; ANSSI-PA-035).
func TLSAcceptable(version, suite uint16) bool {
	switch version {
	case tls.VersionTLS13:
		return true
	case tls.VersionTLS12:
		switch suite {
		case tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
			return true
		}
	}
	return false
}

// ClassifyAddr says whether ip is loopback, private (RFC 1918, unique
// local, link-local, shared CGN space, unspecified) or public.
func ClassifyAddr(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return AddrLoopback
	case !ip.IsValid(), ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsUnspecified(), cgn.Contains(ip):
		return AddrPrivate
	}
	return AddrPublic
}

var cgn = netip.MustParsePrefix("100.64.0.0/10")

func (p *Policy) addressOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return AddrPrivate // nothing dialled that we can name: never "public"
	}
	if p.AddressClass != nil {
		return p.AddressClass(ip)
	}
	return ClassifyAddr(ip)
}

func addrWord(class string, l check.Lang) string {
	fr := map[string]string{AddrLoopback: "de bouclage", AddrPrivate: "privée"}
	if l == check.EN {
		return map[string]string{AddrLoopback: "Loopback", AddrPrivate: "Private"}[class]
	}
	return fr[class]
}

func anchorWord(kind string, l check.Lang) string {
	if l == check.EN {
		return map[string]string{AnchorPublic: "public", AnchorPrivate: "private"}[kind]
	}
	return map[string]string{AnchorPublic: "publique", AnchorPrivate: "privée"}[kind]
}
