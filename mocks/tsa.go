package mocks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/smallstep/pkcs7"
)

// TSA is a stand-in RFC 3161 time-stamping authority on loopback, for tests
// of signed evidence bundles. It has its own throw-away root CA and answers
// POST application/timestamp-query with a token signed by a certificate
// whose only extended key usage is timeStamping (RFC 3161 §2.3).
type TSA struct {
	// URL is where to POST requests, e.g. http://127.0.0.1:41234/tsa.
	URL string
	// Root is the CA that issued the TSA certificate; RootPEM the same in PEM.
	Root    *x509.Certificate
	RootPEM []byte
	// Refuse makes the TSA answer with status "rejection" (2).
	Refuse atomic.Bool
	// Requests counts the requests served.
	Requests atomic.Int64

	srv    *http.Server
	key    *ecdsa.PrivateKey
	cert   *x509.Certificate
	serial atomic.Int64
}

// OIDTSAPolicy is the policy the stand-in TSA stamps (an example arc, never
// a real policy).
var OIDTSAPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 3161, 1}

// The RFC 3161 messages, the server side of what a client sends.
type tsaImprint struct {
	Algorithm pkix.AlgorithmIdentifier
	Hashed    []byte
}

type tsaRequest struct {
	Version    int
	Imprint    tsaImprint
	ReqPolicy  asn1.ObjectIdentifier `asn1:"optional"`
	Nonce      *big.Int              `asn1:"optional"`
	CertReq    bool                  `asn1:"optional"`
	Extensions asn1.RawValue         `asn1:"optional,tag:0"`
}

// tsaStatus is PKIStatusInfo; Text is PKIFreeText, a SEQUENCE OF UTF8String
// that encoding/asn1 cannot mark as UTF-8 on a []string.
type tsaStatus struct {
	Status int
	Text   []asn1.RawValue `asn1:"optional"`
}

func freeText(s string) []asn1.RawValue {
	return []asn1.RawValue{{Tag: asn1.TagUTF8String, Bytes: []byte(s)}}
}

type tsaResponse struct {
	Status tsaStatus
	Token  asn1.RawValue `asn1:"optional"`
}

type tsaInfo struct {
	Version int
	Policy  asn1.ObjectIdentifier
	Imprint tsaImprint
	Serial  *big.Int
	GenTime time.Time `asn1:"generalized"`
	Nonce   *big.Int  `asn1:"optional"`
}

var (
	oidSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidExtKeyUsage          = asn1.ObjectIdentifier{2, 5, 29, 37}
	ekuTimeStamping, _      = asn1.Marshal([]asn1.ObjectIdentifier{{1, 3, 6, 1, 5, 5, 7, 3, 8}})
)

var oidTSTInfoContent = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}

// StartTSA starts the stand-in TSA on 127.0.0.1; it stops when ctx ends or
// on Close.
func StartTSA(ctx context.Context) (*TSA, error) {
	t := &TSA{}
	if err := t.makePKI(); err != nil {
		return nil, fmt.Errorf("mock TSA: %w", err)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mock TSA: %w", err)
	}
	t.URL = "http://" + ln.Addr().String() + "/tsa"
	t.srv = &http.Server{Handler: http.HandlerFunc(t.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = t.srv.Serve(ln) }()
	context.AfterFunc(ctx, func() { _ = t.Close() })
	return t, nil
}

// Close stops the server.
func (t *TSA) Close() error { return t.srv.Close() }

func (t *TSA) makePKI() error {
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	rootTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "msscprobe mock TSA root"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return err
	}
	if t.Root, err = x509.ParseCertificate(rootDER); err != nil {
		return err
	}
	t.RootPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rootDER})
	if t.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "msscprobe mock TSA"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		// RFC 3161 §2.3: timeStamping as the only EKU, in a critical
		// extension (x509 would mark ExtKeyUsage non-critical; OpenSSL
		// then refuses the TSA).
		ExtraExtensions: []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: ekuTimeStamping}},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, t.Root, t.key.Public(), rootKey)
	if err != nil {
		return err
	}
	t.cert, err = x509.ParseCertificate(der)
	return err
}

func (t *TSA) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
		http.Error(w, "POST application/timestamp-query", http.StatusBadRequest)
		return
	}
	t.Requests.Add(1)
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return
	}
	resp, err := t.respond(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	_, _ = w.Write(resp)
}

func (t *TSA) respond(body []byte) ([]byte, error) {
	var req tsaRequest
	if rest, err := asn1.Unmarshal(body, &req); err != nil || len(rest) > 0 {
		return asn1.Marshal(tsaResponse{Status: tsaStatus{Status: 2, Text: freeText("bad request")}})
	}
	if t.Refuse.Load() {
		return asn1.Marshal(tsaResponse{Status: tsaStatus{Status: 2, Text: freeText("refused by test")}})
	}
	info, err := asn1.Marshal(tsaInfo{
		Version: 1,
		Policy:  OIDTSAPolicy,
		Imprint: req.Imprint,
		Serial:  big.NewInt(t.serial.Add(1)),
		GenTime: time.Now().UTC().Truncate(time.Second),
		Nonce:   req.Nonce,
	})
	if err != nil {
		return nil, err
	}
	sd, err := pkcs7.NewSignedData(info)
	if err != nil {
		return nil, err
	}
	sd.GetSignedData().ContentInfo.ContentType = oidTSTInfoContent
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	// RFC 5816: a token names its signer with ESS signing-certificate-v2
	// (certHash only; SHA-256 is the default hash).
	certHash := sha256.Sum256(t.cert.Raw)
	ess := pkcs7.Attribute{Type: oidSigningCertificateV2, Value: struct{ Certs []struct{ Hash []byte } }{
		Certs: []struct{ Hash []byte }{{Hash: certHash[:]}},
	}}
	if err := sd.AddSigner(t.cert, t.key, pkcs7.SignerInfoConfig{ExtraSignedAttributes: []pkcs7.Attribute{ess}}); err != nil {
		return nil, err
	}
	token, err := sd.Finish()
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(tsaResponse{Status: tsaStatus{Status: 0}, Token: asn1.RawValue{FullBytes: token}})
}
