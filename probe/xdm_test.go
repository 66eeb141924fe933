package probe

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/msscprobe/msscprobe/cda"
)

var sender = EstablishmentConfig{Name: "Hôpital de test", FINESS: "000000000", Address: testAccount}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "cda", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestXDMRoundTrip builds IHE_XDM.ZIP from CDA fixtures and checks it with
// the CDA checker (in memory and from a file): no XDM finding, the same
// INS, and the expected layout and patientId.
func TestXDMRoundTrip(t *testing.T) {
	for _, name := range []string{"qualified-test.xml", "qualified.xml", "qualified-corsica.xml", "prefixed.xml", "autopresentable.xml", "missing-traits.xml"} {
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, name)
			docs := cda.CheckBytes(name, data, cda.Options{})
			zipped, err := BuildXDM(XDMInput{CDA: data, Doc: docs[0], Sender: sender, ToolVersion: "test", Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range zr.File {
				names = append(names, f.Name)
			}
			want := "INDEX.HTM README.TXT IHE_XDM/SUBSET01/METADATA.XML IHE_XDM/SUBSET01/DOC0001.XML"
			if strings.Join(names, " ") != want {
				t.Errorf("layout %v", names)
			}
			meta := readZipMember(t, zr, xdmMetadata)
			if pid := strings.ReplaceAll(PatientID(*docs[0].INS), "&", "&amp;"); strings.Count(meta, `value="`+pid+`"`) != 2 {
				t.Errorf("patientId %s not on both the document entry and the submission set", pid)
			}
			path := filepath.Join(t.TempDir(), XDMName)
			if err := os.WriteFile(path, zipped, 0o600); err != nil {
				t.Fatal(err)
			}
			rep, err := cda.Check(context.Background(), []string{path}, cda.Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, back := range [][]cda.Document{rep.Documents, cda.CheckBytes(XDMName, zipped, cda.Options{})} {
				if len(back) != 1 {
					t.Fatalf("%d documents back", len(back))
				}
				for _, f := range back[0].Findings {
					if strings.HasPrefix(f.Rule, "XDM-") {
						t.Errorf("XDM finding %s: %s", f.Rule, f.Message.EN)
					}
				}
				if back[0].Status != docs[0].Status || *back[0].INS != *docs[0].INS {
					t.Errorf("status %s ins %+v, want %s %+v", back[0].Status, back[0].INS, docs[0].Status, docs[0].INS)
				}
			}
		})
	}
}

func readZipMember(t *testing.T, zr *zip.Reader, name string) string {
	t.Helper()
	f, err := zr.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestBuildXDMNeedsINS(t *testing.T) {
	data := readFixture(t, "no-ins.xml")
	docs := cda.CheckBytes("no-ins.xml", data, cda.Options{})
	if _, err := BuildXDM(XDMInput{CDA: data, Doc: docs[0], Sender: sender, Now: time.Now()}); err == nil || !strings.Contains(err.Error(), "no INS") {
		t.Errorf("err = %v", err)
	}
}

// TestAttachmentPlans: a CDA is packaged, an existing XDM is attached as
// is, broken inputs are refused with the checker's reason, and the MSSanté
// headers and subject follow the CDA.
func TestAttachmentPlans(t *testing.T) {
	for _, tc := range []struct {
		file, ins, err string
		asIs           bool
	}{
		{file: "qualified-test.xml", ins: "O"},
		{file: "missing-traits.xml", ins: "N"},
		{file: "xdm-ok.zip", ins: "O", asIs: true},
		{file: "malformed.xml", err: "CDA-001"},
		{file: "xdm-mismatch.zip", err: "XDM-004"},
		{file: "zip-slip.zip", err: "XDM-005"},
		{file: "no-ins.xml", err: "no INS"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := readFixture(t, tc.file)
			p, err := checkAttachment(tc.file, data, sender, "test", time.Now())
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.ins != tc.ins || p.codeCDA == "" || !strings.HasPrefix(p.subject, "XDM/1.0/DDM+") {
				t.Errorf("ins %q code %q subject %q", p.ins, p.codeCDA, p.subject)
			}
			if bytes.Equal(p.zip, data) != tc.asIs {
				t.Errorf("attached as is = %v, want %v", !tc.asIs, tc.asIs)
			}
		})
	}
}

// TestBuildMessageHeaders: every required header, the token in the
// subject, MSSanté headers with an attachment, DNT on request, and never
// X-MSS-MES.
func TestBuildMessageHeaders(t *testing.T) {
	cfg := Config{Establishment: sender, Target: DefaultTarget, Message: MessageConfig{NIL: "REF-NIL-42", MDN: true}}
	plan, err := checkAttachment("qualified-test.xml", readFixture(t, "qualified-test.xml"), sender, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, att := range []*attachmentPlan{nil, plan} {
		out, err := buildMessage(cfg, "MSSCPROBE-TOKEN1", time.Now(), att)
		if err != nil {
			t.Fatal(err)
		}
		mr, err := mail.CreateReader(bytes.NewReader(out.raw))
		if err != nil {
			t.Fatal(err)
		}
		h := mr.Header
		subj, _ := h.Subject()
		id, _ := h.MessageID()
		for k, v := range map[string]string{"From": testAccount, "To": DefaultTarget, "Date": "", "X-Mss-Nil": "REF-NIL-42", "Disposition-Notification-To": testAccount} {
			if got := h.Get(k); got == "" || !strings.Contains(got, v) {
				t.Errorf("%s = %q", k, got)
			}
		}
		if !strings.Contains(subj, "MSSCPROBE-TOKEN1") || id != out.messageID || h.Get(hdrMES) != "" || strings.HasPrefix(subj, "[FIN]") {
			t.Errorf("subject %q id %q (want %q) X-MSS-MES %q", subj, id, out.messageID, h.Get(hdrMES))
		}
		if att == nil {
			if h.Get(hdrINS) != "" || h.Get(hdrCodeCDA) != "" {
				t.Error("X-MSS-INS/CODECDA without a document")
			}
			continue
		}
		if h.Get(hdrINS) != "O" || h.Get(hdrCodeCDA) == "" || !strings.HasPrefix(subj, "XDM/1.0/DDM+") {
			t.Errorf("INS %q CODECDA %q subject %q", h.Get(hdrINS), h.Get(hdrCodeCDA), subj)
		}
		var names []string
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if ah, ok := p.Header.(*mail.AttachmentHeader); ok {
				n, _ := ah.Filename()
				names = append(names, n)
			}
		}
		if strings.Join(names, ",") != XDMName {
			t.Errorf("attachments %v", names)
		}
	}
}
