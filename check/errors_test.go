package check

import (
	"archive/zip"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"testing"
)

func TestErrorText(t *testing.T) {
	_, notExist := os.Open("/nonexistent/msscprobe-file")
	bi := Errorf("--out %s : %w", "--out %s: %w", "x.pdf", notExist)
	for _, tc := range []struct {
		name   string
		err    error
		fr, en string
	}{
		{"bilingual", Errorf("aucun compte", "no account"), "aucun compte", "no account"},
		{"text argument", Errorf("%s attendu", "want %s", Text{FR: "un nombre", EN: "a number"}), "un nombre attendu", "want a number"},
		{"path error", notExist, "/nonexistent/msscprobe-file : fichier ou dossier introuvable", "open /nonexistent/msscprobe-file: no such file or directory"},
		{"wrapped in both", bi, "--out x.pdf : /nonexistent/msscprobe-file : fichier ou dossier introuvable", "--out x.pdf: open /nonexistent/msscprobe-file: no such file or directory"},
		{"plain wrapper keeps its prefix", fmt.Errorf("config.yaml: %w", Errorf("vide", "empty")), "config.yaml: vide", "config.yaml: empty"},
		{"joined", errors.Join(Errorf("a", "b"), Errorf("c", "d")), "a\nc", "b\nd"},
		{"other errors as they are", errors.New("boom"), "boom", "boom"},
		{"zip format", Errorf("pas une archive ZIP lisible : %w", "not a readable ZIP archive: %w", zip.ErrFormat),
			"pas une archive ZIP lisible : structure ZIP invalide", "not a readable ZIP archive: zip: not a valid zip file"},
	} {
		if got := ErrorText(tc.err, FR); got != tc.fr {
			t.Errorf("%s: FR %q, want %q", tc.name, got, tc.fr)
		}
		if got := ErrorText(tc.err, EN); got != tc.en {
			t.Errorf("%s: EN %q, want %q", tc.name, got, tc.en)
		}
	}
	if !errors.Is(bi, fs.ErrNotExist) {
		t.Error("Errorf does not wrap its error argument")
	}
}

// TestTextfError: an error given to Textf (a finding's message) is said in
// each language, not in Go's English in the French text.
func TestTextfError(t *testing.T) {
	got := Textf("archive illisible (%v)", "unreadable archive (%v)", zip.ErrFormat)
	if got.FR != "archive illisible (structure ZIP invalide)" || got.EN != "unreadable archive (zip: not a valid zip file)" {
		t.Errorf("Textf with an error: %+v", got)
	}
}
