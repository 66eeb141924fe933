package cda

import (
	"strings"

	"github.com/msscprobe/msscprobe/check"
)

// SchemaVersion identifies the JSON shape of Report.
const SchemaVersion = "msscprobe.cda/v1"

// Status is the INS status of one document (docs/cda.md, "Status of each document").
type Status string

const (
	StatusInvalid       Status = "invalid"        // a CDA-* error: not a usable CDA
	StatusNoINS         Status = "no-ins"         // no INS id in patientRole
	StatusNotQualified  Status = "not-qualified"  // INS present with an HDR-001 or INS-002..005 error
	StatusQualifiedTest Status = "qualified-test" // OID .10/.11, none of those errors
	StatusQualified     Status = "qualified"      // OID .8/.9, none of those errors
	// StatusNotCDA is an XML file with no ClinicalDocument element at all
	// (XDM METADATA.XML, an export's index, a stylesheet): listed apart,
	// neither a failure nor part of the DS 4.1 share.
	StatusNotCDA Status = "not-cda"
)

// INS is the patient's INS as read from the document.
type INS struct {
	OID   string `json:"oid"`
	Value string `json:"value"`
	Kind  Kind   `json:"kind"`
}

// Document is the check result of one CDA document.
type Document struct {
	// Path is the file path, "-" for standard input, or "archive.zip!member"
	// for a document inside an XDM archive.
	Path     string          `json:"path"`
	Status   Status          `json:"status"`
	INS      *INS            `json:"ins,omitempty"`
	Code     string          `json:"document_code,omitempty"` // ClinicalDocument/code/@code
	Findings []check.Finding `json:"findings"`
	// Meta holds the header values the probe needs to build IHE XDM
	// METADATA.XML and the MSSanté subject; nil when the document could not
	// be read as a CDA.
	Meta *Meta `json:"meta,omitempty"`
}

// Meta is what a CDA header says about the document and its patient. Values
// are trimmed; absent ones are empty.
type Meta struct {
	IDRoot              string `json:"id_root,omitempty"`      // ClinicalDocument/id/@root
	IDExtension         string `json:"id_extension,omitempty"` // ClinicalDocument/id/@extension
	Title               string `json:"title,omitempty"`
	Code                string `json:"code,omitempty"`
	CodeSystem          string `json:"code_system,omitempty"`
	DisplayName         string `json:"display_name,omitempty"`
	EffectiveTime       string `json:"effective_time,omitempty"`
	ConfidentialityCode string `json:"confidentiality_code,omitempty"`
	// ConfidentialityCodeSystem is usually 2.16.840.1.113883.5.25.
	ConfidentialityCodeSystem string `json:"confidentiality_code_system,omitempty"`
	LanguageCode              string `json:"language_code,omitempty"`
	BirthFamily               string `json:"birth_family,omitempty"` // family[@qualifier='BR']
	BirthGiven                string `json:"birth_given,omitempty"`  // given[@qualifier='BR']
	BirthTime                 string `json:"birth_time,omitempty"`
	Gender                    string `json:"gender,omitempty"` // administrativeGenderCode/@code
}

// Passed reports whether the document passes on its own: status qualified
// or qualified-test (only qualified when production is set) and no error
// finding.
func (d *Document) Passed(production bool) bool {
	switch d.Status {
	case StatusNotCDA:
		return true
	case StatusQualified:
	case StatusQualifiedTest:
		if production {
			return false
		}
	default:
		return false
	}
	return check.Worst(d.Findings) != check.Error
}

// Summary counts documents per status. Total and QualifiedShare count CDA
// documents only: files that are not CDA documents (status not-cda) are
// counted in ByStatus and left out of the DS 4.1 share.
type Summary struct {
	Total    int            `json:"total"`
	ByStatus map[Status]int `json:"by_status"`
	// QualifiedShare is the share of documents with a qualified INS
	// (qualified, or qualified-test unless --production refused it), 0..1.
	QualifiedShare float64 `json:"qualified_share"`
}

