package cda

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"

	"github.com/msscprobe/msscprobe/check"
)

const (
	nsHL7 = "urn:hl7-org:v3"
	nsXSL = "http://www.w3.org/1999/XSL/Transform"
	// maxDepth bounds element nesting, as etree's default does.
	maxDepth = 1024
)

// readSettings keep etree's work minimal: strict parsing, no CDATA or
// duplicate-attribute bookkeeping, no entity map (research tools.md §B5).
// Input is already UTF-8, so the pass-through charset reader is right.
var readSettings = etree.ReadSettings{MaxDepth: maxDepth}

// checkXML checks one CDA document held in memory.
func checkXML(path string, data []byte) Document {
	doc := Document{Path: path, Status: StatusInvalid, Findings: []check.Finding{}}
	text, serr := toUTF8(data)
	if serr == nil {
		var s *scanner
		if s, serr = scanTree(text, maxDepth); serr == nil {
			serr = s.treeBounds()
		}
		if serr == nil {
			checkTree(&doc, text, s.header(), s.nodes)
			return doc
		}
	}
	line, col := lineCol(text, serr.off)
	loc := fmt.Sprintf("%d:%d", line, col)
	if serr.tree {
		doc.Findings = append(doc.Findings, RuleTreeTooLarge.New(check.Text{
			FR: serr.fr + " : l'en-tête n'est pas lu (protection mémoire) ; un en-tête CDA réel en compte quelques centaines, corriger le générateur du document",
			EN: serr.en + ": the header is not read (memory protection); a real CDA header holds a few hundred, fix the program that produced the document"},
			loc))
		return doc
	}
	if serr.dtd {
		doc.Findings = append(doc.Findings, RuleDTD.New(check.Text{
			FR: serr.fr + " : DTD et entités sont refusées sans être lues ni développées (XXE, « billion laughs ») ; supprimer la déclaration DOCTYPE, un document CDA n'en a pas besoin",
			EN: serr.en + ": DTDs and entities are refused, never read nor expanded (XXE, billion laughs); remove the DOCTYPE declaration, a CDA document needs none"},
			loc))
	} else {
		doc.Findings = append(doc.Findings, RuleNotWellFormed.New(check.Text{
			FR: fmt.Sprintf("XML mal formé ligne %d colonne %d : %s ; corriger le générateur du document", line, col, serr.fr),
			EN: fmt.Sprintf("XML not well-formed at line %d column %d: %s; fix the program that produced the document", line, col, serr.en)},
			loc))
	}
	return doc
}

// toUTF8 removes a BOM and converts a declared non-UTF-8 encoding, as an
// XML parser would. French hospital software still emits ISO-8859-1.
func toUTF8(b []byte) ([]byte, *scanError) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return b[3:], nil
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE, 0, 0}), bytes.HasPrefix(b, []byte{0, 0, 0xFE, 0xFF}):
		// Checked before UTF-16, whose little-endian BOM it starts with.
		return b, &scanError{fr: "encodage UTF-32 non pris en charge (utiliser UTF-8)", en: "unsupported encoding UTF-32 (use UTF-8)"}
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}), bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		out, err := unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder().Bytes(b)
		if err != nil {
			return b, &scanError{fr: "UTF-16 invalide", en: "invalid UTF-16"}
		}
		return out, nil
	}
	name := declaredEncoding(b)
	switch lower := strings.ToLower(name); {
	case lower == "", lower == "utf-8", lower == "utf8", lower == "us-ascii", lower == "ascii":
		return b, nil
	case strings.HasPrefix(lower, "utf-16"), strings.HasPrefix(lower, "utf-32"), strings.HasPrefix(lower, "ucs-"):
		// The declaration was read as ASCII, so the text is not in this
		// encoding: a frequent .NET mistake (a string's encoding saved as UTF-8).
		return b, &scanError{fr: "le document se déclare en " + name + " mais il est écrit en UTF-8 ou ASCII : corriger encoding dans la déclaration XML",
			en: "the document is labelled " + name + " but written in UTF-8 or ASCII: fix encoding in the XML declaration"}
	}
	enc, err := ianaindex.IANA.Encoding(name)
	if err != nil || enc == nil || enc == encoding.Nop {
		return b, &scanError{fr: "encodage « " + name + " » non pris en charge (utiliser UTF-8)", en: "unsupported encoding \"" + name + "\" (use UTF-8)"}
	}
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return b, &scanError{fr: "texte invalide pour l'encodage " + name, en: "text invalid for encoding " + name}
	}
	return out, nil
}

