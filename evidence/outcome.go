package evidence

import (
	"fmt"
	"strings"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/probe"
)

// Colour of an outcome: green only for PS 4.1 met on the MSSanté trust
// space, intact and signed by a trusted signer; orange for a test bed or a
// signer whose identity cannot be verified; red for not met or not intact.
type Colour string

const (
	Green  Colour = "green"
	Orange Colour = "orange"
	Red    Colour = "red"
)

// outcome is what a reviewer reads first, in this order: the PS 4.1
// outcome, the environment, integrity, the signer.
type outcome struct {
	known     bool // results were read
	met       bool
	mssante   bool
	addrs     []string
	anchors   []string
	intact    bool
	ephemeral bool
	trusted   bool
	signer    string // common name, or the subject
}

func (o outcome) colour() Colour {
	switch {
	case !o.intact || !o.known || !o.met:
		return Red
	case o.mssante && o.trusted && !o.ephemeral:
		return Green
	}
	return Orange
}

// parts words the four pieces of the headline.
func (o outcome) parts(lang check.Lang) (result, env, integrity, signer string) {
	t := func(fr, en string) string { return check.Text{FR: fr, EN: en}.In(lang) }
	var detail []string
	detail = append(detail, o.addrs...)
	for _, a := range o.anchors {
		detail = append(detail, t("autorité « "+a+" »", "authority \""+a+"\""))
	}
	d := ""
	if len(detail) > 0 {
		d = " (" + strings.Join(detail, ", ") + ")"
	}
	switch {
	case !o.known:
		result, env = t("PS 4.1 INCONNU", "PS 4.1 UNKNOWN"), t("environnement inconnu", "environment unknown")
	case o.mssante && o.met:
		result, env = t("PS 4.1 ATTEINT", "PS 4.1 MET"), t("environnement MSSanté", "MSSanté environment")
	case o.mssante:
		result, env = t("PS 4.1 NON ATTEINT", "PS 4.1 NOT MET"), t("environnement MSSanté", "MSSanté environment")
	case o.met:
		// TEST comes first: a reviewer must not read "atteint" before
		// learning that no MSSanté operator was involved.
		result, env = "TEST", t("PS 4.1 atteint contre un opérateur de test", "PS 4.1 met against a test operator")+d
	default:
		result, env = t("TEST — PS 4.1 NON ATTEINT", "TEST — PS 4.1 NOT MET"), t("opérateur de test", "test operator")+d
	}
	if o.intact {
		integrity = t("dossier intègre", "evidence intact")
	} else {
		integrity = t("DOSSIER NON INTÈGRE (modifié ou mal signé)", "EVIDENCE NOT INTACT (modified or badly signed)")
	}
	switch {
	case o.signer == "":
		signer = t("signataire inconnu", "signer unknown")
	case o.ephemeral:
		signer = t("signé par une clé éphémère (identité non prouvée)", "signed with an ephemeral key (identity not proven)")
	case o.trusted:
		signer = t("signé par ", "signed by ") + o.signer + t(" (identité vérifiée)", " (identity verified)")
	default:
		signer = t("signé par ", "signed by ") + o.signer + t(" (identité non vérifiable)", " (identity not verifiable)")
	}
	return result, env, integrity, signer
}

// headline is the one line a reviewer reads first.
func (o outcome) headline(lang check.Lang) string {
	r, e, i, s := o.parts(lang)
	return fmt.Sprintf("%s — %s — %s, %s", r, e, i, s)
}

// outcome reads a verification.
func (v *Verification) outcome() outcome {
	o := outcome{
		known: v.Verdict.FR != "", met: v.PS41Met, mssante: v.Environment.Kind == probe.EnvMSSante,
		addrs: v.TestAddresses, anchors: v.TestAnchors, intact: v.Valid, ephemeral: v.Ephemeral,
	}
	if v.Signer != nil {
		o.trusted = v.Signer.Trusted
		o.signer = commonName(v.Signer.Subject)
	}
	return o
}

// commonName picks CN= out of a distinguished name string, or the whole.
func commonName(dn string) string {
	for _, part := range strings.Split(dn, ",") {
		if cn, ok := strings.CutPrefix(part, "CN="); ok {
			return cn
		}
	}
	return dn
}

// Headline is the first line of the verification summary: the PS 4.1
// outcome, the environment, integrity and the signer, in that order.
func (v *Verification) Headline(lang check.Lang) string { return v.outcome().headline(lang) }

// Colour is the verification's colour (see Colour).
func (v *Verification) Colour() Colour { return v.outcome().colour() }

// Acceptable reports whether the file is acceptable evidence for a SUN-ES
// candidature: intact, PS 4.1 met, in the MSSanté environment, signed by a
// trusted signer; otherwise every reason it is not.
func (v *Verification) Acceptable() (bool, []check.Text) {
	o := v.outcome()
	var why []check.Text
	if !o.intact {
		why = append(why, check.Text{FR: "dossier non intègre", EN: "evidence not intact"})
	}
	if !o.known {
		why = append(why, check.Text{FR: "résultats illisibles", EN: "results unreadable"})
	} else if !o.met {
		why = append(why, check.Text{FR: "PS 4.1 non atteint", EN: "PS 4.1 not met"})
	}
	if o.known && !o.mssante {
		why = append(why, check.Text{FR: "environnement de test", EN: "test environment"})
		why = append(why, v.Environment.Reasons...)
	}
	switch {
	case o.ephemeral:
		why = append(why, check.Text{FR: "clé éphémère : identité du signataire non prouvée", EN: "ephemeral key: signer identity not proven"})
	case !o.trusted:
		why = append(why, check.Text{FR: "identité du signataire non vérifiable", EN: "signer identity not verifiable"})
	}
	return len(why) == 0, why
}
