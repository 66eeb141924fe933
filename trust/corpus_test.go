package trust

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the embedded whitelist snapshot from the shared corpus")

// corpusDir finds ../shared/corpus/<sub> (MSSCPROBE_SHARED overrides
// ../shared), skipping the test when it is absent.
func corpusDir(t testing.TB, sub string) string {
	t.Helper()
	base := os.Getenv("MSSCPROBE_SHARED")
	if base == "" {
		_, file, _, _ := runtime.Caller(0)
		base = filepath.Join(filepath.Dir(file), "..", "..", "shared")
		if _, err := os.Stat(base); err != nil {
			base = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared")
		}
	}
	dir := filepath.Join(base, "corpus", sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared corpus %s absent (set MSSCPROBE_SHARED): %v", dir, err)
	}
	return dir
}

// TestAnchorsMatchCorpus: the embedded IGC-Santé CAs are byte for byte the
// corpus bundles, whose provenance is in docs/trust.md.
func TestAnchorsMatchCorpus(t *testing.T) {
	dir := corpusDir(t, "igc-sante")
	prod, test := IGCSante()
	for _, tc := range []struct {
		bundle string
		got    []*x509.Certificate
	}{{"bundle-prod-igc-sante.pem", prod}, {"bundle-test-igc-sante.pem", test}} {
		data, err := os.ReadFile(filepath.Join(dir, tc.bundle))
		if err != nil {
			t.Fatal(err)
		}
		want, err := ParsePEM(data)
		if err != nil {
			t.Fatal(err)
		}
		if fps(tc.got) != fps(want) {
			t.Errorf("%s: embedded %s\ncorpus %s", tc.bundle, fps(tc.got), fps(want))
		}
	}
	if len(prod) != 9 || len(test) != 5 {
		t.Errorf("%d production and %d test CAs, want 9 and 5", len(prod), len(test))
	}
	docs, err := os.ReadFile("../docs/trust.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range append(prod, test...) {
		sum := sha256.Sum256(c.Raw)
		if fp := fmt.Sprintf("% X", sum[:]); !strings.Contains(string(docs), strings.ReplaceAll(fp, " ", ":")) {
			t.Errorf("docs/trust.md lacks the fingerprint of %s", c.Subject.CommonName)
		}
	}
}

func fps(cs []*x509.Certificate) string {
	var s []string
	for _, c := range cs {
		sum := sha256.Sum256(c.Raw)
		s = append(s, fmt.Sprintf("%x", sum[:4]))
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

// TestLeafExamples classifies the corpus's real leaf certificates: SERV SSL
// under production and TEST anchors, and an ORG certificate that is not.
func TestLeafExamples(t *testing.T) {
	dir := corpusDir(t, "igc-sante")
	prod, test := IGCSante()
	a := NewAnchors(prod, test, nil)
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	later := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		file, host, anchor string
		at                 time.Time
		servSSL            bool
		structure          string
	}{
		{"prod-serv-ssl-hub.esante.gouv.fr.pem", "hub.esante.gouv.fr", AnchorProd, at, true, "SIRET 18751275100020"},
		// An ORG AUTH_CLI certificate has no serverAuth usage.
		{"prod-org-auth_cli-apibi.gateway_ANS.pem", "apibi.gateway_ANS", AnchorNone, at, false, "SIRET 18751275100020"},
		{"test-serv-ssl-carto.hub.esante.gouv.fr.pem", "carto.hub.esante.gouv.fr", AnchorTest, later, true, ""},
		{"test-org-auth_cli-Padoa.pem", "Padoa", AnchorNone, at, false, "FINESS 0B0152872"},
	} {
		data, err := os.ReadFile(filepath.Join(dir, "leaf-examples", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		certs, err := ParsePEM(data)
		if err != nil {
			t.Fatal(err)
		}
		ch := a.Classify(certs, tc.at, x509.ExtKeyUsageServerAuth)
		if ch.Kind != tc.anchor {
			t.Errorf("%s: anchor %s (%v), want %s", tc.file, ch.Kind, ch.Err, tc.anchor)
		}
		why := ServSSLProblems(certs[0], tc.host, tc.anchor == AnchorTest)
		if (len(why) == 0) != tc.servSSL {
			t.Errorf("%s: SERV SSL problems %v, want profile %v", tc.file, why, tc.servSSL)
		}
		if tc.structure != "" {
			s, ok := StructureIDOf(certs[0])
			if got := s.Kind + " " + s.ID; !ok || got != tc.structure {
				t.Errorf("%s: structure %q, want %q", tc.file, got, tc.structure)
			}
		}
	}
	// Client certificates do chain to IGC-Santé for their own usage.
	data, _ := os.ReadFile(filepath.Join(dir, "leaf-examples", "prod-org-sign-signature.rpps.fr.pem"))
	certs, _ := ParsePEM(data)
	at2018 := time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)
	if ch := a.Classify(certs, at2018, x509.ExtKeyUsageAny); ch.Kind != AnchorProd {
		t.Errorf("ORG SIGN: anchor %s (%v), want %s", ch.Kind, ch.Err, AnchorProd)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: ProdPool(), CurrentTime: at2018, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("ORG SIGN against ProdPool: %v", err)
	}
}

// TestSnapshotMatchesCorpus: the embedded whitelist holds exactly the facts
// of the corpus whitelist, without its contact fields (-update rewrites it).
func TestSnapshotMatchesCorpus(t *testing.T) {
	dir := corpusDir(t, "whitelist")
	f, err := os.Open(filepath.Join(dir, "listeblanchemssante.xml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := ParseWhitelist(f, "listeblanchemssante.xml")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := writeSnapshot(&b, w, "ansforge/MSS-liste-blanche@08b766256753c6a2b93e46c164c1fb275b7b72d4 listeblanchemssante.xml"); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("whitelist.tsv", b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(b.Bytes(), snapshotTSV) {
		t.Fatalf("whitelist.tsv differs from the corpus: run go test ./trust -run TestSnapshotMatchesCorpus -update")
	}
	for _, banned := range []string{"david.dissard", "medimail.diffusion", "08 10  61 50 50"} {
		if bytes.Contains(snapshotTSV, []byte(banned)) {
			t.Errorf("snapshot holds contact data (%q)", banned)
		}
	}
	snap := Snapshot()
	if !snap.Generated.Equal(time.Date(2025, 3, 13, 14, 54, 10, 0, time.UTC)) || snap.Len() != w.Len() {
		t.Errorf("snapshot generated %s with %d entries, want 2025-03-13T14:54:10Z and %d", snap.Generated, snap.Len(), w.Len())
	}
	es := snap.Lookup("PATIENT.mssante.fr")
	if len(es) != 2 || !strings.Contains(es[0].OperatorDN, "ens.atos-infogerance.fr") {
		t.Errorf("patient.mssante.fr: %+v", es)
	}
}
