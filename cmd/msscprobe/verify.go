package main

import (
	"bytes"
	"crypto/x509"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/evidence"
	"github.com/msscprobe/msscprobe/probe"
	"github.com/msscprobe/msscprobe/trust"
)

func init() { subcommands = append(subcommands, newVerifyCmd) }

// verifyOpts are verify's settings once the flags are read.
type verifyOpts struct {
	opts   evidence.VerifyOptions
	lang   check.Lang
	format string
	strict bool
}

func newVerifyCmd(e *env) *cobra.Command {
	var caFile, tsaCAFile string
	var strict bool
	var out *outputFlags
	c := &cobra.Command{
		Use:   e.tr("verify FICHIER.pdf|FICHIER.asice|DOSSIER...", "verify FILE.pdf|FILE.asice|FOLDER..."),
		Short: e.tr("Vérifier des preuves signées (PDF ou conteneur ASiC-E), une par une ou par dossier", "Verify signed evidence (PDF or ASiC-E container), one by one or by folder"),
		Long: e.tr(`Vérifie les preuves écrites par « msscprobe probe --out » ou « msscprobe demo » :
le PDF livrable (signature PAdES couvrant tout le fichier, rien d'ajouté après elle,
conteneur joint vérifié en entier, signé par le même certificat, fichiers joints
identiques à ceux du conteneur, pages d'accord avec results.json) ou le conteneur
ASiC-E seul (empreintes de chaque fichier, signature CMS, chaîne et identité du
signataire selon les autorités IGC-Santé intégrées, celles du système et --ca,
horodatage selon --tsa-ca). Les fichiers hostiles sont refusés ; rien
n'est extrait sur le disque.

La première ligne donne dans l'ordre : le résultat PS 4.1, l'environnement
(MSSanté ou TEST), l'intégrité et le signataire. Avec plusieurs fichiers ou des
dossiers (parcourus à la recherche de .pdf, .asice et .zip) : une ligne par
fichier puis un bilan ; --format csv ou json donne un tableau (fichier,
établissement, FINESS, date, PS 4.1, environnement, intégrité, signataire,
empreinte, recevable et pourquoi, problèmes) ; une même exécution (même jeton ou
même empreinte) trouvée dans deux fichiers est signalée sur les deux lignes.

Format et vérification avec des outils indépendants : docs/evidence-format.md.

Code de sortie : 0 quand chaque fichier est intègre (avec --strict : quand chaque
fichier est une preuve recevable : intègre, PS 4.1 atteint, environnement MSSanté,
signataire vérifié), 1 sinon, 2 pour une entrée illisible ou un usage incorrect.`,
			`Verify evidence written by "msscprobe probe --out" or "msscprobe demo": the PDF
deliverable (PAdES signature covering the whole file, nothing added after it,
embedded container verified in full and signed by the same certificate, embedded
files identical to the container's, pages agreeing with results.json) or the bare
ASiC-E container (every file's digest, the CMS signature, the signer's chain
and identity against the built-in IGC-Santé anchors, the system roots and --ca,
the timestamp against --tsa-ca). Hostile files are refused;
nothing is extracted to disk.

The first line states, in this order: the PS 4.1 outcome, the environment
(MSSanté or TEST), integrity and the signer. With several files or folders
(walked for .pdf, .asice and .zip): one line per file then a summary; --format
csv or json gives a table (file, establishment, FINESS, date, PS 4.1,
environment, integrity, signer, fingerprint, acceptable and why, problems); the
same run (same token or fingerprint) found in two files is flagged in both rows.

Format and verification with independent tools: docs/evidence-format.md.

Exit status: 0 when every file is intact (with --strict: when every file is
acceptable candidature evidence: intact, PS 4.1 met, MSSanté environment, signer
verified), 1 otherwise, 2 for unreadable input or a usage error.`),
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := out.parse()
			if err != nil {
				return err
			}
			vo := verifyOpts{lang: l, format: out.format, strict: strict}
			// IGC-Santé anchors and the system roots always classify the
			// signer; --ca adds roots that the signer must then chain to.
			vo.opts.Anchors = trust.Default()
			if caFile != "" {
				extra, err := e.loadCerts("--ca", caFile)
				if err != nil {
					return usageError(err)
				}
				vo.opts.Anchors = vo.opts.Anchors.WithExtra(extra...)
				vo.opts.Roots, _ = vo.opts.Anchors.Pool()
			}
			if vo.opts.TSARoots, err = e.loadPool("--tsa-ca", tsaCAFile); err != nil {
				return usageError(err)
			}
			// ^C stops the reading of members; verify then exits 130.
			vo.opts.Context = cmd.Context()
			files, err := verifyInputs(args)
			if err != nil {
				return usageError(err)
			}
			if err := runVerify(e, files, len(args) == 1 && len(files) == 1 && files[0] == args[0], vo); err != nil {
				if cmd.Context().Err() != nil {
					return cmd.Context().Err()
				}
				return err
			}
			return nil
		},
	}
	c.Flags().StringVar(&caFile, "ca", "", e.tr("racines PEM ajoutées aux autorités IGC-Santé intégrées et à celles du système ; le signataire doit alors s'y rattacher",
		"PEM roots added to the built-in IGC-Santé anchors and the system roots; the signer must then chain to one of them"))
	c.Flags().StringVar(&tsaCAFile, "tsa-ca", "", e.tr("certificats racines (PEM) de l'autorité d'horodatage", "PEM roots the timestamp authority must chain to"))
	c.Flags().BoolVar(&strict, "strict", false, e.tr("code 0 seulement pour des preuves recevables (intègres, PS 4.1 atteint, environnement MSSanté, signataire vérifié)",
		"exit 0 only for acceptable evidence (intact, PS 4.1 met, MSSanté environment, signer verified)"))
	out = addOutputFlags(c, "text", "json", "csv")
	return c
}

