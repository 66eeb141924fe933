package trust

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/msscprobe/msscprobe/check"
)

// maxRevocationBody bounds a CRL or OCSP answer (IGC-Santé CRLs are a few
// MB; a hostile responder must not make the probe buffer without end).
const maxRevocationBody = 32 << 20

// maxURLs bounds the OCSP responders and CRL distribution points tried.
const maxURLs = 4

// Revocation is the answer about one certificate.
type Revocation struct {
	Status    string    // RevGood, RevRevoked, RevUnknown
	Source    string    // "ocsp URL" or "crl URL"
	RevokedAt time.Time // when revoked
	// Why says, for RevUnknown, what was tried and failed.
	Why check.Text
}

// CheckRevocation asks the OCSP responder named in leaf's AIA, then the
// CRL distribution points, until one answers with a response signed for
// issuer (Ref#2 ECO.1.1.6). ctx bounds the whole fetch. Nothing but an
// answer makes the status good.
func (p *Policy) CheckRevocation(ctx context.Context, leaf, issuer *x509.Certificate, now time.Time) Revocation {
	var tried []string
	// A few URLs of each kind: a hostile certificate may name thousands.
	for _, u := range leaf.OCSPServer[:min(len(leaf.OCSPServer), maxURLs)] {
		r, err := p.ocsp(ctx, u, leaf, issuer, now)
		if err == nil {
			return r
		}
		tried = append(tried, fmt.Sprintf("OCSP %s: %v", u, err))
	}
	for _, u := range leaf.CRLDistributionPoints[:min(len(leaf.CRLDistributionPoints), maxURLs)] {
		r, err := p.crl(ctx, u, leaf, issuer, now)
		if err == nil {
			return r
		}
		tried = append(tried, fmt.Sprintf("CRL %s: %v", u, err))
	}
	if len(tried) == 0 {
		return Revocation{Status: RevUnknown, Why: check.Text{FR: "le certificat ne donne ni point de distribution de LCR ni répondeur OCSP", EN: "the certificate names no CRL distribution point and no OCSP responder"}}
	}
	return Revocation{Status: RevUnknown, Why: check.Textf("aucune réponse exploitable (%s)", "no usable answer (%s)", strings.Join(tried, "; "))}
}

func (p *Policy) client() *http.Client {
	if p.HTTP != nil {
		return p.HTTP
	}
	// A hospital often reaches the internet through a proxy: honour
	// HTTP(S)_PROXY (never used for loopback addresses).
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, DisableKeepAlives: true}, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 || (req.URL.Scheme != "http" && req.URL.Scheme != "https") {
			return errors.New("redirect refused")
		}
		return nil
	}}
}

func (p *Policy) fetch(ctx context.Context, req *http.Request) ([]byte, error) {
	resp, err := p.client().Do(req.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return nil, errors.New("no answer in time")
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRevocationBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxRevocationBody {
		return nil, fmt.Errorf("answer larger than %d MiB", maxRevocationBody>>20)
	}
	return body, nil
}

func httpURL(u string) error {
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return errors.New("not an http(s) URL")
	}
	return nil
}

func (p *Policy) ocsp(ctx context.Context, u string, leaf, issuer *x509.Certificate, now time.Time) (Revocation, error) {
	if err := httpURL(u); err != nil {
		return Revocation{}, err
	}
	// RFC 5019 §2.1.1: the CertID is hashed with SHA-1, which every
	// responder understands (it names the certificate, it secures nothing:
	// the answer's own signature is verified).
	reqDER, err := ocsp.CreateRequest(leaf, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
	if err != nil {
		return Revocation{}, err
	}
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(reqDER))
	if err != nil {
		return Revocation{}, err
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	body, err := p.fetch(ctx, req)
	if err != nil {
		return Revocation{}, err
	}
	resp, err := ocsp.ParseResponseForCert(body, leaf, issuer)
	if err != nil {
		return Revocation{}, fmt.Errorf("invalid answer: %w", err)
	}
	if !resp.NextUpdate.IsZero() && now.After(resp.NextUpdate) {
		return Revocation{}, fmt.Errorf("stale answer (next update %s)", resp.NextUpdate.UTC().Format(time.DateOnly))
	}
	src := "ocsp " + u
	switch resp.Status {
	case ocsp.Good:
		return Revocation{Status: RevGood, Source: src}, nil
	case ocsp.Revoked:
		return Revocation{Status: RevRevoked, Source: src, RevokedAt: resp.RevokedAt}, nil
	}
	return Revocation{}, errors.New("responder does not know the certificate")
}

func (p *Policy) crl(ctx context.Context, u string, leaf, issuer *x509.Certificate, now time.Time) (Revocation, error) {
	if err := httpURL(u); err != nil {
		return Revocation{}, err
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return Revocation{}, err
	}
	body, err := p.fetch(ctx, req)
	if err != nil {
		return Revocation{}, err
	}
	rl, err := x509.ParseRevocationList(body)
	if err != nil {
		return Revocation{}, fmt.Errorf("not a CRL: %w", err)
	}
	if err := rl.CheckSignatureFrom(issuer); err != nil {
		return Revocation{}, fmt.Errorf("CRL not signed by %q: %w", issuer.Subject.CommonName, err)
	}
	// Ségur SC.MSS/CONF.22: only a CRL that has not expired counts.
	if !rl.NextUpdate.IsZero() && now.After(rl.NextUpdate) {
		return Revocation{}, fmt.Errorf("expired CRL (next update %s)", rl.NextUpdate.UTC().Format(time.DateOnly))
	}
	src := "crl " + u
	for _, e := range rl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
			return Revocation{Status: RevRevoked, Source: src, RevokedAt: e.RevocationTime}, nil
		}
	}
	return Revocation{Status: RevGood, Source: src}, nil
}
