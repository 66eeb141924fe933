package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/msscprobe/msscprobe/check"
)

// outputFlags are the --lang flag of every command that reports to people
// and, when it has machine formats, its --format flag.
type outputFlags struct {
	lang, format string
	formats      []string // allowed --format values, the default first; none: no --format
}

func addOutputFlags(c *cobra.Command, formats ...string) *outputFlags {
	o := &outputFlags{formats: formats}
	// The help texts are set in the CLI's language by localize.
	c.Flags().StringVar(&o.lang, "lang", "fr", "language of human-facing text: fr or en")
	if len(formats) > 0 {
		c.Flags().StringVar(&o.format, "format", formats[0], "output format: "+strings.Join(formats, ", "))
		_ = c.Flags().SetAnnotation("format", formatsAnnotation, formats)
	}
	return o
}

// formatsAnnotation lists a --format flag's values, for its help text.
const formatsAnnotation = "msscprobe-formats"

// parse checks both flags and returns the language; a bad value is a usage
// error naming it.
func (o *outputFlags) parse() (check.Lang, error) {
	l, err := check.ParseLang(o.lang)
	if err != nil {
		return "", langError(o.lang)
	}
	if len(o.formats) > 0 && !slices.Contains(o.formats, o.format) {
		return "", usageError(check.Errorf("--format %q : %s attendu", "--format %q: want %s", o.format,
			check.Text{FR: orListIn(check.FR, o.formats), EN: orListIn(check.EN, o.formats)}))
	}
	return l, nil
}

// langError refuses a --lang value, which MSSCPROBE_LANG may have set.
func langError(v string) error {
	return usageError(check.Errorf("--lang %q (ou MSSCPROBE_LANG) : fr ou en attendu", "--lang %q (or MSSCPROBE_LANG): want fr or en", v))
}

// orList writes "a, b ou c" in the CLI's language.
func (e *env) orList(words []string) string { return orListIn(e.lang, words) }

func orListIn(l check.Lang, words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	or := map[check.Lang]string{check.FR: " ou ", check.EN: " or "}[l]
	return strings.Join(words[:len(words)-1], ", ") + or + words[len(words)-1]
}
