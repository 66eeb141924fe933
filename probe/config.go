package probe

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/msscprobe/msscprobe/check"
)

// DefaultTarget is the auto-reply test mailbox of Mon espace santé, declared
// in the ANS whitelist entry of patient.mssante.fr (research mssante.md §6).
const DefaultTarget = "reponse.automatique-test@patient.mssante.fr"

// TLS modes of a server.
const (
	TLSStartTLS = "starttls"
	TLSImplicit = "implicit"
)

// Authentication mechanisms.
const (
	MechPlain       = "plain"
	MechLogin       = "login"
	MechXOAuth2     = "xoauth2"
	MechCertificate = "certificate"
)

// Reply modes.
const (
	ReplyAuto    = "auto"
	ReplyManual  = "manual"
	ReplyMailbox = "mailbox"
)

// Config is a probe configuration as read from YAML. It never holds a
// secret: only the names of environment variables or files that do.
type Config struct {
	Establishment EstablishmentConfig `yaml:"establishment"`
	SMTP          Server              `yaml:"smtp"`
	IMAP          Server              `yaml:"imap"`
	Auth          Auth                `yaml:"auth"`
	Trust         Trust               `yaml:"trust"`
	Target        string              `yaml:"target"`
	Attach        string              `yaml:"attach"`
	Message       MessageConfig       `yaml:"message"`
	Reply         ReplyConfig         `yaml:"reply"`
	Timeouts      Timeouts            `yaml:"timeouts"`

	// name is the file name used in error messages; dir resolves relative
	// paths; lines maps a dotted key path to its line in the file.
	name  string
	dir   string
	lines map[string]int
}

// EstablishmentConfig identifies the sender.
type EstablishmentConfig struct {
	Name    string `yaml:"name"`
	FINESS  string `yaml:"finess"`
	Address string `yaml:"address"`
}

// Server is an SMTP or IMAP endpoint.
type Server struct {
	Host string `yaml:"host"`
	Port int    `yaml:"port"`
	TLS  string `yaml:"tls"`
	// ServerName is the name the certificate must match, when the host is
	// reached by an address or an alias (default: Host).
	ServerName string `yaml:"server_name"`
}

