package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/msscprobe/msscprobe/cda"
	"github.com/msscprobe/msscprobe/check"
)

func init() { subcommands = append(subcommands, newCDACmd) }

func newCDACmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use: "cda",
		Short: e.tr("Vérifier l'INS qualifié des documents CDA et des archives IHE XDM (DS 4.1)",
			"Check CDA documents and IHE XDM archives for a qualified INS (DS 4.1)"),
	}
	c.AddCommand(newCDACheckCmd(e))
	return c
}

func newCDACheckCmd(e *env) *cobra.Command {
	var (
		maxSize    string
		out        *outputFlags
		jobs       int
		production bool
	)
	c := &cobra.Command{
		Use: e.tr("check CHEMIN...", "check PATH..."),
		Short: e.tr("Vérifier des fichiers CDA, des dossiers (*.xml, *.zip, *.eml) et des archives IHE_XDM.ZIP ; - lit l'entrée standard",
			"Check CDA files, folders (*.xml, *.zip, *.eml) and IHE_XDM.ZIP archives; - reads standard input"),
		Long: e.tr(`Vérifie que les documents CDA portent un INS qualifié (indicateur DS 4.1 de SUN-ES).

CHEMIN est un fichier XML CDA, une archive IHE XDM (zip), un message .eml
(ses pièces jointes IHE_XDM.ZIP sont vérifiées), un dossier (parcouru avec ses
sous-dossiers pour les *.xml, *.zip et *.eml, sans distinguer majuscules et
minuscules) ou - pour l'entrée standard. Un fichier XML qui n'est pas un
document CDA est listé à part (« pas un document CDA ») et n'entre pas dans la
part DS 4.1. Chaque règle est décrite dans docs/cda.md.

Statut de sortie : 0 quand chaque document a un INS qualifié (qualifié ou
qualifié de test ; seulement qualifié avec --production) et aucune erreur,
1 quand un document échoue, 2 en cas d'erreur d'utilisation ou d'entrée,
130 si interrompu (les résultats déjà obtenus sont affichés).`, `Check CDA documents for a qualified INS (indicator DS 4.1 of SUN-ES).

PATH is a CDA XML file, an IHE XDM zip, an .eml message (its IHE_XDM.ZIP
attachments are checked), a folder (walked recursively for *.xml, *.zip and
*.eml, case-insensitive) or - for standard input. An XML file that is not a
CDA document is listed apart ("not a CDA document") and left out of the
DS 4.1 share. Every rule is listed in docs/cda.md.

Exit status: 0 when every document has a qualified INS (qualified or
qualified-test; only qualified with --production) and no error finding,
1 when some document fails, 2 on usage or input errors, 130 when
interrupted (the results so far are printed).`),
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := out.parse()
			if err != nil {
				return err
			}
			size, err := checkerLimits(maxSize, cda.MaxSizeLimit, jobs)
			if err != nil {
				return err
			}
			opts := cda.Options{MaxSize: size, Jobs: jobs, Production: production, Stdin: e.stdin}
			prog := newProgress(e.stderr)
			one, many := "fichier vérifié", "fichiers vérifiés"
			if l == check.EN {
				one, many = "file checked", "files checked"
			}
			rep, err := cda.Check(cmd.Context(), args, opts, func(done int) { prog.Update(false, "cda check: %s", plural(l, done, one, many)) })
			prog.Done()
			interrupted := err != nil && cmd.Context().Err() != nil && rep != nil
			if err != nil && !interrupted {
				return inputError(cmd, err)
			}
			switch out.format {
			case "json":
				err = writeCDAJSON(e.stdout, rep)
			case "junit":
				err = cdaJUnit(rep, l, production, args).Write(e.stdout)
			default:
				err = writeCDAText(e.stdout, rep, l, production)
			}
			if err != nil {
				return err
			}
			if interrupted {
				// Ctrl-C: what was checked is printed above; say it is partial.
				n := rep.Summary.Total
				return &exitError{code: exitSignals, err: check.Errorf("interrompu : résultats partiels ci-dessus (%s)", "interrupted: partial results above (%s)",
					check.Text{FR: plural(check.FR, n, "document CDA vérifié", "documents CDA vérifiés"), EN: plural(check.EN, n, "CDA document checked", "CDA documents checked")})}
			}
			if !rep.Passed(production) {
				return failed()
			}
			return nil
		},
	}
	out = addOutputFlags(c, "text", "json", "junit")
	f := c.Flags()
	f.IntVar(&jobs, "jobs", 0, e.tr("documents vérifiés en parallèle (0 = tous les cœurs)", "documents checked in parallel (0 = all cores)"))
	f.BoolVar(&production, "production", false, e.tr("n'accepter que les INS de production (OID .8/.9) : les identités de test et de démonstration échouent",
		"pass only production INS (OID .8/.9): test and demo identities fail"))
	f.StringVar(&maxSize, "max-size", "32MiB", e.tr("plus grande entrée lue, par exemple 32MiB, 500KB, 1048576 (au plus 256MiB)", "largest input read, e.g. 32MiB, 500KB, 1048576 (at most 256MiB)"))
	return c
}

