package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/probe"
	"github.com/msscprobe/msscprobe/trust"
)

// loadWhitelist reads an ANS whitelist file, a regular file only (a FIFO
// would block the run before anything is checked).
func loadWhitelist(e *env, path string) (*trust.Whitelist, error) {
	f, _, err := e.openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return trust.ParseWhitelist(f, path)
}

func init() { subcommands = append(subcommands, newProbeCmd) }

func newProbeCmd(e *env) *cobra.Command {
	var configPath, whitelistPath string
	var allowProdINS bool
	var out *outputFlags
	var bundle *bundleFlags
	c := &cobra.Command{
		Use: "probe --config probe.yaml",
		Short: e.tr("Faire l'aller-retour PS 4.1 : envoyer à une adresse citoyenne, attendre la réponse",
			"Run the PS 4.1 round trip: send to a citizen address, wait for the reply"),
		Long: e.tr(`Fait l'aller-retour PS 4.1 de SUN-ES avec votre opérateur MSSanté : soumet
un message de test en SMTP à une adresse citoyenne (par défaut la boîte de
réponse automatique de test de Mon espace santé), attend la réponse corrélée
sur votre boîte IMAP, et vérifie chaque étape (DNS, TCP, STARTTLS/TLS,
certificats, authentification, soumission, réception).

Écrivez une configuration avec : msscprobe init > probe.yaml (clés :
docs/probe.md). Les secrets viennent seulement des variables d'environnement
ou des fichiers que la configuration nomme.

Statut de sortie : 0 quand PS 4.1 est atteint, 1 sinon, 2 en cas d'erreur de
configuration, 130 si interrompu (le résultat partiel est quand même affiché).`, `Run the SUN-ES PS 4.1 round trip against your MSSanté operator: submit a test
message over SMTP to a citizen address (by default the Mon espace santé
auto-reply test mailbox), wait for the correlated reply on your IMAP mailbox,
and check every step (DNS, TCP, STARTTLS/TLS, certificates, authentication,
submission, reception).

Write a configuration with: msscprobe init > probe.yaml (keys: docs/probe.md).
Secrets come only from the environment variables or files the configuration
names.

Exit status: 0 when PS 4.1 is met, 1 when not, 2 on configuration errors,
130 when interrupted (the partial result is still printed).`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := out.parse()
			if err != nil {
				return err
			}
			if err := bundle.check(cmd); err != nil {
				return usageError(err)
			}
			if configPath == "" {
				return usageError(check.Errorf("--config est obligatoire (écrivez-en une avec : msscprobe init > probe.yaml)",
					"--config is required (write one with: msscprobe init > probe.yaml)"))
			}
			cfg, err := probe.LoadConfig(configPath)
			if err != nil {
				return usageError(err)
			}
			// Pre-flight: every local input is checked before the first
			// connection (probe.Run checks the configuration, secrets and
			// attachment the same way).
			if err := bundle.prepare(e, time.Now()); err != nil {
				return usageError(err)
			}
			policy := &trust.Policy{}
			if whitelistPath != "" {
				if policy.Whitelist, err = loadWhitelist(e, whitelistPath); err != nil {
					return usageError(check.Errorf("--whitelist : %w", "--whitelist: %w", err))
				}
			}
			obs := newProbeObserver(e.stderr, l, cfg.Reply.Mode == probe.ReplyManual)
			res, err := probe.Run(cmd.Context(), cfg, probe.Options{ToolVersion: toolVersion(), Getenv: e.getenv, Observer: obs,
				Trust: policy, AllowProductionINSToTestMailbox: allowProdINS})
			obs.stop()
			if err != nil {
				return usageError(err)
			}
			// The report comes first, so that it is printed even when
			// writing the evidence fails afterwards.
			switch out.format {
			case "json":
				err = res.WriteJSON(e.stdout)
			case "junit":
				err = res.JUnit(l).Write(e.stdout)
			default:
				err = res.WriteText(e.stdout, l)
			}
			if err != nil {
				return err
			}
			// The bundle is written whatever the verdict: a failed or
			// interrupted run is evidence too. Its path goes to stderr so
			// that JSON and JUnit on stdout stay untouched.
			path, err := bundle.write(context.WithoutCancel(cmd.Context()), e, res, l)
			if err != nil {
				return err
			}
			if path != "" {
				fmt.Fprintf(e.stderr, "%s %s\n", e.tr("Preuve signée :", "Signed evidence:"), path)
			}
			switch {
			case res.Interrupted:
				return &exitError{code: exitSignals}
			case bundle.timestampErr != nil:
				// Already said on stderr when the evidence was written.
				return &exitError{code: exitFailed}
			case !res.Met:
				return failed()
			}
			return nil
		},
	}
	c.Flags().StringVarP(&configPath, "config", "c", "", e.tr("fichier de configuration de la sonde (YAML)", "probe configuration file (YAML)"))
	c.Flags().StringVar(&whitelistPath, "whitelist", "", e.tr(
		"liste blanche MSSanté de l'ANS (listeblanchemssante.xml) plus récente que celle intégrée (du 2025-03-13)",
		"ANS MSSanté whitelist (listeblanchemssante.xml) newer than the built-in one (of 2025-03-13)"))
	c.Flags().BoolVar(&allowProdINS, "allow-production-ins-to-test-mailbox", false, e.tr(
		"autoriser l'envoi d'un document à INS de production (patient réel) à la boîte de réponse automatique de test",
		"allow sending a document with a production INS (a real patient) to the auto-reply test mailbox"))
	out = addOutputFlags(c, "text", "json", "junit")
	bundle = addBundleFlags(e, c)
	return c
}