// Auth says how to log in and where the secrets are.
type Auth struct {
	Mechanism    string `yaml:"mechanism"`
	Username     string `yaml:"username"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	TokenEnv     string `yaml:"token_env"`
	TokenFile    string `yaml:"token_file"`
	// TokenCmd is run (with /bin/sh) before each login; its standard
	// output is the bearer token.
	TokenCmd        string `yaml:"token_cmd"`
	CertFile        string `yaml:"cert_file"`
	KeyFile         string `yaml:"key_file"`
	P12File         string `yaml:"p12_file"`
	P12PasswordEnv  string `yaml:"p12_password_env"`
	P12PasswordFile string `yaml:"p12_password_file"`
}

// Trust names the roots server certificates must chain to.
type Trust struct {
	CAFile string `yaml:"ca_file"`
}

// MessageConfig tunes the test message.
type MessageConfig struct {
	// NIL is the X-MSS-NIL value: the product reference registered on
	// convergence.esante.gouv.fr (Ref#2 ECO.2.4.3).
	NIL string `yaml:"nil"`
	// MDN asks for a read receipt (Disposition-Notification-To).
	MDN bool `yaml:"mdn"`
}

// ReplyConfig says how the reply is obtained.
type ReplyConfig struct {
	Mode    string         `yaml:"mode"`
	Mailbox *MailboxConfig `yaml:"mailbox"`
}

// MailboxConfig is the citizen test mailbox the probe answers from in
// mailbox mode; its address is the target.
type MailboxConfig struct {
	SMTP Server `yaml:"smtp"`
	IMAP Server `yaml:"imap"`
	Auth Auth   `yaml:"auth"`
}

// Timeouts bound each network step and the wait for the reply.
type Timeouts struct {
	Step  Duration `yaml:"step"`
	Reply Duration `yaml:"reply"`
}

// Duration is a time.Duration written as "30s", "5m".
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalYAML writes the duration in Go syntax.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Default values.
const (
	DefaultStepTimeout  = 30 * time.Second
	DefaultReplyTimeout = 5 * time.Minute
)

// LoadConfig reads and parses the YAML file at path.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, check.Errorf("configuration : %w", "configuration: %w", err)
	}
	return ParseConfig(data, path)
}

// ConfigError is one problem in a configuration, naming the key.
type ConfigError struct {
	File    string
	Line    int
	Key     string
	Problem check.Text
}

// Error is the English text; ErrorIn gives either language.
func (e *ConfigError) Error() string { return e.ErrorIn(check.EN) }

// ErrorIn writes file:line: key: problem in lang.
func (e *ConfigError) ErrorIn(lang check.Lang) string {
	sep := ": "
	if lang == check.FR {
		sep = " : "
	}
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Key != "" {
		b.WriteString(sep + e.Key)
	}
	b.WriteString(sep + e.Problem.In(lang))
	return b.String()
}

// ParseConfig parses YAML data; name is the file name used in errors and
// the base of relative paths. Unknown keys and values of the wrong type are
// errors naming the key. Defaults are filled in; call Validate before Run.
func ParseConfig(data []byte, name string) (Config, error) {
	cfg := Config{name: name, dir: filepath.Dir(name), lines: map[string]int{}}
	if e := notUTF8(name, data); e != nil {
		return Config{}, e
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, yamlError(name, data, err)
	}
	if len(root.Content) == 0 {
		return Config{}, &ConfigError{File: name, Problem: check.Text{FR: "configuration vide", EN: "empty configuration"}}
	}
	var errs []error
	walkKeys(root.Content[0], reflect.TypeOf(cfg), "", name, cfg.lines, &errs)
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	// The walk has checked keys and scalar types with messages naming the
	// key; the strict decoder stays as a second line of defence.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, yamlError(name, data, err)
	}
	cfg.setDefaults()
	return cfg, nil
}

var yamlLineRE = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// yamlError turns a YAML syntax error into file:line: problem, with the
// fix for the mistakes people make (tabs, Windows paths in double quotes).
func yamlError(name string, data []byte, err error) *ConfigError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &ConfigError{File: name}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	what := YAMLSyntax(msg)
	e.Problem = check.Text{FR: "YAML invalide : " + what.FR, EN: msg}
	switch {
	case strings.Contains(msg, "cannot start any token"):
		for i, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(strings.TrimLeft(l, " "), "\t") {
				e.Line = i + 1
				e.Problem = check.Text{FR: "YAML invalide : une tabulation en début de ligne : YAML n'indente qu'avec des espaces",
					EN: msg + " (a tab: YAML indents with spaces only)"}
				break
			}
		}
	case strings.Contains(msg, "escape character") || strings.Contains(msg, "hexdecimal number"):
		e.Problem = check.Text{FR: "YAML invalide : " + what.FR + ". " + backslashHint.FR, EN: msg + ". " + backslashHint.EN}
	}
	return e
}

// yamlSyntaxFR gives the French for the YAML parser's (go.yaml.in/yaml/v3)
// syntax errors that people meet when they edit a configuration by hand.
var yamlSyntaxFR = []struct{ en, fr string }{
	{"mapping values are not allowed in this context", "« clé: valeur » à un endroit où il n'en faut pas (deux-points en trop dans une valeur ? mettez-la entre apostrophes)"},
	{"found unexpected end of stream", "fin du fichier inattendue (un guillemet, un crochet ou une accolade n'est pas fermé)"},
	{"found character that cannot start any token", "caractère qui ne peut pas commencer une valeur (une tabulation ou un caractère spécial au début d'une valeur ?)"},
	{"did not find expected key", "clé attendue introuvable (indentation incohérente ?)"},
	{"could not find expected ':'", "« : » attendu après une clé"},
	{"did not find expected node content", "valeur attendue introuvable"},
	{"block sequence entries are not allowed in this context", "élément de liste « - » à un endroit où il n'en faut pas (indentation ?)"},
	{"did not find expected ',' or ']'", "« , » ou « ] » attendu dans une liste entre crochets"},
	{"did not find expected ',' or '}'", "« , » ou « } » attendu entre accolades"},
	{"did not find expected '-' indicator", "élément de liste « - » attendu (indentation incohérente ?)"},
	{"found unknown escape character", "échappement inconnu après une barre inverse entre guillemets doubles"},
	{"did not find expected hexdecimal number", "chiffres hexadécimaux attendus après une barre inverse entre guillemets doubles"},
	{"found a tab character that violates indentation", "une tabulation dans l'indentation : YAML n'indente qu'avec des espaces"},
	{"control characters are not allowed", "caractère de contrôle interdit"},
	{"invalid leading UTF-8 octet", "le fichier n'est pas en UTF-8 : enregistrez-le en UTF-8"},
	{"incomplete UTF-8 octet sequence", "le fichier n'est pas en UTF-8 : enregistrez-le en UTF-8"},
	{"found unexpected ':'", "« : » inattendu"},
	{"found undefined tag handle", "étiquette YAML « ! » inconnue"},
}

// YAMLSyntax is a YAML parser message in both languages: the French of a
// known message, or the parser's own words quoted.
func YAMLSyntax(msg string) check.Text {
	for _, t := range yamlSyntaxFR {
		if strings.Contains(msg, t.en) {
			return check.Text{FR: t.fr, EN: msg}
		}
	}
	return check.Text{FR: "« " + msg + " »", EN: msg}
}

// backslashHint is the fix for a Windows path written in YAML double
// quotes, where a backslash starts an escape (YAML 1.2 §5.7).
var backslashHint = check.Text{
	FR: `Entre guillemets doubles, la barre inverse \ commence un échappement (\t devient une tabulation) : pour un chemin Windows, mettez-le entre apostrophes ('C:\dossier\ca.pem') ou écrivez des barres obliques (C:/dossier/ca.pem)`,
	EN: `In double quotes a backslash \ starts an escape (\t becomes a tab): write a Windows path in single quotes ('C:\folder\ca.pem') or with forward slashes (C:/folder/ca.pem)`,
}

// notUTF8 locates the first byte sequence that is not UTF-8 (a file saved
// as Windows-1252 or UTF-16 by an editor) so that the message says where.
func notUTF8(name string, data []byte) *ConfigError {
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return &ConfigError{File: name, Line: 1, Problem: check.Text{
			FR: "le fichier est en UTF-16 : enregistrez-le en UTF-8 (Bloc-notes : Enregistrer sous, Codage : UTF-8)",
			EN: "the file is UTF-16: save it as UTF-8 (Notepad: Save as, Encoding: UTF-8)"}}
	}
	if utf8.Valid(data) {
		return nil
	}
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		if r == '\n' {
			line++
		}
		i += size
	}
	return &ConfigError{File: name, Line: line, Problem: check.Text{
		FR: "le fichier n'est pas en UTF-8 (un accent enregistré en Windows-1252 ?) : enregistrez-le en UTF-8 (Bloc-notes : Enregistrer sous, Codage : UTF-8)",
		EN: "the file is not UTF-8 (an accent saved as Windows-1252?): save it as UTF-8 (Notepad: Save as, Encoding: UTF-8)"}}
}

var durationType = reflect.TypeOf(Duration(0))

// secretKeys are keys people write by mistake instead of *_env / *_file.
var secretKeys = map[string]bool{"password": true, "token": true, "p12_password": true, "secret": true, "key": true}

// walkKeys checks that every mapping key of n exists in struct type t, that
// scalars have the field's type, and records each key's line.
func walkKeys(n *yaml.Node, t reflect.Type, prefix, file string, lines map[string]int, errs *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	key := strings.TrimPrefix(prefix, ".")
	bad := func(line int, fr, en string, args ...any) {
		*errs = append(*errs, &ConfigError{File: file, Line: line, Key: key, Problem: check.Textf(fr, en, args...)})
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			bad(n.Line, "durée attendue, par exemple 30s ou 5m", "want a duration such as 30s or 5m")
		} else if d, err := time.ParseDuration(n.Value); err != nil || d <= 0 {
			bad(n.Line, "%q n'est pas une durée positive (écrivez par exemple 30s, 5m)", "%q is not a positive duration (write e.g. 30s, 5m)", n.Value)
		}
	case t.Kind() == reflect.Struct:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			bad(n.Line, "un ensemble de clés est attendu (%s)", "want a mapping of keys (%s)", strings.Join(yamlKeys(t), ", "))
			return
		}
		first := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := prefix + "." + k.Value
			if l, dup := first[k.Value]; dup {
				*errs = append(*errs, &ConfigError{File: file, Line: k.Line, Key: strings.TrimPrefix(path, "."),
					Problem: check.Textf("donnée deux fois (d'abord ligne %d) : n'en gardez qu'une", "given twice (first at line %d): keep one", l)})
				continue
			}
			first[k.Value] = k.Line
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				known := strings.Join(yamlKeys(t), ", ")
				problem := check.Textf("clé inconnue (clés connues : %s)", "unknown key (known keys: %s)", known)
				if secretKeys[k.Value] {
					problem = check.Textf("clé inconnue (les secrets ne s'écrivent jamais dans la configuration : utilisez les clés *_env ou *_file ; clés connues : %s)",
						"unknown key (secrets are never written in the configuration: use the *_env or *_file keys; known keys: %s)", known)
				}
				*errs = append(*errs, &ConfigError{File: file, Line: k.Line, Key: strings.TrimPrefix(path, "."), Problem: problem})
				continue
			}
			lines[strings.TrimPrefix(path, ".")] = k.Line
			walkKeys(v, f.Type, path, file, lines, errs)
		}
	case t.Kind() == reflect.String:
		if n.Kind != yaml.ScalarNode {
			bad(n.Line, "une valeur texte est attendue", "want a text value")
		} else if n.Style == yaml.DoubleQuotedStyle && strings.ContainsFunc(n.Value, unicode.IsControl) {
			// "C:\temp\new.pem" parses, as C:<tab>emp<newline>ew.pem.
			bad(n.Line, "%q contient un caractère de contrôle. "+backslashHint.FR, "%q holds a control character. "+backslashHint.EN, n.Value)
		}
	case t.Kind() == reflect.Int:
		if _, err := strconv.Atoi(n.Value); n.Kind != yaml.ScalarNode || err != nil {
			bad(n.Line, "%q n'est pas un nombre entier", "%q is not a whole number", n.Value)
		} else if n.Tag != "!!int" {
			bad(n.Line, "%q : écrivez le nombre sans guillemets", "%q: write the number without quotes", n.Value)
		}
	case t.Kind() == reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			bad(n.Line, "%q n'est ni true ni false", "%q is not true or false", n.Value)
		}
	}
}

func fieldByTag(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.IsExported() && strings.Split(f.Tag.Get("yaml"), ",")[0] == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func yamlKeys(t reflect.Type) []string {
	var ks []string
	for i := 0; i < t.NumField(); i++ {
		if tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && t.Field(i).IsExported() {
			ks = append(ks, tag)
		}
	}
	sort.Strings(ks)
	return ks
}

// UnmarshalYAML parses "30s", "5m"; walkKeys has already vetted the value.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

func (c *Config) setDefaults() {
	c.SMTP.setDefaults(587, 465)
	c.IMAP.setDefaults(143, 993)
	if c.Reply.Mailbox != nil {
		c.Reply.Mailbox.SMTP.setDefaults(587, 465)
		c.Reply.Mailbox.IMAP.setDefaults(143, 993)
	}
	if c.Target == "" {
		c.Target = DefaultTarget
	}
	if c.Reply.Mode == "" {
		c.Reply.Mode = ReplyAuto
	}
	if c.Auth.Mechanism == "" {
		c.Auth.Mechanism = MechPlain
	}
	if c.Message.NIL == "" {
		c.Message.NIL = "msscprobe"
	}
	if c.Timeouts.Step == 0 {
		c.Timeouts.Step = Duration(DefaultStepTimeout)
	}
	if c.Timeouts.Reply == 0 {
		c.Timeouts.Reply = Duration(DefaultReplyTimeout)
	}
}

// setDefaults fills the TLS mode (STARTTLS, as the MSSanté client spec
// names it: research mssante.md §2) and the port that goes with it.
func (s *Server) setDefaults(startTLSPort, implicitPort int) {
	if s.TLS == "" {
		s.TLS = TLSStartTLS
	}
	if s.Port == 0 {
		s.Port = startTLSPort
		if s.TLS == TLSImplicit {
			s.Port = implicitPort
		}
	}
}

// Name is the file the configuration was read from.
func (c Config) Name() string { return c.name }

// Path resolves a path from the configuration relative to its file.
func (c Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

// Validate checks values and that every secret the configuration names is
// available through getenv or a readable file. It reports all problems at
// once, each naming its key.
func (c Config) Validate(getenv func(string) string) error {
	v := &validator{c: c, getenv: getenv}
	v.required("establishment.name", c.Establishment.Name)
	v.address("establishment.address", c.Establishment.Address, true)
	if f := c.Establishment.FINESS; f != "" && (len(f) != 9 || strings.Trim(f, "0123456789AB") != "") {
		v.bad("establishment.finess", "%q n'est pas un numéro FINESS de 9 caractères", "%q is not a 9-character FINESS number", f)
	}
	v.server("smtp", c.SMTP)
	v.server("imap", c.IMAP)
	v.auth("auth", c.Auth)
	v.file("trust.ca_file", c.Trust.CAFile)
	v.address("target", c.Target, true)
	v.file("attach", c.Attach)
	if strings.ContainsAny(c.Message.NIL, "\r\n") {
		v.bad("message.nil", "doit tenir sur une seule ligne", "must be a single line")
	}
	switch c.Reply.Mode {
	case ReplyAuto, ReplyManual:
		if c.Reply.Mailbox != nil {
			v.bad("reply.mailbox", "ne sert qu'avec reply.mode: mailbox", "only used with reply.mode: mailbox")
		}
	case ReplyMailbox:
		if m := c.Reply.Mailbox; m == nil {
			v.bad("reply.mailbox", "obligatoire avec reply.mode: mailbox (smtp, imap et auth de la boîte citoyenne de test)", "required with reply.mode: mailbox (smtp, imap and auth of the citizen test mailbox)")
		} else {
			v.server("reply.mailbox.smtp", m.SMTP)
			v.server("reply.mailbox.imap", m.IMAP)
			v.auth("reply.mailbox.auth", m.Auth)
			if c.Target == DefaultTarget {
				v.bad("target", "en mode mailbox, la cible est la boîte citoyenne de test où la sonde se connecte, pas %s", "in mailbox mode the target is the citizen test mailbox the probe logs into, not %s", DefaultTarget)
			}
		}
	default:
		v.bad("reply.mode", "%q : auto, manual ou mailbox attendu", "%q: want auto, manual or mailbox", c.Reply.Mode)
	}
	return errors.Join(v.errs...)
}

type validator struct {
	c      Config
	getenv func(string) string
	errs   []error
}

func (v *validator) bad(key, fr, en string, args ...any) {
	v.errs = append(v.errs, v.c.keyError(key, fr, en, args...))
}

// keyError is a problem with the value of key, located at its line (or its
// nearest parent's, when the key is absent).
func (c Config) keyError(key, fr, en string, args ...any) error {
	line := c.lines[key]
	for k := key; line == 0 && strings.Contains(k, "."); {
		k = k[:strings.LastIndex(k, ".")]
		line = c.lines[k]
	}
	var te *check.TextError
	errors.As(check.Errorf(fr, en, args...), &te)
	return &ConfigError{File: c.name, Line: line, Key: key, Problem: te.Msg}
}

func (v *validator) required(key, val string) {
	if strings.TrimSpace(val) == "" {
		v.bad(key, "obligatoire", "required")
	}
}

func (v *validator) address(key, val string, required bool) {
	if val == "" {
		if required {
			v.bad(key, "obligatoire", "required")
		}
		return
	}
	a, err := mail.ParseAddress(val)
	if err != nil || a.Address != val || !strings.Contains(val, "@") {
		v.bad(key, "%q n'est pas une simple adresse électronique (écrivez local@domaine, sans nom affiché)", "%q is not a plain e-mail address (write local@domain, without a display name)", val)
	}
}

func (v *validator) server(key string, s Server) {
	v.required(key+".host", s.Host)
	if strings.ContainsAny(s.Host, " /[]") || (strings.Contains(s.Host, ":") && net.ParseIP(s.Host) == nil) {
		v.bad(key+".host", "%q : un nom d'hôte ou une adresse IP est attendu, sans port ni schéma (utilisez %s.port)", "%q is a host name or an IP address, without port or scheme (use %s.port)", s.Host, key)
	}
	if s.Port < 1 || s.Port > 65535 {
		v.bad(key+".port", "%d n'est pas un port TCP (1-65535)", "%d is not a TCP port (1-65535)", s.Port)
	}
	if s.TLS != TLSStartTLS && s.TLS != TLSImplicit {
		v.bad(key+".tls", "%q : starttls ou implicit attendu (jamais de texte en clair)", "%q: want starttls or implicit (plaintext is never allowed)", s.TLS)
	}
}

func (v *validator) auth(key string, a Auth) {
	switch a.Mechanism {
	case MechPlain, MechLogin:
		v.required(key+".username", a.Username)
		v.secret(key, "password", a.PasswordEnv, a.PasswordFile, true)
		v.unused(key, a, "password_env", "password_file", "username")
	case MechXOAuth2:
		v.required(key+".username", a.Username)
		if a.TokenCmd != "" {
			if a.TokenEnv != "" || a.TokenFile != "" {
				v.bad(key+".token_cmd", "donnez un seul de token_env, token_file ou token_cmd", "give one of token_env, token_file or token_cmd")
			}
			if strings.TrimSpace(a.TokenCmd) == "" || strings.ContainsAny(a.TokenCmd, "\r\n") {
				v.bad(key+".token_cmd", "doit tenir sur une seule ligne de commande", "must be one command line")
			}
		} else {
			v.secret(key, "token", a.TokenEnv, a.TokenFile, true)
		}
		v.unused(key, a, "token_env", "token_file", "token_cmd", "username")
	case MechCertificate:
		pem := a.CertFile != "" || a.KeyFile != ""
		p12 := a.P12File != ""
		switch {
		case pem && p12:
			v.bad(key+".p12_file", "donnez soit cert_file + key_file, soit p12_file, pas les deux", "give either cert_file + key_file, or p12_file, not both")
		case pem:
			v.required(key+".cert_file", a.CertFile)
			v.required(key+".key_file", a.KeyFile)
			v.file(key+".cert_file", a.CertFile)
			v.file(key+".key_file", a.KeyFile)
		case p12:
			v.file(key+".p12_file", a.P12File)
			v.secret(key, "p12_password", a.P12PasswordEnv, a.P12PasswordFile, false)
		default:
			v.bad(key, "le mécanisme certificate demande cert_file + key_file (PEM) ou p12_file", "mechanism certificate needs cert_file + key_file (PEM) or p12_file")
		}
		v.unused(key, a, "cert_file", "key_file", "p12_file", "p12_password_env", "p12_password_file", "username")
	default:
		v.bad(key+".mechanism", "%q : plain, login, xoauth2 ou certificate attendu", "%q: want plain, login, xoauth2 or certificate", a.Mechanism)
	}
}

// unused reports secret-bearing keys that the mechanism ignores, so that a
// half-edited configuration does not silently use another secret.
func (v *validator) unused(key string, a Auth, keep ...string) {
	vals := map[string]string{
		"password_env": a.PasswordEnv, "password_file": a.PasswordFile, "token_env": a.TokenEnv, "token_file": a.TokenFile,
		"token_cmd": a.TokenCmd, "cert_file": a.CertFile, "key_file": a.KeyFile, "p12_file": a.P12File,
		"p12_password_env": a.P12PasswordEnv, "p12_password_file": a.P12PasswordFile,
	}
	for _, k := range keep {
		delete(vals, k)
	}
	names := make([]string, 0, len(vals))
	for k, val := range vals {
		if val != "" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		v.bad(key+"."+k, "inutile avec le mécanisme %s : supprimez-la", "not used with mechanism %s: remove it", a.Mechanism)
	}
}

func (v *validator) secret(key, what, env, file string, required bool) {
	switch {
	case env != "" && file != "":
		v.bad(key+"."+what+"_env", "donnez %s_env ou %s_file, pas les deux", "give %s_env or %s_file, not both", what, what)
	case env != "":
		if v.getenv(env) == "" {
			v.bad(key+"."+what+"_env", "la variable d'environnement %s n'est pas définie ou est vide", "environment variable %s is not set or empty", env)
		}
	case file != "":
		v.file(key+"."+what+"_file", file)
	case required:
		v.bad(key, "donnez %s_env (un nom de variable d'environnement) ou %s_file", "give %s_env (an environment variable name) or %s_file", what, what)
	}
}

func (v *validator) file(key, p string) {
	if p == "" {
		return
	}
	st, err := os.Stat(v.c.Path(p))
	switch {
	case err != nil:
		v.bad(key, "%v", "%v", unwrapPathError(err))
	case st.IsDir():
		v.bad(key, "%s est un dossier, un fichier est attendu", "%s is a directory, want a file", v.c.Path(p))
	}
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}
