package trust

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// WhitelistNamespace is the XML namespace of the ANS whitelist
// (https://espacedeconfiance.mssante.fr/listeblanchemssante.xml).
const WhitelistNamespace = "https://listeblanche.mssante.fr/schema"

// MaxWhitelistSize bounds a whitelist file read with ParseWhitelist (the
// full list of March 2025 is 3.7 MB).
const MaxWhitelistSize = 64 << 20

// Entry is one whitelist fact: a trust-space domain and the DN of one of
// its operator's server certificates. Contact fields are never kept.
type Entry struct {
	Domain     string
	OperatorDN string
	Updated    time.Time // DateMAJ
}

// Whitelist is the ANS list of MSSanté trust-space domains.
type Whitelist struct {
	// Generated is the list's DateDeGeneration.
	Generated time.Time
	// Source names where it was read from.
	Source  string
	domains map[string][]Entry
	n       int
	// embedded is set on the Snapshot, so that a classification can tell
	// it from a list the user gave without parsing the snapshot to compare.
	embedded bool
}

// Lookup returns the entries of domain (case-insensitive), nil when the
// domain is not in the trust space.
func (w *Whitelist) Lookup(domain string) []Entry {
	if w == nil {
		return nil
	}
	return w.domains[strings.ToLower(strings.TrimSuffix(domain, "."))]
}

// Len is the number of entries.
func (w *Whitelist) Len() int { return w.n }

// Entries lists every entry, sorted by domain then DN.
func (w *Whitelist) Entries() []Entry {
	var out []Entry
	for _, es := range w.domains {
		out = append(out, es...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Domain != out[j].Domain {
			return out[i].Domain < out[j].Domain
		}
		return out[i].OperatorDN < out[j].OperatorDN
	})
	return out
}

func (w *Whitelist) add(e Entry) {
	if w.domains == nil {
		w.domains = map[string][]Entry{}
	}
	k := strings.ToLower(e.Domain)
	for _, o := range w.domains[k] {
		if o.OperatorDN == e.OperatorDN {
			return
		}
	}
	w.domains[k] = append(w.domains[k], e)
	w.n++
}

// ParseWhitelist reads the ANS whitelist XML (root ListeBlancheMSSante,
// DateDeGeneration, ListeDomaines/Domaine with Nom, DNCertificatOperateur
// and DateMAJ; research mssante.md §5). name is used in errors.
func ParseWhitelist(r io.Reader, name string) (*Whitelist, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxWhitelistSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxWhitelistSize {
		return nil, fmt.Errorf("%s: larger than %d MiB: not an MSSanté whitelist", name, MaxWhitelistSize>>20)
	}
	type domain struct {
		Name    string `xml:"Nom"`
		DN      string `xml:"DNCertificatOperateur"`
		Updated string `xml:"DateMAJ"`
	}
	w := &Whitelist{Source: name}
	dec := xml.NewDecoder(bytes.NewReader(data))
	var generated string
	rootSeen, listDone, n := false, false, 0
	for {
		tok, err := dec.Token()
		var se *xml.SyntaxError
		if listDone && (errors.Is(err, io.EOF) || errors.As(err, &se) && se.Msg == "unexpected EOF") {
			// The list is complete; a missing root end tag (seen in the
			// ANS mirror of March 2025) loses nothing.
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: not a complete MSSanté whitelist (ListeBlancheMSSante XML): %w", name, err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch {
			case !rootSeen:
				if el.Name.Local != "ListeBlancheMSSante" || el.Name.Space != WhitelistNamespace {
					return nil, fmt.Errorf("%s: root element {%s}%s, want {%s}ListeBlancheMSSante", name, el.Name.Space, el.Name.Local, WhitelistNamespace)
				}
				rootSeen = true
			case el.Name.Local == "DateDeGeneration":
				if err := dec.DecodeElement(&generated, &el); err != nil {
					return nil, fmt.Errorf("%s: DateDeGeneration: %w", name, err)
				}
			case el.Name.Local == "Domaine":
				var d domain
				n++
				if err := dec.DecodeElement(&d, &el); err != nil {
					return nil, fmt.Errorf("%s: Domaine %d: %w", name, n, err)
				}
				e := Entry{Domain: strings.TrimSpace(d.Name), OperatorDN: strings.TrimSpace(d.DN)}
				if e.Domain == "" || e.OperatorDN == "" || strings.ContainsAny(e.Domain+e.OperatorDN, "\t\r\n") {
					return nil, fmt.Errorf("%s: Domaine %d: Nom and DNCertificatOperateur are required, on one line", name, n)
				}
				if _, err := ParseDN(e.OperatorDN); err != nil {
					return nil, fmt.Errorf("%s: Domaine %d (%s): DNCertificatOperateur: %w", name, n, e.Domain, err)
				}
				e.Updated, _ = time.Parse(time.RFC3339, strings.TrimSpace(d.Updated))
				w.add(e)
			}
		case xml.EndElement:
			if el.Name.Local == "ListeDomaines" {
				listDone = true
			}
		}
	}
	var err2 error
	if w.Generated, err2 = time.Parse(time.RFC3339, strings.TrimSpace(generated)); err2 != nil {
		return nil, fmt.Errorf("%s: DateDeGeneration %q is not a date (want 2025-03-13T14:54:10Z)", name, generated)
	}
	if w.n == 0 {
		return nil, fmt.Errorf("%s: no Domaine entry", name)
	}
	return w, nil
}

