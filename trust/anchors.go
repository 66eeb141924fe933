package trust

import (
	"crypto/x509"
	"embed"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"sync"
	"time"
	"unicode"
)

// Anchor kinds of a certificate chain, as recorded in probe results.
const (
	AnchorProd    = "igc-sante-prod" // IGC-Santé production
	AnchorTest    = "igc-sante-test" // IGC-Santé TEST (OU=IGC-SANTE TEST)
	AnchorPublic  = "public"         // a root of the system store
	AnchorPrivate = "private"        // a root given by the user (--ca, trust.ca_file)
	AnchorNone    = "none"           // no chain verified
)

// The IGC-Santé CA certificates: public trust anchors of the French health
// PKI run by ANS. Provenance and fingerprints: docs/trust.md.
//
//go:embed anchors/prod/*.pem anchors/test/*.pem
var anchorFS embed.FS

// Anchors are the certificate authorities a chain is classified against.
// The zero value knows no authority.
type Anchors struct {
	prod, test []*x509.Certificate // IGC-Santé roots and sub-CAs
	extra      []*x509.Certificate // roots given by the user
	// system returns the system roots, nil when none; it is called only
	// when no other anchor verifies a chain (loading them takes time).
	system func() *x509.CertPool

	once                   sync.Once
	prodRoots, prodInter   *x509.CertPool
	testRoots, testInter   *x509.CertPool
	extraRoots, extraInter *x509.CertPool
	ownRoots, ownInter     *x509.CertPool // IGC-Santé and the user's
}

func (a *Anchors) pools() {
	a.once.Do(func() {
		a.prodRoots, a.prodInter = pool(a.prod)
		a.testRoots, a.testInter = pool(a.test)
		a.extraRoots, a.extraInter = pool(a.extra)
		for _, c := range a.extra {
			a.extraRoots.AddCert(c) // a user's intermediate is an anchor too
		}
		a.ownRoots, a.ownInter = pool(slices.Concat(a.prod, a.test, a.extra))
		for _, c := range a.extra {
			a.ownRoots.AddCert(c)
		}
	})
}

func (a *Anchors) systemPool() *x509.CertPool {
	if a.system == nil {
		return nil
	}
	return a.system()
}

// IGCSante returns the embedded production and test IGC-Santé CA
// certificates (roots and sub-CAs).
func IGCSante() (prod, test []*x509.Certificate) {
	a := igcSante()
	return append([]*x509.Certificate(nil), a[0]...), append([]*x509.Certificate(nil), a[1]...)
}

var igcSante = sync.OnceValue(func() [2][]*x509.Certificate {
	return [2][]*x509.Certificate{mustLoad("anchors/prod"), mustLoad("anchors/test")}
})

func mustLoad(dir string) []*x509.Certificate {
	names, err := fs.Glob(anchorFS, dir+"/*.pem")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	var out []*x509.Certificate
	for _, n := range names {
		data, _ := anchorFS.ReadFile(n)
		certs, err := ParsePEM(data)
		if err != nil || len(certs) != 1 {
			panic(fmt.Sprintf("trust: embedded anchor %s: %v", path.Base(n), err))
		}
		out = append(out, certs...)
	}
	return out
}

// ProdPool holds every embedded IGC-Santé production CA, roots and
// sub-CAs, as roots: a certificate verifying against it chains to
// IGC-Santé production (for libraries that take one pool, such as the
// evidence writer's page 1).
func ProdPool() *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range igcSante()[0] {
		p.AddCert(c)
	}
	return p
}

// ParsePEM reads every CERTIFICATE block of data; it fails on a block that
// does not parse and when there is none.
func ParsePEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no PEM certificate")
	}
	return out, nil
}

// Default is the built-in trust: the IGC-Santé production and test CAs and
// the system roots (none when the system store cannot be read).
func Default() *Anchors {
	prod, test := IGCSante()
	return &Anchors{prod: prod, test: test, system: systemRoots}
}

var systemRoots = sync.OnceValue(func() *x509.CertPool {
	sys, err := x509.SystemCertPool()
	if err != nil {
		return nil
	}
	return sys
})

// NewAnchors builds anchors from explicit certificates: prod and test are
// classified as IGC-Santé production and TEST. Tests give a mock PKI here
// so that the probe calls it MSSanté; the command line never does.
func NewAnchors(prod, test []*x509.Certificate, system *x509.CertPool) *Anchors {
	a := &Anchors{prod: prod, test: test}
	if system != nil {
		a.system = func() *x509.CertPool { return system }
	}
	return a
}

// WithExtra returns a copy of a that also trusts roots given by the user,
// classified as private.
func (a *Anchors) WithExtra(roots ...*x509.Certificate) *Anchors {
	return &Anchors{prod: a.prod, test: a.test, system: a.system, extra: slices.Concat(a.extra, roots)}
}