// verifyInputs expands folders into the deliverables and containers they
// hold (.pdf, .asice, .zip, regular files only), sorted; files are kept as
// given. A missing input is an error naming it.
func verifyInputs(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch strings.ToLower(filepath.Ext(p)) {
			case ".pdf", ".asice", ".zip":
			default:
				return nil
			}
			if d.Type().IsRegular() {
				found = append(found, p)
			} else if d.Type()&fs.ModeSymlink != 0 {
				if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
					found = append(found, p)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, check.Errorf("%s : aucun fichier .pdf, .asice ou .zip dans ce dossier", "%s: no .pdf, .asice or .zip file in this folder", a)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	return files, nil
}

// verifyRow is one file of a batch, as the table shows it.
type verifyRow struct {
	File          string    `json:"file"`
	Kind          string    `json:"kind"` // pdf, asice or unreadable
	Establishment string    `json:"establishment,omitempty"`
	FINESS        string    `json:"finess,omitempty"`
	TestDate      time.Time `json:"test_date,omitzero"`
	// PS41 is met, not-met or unknown; Environment mssante or test.
	PS41          string   `json:"ps41"`
	Environment   string   `json:"environment"`
	Intact        bool     `json:"intact"`
	Signer        string   `json:"signer,omitempty"`
	SignerTrusted bool     `json:"signer_trusted"`
	Fingerprint   string   `json:"fingerprint,omitempty"`
	Token         string   `json:"token,omitempty"`
	Colour        string   `json:"colour"`
	Headline      string   `json:"headline"`
	Acceptable    bool     `json:"acceptable"`
	Reasons       []string `json:"reasons,omitempty"`
	Problems      []string `json:"problems,omitempty"`
	// SameRunAs lists the other files holding the same run.
	SameRunAs    []string               `json:"same_run_as,omitempty"`
	Verification *evidence.Verification `json:"verification,omitempty"`
	err          error
}

func runVerify(e *env, files []string, single bool, vo verifyOpts) error {
	t := func(fr, en string) string { return check.Text{FR: fr, EN: en}.In(vo.lang) }
	rows := make([]verifyRow, len(files))
	prog := newProgress(e.stderr)
	var done int
	var mu sync.Mutex
	jobs := make(chan int)
	var wg sync.WaitGroup
	// One file per core at a time: a file is at most 64 MiB, so memory
	// stays bounded whatever the folder's size.
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				rows[i] = verifyFile(e, files[i], vo)
				mu.Lock()
				done++
				prog.Update(false, "%s %d/%d", t("vérification", "verifying"), done, len(files))
				mu.Unlock()
			}
		}()
	}
	for i := range files {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	prog.Done()
	if single && rows[0].err != nil {
		return usageError(check.Errorf("%s : %w", "%s: %w", files[0], rows[0].err))
	}
	flagSameRuns(rows)

	var err error
	switch {
	case vo.format == "json":
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rows)
	case vo.format == "csv":
		err = writeVerifyCSV(e.stdout, rows, vo.lang)
	case single:
		err = writeVerifySingle(e.stdout, rows[0], vo.lang)
	default:
		err = writeVerifyLines(e.stdout, rows, vo.lang)
	}
	if err != nil {
		return err
	}
	for _, r := range rows {
		if !r.Intact || (vo.strict && !r.Acceptable) {
			return failed()
		}
	}
	return nil
}