// The embedded snapshot holds only facts derived from the ANS whitelist
// (domain, operator certificate DN, DateMAJ) and its generation date; the
// contact fields are left out. Regenerate with
// `go test ./trust -run TestSnapshotMatchesCorpus -update`.
//
//go:embed whitelist.tsv
var snapshotTSV []byte

// Snapshot returns the embedded whitelist snapshot (parsed once; callers
// must not modify it).
var Snapshot = sync.OnceValue(func() *Whitelist {
	w, err := parseSnapshot(snapshotTSV)
	if err != nil {
		panic("trust: embedded whitelist: " + err.Error())
	}
	w.embedded = true
	return w
})

const snapshotHeader = "# msscprobe whitelist snapshot"

func parseSnapshot(data []byte) (*Whitelist, error) {
	w := &Whitelist{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for ln := 1; sc.Scan(); ln++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# generated "):
			t, err := time.Parse(time.RFC3339, strings.TrimPrefix(line, "# generated "))
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", ln, err)
			}
			w.Generated = t
		case strings.HasPrefix(line, "# source "):
			w.Source = strings.TrimPrefix(line, "# source ")
		case strings.HasPrefix(line, "#"), line == "":
		default:
			f := strings.Split(line, "\t")
			if len(f) != 3 {
				return nil, fmt.Errorf("line %d: want domain, DN and date", ln)
			}
			u, _ := time.Parse(time.RFC3339, f[2])
			w.add(Entry{Domain: f[0], OperatorDN: f[1], Updated: u})
		}
	}
	if w.Generated.IsZero() || w.n == 0 {
		return nil, errors.New("no generation date or no entry")
	}
	return w, nil
}

// writeSnapshot writes w in the embedded format.
func writeSnapshot(out io.Writer, w *Whitelist, source string) error {
	b := bufio.NewWriter(out)
	fmt.Fprintf(b, "%s: facts derived from the ANS whitelist (domain, operator certificate DN, DateMAJ); contact fields left out.\n", snapshotHeader)
	fmt.Fprintf(b, "# source %s\n# generated %s\n", source, w.Generated.UTC().Format(time.RFC3339))
	for _, e := range w.Entries() {
		u := ""
		if !e.Updated.IsZero() {
			u = e.Updated.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(b, "%s\t%s\t%s\n", e.Domain, e.OperatorDN, u)
	}
	return b.Flush()
}
