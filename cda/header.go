package cda

import (
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/msscprobe/msscprobe/check"
)

const (
	locRecordTarget = "ClinicalDocument/recordTarget"
	locPatientRole  = locRecordTarget + "/patientRole"
	locPatient      = locPatientRole + "/patient"
	locName         = locPatient + "/name"
)

// insID is one patientRole/id whose root is an INS authority.
type insID struct {
	oid, value, loc string
	kind            Kind
}

// checkHeader applies HDR-* and INS-* to a parsed ClinicalDocument and sets
// the status (statuses and rules: docs/cda.md).
func checkHeader(doc *Document, cd *etree.Element) {
	defer func() { doc.Findings = boundFindings(doc.Findings) }()
	doc.Meta = readMeta(cd)
	doc.Code = doc.Meta.Code

	// Only the direct path ClinicalDocument/recordTarget/patientRole counts:
	// a guardian's or an author's INS is not the patient's (OBP-SNE example).
	rts := kids(cd, "recordTarget")
	var roles, patients []*etree.Element
	for _, rt := range rts {
		roles = append(roles, kids(rt, "patientRole")...)
	}
	for _, r := range roles {
		patients = append(patients, kids(r, "patient")...)
	}
	switch {
	case len(rts) != 1:
		doc.add(RuleRecordTarget.Newf(locRecordTarget,
			"%d recordTarget au lieu d'un seul : un document CDA concerne un et un seul patient",
			"%d recordTarget instead of exactly one: a CDA document is about one and only one patient", len(rts)))
	case len(roles) != 1:
		doc.add(RuleRecordTarget.Newf(locPatientRole,
			"%d patientRole au lieu d'un seul dans recordTarget", "%d patientRole instead of exactly one in recordTarget", len(roles)))
	case len(patients) != 1:
		doc.add(RuleRecordTarget.Newf(locPatient,
			"%d patient au lieu d'un seul dans patientRole", "%d patient instead of exactly one in patientRole", len(patients)))
	}
	var patient *etree.Element
	if len(patients) > 0 {
		patient = patients[0]
	}
	names := kids(patient, "name")
	switch {
	case patient == nil:
	case len(names) == 0:
		doc.add(RuleOneName.Newf(locName,
			"le patient n'a pas d'élément name : en ajouter un avec ses noms et prénoms",
			"the patient has no name element: add one holding the family and given names"))
	case len(names) > 1:
		doc.add(RuleOneName.Newf(locName,
			"%d éléments name au lieu d'un seul : regrouper noms et prénoms (BR et CL) dans un seul name",
			"%d name elements instead of one: put all family and given names (BR and CL) in a single name", len(names)))
	}
	checkQualifiers(doc, names)
	t := readTraits(patient, names)
	doc.Meta.BirthFamily, doc.Meta.BirthGiven, doc.Meta.BirthTime, doc.Meta.Gender = t.familyBR, t.givenBR, t.birthTime, t.gender

	ids := insIDs(roles)
	if len(ids) == 0 {
		doc.add(RuleNoINS.Newf(locPatientRole+"/id",
			"aucun id avec un OID d'INS (1.2.250.1.213.1.4.8, .9, .10 ou .11) : le document ne porte pas d'INS qualifié ; l'ajouter si l'identité du patient est qualifiée",
			"no id with an INS OID (1.2.250.1.213.1.4.8, .9, .10 or .11): the document carries no qualified INS; add it when the patient's identity is qualified"))
		doc.Status = StatusNoINS
		return
	}
	first := ids[0]
	doc.INS = &INS{OID: first.oid, Value: first.value, Kind: first.kind}
	if len(ids) > 1 {
		var list []string
		for _, id := range ids[:min(len(ids), 10)] {
			list = append(list, id.value+" ("+id.oid+")")
		}
		if len(ids) > 10 {
			list = append(list, "…")
		}
		doc.add(RuleSeveralINS.Newf(locPatientRole+"/id",
			"%d INS différents pour le même patient : %s ; n'en garder qu'un, celui renvoyé par le téléservice INSi",
			"%d different INS for the same patient: %s; keep only one, the one returned by the INSi service", len(ids), strings.Join(list, ", ")))
	}
	var m Matricule
	for i, id := range ids {
		if mm, ok := checkMatricule(doc, id); ok && i == 0 {
			m = mm
		}
	}
	checkTraits(doc, t)
	if m != "" {
		checkCoherence(doc, m, first.kind, t)
	}
	if first.kind.Fictitious() {
		doc.add(RuleFictitious.New(check.Text{
			FR: fmt.Sprintf("OID %s : INS de %s, identité fictive ; ne jamais l'envoyer pour un vrai patient (refusé avec --production)",
				first.oid, map[Kind]string{KindTest: "test", KindDemo: "démonstration"}[first.kind]),
			EN: fmt.Sprintf("OID %s: %s INS, a fictitious identity; never send it for a real patient (refused with --production)", first.oid, first.kind)},
			first.loc))
	}
	doc.Status = StatusQualified
	if first.kind.Fictitious() {
		doc.Status = StatusQualifiedTest
	}
	for _, f := range doc.Findings {
		if f.Severity == check.Error && insBlocking[f.Rule] {
			doc.Status = StatusNotQualified
		}
	}
}

