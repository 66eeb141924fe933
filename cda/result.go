package cda

import "github.com/msscprobe/msscprobe/check"

// SchemaVersion identifies the JSON shape of Report.
const SchemaVersion = "msscprobe.cda/v1"

// Status is the INS status of one document (issue #2, "Status of each document").
type Status string

const (
	StatusInvalid       Status = "invalid"        // a CDA-* error: not a usable CDA
	StatusNoINS         Status = "no-ins"         // no INS id in patientRole
	StatusNotQualified  Status = "not-qualified"  // INS present with an HDR-001 or INS-002..005 error
	StatusQualifiedTest Status = "qualified-test" // OID .10/.11, none of those errors
	StatusQualified     Status = "qualified"      // OID .8/.9, none of those errors
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
}

// Summary counts documents per status.
type Summary struct {
	Total    int            `json:"total"`
	ByStatus map[Status]int `json:"by_status"`
	// QualifiedShare is the share of documents with a qualified INS
	// (qualified or qualified-test), 0..1.
	QualifiedShare float64 `json:"qualified_share"`
}

// Report is the result of checking one or more inputs.
type Report struct {
	Schema    string     `json:"schema"`
	Documents []Document `json:"documents"`
	Summary   Summary    `json:"summary"`
}
