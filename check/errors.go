package check

import (
	"archive/zip"
	"errors"
	"io/fs"
	"strings"
	"syscall"
)

// TextError is an error whose message exists in French and English, so that a
// command line can show it in the reader's language. Error() is the English
// text (logs, tests, callers that do not localise); ErrorIn picks one.
type TextError struct {
	Msg Text
	err error // the first error among the arguments, for errors.Is/As
}

// Errorf formats an error in both languages as Textf does (a Text argument
// gives each language its own words, an error is written by ErrorText) and
// wraps the first error argument, as %w would.
func Errorf(fr, en string, args ...any) error {
	e := &TextError{}
	for _, a := range args {
		if err, ok := a.(error); ok && err != nil {
			e.err = err
			break
		}
	}
	w := strings.NewReplacer("%%", "%%", "%w", "%s")
	e.Msg = Textf(w.Replace(fr), w.Replace(en), args...)
	return e
}

func (e *TextError) Error() string { return e.Msg.EN }

// ErrorIn returns the message in lang.
func (e *TextError) ErrorIn(lang Lang) string { return e.Msg.In(lang) }

func (e *TextError) Unwrap() error { return e.err }

// localized is an error that can say itself in either language.
type localized interface {
	error
	ErrorIn(Lang) string
}

// ErrorText writes err in lang: bilingual errors (Errorf, or any error with
// an ErrorIn method) in that language, common file-system errors in French
// too, and whatever else as it is. A plain error that wraps a bilingual one
// keeps its own prefix (usually a file name) and has the wrapped part
// translated.
func ErrorText(err error, lang Lang) string {
	if err == nil {
		return ""
	}
	if l, ok := err.(localized); ok {
		return l.ErrorIn(lang)
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var parts []string
		for _, e := range j.Unwrap() {
			if e != nil {
				parts = append(parts, ErrorText(e, lang))
			}
		}
		if strings.Join(parts, "\n") != "" && err.Error() == joinEN(j.Unwrap()) {
			return strings.Join(parts, "\n")
		}
		return err.Error()
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && err == error(pe) && lang == FR {
		return pe.Path + sep(lang) + ErrorText(pe.Err, lang)
	}
	if lang == FR {
		if fr, ok := errnoFR(err); ok {
			return fr
		}
		if fr, ok := zipFR[err]; ok {
			return fr
		}
	}
	if inner := errors.Unwrap(err); inner != nil {
		s, in := err.Error(), inner.Error()
		if t := ErrorText(inner, lang); t != in && strings.HasSuffix(s, in) {
			return s[:len(s)-len(in)] + t
		}
	}
	return err.Error()
}

func joinEN(errs []error) string {
	var parts []string
	for _, e := range errs {
		if e != nil {
			parts = append(parts, e.Error())
		}
	}
	return strings.Join(parts, "\n")
}

func sep(lang Lang) string {
	if lang == FR {
		return " : "
	}
	return ": "
}

// zipFR says archive/zip's errors in French: a damaged or mistaken archive
// (an XDM zip, an evidence container) is an everyday input.
var zipFR = map[error]string{
	zip.ErrFormat:    "structure ZIP invalide",
	zip.ErrChecksum:  "somme de contrôle ZIP fausse",
	zip.ErrAlgorithm: "méthode de compression ZIP non prise en charge",
}

// errnoFR says the operating-system errors people meet with files in
// French (through fs.Err*, which match on every system); the others keep
// the system's English wording.
func errnoFR(err error) (string, bool) {
	var no syscall.Errno
	if !errors.As(err, &no) || err != error(no) {
		return "", false
	}
	switch {
	case errors.Is(no, fs.ErrNotExist):
		return "fichier ou dossier introuvable", true
	case errors.Is(no, fs.ErrPermission):
		return "permission refusée", true
	case errors.Is(no, fs.ErrExist):
		return "existe déjà", true
	case no == syscall.EISDIR:
		return "c'est un dossier, pas un fichier", true
	case no == syscall.ENOTDIR:
		return "un élément du chemin n'est pas un dossier", true
	case no == syscall.ENOSPC:
		return "plus de place sur le disque", true
	case no == syscall.ECONNREFUSED:
		return "connexion refusée", true
	case no == syscall.ECONNRESET:
		return "connexion coupée par l'autre côté", true
	}
	return "", false
}
