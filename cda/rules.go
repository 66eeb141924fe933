package cda

import "github.com/msscprobe/msscprobe/check"

// Source references cited by the rules (research cda-ins.md).
const (
	srcXML     = "W3C XML 1.0"
	srcSecure  = "msscprobe (OWASP XXE prevention)"
	srcHeader  = "ANS TestContenuCDA 3.0, template 1.2.250.1.213.1.1.1.1 (CI-SIS structuration minimale)"
	srcINSRule = "ANS TestContenuCDA 3.0, template 1.2.250.1.213.1.1.1.1: traits INS obligatoires"
	srcNIR     = "msscprobe: NIR/NIA format and key (décret 82-103 art. 4; research cda-ins.md §3)"
	srcXDM     = "IHE ITI TF-1 XDM, ITI TF-3 §4.2 (patientId CX ^^^&OID&ISO^NH, research cda-ins.md §5)"
)

// The rules of `msscprobe cda check`, with stable IDs (listed in docs/cda.md).
var (
	RuleNotWellFormed = check.Rule{ID: "CDA-001", Severity: check.Error, Source: srcXML,
		Title: check.Text{FR: "XML mal formé", EN: "XML not well-formed"}}
	RuleNoClinicalDocument = check.Rule{ID: "CDA-002", Severity: check.Error, Source: "HL7 CDA R2",
		Title: check.Text{FR: "pas de ClinicalDocument HL7 (espace de noms urn:hl7-org:v3)", EN: "no HL7 ClinicalDocument (namespace urn:hl7-org:v3)"}}
	RuleDTD = check.Rule{ID: "CDA-003", Severity: check.Error, Source: srcSecure,
		Title: check.Text{FR: "DTD ou déclaration d'entité refusée", EN: "DTD or entity declaration refused"}}
	RuleTooLarge = check.Rule{ID: "CDA-004", Severity: check.Error, Source: "msscprobe",
		Title: check.Text{FR: "fichier plus grand que la limite", EN: "input larger than the limit"}}
	// RuleNotCDA is an XML file without any ClinicalDocument: not a broken
	// CDA but another kind of file, left out of the DS 4.1 share (the
	// indicator counts CDA documents sent, research cda-ins.md).
	RuleNotCDA = check.Rule{ID: "CDA-006", Severity: check.Info, Source: "HL7 CDA R2",
		Title: check.Text{FR: "pas un document CDA (aucun ClinicalDocument) : hors part DS 4.1", EN: "not a CDA document (no ClinicalDocument): outside the DS 4.1 share"}}

	RuleTreeTooLarge = check.Rule{ID: "CDA-005", Severity: check.Error, Source: "msscprobe (memory bound on hostile input)",
		Title: check.Text{FR: "en-tête CDA trop volumineux (éléments, attributs ou octets)", EN: "CDA header too large (elements, attributes or bytes)"}}

	RuleRecordTarget = check.Rule{ID: "HDR-001", Severity: check.Error, Source: srcHeader,
		Title: check.Text{FR: "il faut exactement un recordTarget, un patientRole et un patient", EN: "exactly one recordTarget, patientRole and patient required"}}
	RuleOneName = check.Rule{ID: "HDR-002", Severity: check.Error, Source: srcHeader,
		Title: check.Text{FR: "le patient doit avoir exactement un élément name", EN: "the patient must have exactly one name element"}}
	RuleQualifier = check.Rule{ID: "HDR-003", Severity: check.Error, Source: srcHeader + " (SP refusé depuis le 18/01/2024)",
		Title: check.Text{FR: "qualifier de nom absent ou autre que BR/CL", EN: "name qualifier missing or other than BR/CL"}}

	RuleNoINS = check.Rule{ID: "INS-001", Severity: check.Info, Source: srcINSRule,
		Title: check.Text{FR: "aucun identifiant INS dans patientRole", EN: "no INS identifier in patientRole"}}
	RuleSeveralINS = check.Rule{ID: "INS-002", Severity: check.Error, Source: "msscprobe (research cda-ins.md §7)",
		Title: check.Text{FR: "plusieurs INS différents dans patientRole", EN: "several different INS in patientRole"}}
	RuleMatriculeFormat = check.Rule{ID: "INS-003", Severity: check.Error, Source: srcNIR,
		Title: check.Text{FR: "matricule INS mal formé (15 caractères attendus)", EN: "malformed matricule INS (15 characters expected)"}}
	RuleMatriculeKey = check.Rule{ID: "INS-004", Severity: check.Error, Source: srcNIR + "; key 97 − (N mod 97)",
		Title: check.Text{FR: "clé de contrôle du matricule INS fausse", EN: "wrong control key in the matricule INS"}}
	RuleTraits = check.Rule{ID: "INS-005", Severity: check.Error, Source: srcINSRule,
		Title: check.Text{FR: "trait INS obligatoire absent", EN: "mandatory INS trait missing"}}
	RuleBirthPrecision = check.Rule{ID: "INS-006", Severity: check.Warning, Source: "msscprobe (research cda-ins.md §3.3)",
		Title: check.Text{FR: "date de naissance incomplète (moins de 8 chiffres)", EN: "incomplete birth date (fewer than 8 digits)"}}
	RuleSexCoherence = check.Rule{ID: "INS-007", Severity: check.Warning, Source: "msscprobe (research cda-ins.md §3.3)",
		Title: check.Text{FR: "sexe du NIR différent du sexe administratif", EN: "NIR sex differs from the administrative gender"}}
	RuleBirthCoherence = check.Rule{ID: "INS-008", Severity: check.Warning, Source: "msscprobe (research cda-ins.md §3.3)",
		Title: check.Text{FR: "année et mois du NIR différents de la date de naissance", EN: "NIR year-month differs from the birth date"}}
	RulePlaceCoherence = check.Rule{ID: "INS-009", Severity: check.Warning, Source: "msscprobe (research cda-ins.md §3.3)",
		Title: check.Text{FR: "lieu de naissance du NIR différent du code COG", EN: "NIR birthplace differs from the COG code"}}
	RuleGivenCoherence = check.Rule{ID: "INS-010", Severity: check.Warning, Source: "msscprobe (research cda-ins.md §7)",
		Title: check.Text{FR: "premier prénom différent du premier mot de la liste des prénoms", EN: "first given name is not the first word of the given-name list"}}
	RuleFictitious = check.Rule{ID: "INS-011", Severity: check.Warning, Source: "research cda-ins.md §1 (OID .10 test, .11 démonstration)",
		Title: check.Text{FR: "INS de test ou de démonstration : identité fictive", EN: "test or demo INS: a fictitious identity"}}
	// RuleProductionOnly is INS-011 made blocking by --production: a
	// document sent for real patients must carry a production INS (OID
	// .8/.9, research cda-ins.md §1).
	RuleProductionOnly = check.Rule{ID: "INS-012", Severity: check.Error, Source: "research cda-ins.md §1 (--production)",
		Title: check.Text{FR: "INS de test ou de démonstration refusé avec --production", EN: "test or demo INS refused with --production"}}

	RuleNotXDM = check.Rule{ID: "XDM-001", Severity: check.Error, Source: srcXDM,
		Title: check.Text{FR: "pas une archive IHE XDM (METADATA.XML absent)", EN: "not an IHE XDM archive (no METADATA.XML)"}}
	RuleXDMMissing = check.Rule{ID: "XDM-002", Severity: check.Error, Source: srcXDM,
		Title: check.Text{FR: "document référencé absent de l'archive", EN: "referenced document missing from the archive"}}
	RulePatientIDFormat = check.Rule{ID: "XDM-003", Severity: check.Error, Source: srcXDM,
		Title: check.Text{FR: "patientId mal formé", EN: "malformed patientId"}}
	RulePatientIDMismatch = check.Rule{ID: "XDM-004", Severity: check.Error, Source: srcXDM,
		Title: check.Text{FR: "patientId différent de l'INS du document CDA", EN: "patientId differs from the CDA's INS"}}
	RuleUnsafeArchive = check.Rule{ID: "XDM-005", Severity: check.Error, Source: "msscprobe (zip slip, zip bomb)",
		Title: check.Text{FR: "archive dangereuse refusée sans extraction", EN: "unsafe archive refused without extraction"}}
)

// Rules lists every rule of the CDA/INS checker, for documentation.
var Rules = check.NewCatalog(
	RuleNotWellFormed, RuleNoClinicalDocument, RuleDTD, RuleTooLarge, RuleTreeTooLarge, RuleNotCDA,
	RuleRecordTarget, RuleOneName, RuleQualifier,
	RuleNoINS, RuleSeveralINS, RuleMatriculeFormat, RuleMatriculeKey, RuleTraits,
	RuleBirthPrecision, RuleSexCoherence, RuleBirthCoherence, RulePlaceCoherence, RuleGivenCoherence, RuleFictitious, RuleProductionOnly,
	RuleNotXDM, RuleXDMMissing, RulePatientIDFormat, RulePatientIDMismatch, RuleUnsafeArchive,
)