// insBlocking are the rules whose errors make an INS not qualified;
// HDR-002/HDR-003 are reported but do not change the status (docs/cda.md).
var insBlocking = map[string]bool{
	RuleRecordTarget.ID: true, RuleSeveralINS.ID: true, RuleMatriculeFormat.ID: true,
	RuleMatriculeKey.ID: true, RuleTraits.ID: true,
}

func (d *Document) add(f check.Finding) { d.Findings = append(d.Findings, f) }

// maxPerRule is how many findings of one rule a document lists.
const maxPerRule = 20

// boundFindings keeps the first maxPerRule findings of each rule and counts
// the others in one more: a broken or hostile header (200,000 family
// elements) made a report of hundreds of megabytes.
func boundFindings(fs []check.Finding) []check.Finding {
	n := map[string]int{}
	over := false
	for _, f := range fs {
		n[f.Rule]++
		over = over || n[f.Rule] > maxPerRule
	}
	if !over {
		return fs
	}
	var out []check.Finding
	seen := map[string]int{}
	for _, f := range fs {
		switch seen[f.Rule]++; {
		case seen[f.Rule] <= maxPerRule:
			out = append(out, f)
		case seen[f.Rule] == maxPerRule+1:
			f.Message = check.Textf("… et %d de plus, non détaillés", "… and %d more, not listed", n[f.Rule]-maxPerRule)
			f.Location = ""
			out = append(out, f)
		}
	}
	return out
}

// insIDs collects the distinct INS ids of patientRole, first first.
func insIDs(roles []*etree.Element) []insID {
	var out []insID
	seen := map[string]bool{}
	for _, r := range roles {
		for i, id := range kids(r, "id") {
			if hasAttr(id, "nullFlavor") {
				continue
			}
			oid := attr(id, "root")
			kind, ok := KindOf(oid)
			if !ok {
				continue
			}
			v := attr(id, "extension")
			if seen[oid+"\x00"+v] {
				continue
			}
			seen[oid+"\x00"+v] = true
			out = append(out, insID{oid: oid, value: v, kind: kind, loc: fmt.Sprintf("%s/id[%d]", locPatientRole, i+1)})
		}
	}
	return out
}

// checkMatricule applies INS-003 and INS-004 (research cda-ins.md §3.2).
func checkMatricule(doc *Document, id insID) (Matricule, bool) {
	m, err := ParseMatricule(id.value)
	if err == nil {
		return m, true
	}
	if !matriculeShape(id.value) {
		hint := check.Text{
			FR: "attendu : 15 caractères, 13 du NIR/NIA (2A/2B pour la Corse) puis la clé à 2 chiffres, sans espace",
			EN: "expected: 15 characters, the 13 of the NIR/NIA (2A/2B for Corsica) then the 2-digit key, no spaces"}
		if strings.ContainsAny(id.value, "ab") && matriculeShape(strings.ToUpper(id.value)) {
			hint = check.Text{FR: "écrire la Corse en majuscules (2A, 2B)", EN: "write Corsica in upper case (2A, 2B)"}
		}
		doc.add(RuleMatriculeFormat.New(check.Text{
			FR: fmt.Sprintf("matricule INS « %s » mal formé : %s", id.value, hint.FR),
			EN: fmt.Sprintf("malformed matricule INS %q: %s", id.value, hint.EN)}, id.loc+"/@extension"))
		return "", false
	}
	// Shape is right: the key is wrong. Coherence checks still apply.
	want := ControlKey(id.value[:13])
	doc.add(RuleMatriculeKey.Newf(id.loc+"/@extension",
		"clé %s fausse pour le matricule INS %s : la clé calculée est %s (97 − N mod 97) ; reprendre le matricule renvoyé par le téléservice INSi",
		"key %s is wrong for matricule INS %s: the computed key is %s (97 − N mod 97); use the matricule returned by the INSi service",
		id.value[13:], id.value, want))
	return Matricule(id.value), true
}

