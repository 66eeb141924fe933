package main

import (
	"strings"

	"github.com/msscprobe/msscprobe/check"
)

// uiLang picks the language of everything a person reads from the CLI (help,
// flag descriptions, errors, progress) before the command tree is built, so
// that cobra's generated help is already in that language: --lang on the
// command line wins, then MSSCPROBE_LANG, then French.
func uiLang(args []string, getenv func(string) string) check.Lang {
	lang := check.FR
	if getenv != nil {
		if l, err := check.ParseLang(getenv("MSSCPROBE_LANG")); err == nil {
			lang = l
		}
	}
	for i, a := range args {
		if a == "--" {
			break
		}
		v, ok := strings.CutPrefix(a, "--lang=")
		if !ok && a == "--lang" && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if ok {
			if l, err := check.ParseLang(v); err == nil {
				lang = l
			}
		}
	}
	return lang
}

// tr returns the French or English text for the CLI's language. Every
// string a person reads goes through it, French first.
func (e *env) tr(fr, en string) string {
	if e.lang == check.EN {
		return en
	}
	return fr
}
