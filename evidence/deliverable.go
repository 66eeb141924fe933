package evidence

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/probe"
)

// ContainerName is the name under which the deliverable embeds the signed
// ASiC-E container (ETSI EN 319 162-1 associates ASiC-E with .asice). Its
// capital sorts it first among the attachments, so that it is number 1 in
// `pdfdetach -list` and `pdfdetach -save 1` extracts it.
const ContainerName = "Dossier-preuve-msscprobe.asice"

// DSMaxUpload is the smaller of démarches-simplifiées' two limits (20 MB
// for a message attachment, 200 MB for a pièce justificative;
// research evidence-channel.md §1): a deliverable within it fits both.
const DSMaxUpload = 20 << 20

// PAdES signature dictionary values (ETSI EN 319 142-1 §5.3, ISO 32000-1
// §12.8.1).
const (
	sigFilter    = "Adobe.PPKLite"
	sigSubFilter = "ETSI.CAdES.detached"
	sigFieldName = "msscprobe"
)

// The ByteRange placeholder: four integers as wide as any the file can
// need, replaced in place by the real values padded with spaces so that
// no offset moves (ISO 32000-1 §12.8.1: the ByteRange is inside the signed
// bytes).
const byteRangeWidth = 10

var byteRangeFill = strings.Repeat("9", byteRangeWidth)

var disablePDFCPUConfig sync.Once

// embeddedName is the attachment name of a container member: PDF
// attachments are flat names, and pdfdetach -saveall writes each under its
// name in the current directory.
func embeddedName(member string) string { return strings.ReplaceAll(member, "/", "_") }

// fileDescription says in words what an embedded file is (the file
// specification's /Desc, shown by PDF readers and pdfdetach -list).
func fileDescription(name string, lang check.Lang) string {
	t := func(fr, en string) string { return check.Text{FR: fr, EN: en}.In(lang) }
	switch {
	case name == ContainerName:
		return t("Dossier de preuve signé (ASiC-E) : tous les fichiers ci-dessous et leur signature, vérifiable avec openssl", "Signed evidence container (ASiC-E): every file below and its signature, verifiable with openssl")
	case name == nameResults:
		return t("Résultats du test (données dont les pages sont tirées)", "Test results (the data the pages are drawn from)")
	case name == nameJUnit:
		return t("Résultats au format JUnit", "Results in JUnit format")
	case strings.HasPrefix(name, "transcripts/"):
		return t("Échange avec le serveur, identifiants masqués", "Exchange with the server, credentials redacted")
	case strings.HasPrefix(name, "messages/"):
		return t("Message brut (RFC 5322)", "Raw message (RFC 5322)")
	case strings.HasPrefix(name, "tls/"):
		return t("Certificats présentés par le serveur", "Certificates presented by the server")
	case name == nameCDA:
		return t("Contrôle du document CDA joint", "Check of the attached CDA document")
	case strings.HasPrefix(name, "cda/"):
		return t("Document CDA joint au message de test", "CDA document attached to the test message")
	}
	return name
}

// WriteDeliverable writes the PDF deliverable for res: the report's pages,
// every evidence file and the signed ASiC-E container as embedded files,
// and a PAdES baseline signature (ETSI EN 319 142-1: CMS detached over the
// ByteRange, SHA-256, signing-certificate-v2, B-T with Options.TSAURL) by
// the same signer as the container, covering the whole file
// (docs/evidence-format.md §PDF deliverable).
func WriteDeliverable(ctx context.Context, w io.Writer, res *probe.Result, opts Options) error {
	b, err := build(ctx, res, opts)
	if err != nil {
		return err
	}
	pdf, err := b.deliverable(ctx, opts)
	if err != nil {
		return fmt.Errorf("evidence: PDF deliverable: %w", err)
	}
	_, err = w.Write(pdf)
	return err
}