// traits are the INS identity traits read from patient (research
// cda-ins.md §2.1).
type traits struct {
	patient                           *etree.Element
	familyBR, givenBR, givenList      string
	hasFamilyBR, hasGivenBR, hasGiven bool
	birthTime, county, gender         string
}

func readTraits(patient *etree.Element, names []*etree.Element) traits {
	t := traits{patient: patient}
	for _, n := range names {
		for _, f := range kids(n, "family") {
			if attr(f, "qualifier") == "BR" && text(f) != "" && !t.hasFamilyBR {
				t.familyBR, t.hasFamilyBR = text(f), true
			}
		}
		for _, g := range kids(n, "given") {
			switch {
			case attr(g, "qualifier") == "BR" && text(g) != "" && !t.hasGivenBR:
				t.givenBR, t.hasGivenBR = text(g), true
			case !hasAttr(g, "qualifier") && text(g) != "" && !t.hasGiven:
				t.givenList, t.hasGiven = text(g), true
			}
		}
	}
	t.birthTime = attr(kid(patient, "birthTime"), "value")
	t.county = text(kid(kid(kid(kid(patient, "birthplace"), "place"), "addr"), "county"))
	t.gender = attr(kid(patient, "administrativeGenderCode"), "code")
	return t
}

// checkQualifiers applies HDR-003: family needs @qualifier BR or CL, given
// may have none or BR/CL; SP is refused since 18/01/2024 (research
// cda-ins.md §2.3).
func checkQualifiers(doc *Document, names []*etree.Element) {
	for ni, n := range names {
		for _, part := range []string{"family", "given"} {
			for i, e := range kids(n, part) {
				loc := fmt.Sprintf("%s[%d]/%s[%d]", locName, ni+1, part, i+1)
				q := attr(e, "qualifier")
				switch {
				case q == "BR" || q == "CL":
				case !hasAttr(e, "qualifier"):
					if part == "family" {
						doc.add(RuleQualifier.Newf(loc,
							"family « %s » sans @qualifier : indiquer BR (nom de naissance) ou CL (nom utilisé)",
							"family %q has no @qualifier: use BR (birth name) or CL (used name)", text(e)))
					}
				case q == "SP":
					doc.add(RuleQualifier.Newf(loc,
						"%s « %s » avec qualifier SP (nom d'époux) : refusé depuis le 18/01/2024, utiliser CL pour le nom utilisé",
						"%s %q has qualifier SP (spouse name): refused since 18/01/2024, use CL for the used name", part, text(e)))
				default:
					doc.add(RuleQualifier.Newf(loc,
						"%s « %s » avec qualifier « %s » : seuls BR (naissance) et CL (utilisé) sont admis",
						"%s %q has qualifier %q: only BR (birth) and CL (used) are allowed", part, text(e), q))
				}
			}
		}
	}
}

