package mocks

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// The mock's PKI listener serves what the certificates point at, like
// igc-sante.esante.gouv.fr and ocsp.esante.gouv.fr do for the real PKI
// (Ref#2 ECO.1.1.5/1.1.6: a client checks the operator's certificate is
// not revoked, by CRL or OCSP).
const (
	pathOrgCRL   = "/crl/aci-org.crl" // CRL of the ORGANISATIONS CA (leaves), DER
	pathRootCRL  = "/crl/acr.crl"     // CRL of the root (the intermediate), DER
	pathOCSP     = "/ocsp"            // OCSP (RFC 6960 appendix A): POST, or GET /ocsp/<base64>
	pathOrgCert  = "/ac/aci-org.cer"  // AIA caIssuers: the ORGANISATIONS CA, DER
	pathRootCert = "/ac/acr.cer"      // the root, DER
)

// crlValidity is the span between thisUpdate and nextUpdate of the CRLs
// and OCSP responses: short, like a test PKI that is regenerated often.
const crlValidity = time.Hour

// maxHTTPBody bounds what a client may send (OCSP requests are a few
// hundred bytes, token requests a few kilobytes).
const maxHTTPBody = 64 << 10

func (o *Operator) httpEvent(r *http.Request, kind string, status int, detail string) {
	o.rec.add(Event{Proto: lnPKI, Kind: kind, Remote: r.RemoteAddr, Code: status, Detail: detail})
}

// revocationDown answers 503 when the fault makes the service unreachable,
// so that a client can be tested on "revocation unknown".
func (o *Operator) revocationDown(w http.ResponseWriter, r *http.Request, kind, fault string) bool {
	f, ok := o.faults.fire(fault)
	if !ok {
		return false
	}
	o.rec.add(Event{Proto: lnPKI, Kind: KindFault, Remote: r.RemoteAddr, Fault: f.String(), Code: http.StatusServiceUnavailable, Detail: kind})
	http.Error(w, "service unavailable (mock fault "+f.Name+")", http.StatusServiceUnavailable)
	return true
}

func (o *Operator) handleCRL(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if o.revocationDown(w, r, "crl", FaultCRLDown) {
		return
	}
	issuer := o.pki.org
	if r.URL.Path == pathRootCRL {
		issuer = o.pki.root
	}
	der, n, err := o.pki.crl(issuer, time.Now())
	if err != nil {
		o.httpEvent(r, "crl", http.StatusInternalServerError, err.Error())
		http.Error(w, "CRL: "+err.Error(), http.StatusInternalServerError)
		return
	}
	o.httpEvent(r, "crl", http.StatusOK, fmt.Sprintf("%s: %d revoked", issuer.cert.Subject.CommonName, n))
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Write(der)
}

// crl builds a fresh CRL of issuer: every certificate it signed that is
// revoked, numbered in sequence (RFC 5280 §5.2.3).
func (p *pki) crl(issuer *ca, now time.Time) ([]byte, int, error) {
	p.mu.Lock()
	p.crlNum++
	num := p.crlNum
	var entries []x509.RevocationListEntry
	for _, i := range p.certs {
		if i.issuer == issuer && !i.revokedAt.IsZero() {
			entries = append(entries, x509.RevocationListEntry{SerialNumber: i.cert.SerialNumber,
				RevocationTime: i.revokedAt, ReasonCode: ocsp.KeyCompromise})
		}
	}
	p.mu.Unlock()
	der, err := x509.CreateRevocationList(nil, &x509.RevocationList{
		Number: big.NewInt(num), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(crlValidity),
		RevokedCertificateEntries: entries,
	}, issuer.cert, issuer.key)
	return der, len(entries), err
}

