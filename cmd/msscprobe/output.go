package main

import (
	"fmt"
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
	c.Flags().StringVar(&o.lang, "lang", "fr", "language of human-facing text: fr or en")
	if len(formats) > 0 {
		c.Flags().StringVar(&o.format, "format", formats[0], "output format: "+orList(formats))
	}
	return o
}

// parse checks both flags and returns the language; a bad value is a usage
// error naming it.
func (o *outputFlags) parse() (check.Lang, error) {
	l, err := check.ParseLang(o.lang)
	if err != nil {
		return "", usageError(err)
	}
	if len(o.formats) > 0 && !slices.Contains(o.formats, o.format) {
		return "", usageError(fmt.Errorf("--format %q: want %s", o.format, orList(o.formats)))
	}
	return l, nil
}

// orList writes "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
