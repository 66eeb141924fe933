package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/msscprobe/msscprobe/check"
	"github.com/msscprobe/msscprobe/message"
	"github.com/msscprobe/msscprobe/mocks"
	"github.com/msscprobe/msscprobe/probe"
)

func init() { subcommands = append(subcommands, newMockCmd) }

func newMockCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mock",
		Short: e.tr("Opérateur MSSanté et MSS citoyenne fictifs pour les tests et la CI", "Mock MSSanté operator and MSS citoyenne for tests and CI"),
	}
	cmd.AddCommand(newMockServeCmd(e))
	return cmd
}

// mockFile is the YAML --config of mock serve; flags given on the command
// line override it.
type mockFile struct {
	ListenSMTP           string        `yaml:"listen_smtp"`
	ListenSMTPS          string        `yaml:"listen_smtps"`
	ListenIMAP           string        `yaml:"listen_imap"`
	ListenIMAPS          string        `yaml:"listen_imaps"`
	ListenHTTP           string        `yaml:"listen_http"`
	EstablishmentDomains []string      `yaml:"establishment_domains"`
	CitizenDomain        string        `yaml:"citizen_domain"`
	Accounts             string        `yaml:"accounts"`
	CitizenAccounts      string        `yaml:"citizen_accounts"`
	PasswordOut          string        `yaml:"password_out"`
	CAOut                string        `yaml:"ca_out"`
	Cert                 string        `yaml:"cert"`
	Key                  string        `yaml:"key"`
	AutoReplyDelay       time.Duration `yaml:"auto_reply_delay"`
	AutoReplyCitizens    bool          `yaml:"auto_reply_citizens"`
	TrustedDomains       []string      `yaml:"trusted_domains"`
	Whitelist            string        `yaml:"whitelist"`
	NILMode              string        `yaml:"nil_mode"`
	MaxMessageBytes      int64         `yaml:"max_message_bytes"`
	MaxInFlightBytes     int64         `yaml:"max_inflight_bytes"`
	Faults               []string      `yaml:"faults"`
	RateLimits           []string      `yaml:"rate_limits"`
	Store                string        `yaml:"store"`
	Conformance          string        `yaml:"conformance"`
	Report               string        `yaml:"report"`
	Log                  string        `yaml:"log"`
	mockPKIFlags         `yaml:",inline"`
}