func (o *Operator) handleOCSP(w http.ResponseWriter, r *http.Request) {
	var raw []byte
	var err error
	switch r.Method {
	case http.MethodPost:
		raw, err = io.ReadAll(r.Body)
	case http.MethodGet:
		// RFC 6960 appendix A.1: GET {url}/{url-encoding of base-64
		// encoding of the DER request}. A DER SEQUENCE encodes as "M…",
		// so leading slashes are separators.
		enc := strings.TrimLeft(strings.TrimPrefix(r.URL.EscapedPath(), pathOCSP), "/")
		if enc, err = url.PathUnescape(enc); err == nil {
			raw, err = base64.StdEncoding.DecodeString(enc)
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if o.revocationDown(w, r, "ocsp", FaultOCSPDown) {
		return
	}
	var resp []byte
	var detail string
	if err == nil {
		resp, detail, err = o.pki.ocspAnswer(raw, time.Now())
	}
	if err != nil {
		// RFC 6960 §2.3: a request that cannot be parsed gets the
		// malformedRequest status, over HTTP 200.
		o.httpEvent(r, "ocsp", http.StatusOK, "malformed request: "+err.Error())
		resp = ocsp.MalformedRequestErrorResponse
	} else {
		o.httpEvent(r, "ocsp", http.StatusOK, detail)
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(resp)
}

// ocspAnswer answers one OCSP request: good for a certificate the mock
// issued and did not revoke, revoked, or unknown for a serial number it
// never issued; unauthorized when the issuer is not one of its CAs. The
// issuing CA signs the response itself (RFC 6960 §4.2.2.2).
func (p *pki) ocspAnswer(raw []byte, now time.Time) ([]byte, string, error) {
	req, err := ocsp.ParseRequest(raw)
	if err != nil {
		return nil, "", err
	}
	var issuer *ca
	for _, c := range []*ca{p.org, p.root} {
		if ok, err := issuedBy(req, c.cert); err != nil {
			return nil, "", err
		} else if ok {
			issuer = c
			break
		}
	}
	if issuer == nil {
		return ocsp.UnauthorizedErrorResponse, "unauthorized: issuer is not a CA of this mock", nil
	}
	tmpl := ocsp.Response{SerialNumber: req.SerialNumber, ThisUpdate: now.Add(-time.Minute),
		NextUpdate: now.Add(crlValidity), IssuerHash: req.HashAlgorithm, Status: ocsp.Unknown}
	if i, ok := p.lookup(issuer, req.SerialNumber); ok {
		tmpl.Status = ocsp.Good
		if !i.revokedAt.IsZero() {
			tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, i.revokedAt, ocsp.KeyCompromise
		}
	}
	der, err := ocsp.CreateResponse(issuer.cert, issuer.cert, tmpl, issuer.key)
	if err != nil {
		return nil, "", fmt.Errorf("create OCSP response: %w", err)
	}
	status := map[int]string{ocsp.Good: "good", ocsp.Revoked: "revoked", ocsp.Unknown: "unknown"}[tmpl.Status]
	return der, fmt.Sprintf("%s serial %s", status, req.SerialNumber.Text(16)), nil
}

// issuedBy compares the request's issuer name and key hashes with cert
// (RFC 6960 §4.1.1: hashes of the issuer's DN and of its public key BIT
// STRING).
func issuedBy(req *ocsp.Request, cert *x509.Certificate) (bool, error) {
	h := req.HashAlgorithm
	if !h.Available() {
		return false, fmt.Errorf("hash algorithm %v not available", h)
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return false, err
	}
	return bytes.Equal(hashOf(h, cert.RawSubject), req.IssuerNameHash) &&
		bytes.Equal(hashOf(h, spki.PublicKey.RightAlign()), req.IssuerKeyHash), nil
}

func hashOf(h crypto.Hash, b []byte) []byte {
	d := h.New()
	d.Write(b)
	return d.Sum(nil)
}

func (o *Operator) handleCACert(w http.ResponseWriter, r *http.Request) {
	c := o.pki.org.cert
	if r.URL.Path == pathRootCert {
		c = o.pki.root.cert
	}
	w.Header().Set("Content-Type", "application/pkix-cert")
	w.Write(c.Raw)
}