// Verify verifies leaf, with the presented intermediates, against every
// anchor: IGC-Santé, the user's roots, then the system's (loaded only
// then). The known IGC-Santé sub-CAs count as intermediates, so that a
// server sending only its leaf still verifies. The error is the first
// one's when none verifies.
func (a *Anchors) Verify(leaf *x509.Certificate, presented []*x509.Certificate, opts x509.VerifyOptions) ([][]*x509.Certificate, error) {
	a.pools()
	inter := a.ownInter.Clone()
	for _, c := range presented {
		inter.AddCert(c)
	}
	opts.Roots, opts.Intermediates = a.ownRoots, inter
	chains, err := leaf.Verify(opts)
	if err == nil {
		return chains, nil
	}
	if sys := a.systemPool(); sys != nil {
		opts.Roots = sys
		chains, err2 := leaf.Verify(opts)
		if err2 == nil {
			return chains, nil
		}
		// Say what is wrong with the chain that did reach a root (a public
		// certificate for another name), not that our own roots miss it.
		var unknown x509.UnknownAuthorityError
		if errors.As(err, &unknown) && !errors.As(err2, &unknown) {
			err = err2
		}
	}
	return nil, err
}

// Pool returns every root a chain may end at (IGC-Santé, the user's, the
// system's) and the known intermediates, for a TLS or CMS library that
// takes pools.
func (a *Anchors) Pool() (roots, inter *x509.CertPool) {
	a.pools()
	roots = x509.NewCertPool()
	if sys := a.systemPool(); sys != nil {
		roots = sys.Clone()
	}
	for _, c := range slices.Concat(a.prod, a.test, a.extra) {
		roots.AddCert(c)
	}
	return roots, a.ownInter.Clone()
}

func isRoot(c *x509.Certificate) bool {
	return c.IsCA && c.CheckSignatureFrom(c) == nil
}

// pool makes a roots pool and an intermediates pool from certs.
func pool(certs []*x509.Certificate) (roots, inter *x509.CertPool) {
	roots, inter = x509.NewCertPool(), x509.NewCertPool()
	for _, c := range certs {
		if isRoot(c) {
			roots.AddCert(c)
		} else {
			inter.AddCert(c)
		}
	}
	return roots, inter
}

// Chain is a classified certificate chain.
type Chain struct {
	Kind string // Anchor* constant
	// Name is the subject CN of the root the chain ends at; for AnchorNone,
	// the issuer CN of the last certificate presented.
	Name string
	// Verified is the verified chain, leaf first; nil for AnchorNone.
	Verified []*x509.Certificate
	// Err says why no chain verified (AnchorNone).
	Err error
}

// Classify verifies presented (leaf first) at time now for usage and says
// which kind of authority it ends at: IGC-Santé production first, then
// IGC-Santé TEST, the user's roots, and the system roots. It does not check
// a host name.
func (a *Anchors) Classify(presented []*x509.Certificate, now time.Time, usage x509.ExtKeyUsage) Chain {
	if len(presented) == 0 {
		return Chain{Kind: AnchorNone, Err: fmt.Errorf("no certificate")}
	}
	leaf := presented[0]
	var firstErr error
	try := func(kind string, roots, inter *x509.CertPool) (Chain, bool) {
		if roots == nil {
			return Chain{}, false
		}
		for _, c := range presented[1:] {
			inter.AddCert(c)
		}
		chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}})
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return Chain{}, false
		}
		ch := chains[0]
		return Chain{Kind: kind, Name: printable(ch[len(ch)-1].Subject.CommonName), Verified: ch}, true
	}
	a.pools()
	if c, ok := try(AnchorProd, a.prodRoots, a.prodInter.Clone()); ok {
		return c
	}
	if c, ok := try(AnchorTest, a.testRoots, a.testInter.Clone()); ok {
		return c
	}
	if len(a.extra) > 0 {
		if c, ok := try(AnchorPrivate, a.extraRoots, a.extraInter.Clone()); ok {
			return c
		}
	}
	if sys := a.systemPool(); sys != nil {
		if c, ok := try(AnchorPublic, sys, a.ownInter.Clone()); ok {
			return c
		}
	}
	last := presented[len(presented)-1]
	return Chain{Kind: AnchorNone, Name: printable(last.Issuer.CommonName), Err: firstErr}
}

// printable keeps a name taken from a certificate fit for reports and
// terminals: control characters become "?", and it is cut at 128 runes.
func printable(s string) string {
	r := []rune(s)
	if len(r) > 128 {
		r = append(r[:128], '…')
	}
	for i, c := range r {
		if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) {
			r[i] = '?'
		}
	}
	return string(r)
}
