package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"mime"
	"path"
	"strings"
)

// Container names and constants (ETSI EN 319 162-1 §4.4, A.4).
const (
	nameMimetype  = "mimetype"
	nameManifest  = "META-INF/ASiCManifest.xml"
	nameSignature = "META-INF/signature.p7s"
	mimetypeASiCE = "application/vnd.etsi.asic-e+zip"
	nsASiC        = "http://uri.etsi.org/02918/v1.2.1#"
	nsDSig        = "http://www.w3.org/2000/09/xmldsig#"
	algSHA256     = "http://www.w3.org/2001/04/xmlenc#sha256"
)

// manifestRef is one DataObjectReference.
type manifestRef struct {
	URI      string
	MimeType string
	Digest   []byte // SHA-256
}

// renderManifest writes the ASiCManifest for refs in the exact byte form
// parseManifest accepts: one canonical rendering, so a manifest edited in
// any way that keeps it valid XML is still caught.
func renderManifest(refs []manifestRef) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n")
	fmt.Fprintf(&b, `<asic:ASiCManifest xmlns:asic="%s" xmlns:ds="%s">`+"\n", nsASiC, nsDSig)
	fmt.Fprintf(&b, `  <asic:SigReference URI="%s" MimeType="application/pkcs7-signature"/>`+"\n", nameSignature)
	for _, r := range refs {
		fmt.Fprintf(&b, `  <asic:DataObjectReference URI="%s" MimeType="%s">`+"\n", xmlAttr(r.URI), xmlAttr(r.MimeType))
		fmt.Fprintf(&b, `    <ds:DigestMethod Algorithm="%s"/>`+"\n", algSHA256)
		fmt.Fprintf(&b, "    <ds:DigestValue>%s</ds:DigestValue>\n", base64.StdEncoding.EncodeToString(r.Digest))
		b.WriteString("  </asic:DataObjectReference>\n")
	}
	b.WriteString("</asic:ASiCManifest>\n")
	return b.Bytes()
}

func xmlAttr(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // writes to a strings.Builder cannot fail
	return b.String()
}

// manifestFor computes the references of files, sorted by name.
func manifestFor(files []file) []manifestRef {
	byName := map[string][]byte{}
	for _, f := range files {
		byName[f.name] = f.data
	}
	var refs []manifestRef
	for _, n := range sortedNames(files) {
		sum := sha256.Sum256(byName[n])
		refs = append(refs, manifestRef{URI: n, MimeType: mimeTypeOf(n), Digest: sum[:]})
	}
	return refs
}

func mimeTypeOf(name string) string {
	switch path.Ext(name) {
	case ".pdf":
		return "application/pdf"
	case ".json":
		return "application/json"
	case ".xml":
		return "application/xml"
	case ".log", ".txt":
		return "text/plain"
	case ".eml":
		return "message/rfc822"
	case ".pem":
		return "application/x-pem-file"
	case ".zip":
		return "application/zip"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// parseManifest reads a manifest written by renderManifest. It decodes the
// XML (namespace-aware), then requires the bytes to be the canonical
// rendering of what was decoded.
func parseManifest(data []byte) ([]manifestRef, error) {
	var m struct {
		XMLName xml.Name `xml:"http://uri.etsi.org/02918/v1.2.1# ASiCManifest"`
		SigRef  struct {
			URI string `xml:"URI,attr"`
		} `xml:"http://uri.etsi.org/02918/v1.2.1# SigReference"`
		Refs []struct {
			URI      string `xml:"URI,attr"`
			MimeType string `xml:"MimeType,attr"`
			Method   struct {
				Algorithm string `xml:"Algorithm,attr"`
			} `xml:"http://www.w3.org/2000/09/xmldsig# DigestMethod"`
			Value string `xml:"http://www.w3.org/2000/09/xmldsig# DigestValue"`
		} `xml:"http://uri.etsi.org/02918/v1.2.1# DataObjectReference"`
	}
	if err := xml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("not an ASiCManifest: %w", err)
	}
	if m.SigRef.URI != nameSignature {
		return nil, fmt.Errorf("SigReference is %q, want %q", m.SigRef.URI, nameSignature)
	}
	var refs []manifestRef
	seen := map[string]bool{}
	for _, r := range m.Refs {
		if r.Method.Algorithm != algSHA256 {
			return nil, fmt.Errorf("%s: digest algorithm %q, want SHA-256", r.URI, r.Method.Algorithm)
		}
		d, err := base64.StdEncoding.DecodeString(r.Value)
		if err != nil || len(d) != sha256.Size {
			return nil, fmt.Errorf("%s: digest value is not a base64 SHA-256", r.URI)
		}
		if seen[r.URI] {
			return nil, fmt.Errorf("%s listed twice", r.URI)
		}
		seen[r.URI] = true
		if containerFile(r.URI) {
			return nil, fmt.Errorf("%s is part of the container, not a data object", r.URI)
		}
		if len(refs) > 0 && refs[len(refs)-1].URI > r.URI {
			return nil, fmt.Errorf("%s listed out of order (references are sorted by name)", r.URI)
		}
		refs = append(refs, manifestRef{URI: r.URI, MimeType: r.MimeType, Digest: d})
	}
	if !bytes.Equal(renderManifest(refs), data) {
		return nil, fmt.Errorf("not in the canonical form this version writes")
	}
	return refs, nil
}
