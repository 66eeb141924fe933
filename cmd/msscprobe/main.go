// Command msscprobe proves, and checks, that a health establishment can
// exchange secure messages with patients through MSSanté citizen messaging
// (SUN-ES prerequisite PS 4.1, indicator DS 4.1).
//
// This package only parses flags and renders output; the logic lives in
// packages cda, probe, evidence and mocks.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/msscprobe/msscprobe/check"
)

// version, commit and date are set at link time by the release build
// (.goreleaser.yaml: -X main.version=… -X main.commit=… -X main.date=…, the
// date being the commit's, so that a rebuild gives the same bytes); a
// developer build uses the module and VCS information Go records.
var (
	version = ""
	commit  = ""
	date    = ""
)

func toolVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// versionLine is what `msscprobe version` and `--version` print after the
// name: the version, then the commit and its date when known.
func versionLine() string {
	c, d := commit, date
	if c == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					c = s.Value
				case "vcs.time":
					d = s.Value
				}
			}
		}
	}
	var extra []string
	if c != "" {
		extra = append(extra, "commit "+c)
	}
	if d != "" {
		extra = append(extra, d)
	}
	if len(extra) == 0 {
		return toolVersion()
	}
	return toolVersion() + " (" + strings.Join(extra, ", ") + ")"
}

// Exit codes shared by every subcommand.
const (
	exitOK      = 0
	exitFailed  = 1 // the check ran and something does not pass
	exitUsage   = 2 // bad flags, bad configuration, unreadable input
	exitSignals = 130
)

// exitError carries an exit code through cobra's error return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as a usage or input problem (exit 2).
func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

// failed ends a command that ran fine but whose verdict is negative (exit
// 1), with nothing more to print.
func failed() error { return &exitError{code: exitFailed} }

// env gives commands their I/O so tests can run them in-process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// getenv reads secrets named in configuration (never argv).
	getenv func(string) string
	// lang is the language of help and error texts, set by run (uiLang).
	lang check.Lang
}

func newRootCmd(e *env) *cobra.Command {
	root := &cobra.Command{
		Use: "msscprobe",
		Short: e.tr("Prouver et vérifier la messagerie citoyenne MSSanté (SUN-ES PS 4.1, DS 4.1)",
			"Prove and check MSSanté citizen messaging (SUN-ES PS 4.1, DS 4.1)"),
		Long: e.tr(`msscprobe prouve qu'un établissement de santé peut échanger des messages
sécurisés avec les patients par la messagerie citoyenne MSSanté (Mon espace
santé), et vérifie que les documents CDA portent un INS qualifié.

  msscprobe demo                  tout le parcours face à un opérateur fictif intégré
  msscprobe init > probe.yaml     écrire une configuration de sonde commentée
  msscprobe probe --config F      faire l'aller-retour PS 4.1 avec les vrais serveurs
  msscprobe cda check CHEMIN...   vérifier des documents CDA et des archives IHE XDM
  msscprobe message check CHEMIN...   vérifier des messages MSSanté (.eml, mbox)
  msscprobe verify FICHIER.pdf|DOSSIER   vérifier une preuve signée : livrables PDF, conteneurs, dossiers
  msscprobe mock serve            lancer l'opérateur MSSanté fictif (tests, CI)

Textes en français par défaut ; --lang en ou MSSCPROBE_LANG=en pour l'anglais.`,
			`msscprobe proves that a health establishment can exchange secure messages with
patients through MSSanté citizen messaging (Mon espace santé), and checks that
CDA documents carry a qualified INS.

  msscprobe demo                  the whole job against an embedded mock operator
  msscprobe init > probe.yaml     write an annotated probe configuration
  msscprobe probe --config F      run the PS 4.1 round trip against real servers
  msscprobe cda check PATH...     check CDA documents and IHE XDM archives
  msscprobe message check PATH... check MSSanté messages (.eml, mbox)
  msscprobe verify FILE.pdf|DIR   verify signed evidence: PDF deliverables, containers, folders
  msscprobe mock serve            run the mock MSSanté operator for tests and CI

Text is in French by default; --lang en or MSSCPROBE_LANG=en for English.`),
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.AddCommand(newVersionCmd(e))
	for _, add := range subcommands {
		root.AddCommand(add(e))
	}
	e.localize(root)
	return root
}

// subcommands is filled by the init functions of the command files, so each
// feature's flags stay next to its rendering code.
var subcommands []func(*env) *cobra.Command

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: e.tr("Affiche la version, le commit et sa date", "Print the version, the commit and its date"),
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(e.stdout, "msscprobe %s\n", versionLine())
			return err
		},
	}
}

// run executes the CLI and returns the process exit code.
func run(ctx context.Context, args []string, e *env) int {
	e.lang = uiLang(args, e.getenv)
	root := newRootCmd(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitUsage
	var ee *exitError
	msg := check.ErrorText(cobraError(err), e.lang)
	if errors.As(err, &ee) {
		code = ee.code
	} else if errors.Is(err, context.Canceled) {
		// The user pressed Ctrl-C: say so, not the library's wording.
		code, msg = exitSignals, e.tr("interrompu", "interrupted")
	}
	if msg != "" {
		fmt.Fprintf(e.stderr, "msscprobe: %s\n", msg)
	}
	return code
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}
