package cda

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"unicode/utf8"
)

// scanner checks that a UTF-8 document is well-formed XML 1.0 in one pass
// over a byte slice, and records where the CDA body sits so that the DOM is
// built for the header only.
//
// Why a scanner of our own: encoding/xml (under etree) tokenises at about
// 60 MB/s and allocates per token; a CDA body (structured sections, or a
// base64 PDF) is most of the bytes and none of the INS rules. Scanning the
// whole document keeps CDA-001 exact, and etree then parses the few
// kilobytes of header (research tools.md §B5: etree itself never expands
// entities; we refuse DTDs before it runs, CDA-003).
//
// It is stricter than encoding/xml wherever they differ (duplicate
// attributes, "--" in comments, "]]>" in text, characters outside the XML
// Char production), which FuzzCheck verifies: whatever it accepts, etree
// parses.
type scanner struct {
	b         []byte
	i         int
	maxDepth  int
	stack     [][]byte        // raw qualified names of open elements
	attrs     [][]byte        // attribute names of the current start tag
	attrSet   map[string]bool // attrs once a tag has manyAttrs of them
	nameRunes map[rune]bool   // nameRune's answers (key: rune<<1 | first)
	// First element named ClinicalDocument (any prefix): its depth, the
	// byte spans of its direct children that no rule reads (the body and
	// most of the header), where it ends, and the end tags of its ancestors
	// (an xsl:stylesheet wrapper).
	cdDepth  int
	cdDone   bool
	cutStart int
	cuts     [][2]int
	cdEnd    int
	closers  []byte
	rootEnd  int // end of the root element's start tag
	// Elements and attributes: in the whole document, in what header()
	// keeps, and under recordTarget; cutting and rtDepth say where the
	// scanner is.
	nodes, headerNodes, rtNodes int
	cutting                     bool
	rtDepth, rtStart            int
}

// Bounds on the tree etree builds from a header (CDA-005): a real
// recordTarget has a few dozen elements and attributes, a whole header a
// few hundred. A tree costs about 200 bytes per node, so 30 MiB of elements
// inside recordTarget took 1.68 GB before these bounds.
const (
	maxRecordTargetNodes = 2000
	maxHeaderNodes       = 10000
	// maxHeaderBytes bounds the text and attribute values of the kept
	// header, which etree copies several times: 30 MiB of text inside
	// recordTarget took 175 MB. A real header is a few kilobytes.
	maxHeaderBytes = 1 << 20
)

// headerKept are the ClinicalDocument children the rules and Meta read; the
// scanner cuts the others out before etree builds a tree.
var headerKept = map[string]bool{
	"id": true, "code": true, "title": true, "effectiveTime": true,
	"confidentialityCode": true, "languageCode": true, "recordTarget": true,
}

// header returns the document reduced to what the rules read: the bytes up
// to the end of ClinicalDocument without the cut children, then the end tags
// of its ancestors; without ClinicalDocument, the prolog and the root's
// start tag. It is well-formed whenever the document is.
func (s *scanner) header() []byte {
	if s.cdDepth == 0 && !s.cdDone {
		// No element named ClinicalDocument: the root's start tag, made
		// empty, is all the CDA-002 message needs. A large XML file that
		// is not a CDA (an export in the same folder) took seconds and
		// hundreds of megabytes as a tree.
		if s.b[s.rootEnd-2] == '/' {
			return s.b[:s.rootEnd]
		}
		return append(append([]byte(nil), s.b[:s.rootEnd-1]...), "/>"...)
	}
	if !s.cdDone || len(s.cuts) == 0 && len(s.closers) == 0 && s.cdEnd == len(s.b) {
		return s.b
	}
	h := make([]byte, 0, s.headerLen())
	prev := 0
	for _, c := range s.cuts {
		h = append(h, s.b[prev:c[0]]...)
		prev = c[1]
	}
	h = append(h, s.b[prev:s.cdEnd]...)
	return append(h, s.closers...)
}

// headerLen is the length of what header returns for a document with a
// ClinicalDocument.
func (s *scanner) headerLen() int {
	n := s.cdEnd + len(s.closers)
	for _, c := range s.cuts {
		n -= c[1] - c[0]
	}
	return n
}

