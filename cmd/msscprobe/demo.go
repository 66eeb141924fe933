package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/evidence"
	"github.com/msscprobe/msscprobe/mocks"
	"github.com/msscprobe/msscprobe/probe"
)

func init() { subcommands = append(subcommands, newDemoCmd) }

// demoCDA is a CDA written for this project with the ANS fictitious test
// identity (INS-NIR de test, OID .10): never real personal data.
//
//go:embed demodata/cda-demo.xml
var demoCDA []byte

// demoPasswordEnv names the variable the demo configuration reads the
// mock's generated password from; the demo serves it in-process, so the
// password never reaches the real environment, argv or any file.
const demoPasswordEnv = "MSSCPROBE_DEMO_PASSWORD"

// demoReplyDelay makes the mock answer after the probe has started waiting,
// so the reply is seen through IMAP IDLE as with a real operator, not found
// already there by the first scan.
const demoReplyDelay = 300 * time.Millisecond

func newDemoCmd(e *env) *cobra.Command {
	var outDir string
	var out *outputFlags
	c := &cobra.Command{
		Use:   e.tr("demo [--out DOSSIER]", "demo [--out DIR]"),
		Short: e.tr("Faire tout le parcours face à un opérateur MSSanté fictif intégré", "Run the whole job against an embedded mock MSSanté operator"),
		Long: e.tr(`Fait tout le parcours PS 4.1 sur la boucle locale, sans configuration ni
réseau : démarre l'opérateur MSSanté fictif, envoie un CDA de test empaqueté en
IHE_XDM.ZIP à la boîte de réponse automatique citoyenne en STARTTLS + AUTH,
attend la réponse corrélée par IMAP IDLE (avec un accusé de lecture), vérifie
le CDA, écrit une preuve signée en PDF livrable (le conteneur signé et chaque
fichier de preuve joints) et la vérifie. Le parcours se fait face à un
opérateur de test : tout ce qu'il produit est marqué TEST.

La configuration, le certificat de l'AC fictive, le CDA de test et l'unique
PDF livrable sont écrits dans --out (par défaut un nouveau dossier
temporaire) : vous pouvez relancer la sonde ou vérifier le PDF vous-même.`, `Run the whole PS 4.1 job on loopback, with no configuration and no network:
start the mock MSSanté operator, send a test CDA packaged as IHE_XDM.ZIP to the
citizen auto-reply mailbox over STARTTLS + AUTH, wait for the correlated reply
through IMAP IDLE (with a read receipt), check the CDA, write a signed evidence
PDF deliverable (the signed container and every evidence file embedded), and
verify it. The run is against a test operator: everything it produces reads
TEST.

The configuration, the mock's CA certificate, the test CDA and the one .pdf
deliverable are written to --out (a new temporary directory by default), so
you can rerun the probe or verify the PDF yourself.`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := out.parse()
			if err != nil {
				return err
			}
			return runDemo(cmd.Context(), e, outDir, l)
		},
	}
	c.Flags().StringVar(&outDir, "out", "", e.tr("dossier de la configuration, de l'AC, du CDA de test et du PDF de preuve (par défaut : un nouveau dossier temporaire)", "directory for the configuration, CA, test CDA and PDF evidence (default: a new temporary directory)"))
	out = addOutputFlags(c)
	return c
}

