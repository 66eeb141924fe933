package evidence

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/msscprobe/msscprobe/internal/testpki"
	"github.com/msscprobe/msscprobe/trust"
)

// TestSignerIdentity: one case per signer identity rule (IGC-Santé
// production or TEST or neither, structure identifier against the FINESS,
// FINESS placeholder and check digit, validity at signing time).
func TestSignerIdentity(t *testing.T) {
	root := testpki.Root(t, "MOCK AC RACINE IGC-SANTE")
	org := root.Sub(t, "MOCK AC IGC-SANTE ELEMENTAIRE ORGANISATIONS")
	other := testpki.Root(t, "Autre AC")
	prod := trust.NewAnchors([]*x509.Certificate{root.Cert, org.Cert}, nil, nil)
	test := trust.NewAnchors(nil, []*x509.Certificate{root.Cert, org.Cert}, nil)
	const finess = "010000016" // testdata/evidence/result.json
	now := time.Now()
	for _, tc := range []struct {
		name    string
		ca      *testpki.CA
		ou      string
		finess  string
		anchors *trust.Anchors
		edit    func(*x509.Certificate)
		want    []string // problem codes
		anchor  string
		match   bool
		trusted bool
	}{
		{"igc-sante establishment", org, "1" + finess, finess, prod, nil, nil, trust.AnchorProd, true, true},
		{"other structure", org, "1750712184", finess, prod, nil, []string{CodeSignerNotEstablishment}, trust.AnchorProd, false, true},
		{"siret", org, "318751275100020", finess, prod, nil, []string{CodeSignerNotEstablishment}, trust.AnchorProd, false, true},
		{"no structure id", org, "SERVICE INFORMATIQUE", finess, prod, nil, []string{CodeSignerNotEstablishment}, trust.AnchorProd, false, true},
		{"test pki", org, "1" + finess, finess, test, nil, []string{CodeSignerTestPKI}, trust.AnchorTest, true, false},
		{"not igc-sante", other, "1" + finess, finess, prod, nil, []string{CodeSignerUnverifiable}, trust.AnchorNone, true, false},
		{"finess placeholder", org, "1000000000", "000000000", prod, nil, []string{CodeFINESSInvalid}, trust.AnchorProd, true, true},
		{"finess check digit", org, "1010000017", "010000017", prod, nil, []string{CodeFINESSInvalid}, trust.AnchorProd, true, true},
		{"expired at signing time", org, "1" + finess, finess, prod, func(c *x509.Certificate) { c.NotBefore, c.NotAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour) },
			[]string{CodeSignerExpired}, "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert, key := tc.ca.OrgSign(t, "CH EXEMPLE", tc.ou, tc.edit)
			res := loadResult(t)
			res.Establishment.FINESS = tc.finess
			chain := []*x509.Certificate{cert}
			if tc.ca == org {
				chain = append(chain, org.Cert)
			}
			b := writeBundle(t, res, Options{Signer: key, Chain: chain, Now: time.Now})
			v := verifyBytes(t, b, VerifyOptions{Anchors: tc.anchors})
			var got []string
			for _, c := range codes(v) {
				if c != CodeSignerNotChecked {
					got = append(got, c)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("problems %v, want %v: %+v", got, tc.want, v.Problems)
			}
			// A French report says why the FINESS is wrong in French.
			for _, p := range v.Problems {
				if p.Code == CodeFINESSInvalid && (strings.Contains(p.Message.FR, "placeholder") || strings.Contains(p.Message.FR, "check digit") ||
					!strings.Contains(p.Message.FR, tc.finess)) {
					t.Errorf("French message %q", p.Message.FR)
				}
			}
			if tc.want != nil && tc.want[0] == CodeSignerExpired {
				if v.Valid || v.Identity != nil {
					t.Errorf("expired signer: valid %v identity %+v", v.Valid, v.Identity)
				}
				return
			}
			if !v.Valid || v.Identity == nil || v.Identity.Anchor != tc.anchor || v.Identity.MatchesFINESS != tc.match || v.Signer.Trusted != tc.trusted {
				t.Errorf("valid %v identity %+v trusted %v", v.Valid, v.Identity, v.Signer.Trusted)
			}
		})
	}
}

// TestCheckSigningCertificate: the pre-flight refuses an expired or
// not-yet-valid signer, a CA, and certificates for other uses.
func TestCheckSigningCertificate(t *testing.T) {
	org := testpki.Root(t, "R").Sub(t, "ORG")
	now := time.Now()
	for _, tc := range []struct {
		name string
		edit func(*x509.Certificate)
		want string
	}{
		{"org sign", nil, ""},
		{"expired", func(c *x509.Certificate) { c.NotBefore, c.NotAfter = now.Add(-48*time.Hour), now.Add(-time.Hour) }, "expired on"},
		{"not yet valid", func(c *x509.Certificate) { c.NotBefore, c.NotAfter = now.Add(time.Hour), now.Add(48*time.Hour) }, "not valid before"},
		{"key usage", func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageKeyEncipherment }, "does not allow signatures"},
		{"auth_cli", func(c *x509.Certificate) { c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth} }, "ORG SIGN"},
	} {
		cert, _ := org.OrgSign(t, "CH", "1010000016", tc.edit)
		err := CheckSigningCertificate(cert, now)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := CheckSigningCertificate(org.Cert, now); err == nil || !strings.Contains(err.Error(), "certification authority") {
		t.Errorf("CA: %v", err)
	}
}

// TestIsEphemeral: the ephemeral signer is recognised by its self-signed
// certificate under today's French name and the name earlier versions wrote;
// the same name issued by another certificate is not ephemeral.
func TestIsEphemeral(t *testing.T) {
	_, chain, err := ephemeralSigner(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	root := testpki.Root(t, legacyEphemeralCN)
	issued := root.Sub(t, EphemeralCN)
	for _, tc := range []struct {
		name string
		cert *x509.Certificate
		want bool
	}{
		{"made by Write", chain[0], true},
		{"earlier name, self-signed", root.Cert, true},
		{"same name, issued by another", issued.Cert, false},
	} {
		if got := IsEphemeral(tc.cert); got != tc.want {
			t.Errorf("%s: IsEphemeral = %v, want %v", tc.name, got, tc.want)
		}
	}
	if n := len([]rune(EphemeralCN)); n > 64 {
		t.Errorf("EphemeralCN has %d characters, over RFC 5280's 64", n)
	}
}
