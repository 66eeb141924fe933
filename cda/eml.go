package cda

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"path"
	"strings"

	"github.com/emersion/go-message"

	"github.com/msscprobe/msscprobe/check"
)

// checkEML checks the IHE XDM archives attached to a message saved as .eml
// (the form an MSSanté message takes in a mail client or a mock store):
// every attachment named *.zip or typed application/zip is checked as
// name!FILE, as if given alone (IHE ITI TF-1 §16 XDM over e-mail, MSSanté
// Ref#2 ECO.2.4: the CDA travels as IHE_XDM.ZIP). A message without such an
// attachment is one not-cda entry (CDA-006).
func checkEML(name string, data []byte, o Options) []Document {
	ent, err := message.Read(bytes.NewReader(data))
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return []Document{archiveDoc(name, RuleNotXDM.Newf("", "message illisible : %v", "unreadable message: %v", err))}
	}
	var docs []Document
	n := 0
	walkErr := ent.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return err
		}
		if mr := part.MultipartReader(); mr != nil {
			return nil
		}
		file := attachmentName(part.Header)
		ct, _, _ := part.Header.ContentType()
		if !strings.EqualFold(path.Ext(file), ".zip") && !strings.EqualFold(ct, "application/zip") {
			return nil
		}
		if file == "" {
			file = "IHE_XDM.ZIP"
		}
		n++
		body, err := io.ReadAll(io.LimitReader(part.Body, o.MaxSize+1))
		member := name + "!" + file
		switch {
		case err != nil:
			docs = append(docs, archiveDoc(member, RuleNotXDM.Newf("", "pièce jointe illisible : %v", "unreadable attachment: %v", err)))
		case int64(len(body)) > o.MaxSize:
			docs = append(docs, tooLarge(member, -1, o.MaxSize))
		default:
			docs = append(docs, checkXDM(member, body, o)...)
		}
		return nil
	})
	if walkErr != nil && !errors.Is(walkErr, io.EOF) {
		docs = append(docs, archiveDoc(name, RuleNotXDM.Newf("", "message illisible : %v", "unreadable message: %v", walkErr)))
	}
	if n == 0 && walkErr == nil {
		// An ordinary mail in an exported folder carries no CDA: listed
		// apart like other non-CDA files, not counted against DS 4.1.
		docs = append(docs, Document{Path: name, Status: StatusNotCDA, Findings: []check.Finding{RuleNotCDA.Newf("",
			"le message n'a pas de pièce jointe IHE_XDM.ZIP (ni aucun .zip) : aucun document CDA",
			"the message has no IHE_XDM.ZIP attachment (nor any .zip): no CDA document")}})
	}
	return docs
}

// attachmentName is the part's file name, from Content-Disposition or the
// Content-Type name parameter, without any folder.
func attachmentName(h message.Header) string {
	if _, p, err := h.ContentDisposition(); err == nil && p["filename"] != "" {
		return path.Base(strings.ReplaceAll(p["filename"], `\`, "/"))
	}
	if _, p, err := mime.ParseMediaType(h.Get("Content-Type")); err == nil && p["name"] != "" {
		return path.Base(strings.ReplaceAll(p["name"], `\`, "/"))
	}
	return ""
}
