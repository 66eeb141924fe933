package cda

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/msscprobe/msscprobe/check"
)

// TestHeaderMessages edits qualified.xml and checks the rules and the
// wording of their messages in both languages.
func TestHeaderMessages(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(fixtures, "qualified.xml"))
	if err != nil {
		t.Fatal(err)
	}
	name := data[strings.Index(string(data), "<name>") : strings.Index(string(data), "</name>")+len("</name>")]
	for _, tc := range []struct {
		desc   string
		edits  [][2]string // old, new
		status Status
		rules  []string
		rule   string // the finding whose message is checked
		fr, en string
	}{
		{"no name: not 0 names to regroup", [][2]string{{string(name), ""}}, StatusNotQualified,
			[]string{"HDR-002", "INS-005", "INS-005", "INS-005"},
			"HDR-002", "le patient n'a pas d'élément name", "the patient has no name element"},
		{"two names", [][2]string{{string(name), string(name) + string(name)}}, StatusQualified,
			[]string{"HDR-002"}, "HDR-002", "2 éléments name au lieu d'un seul", "2 name elements instead of one"},
		{"no gender code: no empty quotes", [][2]string{{`code="M" codeSystem`, `codeSystem`}}, StatusNotQualified,
			[]string{"INS-005"}, "INS-005", `trait INS absent : sexe, ajouter <administrativeGenderCode code="F"> (F, M ou UN)`,
			`missing INS trait: sex, add <administrativeGenderCode code="F"> (F, M or UN)`},
		{"bad gender code", [][2]string{{`code="M" codeSystem`, `code="X" codeSystem`}}, StatusNotQualified,
			[]string{"INS-005"}, "INS-005", "sexe, le code « X » n'est pas F, M ou UN", `sex, code "X" is not F, M or UN`},
		// INS-006 does not depend on the matricule being well formed.
		{"partial birth date, malformed matricule", [][2]string{{`value="19850712"`, `value="1985"`}, {"185077505612323", "18507750561232"}}, StatusNotQualified,
			[]string{"INS-003", "INS-006"}, "INS-006", "date de naissance « 1985 » incomplète", `birth date "1985" is incomplete`},
		{"French agreement of INS-008", [][2]string{{`value="19850712"`, `value="19860712"`}}, StatusQualified,
			[]string{"INS-008"}, "INS-008", "année et mois du matricule 185077505612323 (8507) différents de la date de naissance 19860712",
			"year-month of matricule 185077505612323 (8507) differs from the birth date 19860712"},
		// Only XML white space is trimmed: a no-break space made it valid.
		{"no-break space in the matricule", [][2]string{{"185077505612323", "185077505612323\u00a0"}}, StatusNotQualified,
			[]string{"INS-003"}, "INS-003", "matricule INS « 185077505612323\u00a0 » mal formé", `malformed matricule INS "185077505612323\u00a0"`},
		{"spaces and new lines around the matricule", [][2]string{{"185077505612323", "\n 185077505612323\t"}}, StatusQualified, nil, "", "", ""},
		// A UTF-8 file labelled UTF-16 said "text outside the root element".
		{"labelled UTF-16", [][2]string{{`encoding="UTF-8"`, `encoding="utf-16"`}}, StatusInvalid,
			[]string{"CDA-001"}, "CDA-001", "le document se déclare en utf-16 mais il est écrit en UTF-8 ou ASCII", "labelled utf-16 but written in UTF-8 or ASCII"},
		// CDA-002 used to say: in namespace « » instead of urn:hl7-org:v3.
		{"no namespace", [][2]string{{` xmlns="urn:hl7-org:v3"`, ""}}, StatusInvalid, []string{"CDA-002"}, "CDA-002",
			`ClinicalDocument n'a pas d'espace de noms : déclarer xmlns="urn:hl7-org:v3"`, `ClinicalDocument has no namespace: declare xmlns="urn:hl7-org:v3"`},
		{"undeclared prefix", [][2]string{{`<ClinicalDocument xmlns="urn:hl7-org:v3">`, "<c:ClinicalDocument>"}, {"</ClinicalDocument>", "</c:ClinicalDocument>"}},
			StatusInvalid, []string{"CDA-002"}, "CDA-002",
			`le préfixe c de ClinicalDocument n'est pas déclaré : ajouter xmlns:c="urn:hl7-org:v3"`, `the prefix c of ClinicalDocument is not declared: add xmlns:c="urn:hl7-org:v3"`},
		{"other namespace", [][2]string{{`xmlns="urn:hl7-org:v3"`, `xmlns="urn:hl7-org:v2"`}}, StatusInvalid, []string{"CDA-002"}, "CDA-002",
			"ClinicalDocument est dans l'espace de noms « urn:hl7-org:v2 » au lieu de urn:hl7-org:v3", `ClinicalDocument is in namespace "urn:hl7-org:v2" instead of urn:hl7-org:v3`},
		// UTF-32 was read as UTF-16: "text outside the root element".
		{"UTF-32", [][2]string{{"<?xml", "\xff\xfe\x00\x00<\x00\x00\x00"}}, StatusInvalid,
			[]string{"CDA-001"}, "CDA-001", "encodage UTF-32 non pris en charge (utiliser UTF-8)", "unsupported encoding UTF-32 (use UTF-8)"},
		// Hostile headers: the report stays bounded (it grew with them).
		{"30 families without qualifier", [][2]string{{"<name>", "<name>" + strings.Repeat("<family>X</family>", 30)}}, StatusQualified,
			slices.Repeat([]string{"HDR-003"}, maxPerRule+1), "HDR-003", "… et 10 de plus, non détaillés", "… and 10 more, not listed"},
		{"12 INS ids", [][2]string{{"<patientRole>", "<patientRole>" + manyIDs(12)}}, StatusNotQualified,
			slices.Concat([]string{"INS-002"}, slices.Repeat([]string{"INS-004"}, 12), []string{"INS-009"}), "INS-002",
			"13 INS différents pour le même patient : 000000000000000 (1.2.250.1.213.1.4.8), ", "…; keep only one"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			in := string(data)
			for _, e := range tc.edits {
				if !strings.Contains(in, e[0]) {
					t.Fatalf("fixture has no %q", e[0])
				}
				in = strings.Replace(in, e[0], e[1], 1)
			}
			d := CheckBytes("t.xml", []byte(in), Options{})[0]
			if got := rulesOf(d); d.Status != tc.status || !slices.Equal(got, tc.rules) {
				t.Errorf("status %s rules %v, want %s %v", d.Status, got, tc.status, tc.rules)
			}
			var msgs []check.Text
			for _, f := range d.Findings {
				if f.Rule == tc.rule {
					msgs = append(msgs, f.Message)
				}
			}
			if tc.rule != "" && !slices.ContainsFunc(msgs, func(m check.Text) bool { return strings.Contains(m.FR, tc.fr) && strings.Contains(m.EN, tc.en) }) {
				t.Errorf("no %s message with %q / %q: %+v", tc.rule, tc.fr, tc.en, msgs)
			}
		})
	}
}

// manyIDs writes n production INS ids with wrong keys.
func manyIDs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `<id root="1.2.250.1.213.1.4.8" extension="%015d"/>`, i)
	}
	return b.String()
}
