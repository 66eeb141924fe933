package evidence

import (
	"crypto/x509"
	"errors"
	"slices"
	"time"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/trust"
)

// Signer identity problem codes (warnings: they limit what the bundle
// proves about who made it, not its integrity).
const (
	// CodeSignerUnverifiable: the signer does not chain to IGC-Santé, so
	// nothing ties it to a health establishment ("identité non
	// vérifiable"; Ségur SC.MSS/CONF.27).
	CodeSignerUnverifiable = "signer-unverifiable"
	// CodeSignerTestPKI: the signer chains to the IGC-Santé TEST PKI.
	CodeSignerTestPKI = "signer-test-pki"
	// CodeSignerNotEstablishment: the structure identifier in the signer's
	// subject OU is not the FINESS in results.json.
	CodeSignerNotEstablishment = "signer-not-establishment"
	// CodeFINESSInvalid: the FINESS in results.json is a placeholder or
	// fails its check digit.
	CodeFINESSInvalid = "finess-invalid"
)

func init() {
	for _, c := range []string{CodeSignerUnverifiable, CodeSignerTestPKI, CodeSignerNotEstablishment, CodeFINESSInvalid} {
		warningCodes[c] = true
	}
}

// SignerIdentity is who the signer is, as IGC-Santé certifies it.
type SignerIdentity struct {
	// Anchor is the kind of authority the signer chains to
	// (trust.AnchorProd, AnchorTest, AnchorPublic, AnchorPrivate,
	// AnchorNone) and AnchorName its root's CN.
	Anchor     string `json:"anchor"`
	AnchorName string `json:"anchor_name,omitempty"`
	// Structure is the structure identifier of the subject OU (prefix
	// digit, then FINESS or SIRET), nil when the subject has none.
	Structure *trust.StructureID `json:"structure,omitempty"`
	// MatchesFINESS is true when Structure is the FINESS of results.json.
	MatchesFINESS bool `json:"matches_finess"`
}

// SigningCertError says, in French and English, why a certificate cannot
// sign evidence.
type SigningCertError struct{ Msg check.Text }

func (e *SigningCertError) Error() string { return e.Msg.EN }

// CheckSigningCertificate is the pre-flight check of a signing
// certificate: valid at now, and its key usages allow signing (an
// organisation's ORG SIGN certificate: digitalSignature or
// nonRepudiation, emailProtection when extended usages are given). The
// error is a *SigningCertError.
func CheckSigningCertificate(cert *x509.Certificate, now time.Time) error {
	bad := func(fr, en string, args ...any) error {
		return &SigningCertError{check.Textf(fr, en, args...)}
	}
	cn := cert.Subject.CommonName
	switch {
	case now.Before(cert.NotBefore):
		return bad("le certificat %q n'est pas valide avant le %s", "certificate %q is not valid before %s", cn, day(cert.NotBefore))
	case now.After(cert.NotAfter):
		return bad("le certificat %q a expiré le %s : renouvelez-le (une preuve signée avec lui serait refusée)",
			"certificate %q expired on %s: renew it (a bundle signed with it would be refused)", cn, day(cert.NotAfter))
	case cert.IsCA:
		return bad("le certificat %q est une autorité de certification, pas un signataire", "certificate %q is a certification authority, not a signer", cn)
	case cert.KeyUsage != 0 && cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0:
		return bad("certificat %q : son usage de clé ne permet pas de signer (digitalSignature ou nonRepudiation)",
			"certificate %q: its key usage does not allow signatures (digitalSignature or nonRepudiation)", cn)
	case len(cert.ExtKeyUsage)+len(cert.UnknownExtKeyUsage) > 0 &&
		!slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageEmailProtection) && !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageAny):
		return bad("le certificat %q sert à autre chose (usage étendu sans emailProtection) : signez avec le certificat de signature de l'organisation (ORG SIGN)",
			"certificate %q is for other uses (extended key usage without emailProtection): sign with the organisation's signature certificate (ORG SIGN)", cn)
	}
	return nil
}

