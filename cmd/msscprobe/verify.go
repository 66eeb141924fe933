package main

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/msscprobe/msscprobe/evidence"
)

func init() { subcommands = append(subcommands, newVerifyCmd) }

func newVerifyCmd(e *env) *cobra.Command {
	var caFile, tsaCAFile string
	var out *outputFlags
	c := &cobra.Command{
		Use:   "verify BUNDLE.zip",
		Short: "Verify a signed evidence bundle",
		Long: `Verify an evidence bundle written by "msscprobe probe --out" or "msscprobe demo --out":
container layout, every file's SHA-256 against the signed manifest, no file
missing or added, the CMS signature, the signer's chain (against --ca), the
RFC 3161 timestamp (against --tsa-ca), and that results.json and the PDF report
state the same verdict. Malicious archives are refused; nothing is extracted.

Format and manual verification with openssl: docs/evidence-format.md.

Exit status: 0 valid, 1 invalid (each problem is listed), 2 unreadable input.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			l, err := out.parse()
			if err != nil {
				return err
			}
			var opts evidence.VerifyOptions
			if opts.Roots, err = loadPool("--ca", caFile); err != nil {
				return usageError(err)
			}
			if opts.TSARoots, err = loadPool("--tsa-ca", tsaCAFile); err != nil {
				return usageError(err)
			}
			f, err := os.Open(args[0])
			if err != nil {
				return usageError(err)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return usageError(err)
			}
			if !st.Mode().IsRegular() {
				return usageError(fmt.Errorf("%s: not a regular file", args[0]))
			}
			v, err := evidence.Verify(f, st.Size(), opts)
			if err != nil {
				return usageError(fmt.Errorf("%s: %w", args[0], err))
			}
			if out.format == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(v)
			} else {
				err = v.WriteText(e.stdout, l)
			}
			if err != nil {
				return err
			}
			if !v.Valid {
				return failed()
			}
			return nil
		},
	}
	c.Flags().StringVar(&caFile, "ca", "", "PEM roots the signer must chain to (otherwise the signer's identity is reported as not checked)")
	c.Flags().StringVar(&tsaCAFile, "tsa-ca", "", "PEM roots the timestamp authority must chain to")
	out = addOutputFlags(c, "text", "json")
	return c
}

// loadPool reads PEM certificates; an empty path gives nil.
func loadPool(flag, path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s %s: no PEM certificate found", flag, path)
	}
	return pool, nil
}
