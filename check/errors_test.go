package check

import (
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