// inputError is how a checker's error leaves the command: as is when the
// user interrupted (exit 130), else as an unreadable input (exit 2).
func inputError(cmd *cobra.Command, err error) error {
	if cmd.Context().Err() != nil {
		return err
	}
	return usageError(err)
}

// checkerLimits reads the --max-size and --jobs flags that `cda check` and
// `message check` share; limit > 0 caps the size. A bad value is a usage
// error naming the flag.
func checkerLimits(maxSize string, limit int64, jobs int) (int64, error) {
	size, err := parseSize(maxSize)
	if err != nil {
		return 0, usageError(check.Errorf("--max-size : %w", "--max-size: %w", err))
	}
	if limit > 0 && size > limit {
		return 0, usageError(check.Errorf("--max-size %s : au plus %dMiB", "--max-size %s: at most %dMiB", maxSize, limit>>20))
	}
	if jobs < 0 {
		return 0, usageError(check.Errorf("--jobs %d : 1 ou plus attendu (0 = tous les cœurs)", "--jobs %d: want 1 or more (0 = all cores)", jobs))
	}
	return size, nil
}

// parseSize reads a byte count with an optional K/M/G suffix (KB and KiB
// alike are 1024: sizes here are limits, not marketing).
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(t, u.suf) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suf)), u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, check.Errorf("%q : taille de 1 octet à 1024GiB attendue, par exemple 32MiB", "%q: want a size from 1 byte to 1024GiB, such as 32MiB", s)
	}
	return n * mult, nil
}

func writeCDAText(w io.Writer, r *cda.Report, l check.Lang, production bool) error {
	var b strings.Builder
	sep := map[check.Lang]string{check.FR: " : ", check.EN: ": "}[l]
	var notCDA []string
	for _, d := range r.Documents {
		if d.Status == cda.StatusNotCDA {
			notCDA = append(notCDA, d.Path)
			continue
		}
		line := d.Path + sep + d.Status.Label(l)
		if production && d.Status == cda.StatusQualifiedTest {
			line += map[check.Lang]string{check.FR: ", REFUSÉ avec --production", check.EN: ", REFUSED with --production"}[l]
		}
		if d.INS != nil {
			line += fmt.Sprintf(" (INS %s, OID %s)", d.INS.Value, d.INS.OID)
		}
		if d.Code != "" {
			line += fmt.Sprintf(" [code %s]", d.Code)
		}
		b.WriteString(oneLine(line) + "\n")
		for _, f := range d.Findings {
			line := fmt.Sprintf("  %s %s", f.Severity.Label(l), f.Rule)
			if f.Location != "" {
				line += fmt.Sprintf(" [%s]", f.Location)
			}
			b.WriteString(oneLine(line+sep+f.Message.In(l)) + "\n")
		}
	}
	if len(notCDA) > 0 {
		// Listed apart: other XML files found in the folders (XDM
		// METADATA.XML, indexes), outside the DS 4.1 share.
		b.WriteString(map[check.Lang]string{check.FR: "Pas des documents CDA (hors part DS 4.1) :", check.EN: "Not CDA documents (outside the DS 4.1 share):"}[l] + "\n")
		for _, p := range notCDA {
			b.WriteString(oneLine("  "+p) + "\n")
		}
	}
	b.WriteString(summaryLine(r.Summary, l) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// oneLine keeps what comes from the inputs (file and archive member names,
// values read in documents) on one harmless line: control characters such
// as newlines or terminal escapes become U+FFFD.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return utf8.RuneError
		}
		return r
	}, s)
}

