package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/message"
)

const messagesDir = "../../testdata/messages"

func TestMessageCheck(t *testing.T) {
	good := filepath.Join(messagesDir, "good-citizen-xdm.eml")
	bad := filepath.Join(messagesDir, "bad-no-nil.eml")
	goodRaw, _ := os.ReadFile(good)
	emptyDir := t.TempDir()
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  []string
		errs  []string // on stderr: input errors in French by default, naming the input once
	}{
		{"good", "", []string{good}, 0, []string{"conforme", "1 message(s) : 1 conforme(s), 0 non conforme(s)"}, nil},
		{"bad", "", []string{bad, good}, 1, []string{"non conforme", "MSS-002", "Ref#2 v1.0.1 ECO.2.4.3"}, nil},
		{"english", "", []string{"--lang", "en", bad}, 1, []string{"not conforming", "X-MSS-NIL header missing"}, nil},
		{"stdin", string(goodRaw), []string{"-"}, 0, []string{"- : conforme"}, nil},
		{"folder", "", []string{messagesDir}, 1, []string{"bad-hash.eml : non conforme", "good-text.eml : conforme"}, nil},
		{"missing", "", []string{filepath.Join(messagesDir, "nope.eml")}, 2, nil, []string{"msscprobe: " + filepath.Join(messagesDir, "nope.eml") + " : fichier ou dossier introuvable"}},
		{"empty stdin", "", []string{"-"}, 2, nil, []string{"- : entrée vide, aucun message"}},
		{"empty stdin english", "", []string{"--lang", "en", "-"}, 2, nil, []string{"-: empty input, no message"}},
		{"empty folder", "", []string{emptyDir}, 2, nil, []string{emptyDir + " : aucun fichier *.eml ou *.mbox dans ce dossier"}},
		{"format", "", []string{"--format", "pdf", good}, 2, nil, nil},
		{"max-size", "", []string{"--max-size", "lots", good}, 2, nil, nil},
		{"no args", "", nil, 2, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tc.stdin, nil, append([]string{"message", "check"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.errs {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if tc.code == 2 && errs == "" {
				t.Error("usage error without a message")
			}
		})
	}
}

// TestMessageCheckFormats: JSON and JUnit on stdout, one testcase per
// message, failing exactly for the non-conforming ones.
func TestMessageCheckFormats(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(messagesDir, "*.eml"))
	code, out, errs := runCLI(t, "", nil, "message", "check", "--format", "json", messagesDir)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var rep message.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "bad-") {
			bad++
		}
	}
	if rep.Schema != message.SchemaVersion || rep.Summary.Total != len(files) || rep.Summary.Failed != bad {
		t.Fatalf("summary %+v, want %d messages, %d failing", rep.Summary, len(files), bad)
	}
	code, out, _ = runCLI(t, "", nil, "message", "check", "--format", "junit", messagesDir)
	var ju check.JUnitSuites
	if err := xml.Unmarshal([]byte(out), &ju); code != 1 || err != nil {
		t.Fatalf("exit %d, %v", code, err)
	}
	if len(ju.Suites) != 1 || len(ju.Suites[0].Cases) != len(files) || ju.Failures != bad {
		t.Fatalf("junit: %d cases, %d failures; want %d, %d", len(ju.Suites[0].Cases), ju.Failures, len(files), bad)
	}
}

// TestMockServeConformanceReport: the mock's JUnit report at exit flags
// the non-conforming message; refuse mode answers 550 with the rule ID.
func TestMockServeConformanceReport(t *testing.T) {
	dir := t.TempDir()
	ca, pwFile, report := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "pw"), filepath.Join(dir, "report.xml")
	for _, mode := range []string{"warn", "refuse"} {
		t.Run(mode, func(t *testing.T) {
			out, stop := serveMock(t, "--ca-out", ca, "--password-out", pwFile, "--conformance", mode, "--report", report)
			b, _ := os.ReadFile(pwFile)
			c := submissionClient(t, out.String(), ca)
			defer c.Close()
			if err := c.Auth(sasl.NewPlainClient("", "medecin@hopital.test.mssante.fr", strings.TrimSpace(string(b)))); err != nil {
				t.Fatal(err)
			}
			from, to := "medecin@hopital.test.mssante.fr", "reponse.automatique-test@patient.mssante.fr"
			body := "From: <" + from + ">\r\nTo: <" + to + ">\r\nSubject: test\r\nDate: Thu, 01 Jan 2026 12:00:00 +0100\r\nMessage-ID: <r-1@hopital.test.mssante.fr>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBonjour.\r\n"
			withNIL := strings.Replace(body, "Subject:", "X-MSS-NIL: NIL-1\r\nSubject:", 1)
			withNIL = strings.Replace(withNIL, "<r-1@", "<r-2@", 1)
			err := c.SendMail(from, []string{to}, strings.NewReader(body))
			if mode == "refuse" && (err == nil || !strings.Contains(err.Error(), "550") || !strings.Contains(err.Error(), "[MSS-002]")) {
				t.Errorf("refuse mode: %v, want 550 [MSS-002]", err)
			}
			if mode == "warn" && err != nil {
				t.Fatalf("warn mode: %v", err)
			}
			if err := c.SendMail(from, []string{to}, strings.NewReader(withNIL)); err != nil {
				t.Fatalf("conforming message: %v", err)
			}
			c.Close()
			if code, errs := stop(); code != 0 {
				t.Fatalf("stop: %d %s", code, errs)
			}
			raw, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			var ju check.JUnitSuites
			if err := xml.Unmarshal(raw, &ju); err != nil {
				t.Fatal(err)
			}
			if ju.Tests != 2 || ju.Failures != 1 || !strings.Contains(string(raw), "MSS-002") || !strings.Contains(out.String(), "report "+report) {
				t.Errorf("report (%d tests, %d failures):\n%s", ju.Tests, ju.Failures, raw)
			}
		})
	}
	badYAML := filepath.Join(dir, "mock.yaml")
	os.WriteFile(badYAML, []byte("conformance: sometimes\n"), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--conformance", "maybe"}, "maybe"},
		{[]string{"--config", badYAML}, "sometimes"},
		{[]string{"--report", filepath.Join(dir, "missing", "r.xml")}, "--report"},
	} {
		if code, _, errs := runCLI(t, "", nil, append([]string{"mock", "serve"}, tc.args...)...); code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q", tc.args, code, errs)
		}
	}
}