func (b *built) deliverable(ctx context.Context, opts Options) ([]byte, error) {
	disablePDFCPUConfig.Do(api.DisableConfigDir)
	lang := b.results.Lang
	conf := model.NewDefaultConfiguration()
	// A classic cross-reference table and no object streams: the verifier
	// reads only this plain form, with bounded parsing.
	conf.WriteObjectStream = false
	conf.WriteXRefStream = false
	pctx, err := api.ReadContext(bytes.NewReader(b.report), conf)
	if err != nil {
		return nil, err
	}
	mtime := b.results.Probe.Finished
	if mtime.IsZero() {
		mtime = b.results.Generated
	}
	att := []file{{ContainerName, b.container}}
	for _, f := range b.files {
		if f.name != nameReport {
			att = append(att, f)
		}
	}
	for _, f := range att {
		name := f.name
		if name != ContainerName {
			name = embeddedName(name)
		}
		a := model.Attachment{Reader: bytes.NewReader(f.data), ID: name, FileName: name, Desc: fileDescription(f.name, lang), ModTime: &mtime}
		if err := pctx.AddAttachment(a, false); err != nil {
			return nil, err
		}
	}
	// gopdf writes the document information as a direct dictionary in the
	// trailer, which ISO 32000-1 §14.3.3 does not allow and pdfcpu drops:
	// give the deliverable a proper one, with the verdict line verify reads.
	info, err := pctx.IndRefForNewObject(types.Dict{
		"Title":   types.StringLiteral(pdfText(reportTitle(b.results))),
		"Subject": types.StringLiteral(pdfText(pdfSubject(b.results.PS41Met, b.results.Probe.Token, b.fingerprint))),
		"Creator": types.StringLiteral(pdfText("msscprobe " + b.results.Probe.ToolVersion)),
	})
	if err != nil {
		return nil, err
	}
	pctx.Info = info
	contentsLen := signatureReserve(b, opts.TSAURL != "")
	if err := addSignatureField(pctx, b, contentsLen, lang); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := api.WriteContext(pctx, &out); err != nil {
		return nil, err
	}
	return fillSignature(ctx, out.Bytes(), contentsLen, b, opts.TSAURL)
}

// signatureReserve is the room left for the CMS, in bytes: the chain, the
// signed attributes and signature, and a timestamp token when asked for.
func signatureReserve(b *built, tsa bool) int {
	n := 4096
	for _, c := range b.chain {
		n += len(c.Raw)
	}
	if tsa {
		n += 16384
	}
	return n
}

// addSignatureField adds the signature dictionary (with placeholders), an
// invisible signature widget on page 1, and the AcroForm naming it
// (ISO 32000-1 §12.7.4.5, §12.8).
func addSignatureField(pctx *model.Context, b *built, contentsLen int, lang check.Lang) error {
	x := pctx.XRefTable
	if err := x.EnsurePageCount(); err != nil {
		return err
	}
	fill := types.Integer(0)
	if n, err := strconv.Atoi(byteRangeFill); err == nil {
		fill = types.Integer(n)
	}
	sig := types.Dict{
		"Type":      types.Name("Sig"),
		"Filter":    types.Name(sigFilter),
		"SubFilter": types.Name(sigSubFilter),
		"ByteRange": types.Array{types.Integer(0), fill, fill, fill},
		"Contents":  types.HexLiteral(strings.Repeat("0", 2*contentsLen)),
		"M":         types.StringLiteral(types.DateString(time.Now())),
		"Name":      types.StringLiteral(pdfText(b.chain[0].Subject.CommonName)),
		"Reason": types.StringLiteral(pdfText(check.Text{
			FR: "Preuve SUN-ES PS 4.1 produite par msscprobe",
			EN: "SUN-ES PS 4.1 evidence produced by msscprobe"}.In(lang))),
	}
	sigRef, err := x.IndRefForNewObject(sig)
	if err != nil {
		return err
	}
	page, pageRef, _, err := x.PageDict(1, false)
	if err != nil {
		return err
	}
	widget := types.Dict{
		"Type":    types.Name("Annot"),
		"Subtype": types.Name("Widget"),
		"FT":      types.Name("Sig"),
		"T":       types.StringLiteral(sigFieldName),
		"V":       *sigRef,
		"Rect":    types.NewIntegerArray(0, 0, 0, 0),
		"F":       types.Integer(132), // Print + Locked
		"P":       *pageRef,
	}
	widgetRef, err := x.IndRefForNewObject(widget)
	if err != nil {
		return err
	}
	annots, _ := page["Annots"].(types.Array)
	page["Annots"] = append(annots, *widgetRef)
	cat, err := x.Catalog()
	if err != nil {
		return err
	}
	cat["AcroForm"] = types.Dict{"Fields": types.Array{*widgetRef}, "SigFlags": types.Integer(3)}
	return nil
}