// plural writes n and the noun in the form lang wants: French keeps 0 and 1
// singular, English only 1.
func plural(l check.Lang, n int, one, many string) string {
	if n == 1 || n == 0 && l == check.FR {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// summaryLine gives the counts per status and the share of documents with a
// qualified INS (the DS 4.1 numerator over denominator).
func summaryLine(s cda.Summary, l check.Lang) string {
	sep := map[check.Lang]string{check.FR: " : ", check.EN: ": "}[l]
	var parts []string
	for i := len(cda.Statuses) - 1; i >= 0; i-- {
		st := cda.Statuses[i]
		if st == cda.StatusNotCDA {
			continue // not in the DS 4.1 count: said after it
		}
		parts = append(parts, fmt.Sprintf("%s%s%d", st.Label(l), sep, s.ByStatus[st]))
	}
	apart := ""
	if n := s.ByStatus[cda.StatusNotCDA]; n > 0 {
		apart = map[check.Lang]string{check.FR: fmt.Sprintf(" (et %s, hors part)", plural(l, n, "fichier qui n'est pas un document CDA", "fichiers qui ne sont pas des documents CDA")),
			check.EN: fmt.Sprintf(" (and %s, outside the share)", plural(l, n, "file that is not a CDA document", "files that are not CDA documents"))}[l]
	}
	pct := fmt.Sprintf("%.1f", 100*s.QualifiedShare)
	docs := plural(l, s.Total, "document", "documents")
	if l == check.EN {
		return fmt.Sprintf("%s — %s; qualified INS share: %s%%%s", docs, strings.Join(parts, ", "), pct, apart)
	}
	return fmt.Sprintf("%s — %s ; part avec INS qualifié : %s %%%s", docs, strings.Join(parts, ", "), strings.Replace(pct, ".", ",", 1), apart)
}

func writeCDAJSON(w io.Writer, r *cda.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// cdaJUnit renders one test case per document, failing exactly when the
// document makes the exit status 1.
func cdaJUnit(r *cda.Report, l check.Lang, production bool, args []string) *check.JUnitSuites {
	su := check.JUnitSuite{Name: "msscprobe cda check", Properties: []check.JUnitProperty{
		{Name: "qualified_share", Value: strconv.FormatFloat(r.Summary.QualifiedShare, 'f', 4, 64)},
		{Name: "production", Value: strconv.FormatBool(production)},
	}}
	for _, d := range r.Documents {
		c := check.JUnitCase{ClassName: "cda." + string(d.Status), Name: junitName(d.Path, args)}
		var body strings.Builder
		for _, f := range d.Findings {
			fmt.Fprintf(&body, "%s %s [%s] %s\n", f.Severity.Label(l), f.Rule, f.Location, f.Message.In(l))
		}
		if !d.Passed(production) {
			msg := d.Status.Label(l)
			for _, f := range d.Findings {
				if f.Severity == check.Error {
					msg += " — " + f.Rule + " " + f.Message.In(l)
					break
				}
			}
			c.Failure = &check.JUnitMessage{Message: msg, Type: string(d.Status), Body: body.String()}
		} else if body.Len() > 0 {
			c.SystemOut = body.String()
		}
		su.Cases = append(su.Cases, c)
	}
	return &check.JUnitSuites{Name: "msscprobe", Suites: []check.JUnitSuite{su}}
}

// junitName names a test case by a path that does not depend on where the
// check ran: relative to the argument it was found under, starting with
// that argument's last element, with forward slashes (sortie/a.xml,
// sortie/IHE_XDM.ZIP!IHE_XDM/SUBSET01/DOC0001.XML), so that CI tools can
// follow one document from run to run in different checkout folders.
func junitName(p string, args []string) string {
	member := ""
	if i := strings.Index(p, "!"); i >= 0 {
		p, member = p[:i], p[i:]
	}
	for _, a := range args {
		if a == "-" {
			continue
		}
		c := filepath.Clean(a)
		base := filepath.Base(c)
		if p == c {
			return filepath.ToSlash(base) + member
		}
		if rel, ok := strings.CutPrefix(p, c+string(filepath.Separator)); ok {
			return filepath.ToSlash(filepath.Join(base, rel)) + member
		}
	}
	return filepath.ToSlash(p) + member
}