// checkTraits applies INS-005, one finding per missing trait (TestContenuCDA
// 3.0 traits rule, research cda-ins.md §4), and INS-006 (a full birth date,
// research cda-ins.md §3.3), whatever the matricule.
func checkTraits(doc *Document, t traits) {
	missing := func(loc, fr, en string) {
		doc.add(RuleTraits.New(check.Text{FR: "trait INS absent : " + fr, EN: "missing INS trait: " + en}, loc))
	}
	if !t.hasFamilyBR {
		missing(locName+"/family[@qualifier='BR']", "nom de naissance, ajouter <family qualifier=\"BR\">", "birth family name, add <family qualifier=\"BR\">")
	}
	if !t.hasGivenBR {
		missing(locName+"/given[@qualifier='BR']", "premier prénom de l'acte de naissance, ajouter <given qualifier=\"BR\">", "first given name on the birth certificate, add <given qualifier=\"BR\">")
	}
	if !t.hasGiven {
		missing(locName+"/given", "liste des prénoms de l'acte de naissance, ajouter <given> sans qualifier avec tous les prénoms séparés par des espaces",
			"list of given names on the birth certificate, add <given> without qualifier holding all given names separated by spaces")
	}
	if t.birthTime == "" {
		missing(locPatient+"/birthTime/@value", "date de naissance, ajouter <birthTime value=\"AAAAMMJJ\">", "birth date, add <birthTime value=\"YYYYMMDD\">")
	}
	if t.county == "" {
		missing(locPatient+"/birthplace/place/addr/county", "lieu de naissance, ajouter birthplace/place/addr/county avec le code COG de la commune (ou du pays)",
			"birthplace, add birthplace/place/addr/county with the COG code of the commune (or country)")
	}
	switch g := t.gender; g {
	case "F", "M", "UN":
	case "":
		missing(locPatient+"/administrativeGenderCode/@code", "sexe, ajouter <administrativeGenderCode code=\"F\"> (F, M ou UN)",
			"sex, add <administrativeGenderCode code=\"F\"> (F, M or UN)")
	default:
		missing(locPatient+"/administrativeGenderCode/@code", fmt.Sprintf("sexe, le code « %s » n'est pas F, M ou UN", g),
			fmt.Sprintf("sex, code %q is not F, M or UN", g))
	}
	if bt := leadingDigits(t.birthTime); t.birthTime != "" && len(bt) < 8 {
		doc.add(RuleBirthPrecision.Newf(locPatient+"/birthTime/@value",
			"date de naissance « %s » incomplète : une identité qualifiée a une date complète AAAAMMJJ",
			"birth date %q is incomplete: a qualified identity has a full YYYYMMDD date", t.birthTime))
	}
}

// checkCoherence applies INS-007..INS-010: our own checks of the matricule
// against the traits (research cda-ins.md §3.3), warnings because civil
// status has exceptions (COG changes, unknown months, NIA).
func checkCoherence(doc *Document, m Matricule, kind Kind, t traits) {
	bt := leadingDigits(t.birthTime)
	if kind != KindNIA && (t.gender == "M" || t.gender == "F") && (m.Sex() == '1' || m.Sex() == '2') {
		if want := map[string]byte{"M": '1', "F": '2'}[t.gender]; m.Sex() != want {
			doc.add(RuleSexCoherence.Newf(locPatient+"/administrativeGenderCode/@code",
				"le matricule %s commence par %c mais le sexe est %s : vérifier l'identité",
				"matricule %s starts with %c but the gender is %s: check the identity", m, m.Sex(), t.gender))
		}
	}
	if month := m.YearMonth()[2:]; len(bt) >= 6 && month >= "01" && month <= "12" && m.YearMonth() != bt[2:6] {
		doc.add(RuleBirthCoherence.Newf(locPatient+"/birthTime/@value",
			"année et mois du matricule %s (%s) différents de la date de naissance %s : vérifier la date ou le matricule",
			"year-month of matricule %s (%s) differs from the birth date %s: check the date or the matricule", m, m.YearMonth(), t.birthTime))
	}
	if t.county != "" && !strings.EqualFold(t.county, m.Birthplace()) {
		doc.add(RulePlaceCoherence.Newf(locPatient+"/birthplace/place/addr/county",
			"lieu de naissance du matricule %s (%s) différent du code COG %s : vérifier le lieu (une commune fusionnée peut l'expliquer)",
			"birthplace in matricule %s (%s) differs from COG code %s: check the place (a merged commune may explain it)", m, m.Birthplace(), t.county))
	}
	if t.hasGivenBR && t.hasGiven {
		if first := strings.Fields(t.givenList)[0]; !strings.EqualFold(first, t.givenBR) {
			doc.add(RuleGivenCoherence.Newf(locName+"/given[@qualifier='BR']",
				"premier prénom « %s » différent du premier mot de la liste des prénoms « %s »",
				"first given name %q is not the first word of the given-name list %q", t.givenBR, t.givenList))
		}
	}
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// readMeta reads the document-level header values (HL7 CDA R2 header).
func readMeta(cd *etree.Element) *Meta {
	id, code, conf := kid(cd, "id"), kid(cd, "code"), kid(cd, "confidentialityCode")
	return &Meta{
		IDRoot: attr(id, "root"), IDExtension: attr(id, "extension"),
		Title: text(kid(cd, "title")),
		Code:  attr(code, "code"), CodeSystem: attr(code, "codeSystem"), DisplayName: attr(code, "displayName"),
		EffectiveTime:       attr(kid(cd, "effectiveTime"), "value"),
		ConfidentialityCode: attr(conf, "code"), ConfidentialityCodeSystem: attr(conf, "codeSystem"),
		LanguageCode: attr(kid(cd, "languageCode"), "code"),
	}
}
