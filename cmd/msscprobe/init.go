package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/msscprobe/msscprobe/probe"
)

func init() { subcommands = append(subcommands, newInitCmd) }

func newInitCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use: "init",
		Short: e.tr("Écrire un modèle de configuration de sonde commenté sur la sortie standard",
			"Write an annotated probe configuration template to standard output"),
		Long: e.tr(`Écrit une configuration de sonde commentée sur la sortie standard :

  msscprobe init > probe.yaml

Modifiez les serveurs, les adresses et les noms des variables d'environnement
qui contiennent les secrets, puis lancez : msscprobe probe --config probe.yaml
Chaque clé est décrite dans docs/probe.md. Avec --lang en, les commentaires
sont en anglais.`, `Write an annotated probe configuration to standard output:

  msscprobe init > probe.yaml

Edit the servers, addresses and the names of the environment variables that
hold the secrets, then run: msscprobe probe --config probe.yaml
Every key is documented in docs/probe.md. With --lang en, the comments are
in English.`),
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := io.WriteString(e.stdout, probe.TemplateIn(e.lang))
			return err
		},
	}
}