func newMockServeCmd(e *env) *cobra.Command {
	var f mockFile
	var configPath string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: e.tr("Lancer l'opérateur fictif jusqu'à interruption", "Run the mock operator until interrupted"),
		Long: e.tr(`Lance un opérateur MSSanté fictif (soumission SMTP + IMAP) avec le côté
MSS citoyenne (patient.mssante.fr, boîte de réponse automatique
reponse.automatique-test@), sur la boucle locale. Il affiche où il écoute et
les comptes qu'il sert, puis une ligne « ready ». Les lignes listen, account,
ready… gardent ces mots-clés, lus par les scripts de CI.

Fichier de comptes : une ligne « adresse mot-de-passe » par compte (« - » pour
aucun mot de passe), avec en option « token=JETON » (XOAUTH2) et
« client-cert » ; # commence un commentaire. Sans --accounts,
medecin@<domaine> est créé avec un mot de passe généré, écrit dans
--password-out (par défaut un nouveau fichier 0600 du dossier temporaire, dont
le chemin est affiché) : les secrets ne vont jamais sur la sortie standard,
qui finit dans les journaux de CI.

Au moins un écouteur doit rester actif (« off » en désactive un).

Pannes (--fault, répétable ; NOM[=VALEUR][@PROBABILITÉ][#NOMBRE]) :
  connect=CODE auth=CODE mail=CODE rcpt=CODE data=CODE   code SMTP sur une phase
  greylist=N          451 aux N premiers essais de chaque couple expéditeur/destinataire
  drop-data           connexion coupée pendant DATA
  delay-PHASE=DURÉE   PHASE : connect ehlo auth mail rcpt data
  bounce[=CODE]       accepté, puis un DSN signale l'échec
  no-reply            le côté citoyen ne répond jamais
  reply-no-in-reply-to  répond sans In-Reply-To/References
  starttls-missing    STARTTLS non proposé
  tls-expired tls-self-signed tls-wrong-host   certificat serveur défectueux
  tls-revoked         certificat serveur révoqué (la CRL et OCSP le disent)
  ocsp-down crl-down  le répondeur OCSP / le point de distribution de CRL répondent 503
  tls-legacy          TLS 1.0/1.1 seulement
  imap-idle-drop      connexion IMAP coupée au début d'IDLE

Les pannes qui surviennent une fois l'enveloppe connue acceptent des
sélecteurs : « ,to=ADRESSE » (rcpt data greylist bounce drop-data delay-rcpt
delay-data) et « ,from=ADRESSE » (les mêmes, plus mail delay-mail), par exemple
rcpt=550,to=ADRESSE.

Limites de débit (--rate-limit, répétable ; PORTÉE=N/UNITÉ[,burst=B][,code=421|451]) :
un seau à jetons par adresse IP cliente (client) ou par compte authentifié
(account), un jeton par message ; seau vide, MAIL FROM reçoit 451 4.7.0, ou
421 4.7.0 et la connexion est fermée. Par exemple client=5/s,
account=100/h,burst=10,code=421.

--listen-http ADRESSE sert une API HTTP (messages avec leur verdict de
conformité, événements, pannes et limites modifiables en cours de route,
remise à zéro ; OpenAPI sur /api/v1/openapi.json) et une page sur /
(boucle locale uniquement : aucune authentification).`, `Run a mock MSSanté operator (SMTP submission + IMAP) with the MSS citoyenne side
(patient.mssante.fr, auto-reply mailbox reponse.automatique-test@), on loopback.
It prints where it listens and the accounts it serves, then a line "ready".

Accounts file: one "address password" per line ("-" for no password), optional
"token=TOKEN" (XOAUTH2) and "client-cert" words; # starts a comment. Without
--accounts, medecin@<domain> is created with a generated password written to
--password-out (default: a new 0600 file in the temp directory, path printed):
secrets never go to stdout, which ends up in CI logs.

Faults (--fault, repeatable; NAME[=VALUE][@PROBABILITY][#COUNT]):
  connect=CODE auth=CODE mail=CODE rcpt=CODE data=CODE   SMTP code on a phase
  greylist=N          451 on the first N tries of each sender/recipient pair
  drop-data           connection dropped during DATA
  delay-PHASE=DUR     PHASE: connect ehlo auth mail rcpt data
  bounce[=CODE]       accepted, then a DSN reports the failure
  no-reply            the citizen side never answers
  reply-no-in-reply-to  answers without In-Reply-To/References
  starttls-missing    STARTTLS not offered
  tls-expired tls-self-signed tls-wrong-host   broken server certificate
  tls-revoked         server certificate revoked (CRL and OCSP say so)
  ocsp-down crl-down  OCSP responder / CRL distribution point answer 503
  tls-legacy          TLS 1.0/1.1 only
  imap-idle-drop      IMAP connection dropped when IDLE starts

At least one listener must stay on ("off" disables one).

Faults that happen once the envelope is known take selectors: ",to=ADDRESS"
(rcpt data greylist bounce drop-data delay-rcpt delay-data) and
",from=ADDRESS" (the same and mail delay-mail), e.g. rcpt=550,to=ADDRESS.

Rate limits (--rate-limit, repeatable; SCOPE=N/UNIT[,burst=B][,code=421|451]):
a token bucket per client IP (client) or per authenticated account (account),
one token per message; empty, MAIL FROM gets 451 4.7.0, or 421 4.7.0 and the
connection is closed. E.g. client=5/s, account=100/h,burst=10,code=421.

--listen-http ADDR serves an HTTP API (messages with their conformance verdict,
events, faults and rate limits at run time, reset; OpenAPI at
/api/v1/openapi.json) and a page at / (loopback only: no authentication).`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath != "" {
				if err := mergeMockFile(configPath, &f, cmd); err != nil {
					return usageError(err)
				}
			}
			return runMockServe(cmd.Context(), e, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&configPath, "config", "", e.tr("fichier de configuration YAML (clés : les options longues, avec _)", "YAML configuration file (keys as the long flags, with _)"))
	fl.StringVar(&f.ListenSMTP, "listen-smtp", "127.0.0.1:0", e.tr(`écoute de soumission avec STARTTLS (« off » la désactive)`, `submission listener with STARTTLS ("off" disables)`))
	fl.StringVar(&f.ListenSMTPS, "listen-smtps", "127.0.0.1:0", e.tr("écoute de soumission en TLS implicite", "submission listener with implicit TLS"))
	fl.StringVar(&f.ListenIMAP, "listen-imap", "127.0.0.1:0", e.tr("écoute IMAP avec STARTTLS", "IMAP listener with STARTTLS"))
	fl.StringVar(&f.ListenIMAPS, "listen-imaps", "127.0.0.1:0", e.tr("écoute IMAP en TLS implicite", "IMAP listener with implicit TLS"))
	fl.StringVar(&f.ListenHTTP, "listen-http", "", e.tr("API HTTP et page web, sur la boucle locale uniquement (ex. 127.0.0.1:8025 ; vide = aucune)",
		"HTTP API and web page, loopback only (e.g. 127.0.0.1:8025; empty = none)"))
	fl.StringSliceVar(&f.EstablishmentDomains, "establishment-domain", nil, e.tr("domaine de messagerie de l'établissement (répétable ; par défaut hopital.test.mssante.fr)", "establishment mail domain (repeatable; default hopital.test.mssante.fr)"))
	fl.StringVar(&f.CitizenDomain, "citizen-domain", "", e.tr("domaine citoyen (par défaut patient.mssante.fr)", "citizen domain (default patient.mssante.fr)"))
	fl.StringVar(&f.Accounts, "accounts", "", e.tr("fichier des comptes de l'établissement", "establishment accounts file"))
	fl.StringVar(&f.CitizenAccounts, "citizen-accounts", "", e.tr("fichier des comptes citoyens (citoyens qui se connectent pour répondre eux-mêmes)", "citizen accounts file (citizens who log in to reply themselves)"))
	fl.StringVar(&f.PasswordOut, "password-out", "", e.tr("fichier qui reçoit le mot de passe généré du compte par défaut", "file receiving the generated password of the default account"))
	fl.StringVar(&f.CAOut, "ca-out", "", e.tr("écrire le certificat de l'AC (PEM) dans ce fichier", "write the CA certificate (PEM) to this file"))
	fl.StringVar(&f.Cert, "cert", "", e.tr("certificat serveur PEM (avec --key) ; généré sinon", "server certificate PEM (with --key); generated otherwise"))
	fl.StringVar(&f.Key, "key", "", e.tr("clé privée PEM du serveur", "server private key PEM"))
	fl.DurationVar(&f.AutoReplyDelay, "auto-reply-delay", 0, e.tr("délai avant la réponse automatique citoyenne (par exemple 300ms, 2s)", "delay before the citizen auto-reply (e.g. 300ms, 2s)"))
	fl.BoolVar(&f.AutoReplyCitizens, "auto-reply-citizens", false, e.tr("toutes les boîtes citoyennes répondent automatiquement, pas seulement reponse.automatique-test@", "every citizen mailbox auto-replies, not only reponse.automatique-test@"))
	fl.StringSliceVar(&f.TrustedDomains, "trusted-domain", nil, e.tr("domaine expéditeur de l'espace de confiance (répétable ; par défaut : domaines de l'établissement et citoyen)", "trust-space sender domain (repeatable; default: establishment and citizen domains)"))
	fl.StringVar(&f.Whitelist, "whitelist", "", e.tr("liste blanche ANS en XML (listeblanchemssante.xml) qui donne l'espace de confiance", "ANS whitelist XML (listeblanchemssante.xml) giving the trust space"))
	fl.StringVar(&f.NILMode, "nil-mode", "warn", e.tr("X-MSS-NIL absent : warn (avertir) ou refuse (refuser)", "missing X-MSS-NIL: warn or refuse"))
	fl.Int64Var(&f.MaxMessageBytes, "max-message-bytes", 0, e.tr("taille maximale d'un message (par défaut 25 Mo)", "maximum message size (default 25 MB)"))
	fl.Int64Var(&f.MaxInFlightBytes, "max-inflight-bytes", 0, e.tr("mémoire pour les messages en cours de réception, DATA et APPEND ensemble (par défaut 128 Mio) ; au-delà 452 / NO [LIMIT]",
		"memory for messages being received, DATA and APPEND together (default 128 MiB); past it 452 / NO [LIMIT]"))
	fl.StringArrayVar(&f.Faults, "fault", nil, e.tr("injecter une panne (répétable, voir plus haut)", "inject a fault (repeatable, see above)"))
	fl.StringArrayVar(&f.RateLimits, "rate-limit", nil, e.tr("limite de débit par client ou par compte (répétable, voir plus haut)",
		"rate limit per client or per account (repeatable, see above)"))
	fl.StringVar(&f.Store, "store", "", e.tr("garder les boîtes dans ce dossier (un redémarrage ne perd rien)", "keep mailboxes in this directory (a restart loses nothing)"))
	fl.StringVar(&f.Conformance, "conformance", mocks.ConformanceWarn, e.tr(
		"règles MSSanté sur chaque message reçu : warn (verdict enregistré), refuse (550 [MSS-xxx] si non conforme) ou off",
		"MSSanté rules on every received message: warn (verdict recorded), refuse (550 [MSS-xxx] when not conforming) or off"))
	fl.StringVar(&f.Report, "report", "", e.tr(
		"écrire à l'arrêt un rapport JUnit (un cas de test par message reçu) dans ce fichier",
		"write a JUnit report (one test case per message received) to this file at exit"))
	fl.StringVar(&f.Log, "log", "", e.tr(`fichier journal des événements en lignes JSON (« - » = sortie d'erreur)`, `JSON lines event log file ("-" = stderr)`))
	f.mockPKIFlags.addFlags(e, fl)
	return cmd
}

// mergeMockFile loads the YAML file into f, keeping the flags set on the
// command line.
func mergeMockFile(path string, f *mockFile, cmd *cobra.Command) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return check.Errorf("--config : %w", "--config: %w", err)
	}
	var y mockFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&y); err != nil && !errors.Is(err, io.EOF) {
		return mockYAMLError(path, err)
	}
	fromYAML(cmd, "listen-smtp", &f.ListenSMTP, y.ListenSMTP)
	fromYAML(cmd, "listen-smtps", &f.ListenSMTPS, y.ListenSMTPS)
	fromYAML(cmd, "listen-imap", &f.ListenIMAP, y.ListenIMAP)
	fromYAML(cmd, "listen-imaps", &f.ListenIMAPS, y.ListenIMAPS)
	fromYAML(cmd, "listen-http", &f.ListenHTTP, y.ListenHTTP)
	fromYAML(cmd, "citizen-domain", &f.CitizenDomain, y.CitizenDomain)
	fromYAML(cmd, "accounts", &f.Accounts, y.Accounts)
	fromYAML(cmd, "citizen-accounts", &f.CitizenAccounts, y.CitizenAccounts)
	fromYAML(cmd, "password-out", &f.PasswordOut, y.PasswordOut)
	fromYAML(cmd, "ca-out", &f.CAOut, y.CAOut)
	fromYAML(cmd, "cert", &f.Cert, y.Cert)
	fromYAML(cmd, "key", &f.Key, y.Key)
	fromYAML(cmd, "whitelist", &f.Whitelist, y.Whitelist)
	fromYAML(cmd, "nil-mode", &f.NILMode, y.NILMode)
	fromYAML(cmd, "store", &f.Store, y.Store)
	fromYAML(cmd, "conformance", &f.Conformance, y.Conformance)
	fromYAML(cmd, "report", &f.Report, y.Report)
	fromYAML(cmd, "log", &f.Log, y.Log)
	if !cmd.Flags().Changed("establishment-domain") && len(y.EstablishmentDomains) > 0 {
		f.EstablishmentDomains = y.EstablishmentDomains
	}
	if !cmd.Flags().Changed("trusted-domain") && len(y.TrustedDomains) > 0 {
		f.TrustedDomains = y.TrustedDomains
	}
	f.mockPKIFlags.merge(y.mockPKIFlags, cmd)
	fromYAML(cmd, "auto-reply-citizens", &f.AutoReplyCitizens, y.AutoReplyCitizens)
	fromYAML(cmd, "auto-reply-delay", &f.AutoReplyDelay, y.AutoReplyDelay)
	fromYAML(cmd, "max-message-bytes", &f.MaxMessageBytes, y.MaxMessageBytes)
	fromYAML(cmd, "max-inflight-bytes", &f.MaxInFlightBytes, y.MaxInFlightBytes)
	// Faults and rate limits add up: the file's, then the command line's.
	f.Faults = append(y.Faults, f.Faults...)
	f.RateLimits = append(y.RateLimits, f.RateLimits...)
	return nil
}