// probeObserver shows live progress on a terminal: one line per finished
// step and a spinner while waiting. Off a terminal it prints only what the
// operator must act on (manual mode), so logs and stdout stay clean.
type probeObserver struct {
	w      io.Writer
	p      *progress
	lang   check.Lang
	manual bool // the operator must act: always say so

	mu      sync.Mutex
	spinner chan struct{} // closed to stop the spinner
	done    sync.WaitGroup
}

func newProbeObserver(w io.Writer, lang check.Lang, manual bool) *probeObserver {
	return &probeObserver{w: w, p: newProgress(w), lang: lang, manual: manual}
}

func (o *probeObserver) StepStarted(s probe.Step) {
	o.p.Update(true, "… %s", s.Title.In(o.lang))
}

func (o *probeObserver) StepFinished(s probe.Step) {
	o.stop()
	if !o.p.Active() {
		return
	}
	o.p.Done()
	fmt.Fprintf(o.w, "[%-8s] %s (%s)\n", probe.StatusLabel(s.Status, o.lang), s.Title.In(o.lang), s.Duration.Round(time.Millisecond))
}

// Waiting prints what the probe waits for; in manual mode this is the
// instruction to the operator, so it is printed even off a terminal.
func (o *probeObserver) Waiting(what check.Text, until time.Time) {
	if !o.p.Active() {
		if o.manual {
			fmt.Fprintln(o.w, what.In(o.lang))
		}
		return
	}
	o.p.Done()
	fmt.Fprintln(o.w, what.In(o.lang))
	o.mu.Lock()
	defer o.mu.Unlock()
	stop := make(chan struct{})
	o.spinner = stop
	o.done.Add(1)
	go func() {
		defer o.done.Done()
		frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			left := time.Until(until).Round(time.Second)
			o.p.Update(true, "%c %s", frames[i%len(frames)], map[check.Lang]string{check.FR: "attente, reste ", check.EN: "waiting, left "}[o.lang]+left.String())
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
}

// stop ends the spinner, if any.
func (o *probeObserver) stop() {
	o.mu.Lock()
	if o.spinner != nil {
		close(o.spinner)
		o.spinner = nil
	}
	o.mu.Unlock()
	o.done.Wait()
	o.p.Done()
}