func runDemo(ctx context.Context, e *env, outDir string, lang check.Lang) error {
	t := func(fr, en string) string { return check.Text{FR: fr, EN: en}.In(lang) }
	if outDir == "" {
		d, err := os.MkdirTemp("", "msscprobe-demo-")
		if err != nil {
			return usageError(check.Errorf("dossier temporaire : %w", "temporary directory: %w", err))
		}
		outDir = d
	} else if err := os.MkdirAll(outDir, 0o755); err != nil {
		return usageError(check.Errorf("--out %s : %w", "--out %s: %w", outDir, err))
	}

	op, err := mocks.Start(ctx, mocks.Config{AutoReplyDelay: demoReplyDelay})
	if err != nil {
		return check.Errorf("opérateur fictif : %w", "mock operator: %w", err)
	}
	defer op.Close()
	acct := op.Accounts()[0]
	fmt.Fprintf(e.stderr, "%s SMTP %s, IMAP %s, %s %s\n",
		t("Opérateur MSSanté fictif :", "Mock MSSanté operator:"), op.SMTPAddr(), op.IMAPAddr(), t("boîte", "mailbox"), acct.Address)

	cfgPath := filepath.Join(outDir, "probe.yaml")
	files := map[string][]byte{
		"ca.pem":               op.CACertPEM(),
		"cda-demo.xml":         demoCDA,
		filepath.Base(cfgPath): demoConfig(op, acct.Address),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(outDir, name), data, 0o644); err != nil {
			return usageError(check.Errorf("--out %s : %w", "--out %s: %w", outDir, err))
		}
	}
	cfg, err := probe.ParseConfig(files[filepath.Base(cfgPath)], cfgPath)
	if err != nil {
		return check.Errorf("configuration de la démonstration : %w", "demo configuration: %w", err)
	}
	getenv := func(k string) string {
		if k == demoPasswordEnv {
			return acct.Password
		}
		return ""
	}
	obs := newProbeObserver(e.stderr, lang, false)
	res, err := probe.Run(ctx, cfg, probe.Options{ToolVersion: toolVersion(), Getenv: getenv, Observer: obs})
	obs.stop()
	if err != nil {
		return check.Errorf("sonde : %w", "probe: %w", err)
	}
	if err := res.WriteText(e.stdout, lang); err != nil {
		return err
	}
	conforms := demoConformance(e, op, acct.Address, lang)

	// The one deliverable an establishment would upload: a signed PDF
	// carrying the container and every evidence file.
	pdfPath := filepath.Join(outDir, "msscprobe-demo.pdf")
	var pdf bytes.Buffer
	if err := evidence.WriteDeliverable(ctx, &pdf, res, evidence.Options{Lang: lang}); err != nil {
		return check.Errorf("preuve : %w", "evidence: %w", err)
	}
	if err := os.WriteFile(pdfPath, pdf.Bytes(), 0o644); err != nil {
		return usageError(check.Errorf("--out %s : %w", "--out %s: %w", outDir, err))
	}
	for _, w := range evidence.DSCheck(pdf.Bytes()) {
		fmt.Fprintf(e.stderr, "%s %s: %s\n", t("attention :", "warning:"), pdfPath, w.In(lang))
	}
	v, err := evidence.VerifyDeliverable(bytes.NewReader(pdf.Bytes()), int64(pdf.Len()), evidence.VerifyOptions{})
	if err != nil {
		return check.Errorf("vérification de %s : %w", "verify %s: %w", pdfPath, err)
	}
	fmt.Fprintln(e.stdout)
	if err := v.WriteText(e.stdout, lang); err != nil {
		return err
	}

	fmt.Fprintf(e.stdout, "\n%s %s\n", t("Durée totale :", "Total time:"), res.Duration().Round(time.Millisecond))
	if res.ReplyLatency > 0 {
		fmt.Fprintf(e.stdout, "%s %s\n", t("Délai envoi → réponse :", "Send → reply latency:"), res.ReplyLatency.Round(time.Millisecond))
	}
	fmt.Fprintf(e.stdout, "%s %s\n", t("Preuve signée (PDF) :", "Signed evidence (PDF):"), pdfPath)
	fmt.Fprintf(e.stdout, "%s msscprobe verify %s\n", t("Pour la vérifier à nouveau :", "To verify it again:"), pdfPath)
	fmt.Fprintf(e.stdout, "%s msscprobe cda check %s\n", t("Pour vérifier le CDA :", "To check the CDA:"), filepath.Join(outDir, "cda-demo.xml"))
	if !res.Met || !v.Valid || !conforms {
		return failed()
	}
	return nil
}

// demoConformance prints the mock's verdict on the message the probe sent
// (the rules of `msscprobe message check`) and whether it conforms.
func demoConformance(e *env, op *mocks.Operator, sender string, lang check.Lang) bool {
	t := func(fr, en string) string { return check.Text{FR: fr, EN: en}.In(lang) }
	vs, _ := op.Verdicts()
	seen, ok := 0, true
	for _, v := range vs {
		if v.From != sender {
			continue
		}
		seen++
		word := t("conforme", "conforming")
		if !v.Result.Passed {
			ok, word = false, t("NON CONFORME", "NOT CONFORMING")
		}
		fmt.Fprintf(e.stdout, "\n%s %s %s\n", t("Règles MSSanté du message envoyé (msscprobe message check) :", "MSSanté rules of the sent message (msscprobe message check):"), v.Result.MessageID, word)
		for _, f := range v.Result.Findings {
			fmt.Fprintf(e.stdout, "  %s %s [%s] %s\n", f.Severity.Label(lang), f.Rule, f.Location, f.Message.In(lang))
		}
	}
	return ok && seen > 0
}

// demoConfig is the probe configuration for the mock, written in the same
// YAML a user writes, so the demo exercises the real configuration path.
func demoConfig(op *mocks.Operator, address string) []byte {
	return append([]byte("# Configuration générée par \"msscprobe demo\" pour l'opérateur fictif.\n"),
		probeYAML("Hôpital de démonstration", address, op.SMTPAddr(), op.IMAPAddr(), fmt.Sprintf(`auth:
  mechanism: plain
  username: %q
  password_env: %s
target: %s@%s
attach: cda-demo.xml
message: {mdn: true}
reply: {mode: auto}
timeouts: {step: 10s, reply: 30s}
`, address, demoPasswordEnv, mocks.AutoReplyLocalPart, op.Config().CitizenDomain))...)
}

// probeYAML is a probe configuration for the STARTTLS servers at smtpAddr
// and imapAddr, whose certificates chain to ca.pem beside the file; rest
// holds the other keys (auth, target, attach, timeouts…), one per line.
func probeYAML(establishment, address, smtpAddr, imapAddr, rest string) []byte {
	server := func(addr string) string {
		h, p, _ := net.SplitHostPort(addr)
		return fmt.Sprintf("{host: %q, port: %s, tls: starttls}", h, p)
	}
	return fmt.Appendf(nil, "establishment: {name: %q, finess: \"000000000\", address: %q}\nsmtp: %s\nimap: %s\ntrust: {ca_file: ca.pem}\n%s",
		establishment, address, server(smtpAddr), server(imapAddr), rest)
}
