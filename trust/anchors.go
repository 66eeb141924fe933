package trust

import (
	"crypto/x509"
	"embed"
	"encoding/pem"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"time"
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
	system     *x509.CertPool      // nil: no system store
	extra      []*x509.Certificate // roots given by the user
}

// IGCSante returns the embedded production and test IGC-Santé CA
// certificates (roots and sub-CAs).
func IGCSante() (prod, test []*x509.Certificate) {
	return mustLoad("anchors/prod"), mustLoad("anchors/test")
}

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
	sys, err := x509.SystemCertPool()
	if err != nil {
		sys = nil
	}
	return &Anchors{prod: prod, test: test, system: sys}
}

// NewAnchors builds anchors from explicit certificates: prod and test are
// classified as IGC-Santé production and TEST. Tests give a mock PKI here
// so that the probe calls it MSSanté; the command line never does.
func NewAnchors(prod, test []*x509.Certificate, system *x509.CertPool) *Anchors {
	return &Anchors{prod: prod, test: test, system: system}
}

// WithExtra returns a copy of a that also trusts roots given by the user,
// classified as private.
func (a *Anchors) WithExtra(roots ...*x509.Certificate) *Anchors {
	b := *a
	b.extra = append(append([]*x509.Certificate(nil), a.extra...), roots...)
	return &b
}

// Pools returns every root a chain may end at and the known intermediate
// CAs (IGC-Santé sub-CAs, so that a server sending only its leaf still
// verifies).
func (a *Anchors) Pools() (roots, inter *x509.CertPool) {
	roots = x509.NewCertPool()
	if a.system != nil {
		roots = a.system.Clone()
	}
	inter = x509.NewCertPool()
	for _, c := range append(append(append([]*x509.Certificate(nil), a.prod...), a.test...), a.extra...) {
		if isRoot(c) {
			roots.AddCert(c)
		} else {
			inter.AddCert(c)
		}
	}
	return roots, inter
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
// IGC-Santé TEST, the system roots, and the user's roots. It does not check
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
		return Chain{Kind: kind, Name: ch[len(ch)-1].Subject.CommonName, Verified: ch}, true
	}
	pr, pi := pool(a.prod)
	if c, ok := try(AnchorProd, pr, pi); ok {
		return c
	}
	tr, ti := pool(a.test)
	if c, ok := try(AnchorTest, tr, ti); ok {
		return c
	}
	if a.system != nil {
		_, ai := pool(append(append([]*x509.Certificate(nil), a.prod...), a.test...))
		if c, ok := try(AnchorPublic, a.system.Clone(), ai); ok {
			return c
		}
	}
	if len(a.extra) > 0 {
		er, ei := pool(a.extra)
		for _, c := range a.extra {
			er.AddCert(c) // a user's intermediate is an anchor too
		}
		if c, ok := try(AnchorPrivate, er, ei); ok {
			return c
		}
	}
	last := presented[len(presented)-1]
	return Chain{Kind: AnchorNone, Name: last.Issuer.CommonName, Err: firstErr}
}