// checkSignerIdentity runs after the signature and results.json are read:
// it says which authority the signer chains to and whether its structure
// identifier is the establishment's FINESS (the validity at signing time
// is checked with the signature).
func (v *Verification) checkSignerIdentity(opts VerifyOptions) {
	if f := v.Establishment.FINESS; f != "" {
		if err := trust.CheckFINESS(f); err != nil {
			msg := check.Text{FR: err.Error(), EN: err.Error()}
			if fe := (*trust.FINESSError)(nil); errors.As(err, &fe) {
				msg = fe.Msg
			}
			v.add(problem(CodeFINESSInvalid, nameResults, "FINESS de l'établissement invalide : %v", "invalid establishment FINESS: %v", msg))
		}
	}
	cert := v.signerCert
	if cert == nil || v.Ephemeral || opts.Anchors == nil || v.signedAt.Before(cert.NotBefore) || v.signedAt.After(cert.NotAfter) {
		return // an expired signer is already an error
	}
	id := &SignerIdentity{}
	v.Identity = id
	ch := opts.Anchors.Classify(append([]*x509.Certificate{cert}, v.signerChain...), v.signedAt, x509.ExtKeyUsageAny)
	id.Anchor, id.AnchorName = ch.Kind, ch.Name
	switch ch.Kind {
	case trust.AnchorProd:
		v.Signer.Trusted = true
	case trust.AnchorTest:
		v.add(problem(CodeSignerTestPKI, nameSignature, "signataire certifié par l'IGC-Santé de TEST (%q) : identité de test, pas celle d'un établissement",
			"signer certified by the IGC-Santé TEST PKI (%q): a test identity, not an establishment's", ch.Name))
	case trust.AnchorPrivate:
		if v.Signer.Trusted {
			// The reader gave this root (verify --ca) and the headline
			// says "identité vérifiée" against it: the warning must not
			// then say "identité non vérifiable", only that IGC-Santé
			// does not vouch for the signer.
			v.add(problem(CodeSignerUnverifiable, nameSignature, "le signataire (%s) se rattache à une racine ajoutée (--ca, autorité %q), pas à l'IGC-Santé : son identité n'est garantie que par cette autorité",
				"the signer (%s) chains to an added root (--ca, authority %q), not to IGC-Santé: only that authority vouches for its identity", cert.Subject, ch.Name))
			break
		}
		fallthrough
	default:
		v.add(problem(CodeSignerUnverifiable, nameSignature, "identité non vérifiable : le signataire (%s) ne se rattache pas à l'IGC-Santé (autorité %q)",
			"identity not verifiable: the signer (%s) does not chain to IGC-Santé (authority %q)", cert.Subject, ch.Name))
	}
	s, ok := trust.StructureIDOf(cert)
	if ok {
		id.Structure = &s
	}
	want := v.Establishment.FINESS
	switch {
	case ok && s.Kind == trust.IDFINESS && want != "" && s.ID == want:
		id.MatchesFINESS = true
	case !ok:
		v.add(problem(CodeSignerNotEstablishment, nameSignature, "le certificat du signataire ne porte pas d'identifiant de structure (OU) : rien ne le relie à l'établissement",
			"the signer's certificate carries no structure identifier (OU): nothing ties it to the establishment"))
	case want == "":
		v.add(problem(CodeSignerNotEstablishment, nameSignature, "signataire %s %s, mais results.json ne donne pas de FINESS à comparer",
			"signer %s %s, but results.json gives no FINESS to compare", s.Kind, s.ID))
	default:
		v.add(problem(CodeSignerNotEstablishment, nameSignature, "le signataire est la structure %s %s, pas l'établissement FINESS %s",
			"the signer is structure %s %s, not the establishment FINESS %s", s.Kind, s.ID, want))
	}
}