// fromYAML takes the --config value v into dst unless the command line
// set flag or v is the zero value (the file left the key out).
func fromYAML[T comparable](cmd *cobra.Command, flag string, dst *T, v T) {
	var zero T
	if v != zero && !cmd.Flags().Changed(flag) {
		*dst = v
	}
}

// maxMockRateLimits bounds the rate limits of one mock (flags and YAML).
const maxMockRateLimits = 100

var (
	yamlLineRE     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type`)
	badValueRE     = regexp.MustCompile("^cannot unmarshal !!\\w+ (`[^`]*`|\\S+) into (\\S+)$")
)

// mockYAMLError says what is wrong in the --config file as file:line:
// problem; an unknown key says what the keys are, not the Go type behind
// them. The YAML parser's own wording of a syntax error stays as it is.
func mockYAMLError(path string, err error) error {
	var lines []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		lines = te.Errors
	} else {
		lines = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var errs []error
	for _, l := range lines {
		where, what := path, l
		if m := yamlLineRE.FindStringSubmatch(l); m != nil {
			where, what = path+":"+m[1], m[2]
		}
		if m := unknownFieldRE.FindStringSubmatch(what); m != nil {
			errs = append(errs, check.Errorf("--config %s : clé inconnue %q (les clés sont les options longues de mock serve, avec _ au lieu de -)",
				"--config %s: unknown key %q (the keys are mock serve's long flags, with _ for -)", where, m[1]))
			continue
		}
		if m := badValueRE.FindStringSubmatch(what); m != nil {
			want := check.Text{FR: m[2], EN: m[2]}
			switch {
			case strings.HasPrefix(m[2], "int"), strings.HasPrefix(m[2], "uint"):
				want = check.Text{FR: "un nombre entier", EN: "a whole number"}
			case m[2] == "bool":
				want = check.Text{FR: "true ou false", EN: "true or false"}
			case strings.HasPrefix(m[2], "[]"):
				want = check.Text{FR: "une liste", EN: "a list"}
			case m[2] == "time.Duration":
				want = check.Text{FR: "une durée (par exemple 2s)", EN: "a duration (e.g. 2s)"}
			}
			errs = append(errs, check.Errorf("--config %s : valeur %s ; attendu : %s", "--config %s: value %s: want %s", where, m[1], want))
			continue
		}
		if te != nil {
			errs = append(errs, check.Errorf("--config %s : valeur invalide : %s", "--config %s: invalid value: %s", where, what))
			continue
		}
		syntax := probe.YAMLSyntax(what)
		errs = append(errs, check.Errorf("--config %s : YAML invalide : %s", "--config %s: invalid YAML: %s", where, syntax))
	}
	return errors.Join(errs...)
}

