package trust

import (
	"strings"
	"testing"
)

// TestParseWhitelistErrors: every malformed list is refused with the file
// and the problem named; a list missing only its root end tag is kept.
func TestParseWhitelistErrors(t *testing.T) {
	const ns = `xmlns="https://listeblanche.mssante.fr/schema"`
	dom := `<Domaine><Nom>a.mssante.fr</Nom><DNCertificatOperateur>CN=x,C=FR</DNCertificatOperateur></Domaine>`
	for _, tc := range []struct{ name, in, want string }{
		{"ok", `<ListeBlancheMSSante ` + ns + `><DateDeGeneration>2025-03-13T14:54:10Z</DateDeGeneration><ListeDomaines>` + dom + `</ListeDomaines></ListeBlancheMSSante>`, ""},
		{"root end tag missing", `<ListeBlancheMSSante ` + ns + `><DateDeGeneration>2025-03-13T14:54:10Z</DateDeGeneration><ListeDomaines>` + dom + `</ListeDomaines>`, ""},
		{"cut inside the list", `<ListeBlancheMSSante ` + ns + `><DateDeGeneration>2025-03-13T14:54:10Z</DateDeGeneration><ListeDomaines>` + dom, "not a complete MSSanté whitelist"},
		{"other namespace", `<ListeBlancheMSSante xmlns="x"/>`, "root element {x}ListeBlancheMSSante"},
		{"html", `<html><body/></html>`, "root element {}html"},
		{"no date", `<ListeBlancheMSSante ` + ns + `><ListeDomaines>` + dom + `</ListeDomaines></ListeBlancheMSSante>`, `DateDeGeneration "" is not a date`},
		{"no entry", `<ListeBlancheMSSante ` + ns + `><DateDeGeneration>2025-03-13T14:54:10Z</DateDeGeneration><ListeDomaines></ListeDomaines></ListeBlancheMSSante>`, "no Domaine entry"},
		{"no DN", `<ListeBlancheMSSante ` + ns + `><DateDeGeneration>2025-03-13T14:54:10Z</DateDeGeneration><ListeDomaines><Domaine><Nom>a.fr</Nom></Domaine></ListeDomaines></ListeBlancheMSSante>`, "Domaine 1: Nom and DNCertificatOperateur are required"},
		{"bad DN", `<ListeBlancheMSSante ` + ns + `><DateDeGeneration>2025-03-13T14:54:10Z</DateDeGeneration><ListeDomaines><Domaine><Nom>a.fr</Nom><DNCertificatOperateur>nonsense</DNCertificatOperateur></Domaine></ListeDomaines></ListeBlancheMSSante>`, "Domaine 1 (a.fr): DNCertificatOperateur"},
		{"too large", strings.Repeat(" ", MaxWhitelistSize+1), "larger than 64 MiB"},
	} {
		w, err := ParseWhitelist(strings.NewReader(tc.in), "liste.xml")
		switch {
		case tc.want == "" && (err != nil || w.Len() != 1 || len(w.Lookup("A.mssante.fr.")) != 1):
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), "liste.xml: ") || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestParseDN: RFC 4514 escapes, multi-valued RDNs, aliases, and the
// comparison with a certificate's subject in any order.
func TestParseDN(t *testing.T) {
	got, err := ParseDN(`CN=a\,b,OU=x\2Cy+O=q,E=m@x.fr, ST=Paris (75) ,C=FR`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Attr{{"CN", "a,b"}, {"OU", "x,y"}, {"O", "q"}, {"EMAILADDRESS", "m@x.fr"}, {"ST", "Paris (75)"}, {"C", "FR"}}
	if len(got) != len(want) {
		t.Fatalf("%v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("attr %d = %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", "CN", "=x", `CN=x\`, "CN=a,,C=FR"} {
		if _, err := ParseDN(bad); err == nil {
			t.Errorf("ParseDN(%q) accepted", bad)
		}
	}
	a, _ := ParseDN("CN=h,O=X,C=FR")
	b, _ := ParseDN("c=fr,o=x,cn=H")
	if !SameDN(a, b) || SameDN(a, b[:2]) {
		t.Error("SameDN")
	}
}