// pdfText makes s a PDF text string (ISO 32000-1 §7.9.2.2): UTF-16BE with
// a BOM when it is not ASCII, escaped either way.
func pdfText(s string) string {
	ascii := true
	for _, r := range s {
		if r > 126 || r < 32 {
			ascii = false
		}
	}
	if !ascii {
		s = types.EncodeUTF16String(s)
	}
	e, err := types.Escape(s)
	if err != nil {
		return ""
	}
	return *e
}

var byteRangePlaceholder = regexp.MustCompile(`/ByteRange\s*\[\s*0 ` + byteRangeFill + ` ` + byteRangeFill + ` ` + byteRangeFill + `\s*\]`)

// fillSignature replaces the ByteRange placeholder with the real ranges
// (everything but the Contents value) and writes the CMS into Contents.
func fillSignature(ctx context.Context, pdf []byte, contentsLen int, b *built, tsaURL string) ([]byte, error) {
	locs := byteRangePlaceholder.FindAllIndex(pdf, -1)
	if len(locs) != 1 {
		return nil, fmt.Errorf("%d ByteRange placeholders, want 1", len(locs))
	}
	hole := []byte("<" + strings.Repeat("0", 2*contentsLen) + ">")
	start := bytes.Index(pdf, hole)
	if start < 0 || bytes.Count(pdf, hole) != 1 {
		return nil, errors.New("signature Contents placeholder not found once")
	}
	end := start + len(hole)
	br := fmt.Sprintf("/ByteRange [0 %d %d %d", start, end, len(pdf)-end)
	loc := locs[0]
	if len(br)+1 > loc[1]-loc[0] {
		return nil, errors.New("ByteRange placeholder too short")
	}
	br += strings.Repeat(" ", loc[1]-loc[0]-len(br)-1) + "]"
	copy(pdf[loc[0]:loc[1]], br)
	signed := make([]byte, 0, len(pdf)-len(hole))
	signed = append(append(signed, pdf[:start]...), pdf[end:]...)
	cms, err := signDetached(ctx, signed, b.signer, b.chain, tsaURL)
	if err != nil {
		return nil, err
	}
	if len(cms) > contentsLen {
		return nil, fmt.Errorf("signature of %d bytes exceeds the %d reserved", len(cms), contentsLen)
	}
	hex.Encode(pdf[start+1:], cms)
	return pdf, nil
}

// DS upload types (research evidence-channel.md §1).
const (
	TypePDF   = "application/pdf"
	TypeZIP   = "application/zip"
	TypeASiCE = "application/vnd.etsi.asic-e+zip"
	TypeOther = "application/octet-stream"
)

// DSType identifies a file from its first bytes as démarches-simplifiées
// does (Rails ActiveStorage and Marcel's magic table: the ASiC-E rule,
// "mimetypeapplication/vnd.etsi.asic-e+zip" at byte 30, is tried before
// plain zip, whatever the file's name).
func DSType(head []byte) string {
	const asic = "mimetype" + mimetypeASiCE
	switch {
	case IsPDF(head):
		return TypePDF
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) && len(head) >= 30+len(asic) && string(head[30:30+len(asic)]) == asic:
		return TypeASiCE
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return TypeZIP
	}
	return TypeOther
}

// DSCheck says why démarches-simplifiées would refuse data as an upload:
// a type outside its allow-list, or a size over DSMaxUpload. Nil when it
// would accept it.
func DSCheck(data []byte) []check.Text {
	var out []check.Text
	if typ := DSType(data); typ != TypePDF && typ != TypeZIP {
		out = append(out, check.Textf("démarches-simplifiées identifie ce fichier par son contenu comme %s, type qu'il refuse ; déposez le PDF",
			"démarches-simplifiées identifies this file by its content as %s, a type it refuses; upload the PDF", typ))
	}
	if len(data) > DSMaxUpload {
		out = append(out, check.Textf("%d octets : au-delà de 20 Mo, la limite de démarches-simplifiées pour une pièce jointe à un message (200 Mo pour une pièce justificative)",
			"%d bytes: over 20 MB, démarches-simplifiées' limit for a message attachment (200 MB for a supporting document)", len(data)))
	}
	return out
}
