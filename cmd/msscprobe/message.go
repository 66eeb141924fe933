package main

import (
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/msscprobe/msscprobe/cda"
	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/message"
)

func init() { subcommands = append(subcommands, newMessageCmd) }

func newMessageCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "message",
		Short: e.tr("Vérifier des messages MSSanté (en-têtes, IHE_XDM.ZIP, adresse citoyenne)", "Check MSSanté messages (headers, IHE_XDM.ZIP, citizen address)"),
	}
	c.AddCommand(newMessageCheckCmd(e))
	return c
}

func newMessageCheckCmd(e *env) *cobra.Command {
	var (
		out           *outputFlags
		jobs          int
		maxSize       string
		citizenDomain string
	)
	c := &cobra.Command{
		Use:   "check FICHIER.eml|DOSSIER|MBOX|-...",
		Short: e.tr("Vérifier des messages MIME destinés à MSSanté contre les règles du Référentiel #2", "Check MIME messages bound for MSSanté against the Ref#2 rules"),
		Long: e.tr(`Vérifie chaque message (fichier .eml, fichier mbox, dossier parcouru pour *.eml et
*.mbox, ou - pour l'entrée standard) : X-MSS-NIL, X-MSS-CODECDA et X-MSS-INS déduits
de l'IHE_XDM.ZIP, adresse citoyenne construite avec l'INS qualifié du patient du
document, structure et métadonnées de l'archive XDM, visibilité patient, parties
texte en UTF-8, Message-ID/Date/From, In-Reply-To/References, 25 Mo, X-MSS-MES,
Disposition-Notification-To, forme de l'objet. Les règles sont listées dans
docs/message.md.

Code de sortie : 0 si chaque message est conforme, 1 sinon, 2 si une entrée est
illisible ou un paramètre invalide.`, `Checks every message (.eml file, mbox file, folder walked for *.eml and *.mbox,
or - for standard input): X-MSS-NIL, X-MSS-CODECDA and X-MSS-INS derived from the
IHE_XDM.ZIP, citizen address built from the document patient's qualified INS, XDM
archive structure and metadata, patient visibility, UTF-8 text parts,
Message-ID/Date/From, In-Reply-To/References, 25 MB, X-MSS-MES,
Disposition-Notification-To, subject form. The rules are listed in
docs/message.md.

Exit status: 0 when every message conforms, 1 otherwise, 2 when an input is
unreadable or a flag is invalid.`),
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			l, err := out.parse()
			if err != nil {
				return err
			}
			size, err := checkerLimits(maxSize, 0, jobs)
			if err != nil {
				return err
			}
			if e.getenv("GOGC") == "" {
				// Each message allocates a few times its size and keeps
				// nothing: collecting less often saves a quarter of the
				// CPU (bench/message.sh) for about 20 MB more heap.
				defer debug.SetGCPercent(debug.SetGCPercent(400))
			}
			opts := message.Options{MaxSize: size, Jobs: jobs, CitizenDomain: citizenDomain, Stdin: e.stdin,
				CDA: cda.Options{MaxSize: size}}
			prog := newProgress(e.stderr)
			one, many := "message vérifié", "messages vérifiés"
			if l == check.EN {
				one, many = "message checked", "messages checked"
			}
			rep, err := message.Check(cmd.Context(), args, opts, func(done int) {
				prog.Update(false, "message check: %s", plural(l, done, one, many))
			})
			prog.Done()
			if err != nil {
				return inputError(cmd, err)
			}
			switch out.format {
			case "json":
				err = message.WriteJSON(e.stdout, rep)
			case "junit":
				err = message.JUnit("msscprobe message check", rep.Messages, l).Write(e.stdout)
			default:
				err = message.WriteText(e.stdout, rep, l)
			}
			if err != nil {
				return err
			}
			if !rep.Passed() {
				return failed()
			}
			return nil
		},
	}
	out = addOutputFlags(c, "text", "json", "junit")
	f := c.Flags()
	f.IntVar(&jobs, "jobs", 0, e.tr("messages vérifiés en parallèle (0 = tous les cœurs)", "messages checked in parallel (0 = all cores)"))
	f.StringVar(&maxSize, "max-size", "64MiB", e.tr("plus gros message lu, p. ex. 64MiB (au-delà : non vérifié, MSS-001)", "largest message read, e.g. 64MiB (beyond: not checked, MSS-001)"))
	f.StringVar(&citizenDomain, "citizen-domain", message.DefaultCitizenDomain, e.tr("domaine de la messagerie citoyenne", "citizen messaging domain"))
	return c
}
