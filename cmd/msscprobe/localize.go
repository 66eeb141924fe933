package main

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/msscprobe/msscprobe/check"
)

// localize puts the whole command tree in the CLI's language: what cobra
// and pflag write by themselves (usage, help command and flag, version
// flag, errors on arguments and flags) as well as the --lang default, which
// follows MSSCPROBE_LANG. It runs once the tree is complete, so commands
// added by any file get the same treatment.
func (e *env) localize(root *cobra.Command) {
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetUsageFunc(e.usage)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError(e.flagError(c, err)) })
	root.SetHelpCommand(&cobra.Command{
		Use:   e.tr("help [commande]", "help [command]"),
		Short: e.tr("Affiche l'aide d'une commande", "Show the help of a command"),
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil || target == nil || len(rest) > 0 {
				return usageError(check.Errorf("sujet d'aide inconnu : %q (voir msscprobe --help)", "unknown help topic: %q (see msscprobe --help)", strings.Join(args, " ")))
			}
			target.InitDefaultHelpFlag()
			return target.Help()
		},
	})
	root.SetVersionTemplate("msscprobe {{.Version}}\n")
	root.SetHelpFunc(func(c *cobra.Command, _ []string) {
		text := c.Long
		if text == "" {
			text = c.Short
		}
		if text = strings.TrimRight(text, " \n"); text != "" {
			fmt.Fprintf(c.OutOrStdout(), "%s\n\n", text)
		}
		c.SetOut(c.OutOrStdout()) // usage goes where help goes
		if err := e.usage(c); err != nil {
			fmt.Fprintln(c.ErrOrStderr(), err)
		}
	})
	root.InitDefaultHelpCmd()
	lang := ""
	if e.getenv != nil {
		lang = e.getenv("MSSCPROBE_LANG")
	}
	// --lang is accepted everywhere (msscprobe --lang en help, mock serve…);
	// commands that report to people have their own, same-named flag.
	def := lang
	if def == "" {
		def = "fr"
	}
	root.PersistentFlags().String("lang", def, "")
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if f := c.Flags().Lookup("lang"); f != nil {
			if _, err := check.ParseLang(f.Value.String()); err != nil {
				return langError(f.Value.String())
			}
		}
		return nil
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.DisableFlagsInUseLine = true
		c.SuggestionsMinimumDistance = 2
		c.InitDefaultHelpFlag()
		c.Flags().Lookup("help").Usage = e.tr("affiche cette aide", "show this help")
		if f := c.Flags().Lookup("version"); f != nil && c == root {
			f.Usage = e.tr("affiche la version", "show the version")
		}
		for _, f := range []*pflag.Flag{c.LocalNonPersistentFlags().Lookup("lang"), c.PersistentFlags().Lookup("lang")} {
			if f == nil {
				continue
			}
			f.Usage = e.tr("langue des textes : fr ou en (MSSCPROBE_LANG donne la valeur par défaut)",
				"language of human-facing text: fr or en (MSSCPROBE_LANG sets the default)")
			if lang != "" {
				f.DefValue = lang
				_ = f.Value.Set(lang) // a bad value is reported by the command, naming MSSCPROBE_LANG
			}
		}
		if f := c.Flags().Lookup("format"); f != nil {
			if formats := f.Annotations[formatsAnnotation]; len(formats) > 0 {
				f.Usage = e.tr("format de sortie : ", "output format: ") + e.orList(formats)
			}
		}
		if c.HasSubCommands() && c.Run == nil && c.RunE == nil {
			// A group (msscprobe, msscprobe cda…) given an unknown word says
			// so and exits 2, instead of printing its help and exiting 0.
			c.Args = cobra.ArbitraryArgs
			c.RunE = func(c *cobra.Command, args []string) error {
				if len(args) == 0 {
					return c.Help()
				}
				return usageError(e.unknownCommand(c, args[0]))
			}
		}
		if orig := c.Args; orig != nil {
			c.Args = func(c *cobra.Command, args []string) error {
				if err := orig(c, args); err != nil {
					return usageError(e.argsError(c, args, err))
				}
				return nil
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root.InitDefaultVersionFlag()
	walk(root)
}

// unknownCommand names the word and, when one is close, the command meant.
func (e *env) unknownCommand(c *cobra.Command, word string) error {
	msg := check.Textf("commande inconnue %q pour %q", "unknown command %q for %q", word, c.CommandPath())
	if s := c.SuggestionsFor(word); len(s) > 0 {
		msg.FR += " ; vouliez-vous dire « " + strings.Join(s, " » ou « ") + " » ?"
		msg.EN += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	msg.FR += fmt.Sprintf(" (voir %s --help)", c.CommandPath())
	msg.EN += fmt.Sprintf(" (see %s --help)", c.CommandPath())
	return &check.TextError{Msg: msg}
}

var (
	argsCountRE   = regexp.MustCompile(`^(?:accepts|requires) (?:at least |at most |between )?(\d+)`)
	argsUnknownRE = regexp.MustCompile(`^unknown command "(.*)" for "`)
)

// argsError replaces cobra's wording about the arguments (wrong count,
// unexpected word) with one that names the command and what it expects.
func (e *env) argsError(c *cobra.Command, args []string, err error) error {
	want := strings.TrimSpace(strings.TrimPrefix(c.Use, c.Name()))
	if strings.HasPrefix(want, "-") || strings.HasPrefix(want, "[") {
		want = "" // only flags in the synopsis: no positional argument
	}
	help := fmt.Sprintf("%s --help", c.CommandPath())
	if m := argsUnknownRE.FindStringSubmatch(err.Error()); m != nil || want == "" {
		word := strings.Join(args, " ")
		if m != nil {
			word = m[1]
		}
		return check.Errorf("%s n'accepte pas d'argument, reçu %q (voir %s)", "%s takes no argument, got %q (see %s)", c.CommandPath(), word, help)
	}
	if argsCountRE.MatchString(err.Error()) {
		return check.Errorf("%s attend %s ; %s reçu(s) (voir %s)", "%s expects %s; got %s (see %s)", c.CommandPath(), want, strconv.Itoa(len(args)), help)
	}
	// A validator of the command's own: its message is already written for
	// people (and bilingual when it is a check.TextError).
	return err
}

// flagError rewrites pflag's errors (unknown flag, missing value, value of
// the wrong type) in the CLI's language, naming the flag.
func (e *env) flagError(c *cobra.Command, err error) error {
	help := c.CommandPath() + " --help"
	var notExist *pflag.NotExistError
	var needsValue *pflag.ValueRequiredError
	var invalid *pflag.InvalidValueError
	var syntax *pflag.InvalidSyntaxError
	switch {
	case errors.As(err, &notExist):
		name := "--" + notExist.GetSpecifiedName()
		if s := notExist.GetSpecifiedShortnames(); s != "" {
			name = "-" + notExist.GetSpecifiedName()[:1] + " (-" + s + ")"
		}
		return check.Errorf("option inconnue : %s (voir %s)", "unknown flag: %s (see %s)", name, help)
	case errors.As(err, &needsValue):
		return check.Errorf("l'option --%s attend une valeur", "flag --%s needs a value", needsValue.GetFlag().Name)
	case errors.As(err, &invalid):
		f := invalid.GetFlag()
		want := map[string]check.Text{
			"int":      {FR: "un nombre entier", EN: "a whole number"},
			"int64":    {FR: "un nombre entier", EN: "a whole number"},
			"duration": {FR: "une durée telle que 300ms, 30s ou 5m", EN: "a duration such as 300ms, 30s or 5m"},
			"bool":     {FR: "true ou false", EN: "true or false"},
		}[f.Value.Type()]
		if want.FR == "" {
			return check.Errorf("--%s %q : %v", "--%s %q: %v", f.Name, invalid.GetValue(), errors.Unwrap(err))
		}
		return check.Errorf("--%s %q : %s attendu", "--%s %q: want %s", f.Name, invalid.GetValue(), want)
	case errors.As(err, &syntax):
		return check.Errorf("option mal écrite : %s (une option s'écrit --nom ou --nom=valeur)", "bad flag syntax: %s (write --name or --name=value)", syntax.GetSpecifiedFlag())
	}
	return err
}

// cobraMessages are the errors cobra writes itself after parsing (flag
// groups and required flags); run rewrites them in the CLI's language.
var cobraMessages = []struct {
	re     *regexp.Regexp
	fr, en string
}{
	{regexp.MustCompile(`^required flag\(s\) "(.*)" not set$`), "option(s) obligatoire(s) manquante(s) : --%s", "required flag(s) missing: --%s"},
	{regexp.MustCompile(`^if any flags in the group \[(.*)\] are set none of the others can be; \[(.*)\] were all set$`), "options incompatibles, une seule parmi --%s ; données : --%s", "flags that exclude each other, only one of --%s; given: --%s"},
	{regexp.MustCompile(`^if any flags in the group \[(.*)\] are set they must all be set; missing \[(.*)\]$`), "les options --%s vont ensemble ; il manque --%s", "flags --%s go together; missing --%s"},
	{regexp.MustCompile(`^at least one of the flags in the group \[(.*)\] is required$`), "donnez au moins une des options --%s", "give at least one of --%s"},
	{regexp.MustCompile(`^unknown command "(.*)" for "(.*)"`), "commande inconnue « %s » pour « %s »", "unknown command %q for %q"},
}

// cobraError translates err when it is one of cobra's own messages.
func cobraError(err error) error {
	var done *check.TextError
	if errors.As(err, &done) {
		return err // ours, already in both languages
	}
	for _, m := range cobraMessages {
		sub := m.re.FindStringSubmatch(err.Error())
		if sub == nil {
			continue
		}
		fr, en := make([]any, len(sub)-1), make([]any, len(sub)-1)
		for i, s := range sub[1:] {
			s = strings.NewReplacer(`", "`, ", --", " ", ", --").Replace(s)
			fr[i], en[i] = s, s
		}
		if strings.Contains(m.en, "%q") {
			en = []any{sub[1], sub[2]}
			fr = en
		}
		return &check.TextError{Msg: check.Text{FR: fmt.Sprintf(m.fr, fr...), EN: fmt.Sprintf(m.en, en...)}}
	}
	return err
}

// usage writes a command's synopsis, subcommands and flags in the CLI's
// language (cobra's template is English only).
func (e *env) usage(c *cobra.Command) error {
	var b strings.Builder
	b.WriteString(e.tr("Utilisation :", "Usage:"))
	if c.Runnable() {
		line := c.UseLine()
		if c.HasAvailableFlags() {
			line += e.tr(" [options]", " [flags]")
		}
		b.WriteString("\n  " + line)
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\n  " + c.CommandPath() + e.tr(" [commande]", " [command]"))
	}
	if c.HasExample() {
		b.WriteString("\n\n" + e.tr("Exemples :", "Examples:") + "\n" + c.Example)
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\n\n" + e.tr("Commandes :", "Commands:"))
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() || s.Name() == "help" {
				fmt.Fprintf(&b, "\n  %-*s %s", s.NamePadding(), s.Name(), s.Short)
			}
		}
	}
	if c.HasAvailableLocalFlags() {
		b.WriteString("\n\n" + e.tr("Options :", "Flags:") + "\n" + e.flagUsages(c.LocalFlags()))
	}
	if c.HasAvailableInheritedFlags() {
		b.WriteString("\n\n" + e.tr("Options communes :", "Global flags:") + "\n" + e.flagUsages(c.InheritedFlags()))
	}
	if c.HasAvailableSubCommands() {
		b.WriteString("\n\n" + fmt.Sprintf(e.tr("« %s [commande] --help » décrit une commande.", "\"%s [command] --help\" describes a command."), c.CommandPath()))
	}
	b.WriteString("\n")
	_, err := io.WriteString(c.OutOrStdout(), b.String())
	return err
}

// flagUsages lists flags as pflag does, with the value's kind and the
// default in the CLI's language.
func (e *env) flagUsages(fs *pflag.FlagSet) string {
	type row struct{ left, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		left := "      --" + f.Name
		if f.Shorthand != "" {
			left = "  -" + f.Shorthand + ", --" + f.Name
		}
		name, usage := pflag.UnquoteUsage(f)
		if !strings.Contains(f.Usage, "`") {
			name = map[string]string{
				"string": e.tr("texte", "text"), "stringSlice": e.tr("texte", "text"), "stringArray": e.tr("texte", "text"),
				"int": "n", "int64": "n", "duration": e.tr("durée", "duration"), "bool": "",
			}[f.Value.Type()]
		}
		if name != "" {
			left += " " + name
		}
		switch f.DefValue {
		case "", "0", "false", "[]", "0s":
		default:
			if f.Name != "help" && f.Name != "version" {
				usage += fmt.Sprintf(e.tr(" (par défaut : %s)", " (default %s)"), f.DefValue)
			}
		}
		rows = append(rows, row{left, usage})
		width = max(width, len([]rune(left)))
	})
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%s%s   %s\n", r.left, strings.Repeat(" ", width-len([]rune(r.left))), r.usage)
	}
	return strings.TrimRight(b.String(), "\n")
}