func (f mockFile) config(e *env) (mocks.Config, func() error, error) {
	cfg := mocks.Config{
		ListenSMTP: f.ListenSMTP, ListenSMTPS: f.ListenSMTPS, ListenIMAP: f.ListenIMAP, ListenIMAPS: f.ListenIMAPS, ListenHTTP: f.ListenHTTP,
		EstablishmentDomains: f.EstablishmentDomains, CitizenDomain: f.CitizenDomain,
		CertFile: f.Cert, KeyFile: f.Key, AutoReplyDelay: f.AutoReplyDelay, AutoReplyCitizens: f.AutoReplyCitizens,
		TrustedDomains: f.TrustedDomains, NILMode: f.NILMode, MaxMessageBytes: f.MaxMessageBytes, StoreDir: f.Store,
		MaxInFlightBytes: f.MaxInFlightBytes, Conformance: f.Conformance,
	}
	closeLog := func() error { return nil }
	var err error
	if f.AutoReplyDelay < 0 {
		return cfg, closeLog, check.Errorf("--auto-reply-delay %s : ne doit pas être négatif", "--auto-reply-delay %s: must not be negative", f.AutoReplyDelay)
	}
	if f.ListenSMTP == "off" && f.ListenSMTPS == "off" && f.ListenIMAP == "off" && f.ListenIMAPS == "off" {
		// Nothing could ever connect: refuse rather than run an operator
		// that only waits for Ctrl-C.
		return cfg, closeLog, check.Errorf("--listen-smtp, --listen-smtps, --listen-imap et --listen-imaps sont tous « off » : l'opérateur fictif ne servirait rien ; gardez au moins une écoute (par exemple --listen-smtp 127.0.0.1:3587)",
			"--listen-smtp, --listen-smtps, --listen-imap and --listen-imaps are all \"off\": the mock operator would serve nothing; keep at least one listener (e.g. --listen-smtp 127.0.0.1:3587)")
	}
	if err := f.mockPKIFlags.apply(e, &cfg); err != nil {
		return cfg, closeLog, err
	}
	if cfg.Faults, err = parseSpecs("--fault", f.Faults, mocks.ParseFault); err != nil {
		return cfg, closeLog, err
	}
	if len(f.RateLimits) > maxMockRateLimits {
		return cfg, closeLog, check.Errorf("--rate-limit : %d limites, au plus %d", "--rate-limit: %d limits, at most %d", len(f.RateLimits), maxMockRateLimits)
	}
	if cfg.RateLimits, err = parseSpecs("--rate-limit", f.RateLimits, mocks.ParseRateLimit); err != nil {
		return cfg, closeLog, err
	}
	if f.Accounts != "" {
		if cfg.Accounts, err = readAccounts(f.Accounts); err != nil {
			return cfg, closeLog, err
		}
	}
	if f.CitizenAccounts != "" {
		if cfg.CitizenAccounts, err = readAccounts(f.CitizenAccounts); err != nil {
			return cfg, closeLog, err
		}
	}
	if f.Whitelist != "" {
		wl, err := mocks.LoadWhitelistFile(f.Whitelist)
		if err != nil {
			return cfg, closeLog, check.Errorf("--whitelist : %w", "--whitelist: %w", err)
		}
		cfg.TrustedDomains = append(cfg.TrustedDomains, wl...)
	}
	switch f.Log {
	case "":
	case "-":
		cfg.Log = e.stderr
	default:
		lf, err := os.OpenFile(f.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return cfg, closeLog, check.Errorf("--log : %w", "--log: %w", err)
		}
		cfg.Log, closeLog = lf, lf.Close
	}
	return cfg, closeLog, nil
}

