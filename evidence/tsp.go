package evidence

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	neturl "net/url"
	"time"

	"github.com/smallstep/pkcs7"

	"github.com/msscprobe/msscprobe/check"
)

// RFC 3161 structures, the subset a client needs.
var (
	oidSHA256  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidTSTInfo = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
)

type messageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

type timeStampReq struct {
	Version        int
	MessageImprint messageImprint
	Nonce          *big.Int `asn1:"optional"`
	CertReq        bool     `asn1:"optional"`
}

type pkiStatusInfo struct {
	Status       int
	StatusString []string       `asn1:"optional"`
	FailInfo     asn1.BitString `asn1:"optional"`
}

type timeStampResp struct {
	Status pkiStatusInfo
	Token  asn1.RawValue `asn1:"optional"`
}

type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint messageImprint
	Serial         *big.Int
	GenTime        time.Time     `asn1:"generalized"`
	Accuracy       accuracy      `asn1:"optional"`
	Ordering       bool          `asn1:"optional"`
	Nonce          *big.Int      `asn1:"optional"`
	TSA            asn1.RawValue `asn1:"optional,tag:0"`
	Extensions     asn1.RawValue `asn1:"optional,tag:1"`
}

// accuracy must be typed: an optional RawValue would swallow the nonce.
type accuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

const tsaTimeout = 30 * time.Second

// ErrTimestamp is wrapped by Write's error when the time-stamping
// authority could not be reached or its answer was refused: the caller may
// then write the bundle without a timestamp rather than lose the run.
var ErrTimestamp = errors.New("no timestamp")

// maxTSAResponse bounds the TSA's HTTP answer: a TimeStampResp is a token
// (CMS, at most maxCMSSize) in a small envelope.
const maxTSAResponse = maxCMSSize + 4096

// requestTimestamp asks the TSA at url for a token over SHA-256(signature)
// (RFC 3161 §2.4, CAdES signature-time-stamp) and checks the answer before
// it goes into the bundle: status granted, our imprint, our nonce, a
// signature by the certificate in the token. Every error wraps ErrTimestamp.
func requestTimestamp(ctx context.Context, url string, signature []byte) ([]byte, error) {
	token, err := askTSA(ctx, url, signature)
	if err != nil {
		return nil, &timestampError{url: url, err: err}
	}
	return token, nil
}

// timestampError says why there is no timestamp in the reader's language;
// errors.Is matches it to ErrTimestamp.
type timestampError struct {
	url string
	err error
}

func (e *timestampError) Error() string { return e.ErrorIn(check.EN) }

func (e *timestampError) ErrorIn(l check.Lang) string {
	return check.Textf("pas d'horodatage : autorité d'horodatage %s : %v", "no timestamp: timestamp authority %s: %v", e.url, e.err).In(l)
}

func (e *timestampError) Is(target error) bool { return target == ErrTimestamp }

func (e *timestampError) Unwrap() error { return e.err }

func askTSA(ctx context.Context, url string, signature []byte) ([]byte, error) {
	imprint := sha256.Sum256(signature)
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	req, err := asn1.Marshal(timeStampReq{
		Version:        1,
		MessageImprint: messageImprint{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidSHA256}, HashedMessage: imprint[:]},
		Nonce:          nonce,
		CertReq:        true,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, tsaTimeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", "application/timestamp-query")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		// url.Error repeats the method and the URL, already said.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, check.Errorf("injoignable (%w)", "unreachable (%w)", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTSAResponse+1))
	if err != nil {
		return nil, check.Errorf("réponse interrompue (%w)", "answer cut (%w)", err)
	}
	if len(body) > maxTSAResponse {
		return nil, check.Errorf("réponse au-delà de la limite de %d octets", "answer over the %d-byte limit", maxTSAResponse)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, check.Errorf("HTTP %s", "HTTP %s", resp.Status)
	}
	var tr timeStampResp
	if rest, err := asn1.Unmarshal(body, &tr); err != nil || len(rest) > 0 {
		return nil, check.Errorf("la réponse n'est pas une TimeStampResp", "not a TimeStampResp")
	}
	if tr.Status.Status > 1 { // granted(0), grantedWithMods(1)
		return nil, check.Errorf("demande refusée (statut %d %q)", "request refused (status %d %q)", tr.Status.Status, tr.Status.StatusString)
	}
	token := tr.Token.FullBytes
	info, _, err := checkTimestamp(token, signature)
	if err != nil {
		return nil, check.Errorf("jeton refusé (%w)", "token refused (%w)", err)
	}
	if info.Nonce == nil || info.Nonce.Cmp(nonce) != 0 {
		return nil, check.Errorf("le jeton ne porte pas notre nonce", "the token does not carry our nonce")
	}
	return token, nil
}

func criticalEKU(c *x509.Certificate) bool {
	for _, e := range c.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) {
			return e.Critical
		}
	}
	return false
}

// checkTimestamp verifies a timestamp token over signature: CMS signature
// by the token's own certificate, TSTInfo content, SHA-256 imprint of
// signature, and a TSA certificate with the timeStamping extended key usage
// (RFC 3161 §2.3). Anchoring the TSA in a trust store is the caller's job.
func checkTimestamp(token, signature []byte) (*tstInfo, *pkcs7.PKCS7, error) {
	p7, err := parseCMS(token)
	if err != nil {
		return nil, nil, fmt.Errorf("timestamp token is not CMS: %w", err)
	}
	if err := p7.Verify(); err != nil {
		return nil, nil, fmt.Errorf("timestamp token signature: %w", err)
	}
	var info tstInfo
	if rest, err := asn1.Unmarshal(p7.Content, &info); err != nil || len(rest) > 0 {
		return nil, nil, errors.New("timestamp token does not hold a TSTInfo")
	}
	var ct asn1.ObjectIdentifier
	if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeContentType, &ct); err != nil || !ct.Equal(oidTSTInfo) {
		return nil, nil, errors.New("timestamp token content type is not id-ct-TSTInfo")
	}
	want := sha256.Sum256(signature)
	if !info.MessageImprint.HashAlgorithm.Algorithm.Equal(oidSHA256) || !bytes.Equal(info.MessageImprint.HashedMessage, want[:]) {
		return nil, nil, errors.New("timestamp token is not over this signature")
	}
	tsa := p7.GetOnlySigner()
	if tsa == nil {
		return nil, nil, errors.New("timestamp token has no single signer certificate")
	}
	if len(tsa.ExtKeyUsage) != 1 || tsa.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || !criticalEKU(tsa) {
		return nil, nil, errors.New("timestamp signer certificate lacks the sole, critical timeStamping extended key usage")
	}
	return &info, p7, nil
}