// Report is the result of checking one or more inputs.
type Report struct {
	Schema    string     `json:"schema"`
	Documents []Document `json:"documents"`
	Summary   Summary    `json:"summary"`
}

// Passed gives the exit-0 verdict of `cda check`: at least one CDA
// document, and every document passes (see Document.Passed).
func (r *Report) Passed(production bool) bool {
	cda := 0
	for i := range r.Documents {
		if r.Documents[i].Status != StatusNotCDA {
			cda++
		}
	}
	if cda == 0 {
		return false
	}
	for i := range r.Documents {
		if !r.Documents[i].Passed(production) {
			return false
		}
	}
	return true
}

// Statuses lists every status, worst first, in the order reports print them.
var Statuses = []Status{StatusInvalid, StatusNoINS, StatusNotQualified, StatusQualifiedTest, StatusQualified, StatusNotCDA}

// Summarize counts documents per status (every status present, zero or not,
// so the JSON shape is stable).
func Summarize(docs []Document) Summary {
	s := Summary{ByStatus: make(map[Status]int, len(Statuses))}
	for _, st := range Statuses {
		s.ByStatus[st] = 0
	}
	for i := range docs {
		s.ByStatus[docs[i].Status]++
	}
	s.Total = len(docs) - s.ByStatus[StatusNotCDA]
	if s.Total > 0 {
		qualified := s.ByStatus[StatusQualified]
		for i := range docs {
			if docs[i].Status == StatusQualifiedTest && !refusedInProduction(&docs[i]) {
				qualified++
			}
		}
		s.QualifiedShare = float64(qualified) / float64(s.Total)
	}
	return s
}

// refusedInProduction tells a test INS that --production refused (INS-012):
// DS 4.1 counts documents sent for real patients, so it is not part of the
// qualified share then.
func refusedInProduction(d *Document) bool {
	for _, f := range d.Findings {
		if f.Rule == RuleProductionOnly.ID {
			return true
		}
	}
	return false
}

// MSSHeaders gives the values of the MSSanté headers for a message carrying
// docs (Ref#2 ECO.2.4.1 and ECO.2.4.2, research mssante.md §2):
// X-MSS-CODECDA is the ClinicalDocument/code/@code of each CDA document,
// comma-separated, in order; X-MSS-INS is "O" when every document has a
// qualified INS (status qualified or qualified-test), else "N". Documents
// that could not be read as a CDA (status invalid) count for X-MSS-INS but
// have no code. Both are empty when docs is empty: omit the headers then.
func MSSHeaders(docs []Document) (codeCDA, ins string) {
	if len(docs) == 0 {
		return "", ""
	}
	var codes []string
	ins = "O"
	for i := range docs {
		if docs[i].Status == StatusNotCDA {
			continue
		}
		if c := docs[i].Code; c != "" {
			codes = append(codes, c)
		}
		if s := docs[i].Status; s != StatusQualified && s != StatusQualifiedTest {
			ins = "N"
		}
	}
	return strings.Join(codes, ","), ins
}

var statusLabels = map[Status]check.Text{
	StatusInvalid:       {FR: "CDA invalide", EN: "invalid CDA"},
	StatusNoINS:         {FR: "sans INS", EN: "no INS"},
	StatusNotQualified:  {FR: "INS non qualifié", EN: "INS not qualified"},
	StatusQualifiedTest: {FR: "INS qualifié (test)", EN: "qualified INS (test)"},
	StatusQualified:     {FR: "INS qualifié", EN: "qualified INS"},
	StatusNotCDA:        {FR: "pas un document CDA", EN: "not a CDA document"},
}

// Label words the status for people, in lang; an unknown status is shown raw.
func (s Status) Label(lang check.Lang) string {
	if t, ok := statusLabels[s]; ok {
		return t.In(lang)
	}
	return string(s)
}
