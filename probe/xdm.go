package probe

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/msscprobe/msscprobe/cda"
	"github.com/msscprobe/msscprobe/message"
)

// XDMName is the attachment name MSSanté receivers look for (research
// mssante.md §3).
const XDMName = message.XDMName

// XDM paths. The subset folder and the 8.3 upper-case document name follow
// the layout a French editor's builder uses ([OX], research mssante.md §3).
const (
	xdmSubset   = "IHE_XDM/SUBSET01/"
	xdmMetadata = xdmSubset + "METADATA.XML"
	xdmDocName  = "DOC0001.XML"
)

// IHE ITI TF-3 §4.2.5 classification and identification schemes.
const (
	uuidDocumentEntry      = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
	uuidDocPatientID       = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
	uuidDocUniqueID        = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
	uuidDocTypeCode        = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
	uuidDocConfidentiality = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
	uuidSubmissionSet      = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
	uuidSetPatientID       = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
	uuidSetUniqueID        = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
	uuidSetSourceID        = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
	assocHasMember         = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
	nsLCM                  = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
	nsRIM                  = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
)

// XDMInput is what BuildXDM packages.
type XDMInput struct {
	CDA         []byte       // the CDA document as read
	Doc         cda.Document // its check result (INS, Meta)
	Sender      EstablishmentConfig
	ToolVersion string
	Now         time.Time
}

// PatientID formats an INS as an XDS CX patientId:
// <matricule>^^^&<OID>&ISO^NH (research mssante.md §3, cda-ins.md §5).
func PatientID(ins cda.INS) string {
	return ins.Value + "^^^&" + ins.OID + "&ISO^NH"
}

// BuildXDM builds an IHE_XDM.ZIP (IHE ITI-32 media layout: INDEX.HTM,
// README.TXT, IHE_XDM/SUBSET01/METADATA.XML and the CDA) around one CDA
// document. The patientId of the document entry and of the submission set
// is the document's INS (Ref#2 ECO.2.1.2: receivers identify the patient
// from it), so a document without an INS cannot be packaged.
func BuildXDM(in XDMInput) ([]byte, error) {
	if in.Doc.INS == nil || in.Doc.INS.Value == "" || in.Doc.INS.OID == "" {
		return nil, errors.New("the CDA has no INS in recordTarget/patientRole/id: the XDM patientId cannot be filled")
	}
	meta := in.Doc.Meta
	if meta == nil {
		return nil, errors.New("the CDA header could not be read")
	}
	setID, err := uuidOID()
	if err != nil {
		return nil, err
	}
	metadata, err := xdmMetadataXML(in, meta, setID)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	files := []struct {
		name string
		data []byte
	}{
		{"INDEX.HTM", xdmIndex(in, meta)},
		{"README.TXT", xdmReadme(in)},
		{xdmMetadata, metadata},
		{xdmSubset + xdmDocName, in.CDA},
	}
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: in.Now})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func xdmMetadataXML(in XDMInput, meta *cda.Meta, setID string) ([]byte, error) {
	sum := sha1.Sum(in.CDA) // ITI-41 hash slot: SHA-1, hex
	pid := PatientID(*in.Doc.INS)
	ts := in.Now.UTC().Format("20060102150405")
	docUID := meta.IDRoot
	if meta.IDExtension != "" {
		docUID += "^" + meta.IDExtension
	}

	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	root := doc.CreateElement("lcm:SubmitObjectsRequest")
	root.CreateAttr("xmlns:lcm", nsLCM)
	root.CreateAttr("xmlns:rim", nsRIM)
	list := root.CreateElement("rim:RegistryObjectList")

	eo := list.CreateElement("rim:ExtrinsicObject")
	eo.CreateAttr("id", "Document01")
	eo.CreateAttr("mimeType", "text/xml")
	eo.CreateAttr("objectType", uuidDocumentEntry)
	slot(eo, "creationTime", ts)
	slot(eo, "hash", hex.EncodeToString(sum[:]))
	slot(eo, "size", strconv.Itoa(len(in.CDA)))
	slot(eo, "URI", xdmDocName)
	if meta.LanguageCode != "" {
		slot(eo, "languageCode", meta.LanguageCode)
	}
	slot(eo, "sourcePatientId", pid)
	var info []string
	if meta.BirthFamily != "" || meta.BirthGiven != "" {
		info = append(info, "PID-5|"+meta.BirthFamily+"^"+meta.BirthGiven+"^^^^^L")
	}
	if meta.BirthTime != "" {
		info = append(info, "PID-7|"+meta.BirthTime)
	}
	if meta.Gender != "" {
		info = append(info, "PID-8|"+meta.Gender)
	}
	if len(info) > 0 {
		slot(eo, "sourcePatientInfo", info...)
	}
	localized(eo.CreateElement("rim:Name"), meta.Title)
	if meta.Code != "" {
		classification(eo, "cl01", uuidDocTypeCode, "Document01", meta.Code, meta.CodeSystem, meta.DisplayName)
	}
	if meta.ConfidentialityCode != "" {
		classification(eo, "cl02", uuidDocConfidentiality, "Document01", meta.ConfidentialityCode, meta.ConfidentialityCodeSystem, "")
	}
	externalID(eo, "ei01", uuidDocPatientID, "Document01", pid, "XDSDocumentEntry.patientId")
	if docUID != "" {
		externalID(eo, "ei02", uuidDocUniqueID, "Document01", docUID, "XDSDocumentEntry.uniqueId")
	}

	rp := list.CreateElement("rim:RegistryPackage")
	rp.CreateAttr("id", "SubmissionSet01")
	slot(rp, "submissionTime", ts)
	localized(rp.CreateElement("rim:Name"), "msscprobe PS 4.1")
	externalID(rp, "ei03", uuidSetPatientID, "SubmissionSet01", pid, "XDSSubmissionSet.patientId")
	externalID(rp, "ei04", uuidSetUniqueID, "SubmissionSet01", setID, "XDSSubmissionSet.uniqueId")
	externalID(rp, "ei05", uuidSetSourceID, "SubmissionSet01", setID, "XDSSubmissionSet.sourceId")

	cl := list.CreateElement("rim:Classification")
	cl.CreateAttr("id", "cl03")
	cl.CreateAttr("classifiedObject", "SubmissionSet01")
	cl.CreateAttr("classificationNode", uuidSubmissionSet)

	as := list.CreateElement("rim:Association")
	as.CreateAttr("id", "as01")
	as.CreateAttr("associationType", assocHasMember)
	as.CreateAttr("sourceObject", "SubmissionSet01")
	as.CreateAttr("targetObject", "Document01")
	slot(as, "SubmissionSetStatus", "Original")

	doc.Indent(2)
	return doc.WriteToBytes()
}

