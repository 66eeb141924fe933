package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFixGivingMessages: the mistakes a non-expert makes get a message, in
// French by default, that says how to fix them; each exits 2.
func TestFixGivingMessages(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	servers := "smtp: {host: 127.0.0.1, port: 1, tls: starttls}\nimap: {host: 127.0.0.1, port: 1, tls: starttls}\nauth: {mechanism: plain, username: u, password_env: PW}\n"
	ok := write("ok.yaml", "establishment: {name: H, address: a@hopital.test.mssante.fr}\n"+servers)
	latin1 := write("latin1.yaml", "establishment: {name: \"H\xf4pital\", address: a@hopital.test.mssante.fr}\n"+servers)
	utf16 := write("utf16.yaml", "\xff\xfee\x00s\x00")
	escape := write("escape.yaml", "establishment: {name: H, address: a@hopital.test.mssante.fr}\n"+servers+"trust: {ca_file: \"C:\\dossier\\ca.pem\"}\n")
	silent := write("silent.yaml", "establishment: {name: H, address: a@hopital.test.mssante.fr}\n"+servers+"trust: {ca_file: \"C:\\temp\\new.pem\"}\n")
	pem := write("cert.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	unclosed := write("unclosed.yaml", "establishment:\n  name: \"H\n")
	colon := write("colon.yaml", "establishment: name: H\n")
	getenv := func(k string) string { return map[string]string{"PW": "x"}[k] }
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"probe", "-c", latin1}, []string{"latin1.yaml:1 : le fichier n'est pas en UTF-8", "enregistrez-le en UTF-8"}},
		{[]string{"probe", "-c", utf16}, []string{"le fichier est en UTF-16 : enregistrez-le en UTF-8"}},
		{[]string{"probe", "-c", escape}, []string{"escape.yaml:5 : YAML invalide", "entre apostrophes ('C:\\dossier\\ca.pem') ou écrivez des barres obliques (C:/dossier/ca.pem)"}},
		{[]string{"probe", "-c", unclosed}, []string{"unclosed.yaml:2 : YAML invalide : fin du fichier inattendue (un guillemet, un crochet ou une accolade n'est pas fermé)"}},
		{[]string{"probe", "-c", colon}, []string{"colon.yaml : YAML invalide : « clé: valeur » à un endroit où il n'en faut pas"}},
		{[]string{"probe", "--lang", "en", "-c", colon}, []string{"colon.yaml: mapping values are not allowed in this context"}},
		{[]string{"mock", "serve", "--config", unclosed}, []string{"YAML invalide : fin du fichier inattendue"}},
		{[]string{"probe", "-c", silent}, []string{"trust.ca_file", "contient un caractère de contrôle", "entre apostrophes"}},
		{[]string{"probe", "--lang", "en", "-c", silent}, []string{"holds a control character", "in single quotes"}},
		{[]string{"probe", "-c", ok, "--out", filepath.Join(dir, "p.pdf"), "--sign-p12", pem}, []string{"c'est un fichier PEM", "attend un fichier PKCS#12 binaire (.p12 ou .pfx)", "--sign-cert et --sign-key", "openssl pkcs12 -export"}},
		{[]string{"probe", "-c", ok, "--sign-p12", pem}, []string{"--sign-p12 n'a d'effet qu'avec --out"}},
		{[]string{"probe", "-c", ok, "--tsa", "https://tsa.example/"}, []string{"--tsa n'a d'effet qu'avec --out"}},
		{[]string{"mock", "serve", "--listen-smtp", "off", "--listen-smtps", "off", "--listen-imap", "off", "--listen-imaps", "off"}, []string{"sont tous « off »", "gardez au moins une écoute"}},
		{[]string{"cda", "check", "--jobs", "beaucoup", "x.xml"}, []string{`--jobs "beaucoup" : un nombre entier attendu`}},
		{[]string{"verify"}, []string{"msscprobe verify attend"}},
		{[]string{"cda", "chek"}, []string{"commande inconnue", "vouliez-vous dire « check » ?"}},
		{[]string{"probe", "--config"}, []string{"l'option --config attend une valeur"}},
		{[]string{"--lang", "en", "cda", "chek"}, []string{"unknown command", "did you mean check?"}},
	} {
		code, out, errs := runCLI(t, "", getenv, tc.args...)
		if code != exitUsage {
			t.Errorf("msscprobe %s: exit %d, want 2\n%s%s", strings.Join(tc.args, " "), code, out, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("msscprobe %s: stderr lacks %q:\n%s", strings.Join(tc.args, " "), w, errs)
			}
		}
	}
}

// TestVersionStamp: `version` and `--version` print the version, and the
// commit and its date when the build stamped them (the release build does,
// through -X main.commit/main.date).
func TestVersionStamp(t *testing.T) {
	defer func(v, c, d string) { version, commit, date = v, c, d }(version, commit, date)
	version, commit, date = "1.2.3", "0123456789abcdef0123456789abcdef01234567", "2026-01-02T03:04:05Z"
	want := "msscprobe 1.2.3 (commit 0123456789abcdef0123456789abcdef01234567, 2026-01-02T03:04:05Z)\n"
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		if code, out, errs := runCLI(t, "", nil, args...); code != exitOK || out != want {
			t.Errorf("msscprobe %s: exit %d, %q%s, want %q", args[0], code, out, errs, want)
		}
	}
}