// declaredEncoding reads encoding="..." from the XML declaration.
func declaredEncoding(b []byte) string {
	if !bytes.HasPrefix(b, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(b, []byte("?>"))
	if end < 0 {
		return ""
	}
	return pseudoAttr(b[:end], "encoding")
}

// pseudoAttr reads name="value" from an XML declaration.
func pseudoAttr(decl []byte, name string) string {
	k := bytes.Index(decl, []byte(name))
	if k < 0 {
		return ""
	}
	rest := bytes.TrimLeft(decl[k+len(name):], " \t\r\n")
	if len(rest) == 0 || rest[0] != '=' {
		return ""
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) < 2 || rest[0] != '"' && rest[0] != '\'' {
		return ""
	}
	q := bytes.IndexByte(rest[1:], rest[0])
	if q < 0 {
		return ""
	}
	return string(rest[1 : 1+q])
}

// checkTree parses the header (the document reduced by the scanner) and
// applies the header and INS rules.
func checkTree(doc *Document, text, header []byte, nodes int) {
	cd, root, err := parseCD(header)
	if reduced := len(header) != len(text) || len(text) > 0 && &header[0] != &text[0]; (cd == nil || err != nil) && reduced &&
		nodes <= maxHeaderNodes && bytes.Contains(text, []byte("ClinicalDocument")) {
		// The ClinicalDocument the scanner saw was not the HL7 one: read
		// everything, so the verdict does not depend on the shortcut
		// (within the CDA-005 bound: a larger one keeps the reduced view).
		cd, root, err = parseCD(text)
	}
	if err != nil {
		doc.Findings = append(doc.Findings, RuleNotWellFormed.Newf("", "XML mal formé : %v", "XML not well-formed: %v", err))
		return
	}
	if cd == nil {
		f := noCDFinding(root)
		if root != nil && root.Tag != "ClinicalDocument" && !bytes.Contains(text, []byte("ClinicalDocument")) {
			// Well-formed XML that is not a CDA at all: said so, and not
			// counted as a broken CDA (research cda-ins.md: DS 4.1 counts
			// CDA documents).
			doc.Status = StatusNotCDA
			f.Rule, f.Severity, f.Source = RuleNotCDA.ID, RuleNotCDA.Severity, RuleNotCDA.Source
		}
		doc.Findings = append(doc.Findings, f)
		return
	}
	checkHeader(doc, cd)
}

func parseCD(b []byte) (cd, root *etree.Element, _ error) {
	d := etree.NewDocument()
	d.ReadSettings = readSettings
	if err := d.ReadFromBytes(b); err != nil {
		return nil, nil, err
	}
	root = d.Root()
	if root == nil {
		return nil, nil, nil
	}
	return findCD(root), root, nil
}

// findCD accepts ClinicalDocument as the root, or anywhere inside an XSLT
// stylesheet (auto-presentable CDA, research cda-ins.md §7).
func findCD(root *etree.Element) *etree.Element {
	if isHL7(root, "ClinicalDocument") {
		return root
	}
	if (root.Tag != "stylesheet" && root.Tag != "transform") || root.NamespaceURI() != nsXSL {
		return nil
	}
	stack := []*etree.Element{root}
	for len(stack) > 0 {
		e := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if isHL7(e, "ClinicalDocument") {
			return e
		}
		kids := e.ChildElements()
		for i := len(kids) - 1; i >= 0; i-- {
			stack = append(stack, kids[i])
		}
	}
	return nil
}

func noCDFinding(root *etree.Element) check.Finding {
	if root == nil {
		return RuleNoClinicalDocument.Newf("", "aucun élément", "no element")
	}
	ns := root.NamespaceURI()
	switch {
	case root.Tag != "ClinicalDocument":
	case ns == "" && root.Space != "":
		return RuleNoClinicalDocument.Newf("/"+root.FullTag(),
			"le préfixe %s de ClinicalDocument n'est pas déclaré : ajouter xmlns:%s=\"urn:hl7-org:v3\"",
			"the prefix %s of ClinicalDocument is not declared: add xmlns:%s=\"urn:hl7-org:v3\"", root.Space, root.Space)
	case ns == "":
		return RuleNoClinicalDocument.Newf("/"+root.FullTag(),
			"ClinicalDocument n'a pas d'espace de noms : déclarer xmlns=\"urn:hl7-org:v3\"",
			"ClinicalDocument has no namespace: declare xmlns=\"urn:hl7-org:v3\"")
	default:
		return RuleNoClinicalDocument.Newf("/"+root.FullTag(),
			"ClinicalDocument est dans l'espace de noms « %s » au lieu de urn:hl7-org:v3 : déclarer xmlns=\"urn:hl7-org:v3\"",
			"ClinicalDocument is in namespace %q instead of urn:hl7-org:v3: declare xmlns=\"urn:hl7-org:v3\"", ns)
	}
	return RuleNoClinicalDocument.Newf("/"+root.FullTag(),
		"l'élément racine est {%s}%s : ce n'est pas un document CDA (ClinicalDocument de l'espace urn:hl7-org:v3, éventuellement dans un xsl:stylesheet)",
		"the root element is {%s}%s: not a CDA document (ClinicalDocument in namespace urn:hl7-org:v3, possibly inside an xsl:stylesheet)", ns, root.Tag)
}

func isHL7(e *etree.Element, local string) bool {
	return e.Tag == local && e.NamespaceURI() == nsHL7
}

// kids returns the direct HL7 children named local; matching is by
// namespace URI, never by prefix (ANS examples use both xmlns and c:).
func kids(e *etree.Element, local string) []*etree.Element {
	if e == nil {
		return nil
	}
	var out []*etree.Element
	for _, c := range e.ChildElements() {
		if isHL7(c, local) {
			out = append(out, c)
		}
	}
	return out
}

func kid(e *etree.Element, local string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if isHL7(c, local) {
			return c
		}
	}
	return nil
}

// attr returns the value of an unprefixed attribute without surrounding
// XML white space; other spaces (a no-break space pasted into a matricule)
// are left for the rules to see.
func attr(e *etree.Element, key string) string {
	if e == nil {
		return ""
	}
	for _, a := range e.Attr {
		if a.Space == "" && a.Key == key {
			return strings.Trim(a.Value, " \t\r\n")
		}
	}
	return ""
}

func hasAttr(e *etree.Element, key string) bool {
	for _, a := range e.Attr {
		if a.Space == "" && a.Key == key {
			return true
		}
	}
	return false
}

func text(e *etree.Element) string {
	if e == nil {
		return ""
	}
	return strings.TrimSpace(e.Text())
}