func slot(parent *etree.Element, name string, values ...string) {
	s := parent.CreateElement("rim:Slot")
	s.CreateAttr("name", name)
	vl := s.CreateElement("rim:ValueList")
	for _, v := range values {
		vl.CreateElement("rim:Value").SetText(v)
	}
}

func localized(parent *etree.Element, value string) {
	ls := parent.CreateElement("rim:LocalizedString")
	ls.CreateAttr("charset", "UTF-8")
	ls.CreateAttr("value", value)
}

func classification(parent *etree.Element, id, scheme, object, code, codeSystem, display string) {
	c := parent.CreateElement("rim:Classification")
	c.CreateAttr("id", id)
	c.CreateAttr("classificationScheme", scheme)
	c.CreateAttr("classifiedObject", object)
	c.CreateAttr("nodeRepresentation", code)
	if codeSystem != "" {
		slot(c, "codingScheme", codeSystem)
	}
	if display != "" {
		localized(c.CreateElement("rim:Name"), display)
	}
}

func externalID(parent *etree.Element, id, scheme, object, value, name string) {
	e := parent.CreateElement("rim:ExternalIdentifier")
	e.CreateAttr("id", id)
	e.CreateAttr("identificationScheme", scheme)
	e.CreateAttr("registryObject", object)
	e.CreateAttr("value", value)
	localized(e.CreateElement("rim:Name"), name)
}

// uuidOID returns a fresh OID under 2.25 (ITU-T X.667: a UUID as a decimal
// integer), unique without any registered OID root.
func uuidOID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return "2.25." + new(big.Int).SetBytes(b[:]).String(), nil
}

func xdmReadme(in XDMInput) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Emetteur / Sender: %s", in.Sender.Name)
	if in.Sender.FINESS != "" {
		fmt.Fprintf(&b, " (FINESS %s)", in.Sender.FINESS)
	}
	fmt.Fprintf(&b, " <%s>\r\n", in.Sender.Address)
	fmt.Fprintf(&b, "Logiciel / Software: msscprobe %s (editeur / vendor: msscprobe)\r\n", in.ToolVersion)
	fmt.Fprintf(&b, "Date: %s\r\n\r\nContenu / Contents:\r\n", in.Now.UTC().Format(time.RFC3339))
	for _, p := range []string{"INDEX.HTM", "README.TXT", xdmMetadata, xdmSubset + xdmDocName} {
		fmt.Fprintf(&b, "  %s\r\n", p)
	}
	return []byte(b.String())
}

func xdmIndex(in XDMInput, meta *cda.Meta) []byte {
	title := meta.Title
	if title == "" {
		title = meta.DisplayName
	}
	return []byte(fmt.Sprintf(`<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>IHE XDM</title></head>
<body><h1>IHE XDM</h1>
<p>Émetteur : %s &lt;%s&gt;</p>
<ul><li><a href="%s">%s</a></li><li><a href="README.TXT">README.TXT</a></li></ul>
</body></html>
`, html.EscapeString(in.Sender.Name), html.EscapeString(in.Sender.Address),
		xdmSubset+xdmDocName, html.EscapeString(title)))
}
