package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"
)

// englishWords are words that occur in English sentences and never in
// French ones: one of them in a French text means a string was left
// untranslated.
var englishWords = map[string]bool{
	"the": true, "with": true, "and": true, "is": true, "are": true, "not": true, "want": true, "must": true,
	"when": true, "this": true, "that": true, "from": true, "into": true, "of": true, "to": true, "for": true,
	"or": true, "by": true, "be": true, "it": true, "its": true, "your": true, "you": true, "every": true,
	"each": true, "which": true, "only": true, "without": true, "default": true, "required": true,
	"unknown": true, "given": true, "received": true, "accepts": true, "flag": true, "flags": true,
	"file": true, "files": true, "write": true, "show": true, "print": true, "run": true, "needs": true,
	"missing": true, "invalid": true, "available": true, "commands": true,
}

var quotedRE = regexp.MustCompile(`"[^"\n]*"|«[^»\n]*»|'[^'\n]*'|` + "`[^`\n]*`")

// englishIn returns the English words of a text meant to be French. Quoted
// text (values the user gave, names), identifiers (flags, keys, file and
// host names, fault names) and upper-case acronyms are left out.
func englishIn(text string) []string {
	var found []string
	for _, tok := range strings.Fields(quotedRE.ReplaceAllString(text, " ")) {
		w := strings.TrimFunc(tok, func(r rune) bool { return strings.ContainsRune("()[]{},;:!?.«»\"'`…", r) })
		if w == "" || strings.ContainsAny(w, "-_./@=<>|*#\\%+") || strings.IndexFunc(w, unicode.IsDigit) >= 0 {
			continue
		}
		if englishWords[strings.ToLower(w)] && w != strings.ToUpper(w) {
			found = append(found, w)
		}
	}
	return found
}

// allCommands lists the command paths of the whole tree, root included.
func allCommands(c *cobra.Command) [][]string {
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		out = append(out, path)
		for _, s := range c.Commands() {
			walk(s, append(append([]string(nil), path...), s.Name()))
		}
	}
	walk(c, nil)
	return out
}

// TestFrenchByDefault scans every command's help (its description, usage
// and every flag's text) and the errors a user meets with each command
// (unknown flag, wrong arguments, unknown subcommand, missing or bad flag
// value): by default none holds English. With --lang en or MSSCPROBE_LANG=en
// the same texts are English.
func TestFrenchByDefault(t *testing.T) {
	root := newRootCmd(&env{lang: "fr", getenv: func(string) string { return "" }})
	noEnv := func(string) string { return "" }
	var checked int
	for _, path := range allCommands(root) {
		cmdline := strings.Join(append([]string{"msscprobe"}, path...), " ")
		runs := [][]string{
			append(append([]string(nil), path...), "--help"),
			append(append([]string(nil), path...), "--no-such-flag"),
			append(append([]string(nil), path...), "x", "y", "z", "w", "v", "u", "t", "s", "r", "q", "p"),
		}
		if len(path) > 0 {
			runs = append(runs, append([]string{"help"}, path...))
		}
		for _, args := range runs {
			code, out, errs := runCLI(t, "", noEnv, args...)
			if w := englishIn(out + errs); len(w) > 0 {
				t.Errorf("%s: msscprobe %s (exit %d) shows English %q:\n%s%s", cmdline, strings.Join(args, " "), code, w, out, errs)
			}
			checked++
			if args[len(args)-1] == "--help" {
				_, enOut, _ := runCLI(t, "", func(k string) string { return map[string]string{"MSSCPROBE_LANG": "en"}[k] }, args...)
				if len(englishIn(enOut)) == 0 {
					t.Errorf("%s --help with MSSCPROBE_LANG=en is not English:\n%s", cmdline, enOut)
				}
				if _, lOut, _ := runCLI(t, "", noEnv, append([]string{"--lang", "en"}, args...)...); len(englishIn(lOut)) == 0 {
					t.Errorf("%s --help --lang en is not English:\n%s", cmdline, lOut)
				}
			}
		}
	}
	// Flags that take a value: without it, and with a value of the wrong kind.
	dir := t.TempDir()
	notUTF8 := filepath.Join(dir, "latin1.yaml")
	if err := os.WriteFile(notUTF8, []byte("establishment: {name: \"H\xf4pital\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pem := filepath.Join(dir, "cert.pem")
	if err := os.WriteFile(pem, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A folder of files verify cannot read: their batch rows are French too.
	junk := filepath.Join(dir, "junk")
	for name, body := range map[string]string{"a.zip": "PK\x03\x04garbage", "b.asice": "junk!", "c.pdf": "ab"} {
		if err := os.MkdirAll(junk, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(junk, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A mock configuration file with an unknown key and values of the wrong
	// kind. (A YAML syntax error keeps the parser's own wording, as probe's.)
	mockYAML := filepath.Join(dir, "mock.yaml")
	if err := os.WriteFile(mockYAML, []byte("listen_smpt: x\nmax_message_bytes: lots\nauto_reply_citizens: maybe\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"mock", "serve", "--config", mockYAML},
		{"message", "check", filepath.Join(dir, "missing.eml")}, {"message", "check", t.TempDir()}, {"message", "check", "-"},
		{"verify", junk}, {"verify", "--format", "csv", junk}, {"verify", filepath.Join(junk, "a.zip")},
		{"cda", "check", "--jobs"}, {"cda", "check", "--jobs", "many", "x.xml"}, {"cda", "check", "--format", "yaml", "x.xml"},
		{"cda", "check", "--max-size", "huge", "x.xml"}, {"cda", "check", filepath.Join(dir, "missing.xml")}, {"cda", "check", dir},
		{"mock", "serve", "--auto-reply-delay", "soon"}, {"mock", "serve", "--fault", "explode"},
		{"mock", "serve", "--listen-smtp", "off", "--listen-smtps", "off", "--listen-imap", "off", "--listen-imaps", "off"},
		{"mock", "serve", "--rate-limit", "client=5/fortnight"}, {"mock", "serve", "--listen-http", "0.0.0.0:8025"},
		{"mock", "serve", "--fault", "rcpt=550,cc=x@y.fr"},
		{"probe"}, {"probe", "--config", filepath.Join(dir, "missing.yaml")}, {"probe", "--config", notUTF8},
		{"probe", "--config", notUTF8, "--sign-p12", pem}, {"verify", filepath.Join(dir, "missing.zip")}, {"verify", dir},
		{"cda"}, {"cda", "chek"}, {"mock", "start"}, {"help", "nothing"}, {"--lang", "de", "version"},
	} {
		code, out, errs := runCLI(t, "", noEnv, args...)
		if w := englishIn(out + errs); len(w) > 0 {
			t.Errorf("msscprobe %s (exit %d) shows English %q:\n%s%s", strings.Join(args, " "), code, w, out, errs)
		}
		checked++
	}
	t.Logf("%d outputs checked", checked)
}

// TestEnglishDetector: the scan above can fail.
func TestEnglishDetector(t *testing.T) {
	for text, want := range map[string]int{
		"accepts 1 arg(s), received 2":                          2,
		"unknown flag: --nope":                                  2,
		"--jobs \"x\" : un nombre entier attendu":               0,
		"option inconnue : --nope (voir msscprobe --help)":      0,
		"write the CA certificate (PEM) to this file":           5,
		"fault reply-no-in-reply-to « the » \"with the value\"": 0,
	} {
		if got := englishIn(text); len(got) != want {
			t.Errorf("englishIn(%q) = %q, want %d words", text, got, want)
		}
	}
}
