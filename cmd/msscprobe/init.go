package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/msscprobe/msscprobe/probe"
)

func init() { subcommands = append(subcommands, newInitCmd) }

func newInitCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "Write an annotated probe configuration template to standard output",
		Long: `Write an annotated probe configuration to standard output:

  msscprobe init > probe.yaml

Edit the servers, addresses and the names of the environment variables that
hold the secrets, then run: msscprobe probe --config probe.yaml
Every key is documented in docs/probe.md.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := io.WriteString(e.stdout, probe.Template)
			return err
		},
	}
}
