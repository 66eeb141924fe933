package message

import "github.com/msscprobe/msscprobe/check"

// Sources cited by the rules (research message-rules.md, mssante.md).
const (
	srcRef2     = "Ref#2 v1.0.1 "
	srcEchange  = "CI-SIS volet « Échange de documents de santé » v1.8 (IHE_XDM.ZIP, un seul SUBSET01, un patient par archive)"
	srcXDMMedia = "IHE ITI TF-1 §16 XDM (INDEX.HTM, README.TXT) ; " + srcEchange
	srcDocEntry = "ANS IG-FHIR-PDSM4DMP-EEDS DocumentEntry (hash, size, uniqueId, typeCode, sourcePatientInfo 1..1); IHE ITI TF-3 §4.2.3.2"
	srcVisib    = "ANS IG « Transmission d'un document CDA-R2 en HL7v2 », règles de gestion MSSanté (visibilité patient)"
	srcRFC5322  = "RFC 5322 "
	srcENS      = "ENS Mon espace santé Messagerie v1.3 §6 (25 Mo)"
)

// The rules of `msscprobe message check` and of the mock's conformance
// verdict. IDs are stable; docs/message.md lists them.
var (
	RuleUnreadable = check.Rule{ID: "MSS-001", Severity: check.Error, Source: "RFC 5322, RFC 2045-2046",
		Title: check.Text{FR: "message MIME illisible", EN: "unreadable MIME message"}}
	RuleNIL = check.Rule{ID: "MSS-002", Severity: check.Error, Source: srcRef2 + "ECO.2.4.3",
		Title: check.Text{FR: "en-tête X-MSS-NIL absent", EN: "X-MSS-NIL header missing"}}
	RuleCodeCDA = check.Rule{ID: "MSS-003", Severity: check.Error, Source: srcRef2 + "ECO.2.4.1",
		Title: check.Text{FR: "X-MSS-CODECDA différent des codes des documents CDA de l'IHE_XDM.ZIP", EN: "X-MSS-CODECDA differs from the codes of the CDA documents in IHE_XDM.ZIP"}}
	RuleINSHeader = check.Rule{ID: "MSS-004", Severity: check.Error, Source: srcRef2 + "ECO.2.4.2",
		Title: check.Text{FR: "X-MSS-INS différent de ce que portent les documents CDA", EN: "X-MSS-INS differs from what the CDA documents carry"}}
	RuleCitizenAddress = check.Rule{ID: "MSS-005", Severity: check.Error, Source: srcRef2 + "ECO.3.1.1, ECO.2.2.6",
		Title: check.Text{FR: "adresse citoyenne dont la partie locale n'est pas un matricule INS valide", EN: "citizen address whose local part is not a valid matricule INS"}}
	RuleCitizenINS = check.Rule{ID: "MSS-006", Severity: check.Error, Source: srcRef2 + "ECO.2.2.6, ECO.3.1.1",
		Title: check.Text{FR: "adresse citoyenne non construite avec l'INS qualifié du patient du document", EN: "citizen address not built from the document patient's qualified INS"}}
	RuleOnePatient = check.Rule{ID: "MSS-007", Severity: check.Error, Source: srcRef2 + "ECO.2.1.2; " + srcEchange,
		Title: check.Text{FR: "plusieurs patients dans une même archive IHE_XDM.ZIP", EN: "several patients in one IHE_XDM.ZIP archive"}}
	RuleBareCDA = check.Rule{ID: "MSS-008", Severity: check.Error, Source: srcEchange,
		Title: check.Text{FR: "document CDA joint hors d'une archive IHE_XDM.ZIP", EN: "CDA document attached outside an IHE_XDM.ZIP archive"}}
	RuleXDMName = check.Rule{ID: "MSS-009", Severity: check.Warning, Source: srcEchange,
		Title: check.Text{FR: "archive IHE XDM jointe sous un autre nom que IHE_XDM.ZIP", EN: "IHE XDM archive attached under another name than IHE_XDM.ZIP"}}
	RuleSubsets = check.Rule{ID: "MSS-010", Severity: check.Error, Source: srcEchange,
		Title: check.Text{FR: "plusieurs sous-dossiers dans IHE_XDM/ (un seul SUBSET01 attendu)", EN: "several subset folders in IHE_XDM/ (a single SUBSET01 expected)"}}
	RuleSubsetName = check.Rule{ID: "MSS-011", Severity: check.Warning, Source: srcEchange,
		Title: check.Text{FR: "sous-dossier IHE_XDM nommé autrement que SUBSET01", EN: "IHE_XDM subset folder named other than SUBSET01"}}
	RuleIndex = check.Rule{ID: "MSS-012", Severity: check.Error, Source: srcXDMMedia,
		Title: check.Text{FR: "INDEX.HTM absent de la racine de l'archive", EN: "INDEX.HTM missing at the archive root"}}
	RuleReadme = check.Rule{ID: "MSS-013", Severity: check.Error, Source: srcXDMMedia,
		Title: check.Text{FR: "README.TXT absent de la racine de l'archive", EN: "README.TXT missing at the archive root"}}
	RuleHash = check.Rule{ID: "MSS-014", Severity: check.Error, Source: srcDocEntry,
		Title: check.Text{FR: "hash (SHA-1) de la DocumentEntry absent ou différent du fichier", EN: "DocumentEntry hash (SHA-1) missing or different from the file"}}
	RuleSize = check.Rule{ID: "MSS-015", Severity: check.Error, Source: srcDocEntry,
		Title: check.Text{FR: "size de la DocumentEntry absente ou différente du fichier", EN: "DocumentEntry size missing or different from the file"}}
	RuleUniqueID = check.Rule{ID: "MSS-016", Severity: check.Error, Source: srcDocEntry,
		Title: check.Text{FR: "uniqueId de la DocumentEntry différent de l'id du document CDA", EN: "DocumentEntry uniqueId differs from the CDA document id"}}
	RuleTypeCode = check.Rule{ID: "MSS-017", Severity: check.Error, Source: srcDocEntry,
		Title: check.Text{FR: "typeCode de la DocumentEntry différent du code du document CDA", EN: "DocumentEntry typeCode differs from the CDA document code"}}
	RuleSourcePatientInfo = check.Rule{ID: "MSS-018", Severity: check.Error, Source: srcDocEntry,
		Title: check.Text{FR: "sourcePatientInfo absent ou incohérent avec les traits d'identité du document", EN: "sourcePatientInfo missing or inconsistent with the document's identity traits"}}
	RuleInvisiblePatient = check.Rule{ID: "MSS-019", Severity: check.Error, Source: srcVisib,
		Title: check.Text{FR: "document INVISIBLE_PATIENT envoyé au patient", EN: "INVISIBLE_PATIENT document sent to the patient"}}
	RuleInvisibleLegal = check.Rule{ID: "MSS-020", Severity: check.Error, Source: srcVisib,
		Title: check.Text{FR: "document INVISIBLE_REP_LEGAUX envoyé au patient et à un professionnel", EN: "INVISIBLE_REP_LEGAUX document sent to the patient and a professional"}}
	RuleSecret = check.Rule{ID: "MSS-021", Severity: check.Error, Source: srcVisib,
		Title: check.Text{FR: "document CONNEXION_SECRETE envoyé au patient", EN: "CONNEXION_SECRETE document sent to the patient"}}
	RuleUTF8 = check.Rule{ID: "MSS-022", Severity: check.Error, Source: srcRef2 + "ECO.2.2.3",
		Title: check.Text{FR: "partie texte non encodée en UTF-8", EN: "text part not encoded in UTF-8"}}
	RuleMessageID = check.Rule{ID: "MSS-023", Severity: check.Error, Source: srcRFC5322 + "§3.6.4",
		Title: check.Text{FR: "Message-ID absent ou mal formé", EN: "Message-ID missing or malformed"}}
	RuleDate = check.Rule{ID: "MSS-024", Severity: check.Error, Source: srcRFC5322 + "§3.6.1",
		Title: check.Text{FR: "Date absente ou mal formée", EN: "Date missing or malformed"}}
	RuleFrom = check.Rule{ID: "MSS-025", Severity: check.Error, Source: srcRFC5322 + "§3.6.2",
		Title: check.Text{FR: "From absent ou mal formé", EN: "From missing or malformed"}}
	RuleThreading = check.Rule{ID: "MSS-026", Severity: check.Error, Source: srcRFC5322 + "§3.6.4",
		Title: check.Text{FR: "In-Reply-To ou References mal formé", EN: "malformed In-Reply-To or References"}}
	RuleTotalSize = check.Rule{ID: "MSS-027", Severity: check.Error, Source: srcENS,
		Title: check.Text{FR: "message de plus de 25 Mo", EN: "message larger than 25 MB"}}
	RuleMES = check.Rule{ID: "MSS-028", Severity: check.Error, Source: srcRef2 + "ECO.2.2.8",
		Title: check.Text{FR: "X-MSS-MES d'une autre valeur que FIN", EN: "X-MSS-MES with a value other than FIN"}}
	RuleDNT = check.Rule{ID: "MSS-029", Severity: check.Error, Source: srcRef2 + "ECO.2.3.2; RFC 8098 §2.1",
		Title: check.Text{FR: "Disposition-Notification-To mal formé", EN: "malformed Disposition-Notification-To"}}
	RuleSubject = check.Rule{ID: "MSS-030", Severity: check.Warning, Source: srcRef2 + "ECO.2.1.3",
		Title: check.Text{FR: "objet autre que XDM/1.0/DDM+<libellé> <NOM> <prénom> <date> pour un envoi de document", EN: "subject other than XDM/1.0/DDM+<label> <NAME> <given> <date> for a document"}}
)

// Rules lists every message rule, for documentation and the mock.
var Rules = check.NewCatalog(
	RuleUnreadable, RuleNIL, RuleCodeCDA, RuleINSHeader, RuleCitizenAddress, RuleCitizenINS, RuleOnePatient,
	RuleBareCDA, RuleXDMName, RuleSubsets, RuleSubsetName, RuleIndex, RuleReadme, RuleHash, RuleSize,
	RuleUniqueID, RuleTypeCode, RuleSourcePatientInfo, RuleInvisiblePatient, RuleInvisibleLegal, RuleSecret,
	RuleUTF8, RuleMessageID, RuleDate, RuleFrom, RuleThreading, RuleTotalSize, RuleMES, RuleDNT, RuleSubject,
)