// scanError is a well-formedness failure at byte offset off. dtd marks a
// DTD or markup declaration (CDA-003), tree a header over the node bounds
// (CDA-005), rather than malformed XML (CDA-001).
type scanError struct {
	off  int
	fr   string
	en   string
	dtd  bool
	tree bool
}

func (s *scanner) fail(off int, fr, en string) *scanError {
	return &scanError{off: off, fr: fr, en: en}
}

// special marks the bytes the text loop must look at.
var special = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['\t'], t['\n'], t['\r'] = false, false, false
	t['<'], t['&'], t[']'], t[0xEF] = true, true, true, true
	return t
}()

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// scan checks b (BOM removed) and returns the header to parse (see
// scanner.header), or the first error.
func scan(b []byte, maxDepth int) ([]byte, *scanError) {
	if !utf8.Valid(b) {
		off := 0
		for off < len(b) {
			r, n := utf8.DecodeRune(b[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return nil, &scanError{off: off, fr: "octet invalide en UTF-8 (encodage déclaré incorrect ?)", en: "invalid UTF-8 byte (wrong declared encoding?)"}
	}
	s, err := scanTree(b, maxDepth)
	if err == nil {
		err = s.treeBounds()
	}
	if err != nil {
		return nil, err
	}
	return s.header(), nil
}

// treeBounds applies the CDA-005 bounds to a document with a
// ClinicalDocument (without one, only the root's start tag is parsed).
func (s *scanner) treeBounds() *scanError {
	if !s.cdDone {
		return nil
	}
	switch {
	case s.rtNodes > maxRecordTargetNodes:
		return &scanError{off: s.rtStart, tree: true,
			fr: fmt.Sprintf("recordTarget compte %d éléments et attributs, plus que la limite de %d", s.rtNodes, maxRecordTargetNodes),
			en: fmt.Sprintf("recordTarget holds %d elements and attributes, more than the limit of %d", s.rtNodes, maxRecordTargetNodes)}
	case s.headerNodes > maxHeaderNodes:
		return &scanError{off: 0, tree: true,
			fr: fmt.Sprintf("l'en-tête compte %d éléments et attributs, plus que la limite de %d", s.headerNodes, maxHeaderNodes),
			en: fmt.Sprintf("the header holds %d elements and attributes, more than the limit of %d", s.headerNodes, maxHeaderNodes)}
	case s.headerLen() > maxHeaderBytes:
		return &scanError{off: 0, tree: true,
			fr: fmt.Sprintf("l'en-tête lu (identifiants, titre, dates, recordTarget) fait %d octets, plus que la limite de %d", s.headerLen(), maxHeaderBytes),
			en: fmt.Sprintf("the header read (ids, title, dates, recordTarget) is %d bytes, more than the limit of %d", s.headerLen(), maxHeaderBytes)}
	}
	return nil
}

// scanTree checks b and returns the scanner with its counts.
func scanTree(b []byte, maxDepth int) (*scanner, *scanError) {
	s := &scanner{b: b, maxDepth: maxDepth}
	if err := s.document(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *scanner) document() *scanError {
	b := s.b
	if bytes.HasPrefix(b, []byte("<?xml")) && len(b) > 5 && isSpace(b[5]) {
		end := bytes.Index(b, []byte("?>"))
		if end < 0 {
			return s.fail(0, "déclaration XML non terminée", "unterminated XML declaration")
		}
		if v := pseudoAttr(b[:end], "version"); v != "" && v != "1.0" {
			return s.fail(0, "version XML « "+v+" » : seule 1.0 est prise en charge", "XML version \""+v+"\": only 1.0 is supported")
		}
		s.i = end + 2
	}
	rootSeen := false
	for {
		s.skipSpace()
		if s.i >= len(b) {
			if len(bytes.TrimLeft(b, " \t\r\n")) == 0 {
				return s.fail(s.i, "document vide", "empty document")
			}
			if !rootSeen {
				return s.fail(s.i, "aucun élément racine", "no root element")
			}
			return nil
		}
		if b[s.i] != '<' {
			return s.fail(s.i, "texte hors de l'élément racine", "text outside the root element")
		}
		switch {
		case bytes.HasPrefix(b[s.i:], []byte("<!--")):
			if err := s.comment(); err != nil {
				return err
			}
		case bytes.HasPrefix(b[s.i:], []byte("<?")):
			if err := s.procInst(); err != nil {
				return err
			}
		case bytes.HasPrefix(b[s.i:], []byte("<!")):
			return s.declaration()
		default:
			if rootSeen {
				return s.fail(s.i, "second élément racine", "a second root element")
			}
			rootSeen = true
			if err := s.element(); err != nil {
				return err
			}
		}
	}
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

// declaration handles "<!" that is neither a comment nor CDATA: a DOCTYPE or
// markup declaration is refused as CDA-003 (XXE, billion laughs), anything
// else is malformed.
func (s *scanner) declaration() *scanError {
	rest := s.b[s.i+2:]
	for _, kw := range []string{"DOCTYPE", "ENTITY", "ELEMENT", "ATTLIST", "NOTATION"} {
		if bytes.HasPrefix(rest, []byte(kw)) {
			return &scanError{off: s.i, dtd: true, fr: "déclaration <!" + kw + " présente", en: "<!" + kw + " declaration present"}
		}
	}
	return s.fail(s.i, "balise « <! » inconnue", "unknown \"<!\" markup")
}

func (s *scanner) comment() *scanError {
	start := s.i
	body := s.b[s.i+4:]
	end := bytes.Index(body, []byte("--"))
	if end < 0 {
		return s.fail(start, "commentaire non terminé", "unterminated comment")
	}
	if end+2 >= len(body) || body[end+2] != '>' {
		return s.fail(s.i+4+end, "« -- » interdit dans un commentaire", "\"--\" not allowed inside a comment")
	}
	if off, ok := s.chars(body[:end]); !ok {
		return s.badChar(s.i + 4 + off)
	}
	s.i += 4 + end + 3
	return nil
}

func (s *scanner) procInst() *scanError {
	start := s.i
	s.i += 2
	end, ok := s.name(s.i)
	if !ok {
		return s.fail(s.i, "instruction de traitement sans nom", "processing instruction without a target")
	}
	if bytes.EqualFold(s.b[s.i:end], []byte("xml")) {
		return s.fail(start, "déclaration XML ailleurs qu'au tout début du document", "XML declaration not at the very start of the document")
	}
	rel := bytes.Index(s.b[end:], []byte("?>"))
	if rel < 0 {
		return s.fail(start, "instruction de traitement non terminée", "unterminated processing instruction")
	}
	if rel > 0 && !isSpace(s.b[end]) {
		return s.fail(end, "espace attendu après le nom de l'instruction de traitement", "white space expected after the processing instruction target")
	}
	if off, ok := s.chars(s.b[end : end+rel]); !ok {
		return s.badChar(end + off)
	}
	s.i = end + rel + 2
	return nil
}

// chars checks that seg holds only XML Chars (no C0 control other than
// tab/CR/LF, no U+FFFE/U+FFFF); it returns the offset of the first bad one.
func (s *scanner) chars(seg []byte) (int, bool) {
	for j := 0; j < len(seg); j++ {
		c := seg[j]
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return j, false
		}
		if c == 0xEF && j+2 < len(seg) && seg[j+1] == 0xBF && seg[j+2] >= 0xBE {
			return j, false
		}
	}
	return 0, true
}

func (s *scanner) badChar(off int) *scanError {
	return s.fail(off, "caractère interdit en XML", "character not allowed in XML")
}

// name returns the end of the XML Name starting at i. ASCII follows XML
// 1.0; other characters are accepted only where encoding/xml (under etree)
// accepts them, so that the scanner is never laxer than the parser.
func (s *scanner) name(i int) (int, bool) {
	b := s.b
	start := i
	for i < len(b) {
		c := b[i]
		if c < utf8.RuneSelf {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' ||
				i > start && (c >= '0' && c <= '9' || c == '-' || c == '.') {
				i++
				continue
			}
			break
		}
		r, n := utf8.DecodeRune(b[i:])
		if !s.nameRune(r, i == start) {
			break
		}
		i += n
	}
	return i, i > start
}

// nameRune reports whether encoding/xml accepts the non-ASCII rune r in a
// name (first: as its first character). Its tables (XML 1.0 4th edition,
// Unicode 2.0) are not exported, so it is asked once per rune and position:
// names in CDA documents are ASCII, this path is for hostile input.
func (s *scanner) nameRune(r rune, first bool) bool {
	key := r << 1
	in := "<a" + string(r) + "/>"
	if first {
		key |= 1
		in = "<" + string(r) + "/>"
	}
	if ok, known := s.nameRunes[key]; known {
		return ok
	}
	if s.nameRunes == nil {
		s.nameRunes = make(map[rune]bool)
	}
	_, err := xml.NewDecoder(strings.NewReader(in)).RawToken()
	s.nameRunes[key] = err == nil
	return err == nil
}

// qname returns the end of the qualified name (XML Namespaces: at most one
// colon) starting at i.
func (s *scanner) qname(i int) (int, bool) {
	end, ok := s.name(i)
	return end, ok && bytes.Count(s.b[i:end], []byte(":")) <= 1
}

func localName(qname []byte) []byte {
	if k := bytes.IndexByte(qname, ':'); k >= 0 {
		return qname[k+1:]
	}
	return qname
}

// element scans from the root start tag to its end tag, iteratively.
func (s *scanner) element() *scanError {
	b := s.b
	for {
		// At '<' of a start tag, end tag, comment, CDATA or PI.
		switch {
		case bytes.HasPrefix(b[s.i:], []byte("</")):
			if err := s.endTag(); err != nil {
				return err
			}
			if len(s.stack) == 0 {
				return nil
			}
		case bytes.HasPrefix(b[s.i:], []byte("<!--")):
			if err := s.comment(); err != nil {
				return err
			}
		case bytes.HasPrefix(b[s.i:], []byte("<![CDATA[")):
			rel := bytes.Index(b[s.i+9:], []byte("]]>"))
			if rel < 0 {
				return s.fail(s.i, "section CDATA non terminée", "unterminated CDATA section")
			}
			if off, ok := s.chars(b[s.i+9 : s.i+9+rel]); !ok {
				return s.badChar(s.i + 9 + off)
			}
			s.i += 9 + rel + 3
		case bytes.HasPrefix(b[s.i:], []byte("<?")):
			if err := s.procInst(); err != nil {
				return err
			}
		case bytes.HasPrefix(b[s.i:], []byte("<!")):
			return s.declaration()
		default:
			closed, err := s.startTag()
			if err != nil {
				return err
			}
			if closed && len(s.stack) == 0 {
				return nil
			}
		}
		if err := s.text(); err != nil {
			return err
		}
	}
}

// text scans character data up to the next '<'.
func (s *scanner) text() *scanError {
	b := s.b
	for {
		j := s.i
		for j < len(b) && !special[b[j]] {
			j++
		}
		s.i = j
		if j >= len(b) {
			return s.fail(j, "fin du document avant la fermeture de <"+string(s.stack[len(s.stack)-1])+">", "end of document before <"+string(s.stack[len(s.stack)-1])+"> is closed")
		}
		switch c := b[j]; {
		case c == '<':
			return nil
		case c == '&':
			end, err := s.reference(j)
			if err != nil {
				return err
			}
			s.i = end
		case c == ']':
			if bytes.HasPrefix(b[j:], []byte("]]>")) {
				return s.fail(j, "« ]]> » interdit dans le texte", "\"]]>\" not allowed in text")
			}
			s.i++
		case c == 0xEF:
			if j+2 < len(b) && b[j+1] == 0xBF && b[j+2] >= 0xBE {
				return s.badChar(j)
			}
			s.i++
		default:
			return s.badChar(j)
		}
	}
}

// reference checks the entity or character reference at '&' and returns the
// offset after ';'. Without a DTD only the five predefined entities exist.
func (s *scanner) reference(i int) (int, *scanError) {
	b := s.b
	j := i + 1
	if j < len(b) && b[j] == '#' {
		j++
		hex := j < len(b) && b[j] == 'x'
		if hex {
			j++
		}
		var v rune
		digits := 0
		for ; j < len(b) && b[j] != ';'; j++ {
			c := b[j]
			var d rune
			switch {
			case c >= '0' && c <= '9':
				d = rune(c - '0')
			case hex && c >= 'a' && c <= 'f':
				d = rune(c-'a') + 10
			case hex && c >= 'A' && c <= 'F':
				d = rune(c-'A') + 10
			default:
				return 0, s.fail(i, "référence de caractère invalide", "invalid character reference")
			}
			// Leading zeros are allowed: bound the value, not the digits.
			if digits++; v > 0x10FFFF {
				return 0, s.fail(i, "référence de caractère invalide", "invalid character reference")
			}
			if hex {
				v = v*16 + d
			} else {
				v = v*10 + d
			}
		}
		if j >= len(b) || digits == 0 || !isXMLChar(v) {
			return 0, s.fail(i, "référence de caractère invalide", "invalid character reference")
		}
		return j + 1, nil
	}
	end, ok := s.name(j)
	if !ok || end >= len(b) || b[end] != ';' {
		return 0, s.fail(i, "« & » isolé : écrire &amp;", "bare \"&\": write &amp;")
	}
	switch string(b[j:end]) {
	case "lt", "gt", "amp", "quot", "apos":
		return end + 1, nil
	}
	return 0, s.fail(i, "entité non définie &"+string(b[j:end])+"; (seules &lt; &gt; &amp; &quot; &apos; existent sans DTD)",
		"undefined entity &"+string(b[j:end])+"; (only &lt; &gt; &amp; &quot; &apos; exist without a DTD)")
}

func isXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// startTag scans "<name attr='v' ...>" or "/>" and pushes the element;
// closed reports an empty-element tag.
func (s *scanner) startTag() (closed bool, _ *scanError) {
	b := s.b
	start := s.i
	end, ok := s.qname(s.i + 1)
	if !ok {
		return false, s.fail(s.i, "« < » non suivi d'un nom d'élément", "\"<\" not followed by an element name")
	}
	qname := b[s.i+1 : end]
	s.i = end
	s.attrs = s.attrs[:0]
	for {
		sp := s.i
		s.skipSpace()
		if s.i >= len(b) {
			return false, s.fail(start, "balise <"+string(qname)+"> non terminée", "unterminated <"+string(qname)+"> tag")
		}
		if b[s.i] == '>' {
			s.i++
			break
		}
		if b[s.i] == '/' {
			if s.i+1 >= len(b) || b[s.i+1] != '>' {
				return false, s.fail(s.i, "« / » inattendu dans la balise", "unexpected \"/\" in tag")
			}
			s.i += 2
			closed = true
			break
		}
		if s.i == sp {
			return false, s.fail(s.i, "espace attendu avant l'attribut", "white space expected before an attribute")
		}
		if err := s.attribute(qname); err != nil {
			return false, err
		}
	}
	depth := len(s.stack) + 1
	if depth > s.maxDepth {
		return false, s.fail(start, "imbrication trop profonde", "elements nested too deep")
	}
	local := localName(qname)
	if s.cdDepth == 0 && !s.cdDone && string(local) == "ClinicalDocument" {
		s.cdDepth = depth
	}
	n := 1 + len(s.attrs)
	s.nodes += n
	if s.rtDepth == 0 && s.cdDepth > 0 && depth == s.cdDepth+1 && string(local) == "recordTarget" {
		s.rtDepth, s.rtStart = depth, start
	}
	if s.rtDepth > 0 {
		s.rtNodes += n
	}
	if depth == 1 {
		s.rootEnd = s.i
	}
	isBody := s.cdDepth > 0 && depth == s.cdDepth+1 && !headerKept[string(local)]
	if !isBody && !s.cutting && !s.cdDone {
		s.headerNodes += n
	}
	if closed && s.rtDepth == depth {
		s.rtDepth = 0
	}
	if closed {
		if isBody {
			s.cuts = append(s.cuts, [2]int{start, s.i})
		}
		return true, nil
	}
	if isBody {
		s.cutStart, s.cutting = start, true
	}
	s.stack = append(s.stack, qname)
	return false, nil
}

// manyAttrs is where the duplicate-attribute check switches from a scan of
// the names seen to a map.
const manyAttrs = 16

// seen records an attribute name of the current tag and reports whether it
// was already there: a scan of the few names seen, then a map once a tag has
// manyAttrs of them, so that hostile input stays linear.
func (s *scanner) seen(name []byte) bool {
	if len(s.attrs) < manyAttrs {
		for _, a := range s.attrs {
			if bytes.Equal(a, name) {
				return true
			}
		}
	} else {
		if len(s.attrs) == manyAttrs {
			s.attrSet = make(map[string]bool, 2*manyAttrs)
			for _, a := range s.attrs {
				s.attrSet[string(a)] = true
			}
		}
		if s.attrSet[string(name)] {
			return true
		}
		s.attrSet[string(name)] = true
	}
	s.attrs = append(s.attrs, name)
	return false
}

func (s *scanner) attribute(elem []byte) *scanError {
	b := s.b
	end, ok := s.qname(s.i)
	if !ok {
		return s.fail(s.i, "caractère inattendu dans la balise <"+string(elem)+">", "unexpected character in the <"+string(elem)+"> tag")
	}
	name := b[s.i:end]
	if s.seen(name) {
		return s.fail(s.i, "attribut "+string(name)+" répété", "attribute "+string(name)+" repeated")
	}
	s.i = end
	s.skipSpace()
	if s.i >= len(b) || b[s.i] != '=' {
		return s.fail(s.i, "« = » attendu après l'attribut "+string(name), "\"=\" expected after attribute "+string(name))
	}
	s.i++
	s.skipSpace()
	if s.i >= len(b) || b[s.i] != '"' && b[s.i] != '\'' {
		return s.fail(s.i, "valeur d'attribut sans guillemets", "attribute value not quoted")
	}
	q := b[s.i]
	s.i++
	for {
		if s.i >= len(b) {
			return s.fail(s.i, "valeur d'attribut non terminée", "unterminated attribute value")
		}
		c := b[s.i]
		switch {
		case c == q:
			s.i++
			return nil
		case c == '<':
			return s.fail(s.i, "« < » interdit dans une valeur d'attribut", "\"<\" not allowed in an attribute value")
		case c == '&':
			e, err := s.reference(s.i)
			if err != nil {
				return err
			}
			s.i = e
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r', c == 0xEF && s.i+2 < len(b) && b[s.i+1] == 0xBF && b[s.i+2] >= 0xBE:
			return s.badChar(s.i)
		default:
			s.i++
		}
	}
}

func (s *scanner) endTag() *scanError {
	b := s.b
	start := s.i
	end, ok := s.qname(s.i + 2)
	if !ok {
		return s.fail(s.i, "balise fermante sans nom", "end tag without a name")
	}
	qname := b[s.i+2 : end]
	s.i = end
	s.skipSpace()
	if s.i >= len(b) || b[s.i] != '>' {
		return s.fail(s.i, "« > » attendu dans la balise fermante", "\">\" expected in the end tag")
	}
	s.i++
	if len(s.stack) == 0 {
		return s.fail(start, "balise fermante </"+string(qname)+"> sans ouverture", "end tag </"+string(qname)+"> without a start tag")
	}
	open := s.stack[len(s.stack)-1]
	if !bytes.Equal(open, qname) {
		return s.fail(start, "</"+string(qname)+"> ferme <"+string(open)+">", "</"+string(qname)+"> closes <"+string(open)+">")
	}
	depth := len(s.stack)
	s.stack = s.stack[:depth-1]
	if depth == s.rtDepth {
		s.rtDepth = 0
	}
	switch {
	case s.cdDepth > 0 && depth == s.cdDepth+1 && !headerKept[string(localName(qname))]:
		s.cuts = append(s.cuts, [2]int{s.cutStart, s.i})
		s.cutting = false
	case depth == s.cdDepth:
		s.cdDepth, s.cdDone, s.cdEnd = 0, true, s.i
		for k := len(s.stack) - 1; k >= 0; k-- {
			s.closers = append(append(append(s.closers, "</"...), s.stack[k]...), '>')
		}
	}
	return nil
}

// lineCol converts a byte offset to a 1-based line and column (in
// characters) for messages.
func lineCol(b []byte, off int) (line, col int) {
	if off > len(b) {
		off = len(b)
	}
	line = 1 + bytes.Count(b[:off], []byte("\n"))
	ls := bytes.LastIndexByte(b[:off], '\n') + 1
	return line, utf8.RuneCount(b[ls:off]) + 1
}
