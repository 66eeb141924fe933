package evidence

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/smallstep/pkcs7"
)

// CMS attribute OIDs (RFC 5035, RFC 3161 appendix A).
var (
	oidSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidSignatureTimeStamp   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
)

// EphemeralCN is the common name of the throw-away certificate used when no
// signing key is given. Verify reports such a signer as proving integrity
// only: anyone can make one. It is French because a PDF reader's signature
// panel shows it to the reviewer as it is (at most 64 characters, RFC 5280
// ub-common-name).
const EphemeralCN = "msscprobe clé éphémère (intégrité seulement, sans identité)"

// legacyEphemeralCN is the name earlier versions gave the same certificate;
// their evidence is still recognised.
const legacyEphemeralCN = "msscprobe ephemeral signer (integrity only, no identity)"

// essCertIDv2 and signingCertificateV2 follow RFC 5035 §3; hashAlgorithm
// is omitted because SHA-256 is its DEFAULT (DER forbids encoding it).
type essCertIDv2 struct {
	CertHash     []byte
	IssuerSerial issuerSerial
}

type issuerSerial struct {
	Issuer generalNames
	Serial *big.Int
}

// generalNames holds one directoryName ([4] EXPLICIT Name), built by hand
// because encoding/asn1 ignores tags on a RawValue with FullBytes.
type generalNames struct {
	Name asn1.RawValue
}

type signingCertificateV2 struct {
	Certs []essCertIDv2
}

func essAttribute(cert *x509.Certificate) pkcs7.Attribute {
	sum := sha256.Sum256(cert.Raw)
	v := signingCertificateV2{Certs: []essCertIDv2{{
		CertHash: sum[:],
		IssuerSerial: issuerSerial{
			Issuer: generalNames{Name: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: cert.RawIssuer}},
			Serial: cert.SerialNumber,
		},
	}}}
	return pkcs7.Attribute{Type: oidSigningCertificateV2, Value: v}
}

// checkESS confirms the signing-certificate-v2 attribute names cert.
func checkESS(p7 *pkcs7.PKCS7, cert *x509.Certificate) error {
	var v signingCertificateV2
	if err := p7.UnmarshalSignedAttribute(oidSigningCertificateV2, &v); err != nil {
		return fmt.Errorf("no ESS signing-certificate-v2 attribute: %w", err)
	}
	sum := sha256.Sum256(cert.Raw)
	if len(v.Certs) == 0 || !bytes.Equal(v.Certs[0].CertHash, sum[:]) {
		return errors.New("ESS signing-certificate-v2 does not name the signer's certificate")
	}
	return nil
}

// signDetached makes the detached CMS SignedData over content, the ASiC
// manifest or the PDF deliverable's ByteRange (SHA-256, signing time, ESS
// signing-certificate-v2, the whole chain), and adds an
// RFC 3161 signature timestamp as an unsigned attribute when tsaURL is set
// (CAdES-B-T, EN 319 122-1 §5.3).
func signDetached(ctx context.Context, content []byte, signer crypto.Signer, chain []*x509.Certificate, tsaURL string) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return nil, err
	}
	// research tools.md §C: smallstep/pkcs7 defaults to SHA-1.
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	cfg := pkcs7.SignerInfoConfig{ExtraSignedAttributes: []pkcs7.Attribute{essAttribute(chain[0])}}
	if err := sd.AddSignerChain(chain[0], signer, chain[1:], cfg); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	if tsaURL != "" {
		si := &sd.GetSignedData().SignerInfos[0]
		token, err := requestTimestamp(ctx, tsaURL, si.EncryptedDigest)
		if err != nil {
			return nil, err
		}
		if err := si.SetUnauthenticatedAttributes([]pkcs7.Attribute{{Type: oidSignatureTimeStamp, Value: asn1.RawValue{FullBytes: token}}}); err != nil {
			return nil, err
		}
	}
	sd.Detach()
	return sd.Finish()
}

// ephemeralSigner makes a P-256 key and a self-signed certificate valid
// for a day around now, marked by EphemeralCN.
func ephemeralSigner(now time.Time) (crypto.Signer, []*x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: EphemeralCN, Organization: []string{"msscprobe"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return key, []*x509.Certificate{cert}, nil
}

// IsEphemeral reports whether cert is an ephemeral signer as made by Write.
func IsEphemeral(cert *x509.Certificate) bool {
	cn := cert.Subject.CommonName
	return (cn == EphemeralCN || cn == legacyEphemeralCN) && bytes.Equal(cert.RawIssuer, cert.RawSubject)
}
