// Command msggen writes the messages of bench/message.sh: each one 2 KB of
// UTF-8 text plus an IHE_XDM.ZIP of about 50 KB (a CDA with an embedded
// PDF rendering, packaged by the probe's own BuildXDM), with the MSSanté
// headers the rules expect, addressed to the patient's citizen address. They
// conform, so the benchmark measures the whole rule set, not an early exit.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/msscprobe/msscprobe/cda"
	"github.com/msscprobe/msscprobe/probe"
)

func main() {
	n := flag.Int("n", 2000, "number of messages")
	out := flag.String("out", "", "output folder (created)")
	cdaPath := flag.String("cda", "testdata/cda/qualified-test.xml", "CDA template (its nonXMLBody text is replaced by a PDF)")
	pdf := flag.Int("pdf", 49<<10, "bytes of the embedded (random, incompressible) PDF rendering")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "msggen: -out DIR is required")
		os.Exit(2)
	}
	tmpl, err := os.ReadFile(*cdaPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "msggen:", err)
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "msggen:", err)
		os.Exit(2)
	}
	text := strings.Repeat("Compte rendu de consultation : examen clinique sans particularité, traitement inchangé.\r\n", 24)[:2048]
	sender := probe.EstablishmentConfig{Name: "Hôpital de test", Address: "medecin@hopital.test.mssante.fr"}
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	total := 0
	for i := range *n {
		raw := make([]byte, *pdf)
		rand.Read(raw)
		body := `<text mediaType="application/pdf" representation="B64">` + base64.StdEncoding.EncodeToString(raw) + `</text>`
		doc := bytes.Replace(tmpl, []byte(`<text mediaType="text/plain">Document de test &amp; rien d'autre.</text>`), []byte(body), 1)
		docs := cda.CheckBytes("doc.xml", doc, cda.Options{})
		zipped, err := probe.BuildXDM(probe.XDMInput{CDA: doc, Doc: docs[0], Sender: sender, ToolVersion: "bench", Now: now})
		if err != nil {
			fmt.Fprintln(os.Stderr, "msggen:", err)
			os.Exit(1)
		}
		codes, ins := cda.MSSHeaders(docs)
		var h mail.Header
		h.SetDate(now)
		h.SetAddressList("From", []*mail.Address{{Name: sender.Name, Address: sender.Address}})
		h.SetAddressList("To", []*mail.Address{{Address: docs[0].INS.Value + "@patient.mssante.fr"}})
		h.SetMessageID(fmt.Sprintf("bench-%06d@hopital.test.mssante.fr", i))
		h.SetSubject("XDM/1.0/DDM+Lettre de liaison de test PAT-TROIS DOMINIQUE 19790328")
		h.Set("X-MSS-NIL", "NIL-BENCH")
		h.Set("X-MSS-CODECDA", codes)
		h.Set("X-MSS-INS", ins)
		var buf bytes.Buffer
		mw, err := mail.CreateWriter(&buf, h)
		if err != nil {
			fmt.Fprintln(os.Stderr, "msggen:", err)
			os.Exit(1)
		}
		var ih mail.InlineHeader
		ih.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
		w, _ := mw.CreateSingleInline(ih)
		w.Write([]byte(text))
		w.Close()
		var ah mail.AttachmentHeader
		ah.SetContentType("application/zip", nil)
		ah.SetFilename(probe.XDMName)
		w, _ = mw.CreateAttachment(ah)
		w.Write(zipped)
		w.Close()
		mw.Close()
		if i == 0 {
			fmt.Printf("message: %d bytes, IHE_XDM.ZIP %d bytes, text %d bytes\n", buf.Len(), len(zipped), len(text))
		}
		total += buf.Len()
		if err := os.WriteFile(filepath.Join(*out, fmt.Sprintf("m%06d.eml", i)), buf.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "msggen:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("messages: %d, %d MiB\n", *n, total>>20)
}