// verifyFile verifies one file, a PDF deliverable or a container, told
// apart by their first bytes.
func verifyFile(e *env, path string, vo verifyOpts) verifyRow {
	row := verifyRow{File: path, Kind: "unreadable", PS41: "unknown", Environment: probe.EnvTest, Colour: string(evidence.Red)}
	fail := func(err error) verifyRow {
		row.err = err
		msg := check.ErrorText(err, vo.lang)
		row.Problems = []string{msg}
		row.Headline = check.Text{FR: "ILLISIBLE", EN: "UNREADABLE"}.In(vo.lang) + " — " + msg
		row.Reasons = []string{check.Text{FR: "fichier illisible", EN: "unreadable file"}.In(vo.lang)}
		return row
	}
	// Regular files only, refused without blocking: a FIFO would hang the
	// command, a device would be read without end.
	f, st, err := e.openRegular(path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	head := make([]byte, 5)
	if _, err := io.ReadFull(f, head); err != nil {
		return fail(check.Errorf("ni un PDF ni un conteneur ZIP (trop court)", "neither a PDF nor a ZIP container (too short)"))
	}
	var v *evidence.Verification
	switch {
	case evidence.IsPDF(head):
		row.Kind = "pdf"
		v, err = evidence.VerifyDeliverable(f, st.Size(), vo.opts)
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		row.Kind = "asice"
		v, err = evidence.Verify(f, st.Size(), vo.opts)
	default:
		return fail(check.Errorf("ni un PDF livrable ni un conteneur ASiC-E", "neither a PDF deliverable nor an ASiC-E container"))
	}
	if err != nil {
		return fail(err)
	}
	row.Verification = v
	row.Establishment, row.FINESS, row.TestDate = v.Establishment.Name, v.Establishment.FINESS, v.Date
	switch {
	case v.Verdict.FR == "":
	case v.PS41Met:
		row.PS41 = "met"
	default:
		row.PS41 = "not-met"
	}
	if v.Environment.Kind == probe.EnvMSSante {
		row.Environment = probe.EnvMSSante
	}
	row.Intact, row.Fingerprint, row.Token = v.Valid, v.Fingerprint, v.Token
	if v.Signer != nil {
		row.Signer, row.SignerTrusted = v.Signer.Subject, v.Signer.Trusted && !v.Ephemeral
	}
	row.Colour, row.Headline = string(v.Colour()), v.Headline(vo.lang)
	ok, why := v.Acceptable()
	row.Acceptable = ok
	for _, w := range why {
		row.Reasons = append(row.Reasons, w.In(vo.lang))
	}
	for _, p := range v.Problems {
		if p.Severity == check.Error {
			row.Problems = append(row.Problems, fmt.Sprintf("%s: %s: %s", p.Code, p.File, p.Message.In(vo.lang)))
		}
	}
	return row
}

// flagSameRuns marks rows that hold the same run: the same probe token or
// the same fingerprint (results.json) in two files means one test filed
// twice, perhaps under two names.
func flagSameRuns(rows []verifyRow) {
	byKey := map[string][]int{}
	for i, r := range rows {
		for _, k := range []string{"token:" + r.Token, "fp:" + r.Fingerprint} {
			if !strings.HasSuffix(k, ":") {
				byKey[k] = append(byKey[k], i)
			}
		}
	}
	for _, idx := range byKey {
		for _, i := range idx {
			for _, j := range idx {
				if i != j && !slices.Contains(rows[i].SameRunAs, rows[j].File) {
					rows[i].SameRunAs = append(rows[i].SameRunAs, rows[j].File)
				}
			}
		}
	}
	for i := range rows {
		sort.Strings(rows[i].SameRunAs)
	}
}

// colours reports whether w is a terminal to colour headlines on
// (NO_COLOR respected); a batch asks once, not once per row.
func colours(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == ""
}

// ansi returns the escape codes that colour a headline, none when !on.
func ansi(on bool, colour string) (string, string) {
	if !on {
		return "", ""
	}
	switch colour {
	case string(evidence.Green):
		return "\x1b[1;32m", "\x1b[0m"
	case string(evidence.Orange):
		return "\x1b[1;33m", "\x1b[0m"
	}
	return "\x1b[1;31m", "\x1b[0m"
}

func writeVerifySingle(w io.Writer, r verifyRow, lang check.Lang) error {
	var b bytes.Buffer
	if err := r.Verification.WriteText(&b, lang); err != nil {
		return err
	}
	on, off := ansi(colours(w), r.Colour)
	first, rest, _ := strings.Cut(b.String(), "\n")
	if _, err := fmt.Fprintf(w, "%s%s%s\n%s", on, first, off, rest); err != nil {
		return err
	}
	if r.Kind == "pdf" && r.Verification.Container != "" {
		_, err := fmt.Fprintf(w, "%-22s %s\n", check.Text{FR: "Conteneur joint :", EN: "Embedded container:"}.In(lang), r.Verification.Container)
		return err
	}
	return nil
}

func writeVerifyLines(w io.Writer, rows []verifyRow, lang check.Lang) error {
	t := func(fr, en string) string { return check.Text{FR: fr, EN: en}.In(lang) }
	var intact, acceptable int
	var b strings.Builder
	coloured := colours(w)
	for _, r := range rows {
		on, off := ansi(coloured, r.Colour)
		fmt.Fprintf(&b, "%s%s%s%s\n", r.File, t(" : ", ": "), on+r.Headline, off)
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "  %s\n", p)
		}
		if len(r.SameRunAs) > 0 {
			fmt.Fprintf(&b, "  %s%s\n", t("MÊME EXÉCUTION que : ", "SAME RUN as: "), strings.Join(r.SameRunAs, ", "))
		}
		if r.Intact {
			intact++
		}
		if r.Acceptable {
			acceptable++
		}
	}
	fmt.Fprintf(&b, t("%d fichiers vérifiés : %d intègres, %d non intègres ou illisibles ; %d recevables (intègres, PS 4.1 atteint, environnement MSSanté, signataire vérifié).\n",
		"%d files verified: %d intact, %d not intact or unreadable; %d acceptable (intact, PS 4.1 met, MSSanté environment, signer verified).\n"),
		len(rows), intact, len(rows)-intact, acceptable)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeVerifyCSV(w io.Writer, rows []verifyRow, lang check.Lang) error {
	t := func(fr, en string) string { return check.Text{FR: fr, EN: en}.In(lang) }
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{t("fichier", "file"), t("établissement", "establishment"), "FINESS", t("date du test (UTC)", "test date (UTC)"),
		"PS 4.1", t("environnement", "environment"), t("intégrité", "integrity"), t("signataire", "signer"), t("signataire vérifié", "signer verified"),
		t("empreinte", "fingerprint"), t("recevable", "acceptable"), t("raisons", "reasons"), t("même exécution que", "same run as"), t("problèmes", "problems"), t("couleur", "colour")})
	yes := func(b bool) string {
		if b {
			return t("oui", "yes")
		}
		return t("non", "no")
	}
	ps := map[string]string{"met": t("atteint", "met"), "not-met": t("non atteint", "not met"), "unknown": t("inconnu", "unknown")}
	for _, r := range rows {
		date := ""
		if !r.TestDate.IsZero() {
			date = r.TestDate.UTC().Format("2006-01-02 15:04:05")
		}
		env := "TEST"
		if r.Environment == probe.EnvMSSante {
			env = "MSSanté"
		}
		integrity := t("intègre", "intact")
		if !r.Intact {
			integrity = t("NON INTÈGRE", "NOT INTACT")
		}
		_ = cw.Write([]string{r.File, r.Establishment, r.FINESS, date, ps[r.PS41], env, integrity, r.Signer, yes(r.SignerTrusted),
			r.Fingerprint, yes(r.Acceptable), strings.Join(r.Reasons, " ; "), strings.Join(r.SameRunAs, " ; "), strings.Join(r.Problems, " ; "), r.Colour})
	}
	cw.Flush()
	return cw.Error()
}

// loadCerts reads PEM certificates from a regular file of at most
// maxPEMFile bytes.
func (e *env) loadCerts(flag, path string) ([]*x509.Certificate, error) {
	b, err := e.readRegular(flag, path, maxPEMFile)
	if err != nil {
		return nil, err
	}
	certs, err := trust.ParsePEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	return certs, nil
}

// loadPool reads PEM certificates from a regular file of at most
// maxPEMFile bytes; an empty path gives nil.
func (e *env) loadPool(flag, path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := e.readRegular(flag, path, maxPEMFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, check.Errorf("%s %s : aucun certificat PEM trouvé", "%s %s: no PEM certificate found", flag, path)
	}
	return pool, nil
}