// parseSpecs parses the values of a repeatable --fault or --rate-limit
// (the --config file's first); an error names the flag.
func parseSpecs[T any](flag string, specs []string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, s := range specs {
		v, err := parse(s)
		if err != nil {
			return nil, check.Errorf("%s : %w", "%s: %w", flag, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// readAccounts parses an accounts file: "address password [token=T]
// [client-cert]" per line.
func readAccounts(path string) ([]mocks.Account, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, check.Errorf("fichier de comptes : %w", "accounts file: %w", err)
	}
	defer fh.Close()
	var out []mocks.Account
	sc := bufio.NewScanner(fh)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			return nil, check.Errorf("fichier de comptes %s ligne %d : « adresse mot-de-passe » attendu", "accounts file %s line %d: want \"address password\"", path, n)
		}
		a := mocks.Account{Address: fields[0]}
		if fields[1] != "-" {
			a.Password = fields[1]
		}
		for _, w := range fields[2:] {
			switch {
			case strings.HasPrefix(w, "token="):
				a.Token = strings.TrimPrefix(w, "token=")
			case w == "client-cert":
				a.ClientCert = true
			default:
				return nil, check.Errorf("fichier de comptes %s ligne %d : mot inconnu %q (token=JETON ou client-cert attendu)", "accounts file %s line %d: unknown word %q (want token=TOKEN or client-cert)", path, n, w)
			}
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, check.Errorf("fichier de comptes %s : %w", "accounts file %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, check.Errorf("fichier de comptes %s : aucun compte", "accounts file %s: no account", path)
	}
	return out, nil
}

func runMockServe(ctx context.Context, e *env, f mockFile) error {
	switch f.Conformance {
	case "", mocks.ConformanceWarn, mocks.ConformanceRefuse, mocks.ConformanceOff:
	default:
		// Named here: the mock's own error cannot say it came from a flag
		// (or the YAML key conformance).
		return usageError(check.Errorf("--conformance : %q : warn, refuse ou off attendu", "--conformance: %q: want warn, refuse or off", f.Conformance))
	}
	cfg, closeLog, err := f.config(e)
	defer closeLog()
	if err != nil {
		return usageError(err)
	}
	if f.Report != "" {
		// Fail now, not at exit, when the report cannot be written.
		fh, err := os.OpenFile(f.Report, os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return usageError(check.Errorf("--report : %w", "--report: %w", err))
		}
		fh.Close()
	}
	op, err := mocks.Start(ctx, cfg)
	if errors.Is(err, mocks.ErrHTTPListen) {
		return usageError(check.Errorf("--listen-http : %w", "--listen-http: %w", err))
	}
	if err != nil {
		return usageError(err)
	}
	defer op.Close()
	// What the store recovered from at start (a journal cut by a kill).
	for _, ev := range op.Events() {
		if ev.Proto == "mock" && ev.Kind == mocks.KindWarn {
			detail := ev.Detail
			if ev.Text != nil {
				detail = ev.Text.In(e.lang)
			}
			fmt.Fprintf(e.stderr, "%s: %s\n", e.tr("msscprobe mock : avertissement", "msscprobe mock: warning"), detail)
		}
	}
	w := e.stdout
	fmt.Fprintln(w, e.tr("msscprobe mock : opérateur MSSanté et MSS citoyenne fictifs (TESTS SEULEMENT, boucle locale)", "msscprobe mock: MSSanté operator and MSS citoyenne mock (TEST ONLY, loopback)"))
	for _, l := range []struct{ name, addr, how string }{
		{"smtp", op.SMTPAddr(), e.tr("soumission, STARTTLS", "submission, STARTTLS")},
		{"smtps", op.SMTPSAddr(), e.tr("soumission, TLS implicite", "submission, implicit TLS")},
		{"imap", op.IMAPAddr(), "STARTTLS"}, {"imaps", op.IMAPSAddr(), e.tr("TLS implicite", "implicit TLS")},
		{"http", op.HTTPAddr(), "API http://" + op.HTTPAddr() + "/api/v1, page http://" + op.HTTPAddr() + "/"},
	} {
		if l.addr != "" {
			fmt.Fprintf(w, "listen %-5s %s (%s)\n", l.name, l.addr, l.how)
		}
	}
	if f.CAOut != "" {
		if err := os.WriteFile(f.CAOut, op.CACertPEM(), 0o644); err != nil {
			return usageError(check.Errorf("--ca-out : %w", "--ca-out: %w", err))
		}
		fmt.Fprintf(w, "ca %s\n", f.CAOut)
	}
	for _, a := range op.Accounts() {
		how := e.tr("mot de passe du fichier de comptes", "password from accounts file")
		// Without an accounts file the only establishment account is the
		// generated default one.
		if f.Accounts == "" && a.Address == op.Config().Accounts[0].Address {
			path, err := writePassword(f.PasswordOut, a.Password)
			if err != nil {
				return usageError(err)
			}
			how = e.tr("mot de passe généré dans ", "generated password in ") + path
		}
		var auth []string
		if a.Password != "" {
			auth = append(auth, how)
		}
		if a.Token != "" {
			auth = append(auth, e.tr("jeton XOAUTH2", "XOAUTH2 token"))
		}
		if a.ClientCert {
			auth = append(auth, e.tr("certificat client", "client certificate"))
		}
		fmt.Fprintf(w, "account %s (%s)\n", a.Address, strings.Join(auth, ", "))
	}
	if err := f.mockPKIFlags.report(e, w, op); err != nil {
		return usageError(err)
	}
	fmt.Fprintf(w, "auto-reply %s@%s (%s %s)\n", mocks.AutoReplyLocalPart, op.Config().CitizenDomain, e.tr("délai", "delay"), cfg.AutoReplyDelay)
	for _, ft := range cfg.Faults {
		fmt.Fprintf(w, "fault %s\n", ft)
	}
	for _, rl := range cfg.RateLimits {
		fmt.Fprintf(w, "rate-limit %s\n", rl)
	}
	if cfg.StoreDir != "" {
		fmt.Fprintf(w, "store %s\n", cfg.StoreDir)
	}
	// Start has bound every listener, so connections are accepted now. No
	// test connection: it would consume a connect fault and show in the
	// event log.
	fmt.Fprintln(w, "ready")
	<-ctx.Done()
	closeErr := op.Close()
	if f.Report != "" {
		if err := writeMockReport(f.Report, op, e.lang); err != nil {
			return err
		}
		fmt.Fprintf(w, "report %s\n", f.Report)
	}
	if closeErr != nil {
		return closeErr
	}
	fmt.Fprintln(w, "stopped")
	return nil
}

// writeMockReport writes the JUnit report of every message received: an
// editor's CI fails on a non-conforming message.
func writeMockReport(path string, op *mocks.Operator, l check.Lang) error {
	vs, dropped := op.Verdicts()
	rep := message.JUnit("msscprobe mock", mocks.VerdictResults(vs), l)
	if dropped > 0 {
		rep.Suites[0].Properties = append(rep.Suites[0].Properties, check.JUnitProperty{Name: "dropped_oldest_messages", Value: fmt.Sprint(dropped)})
	}
	var b bytes.Buffer
	if err := rep.Write(&b); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		return check.Errorf("--report : %w", "--report: %w", err)
	}
	return nil
}

// writePassword stores the generated password in a 0600 file and returns
// its path.
func writePassword(path, pw string) (string, error) {
	if path == "" {
		fh, err := os.CreateTemp("", "msscprobe-mock-password-*")
		if err != nil {
			return "", check.Errorf("mot de passe généré : %w", "generated password: %w", err)
		}
		if _, err := fh.WriteString(pw + "\n"); err != nil {
			fh.Close()
			return "", err
		}
		return fh.Name(), fh.Close()
	}
	// writeSecret, not os.WriteFile: an existing file keeps no wider mode.
	if err := writeSecret(path, pw+"\n"); err != nil {
		return "", check.Errorf("--password-out : %w", "--password-out: %w", err)
	}
	return path, nil
}
