package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/trimtab/trimtab/analyzer"
)

func newJudgeCmd() *cobra.Command {
	var input, mode, format string
	cmd := &cobra.Command{
		Use:   "judge --input FILE",
		Short: "Judge a canary against its baseline from recorded samples",
		Long: `judge classifies every metric of a canary against its baseline and scores the
canary, offline, with the same code the controller runs.

The input (JSON or YAML; --input - reads stdin) holds "mode", "config" and
"metrics"; docs/judge.md describes every field. --mode overrides the input's
mode: kayenta reproduces Kayenta's NetflixACAJudge, trimtab (the default) is
trimtab's own judge. Bad input exits with code 2 and names the field.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if input == "" {
				return newUsageError("--input is required (a file, or - for stdin)")
			}
			switch format {
			case "json", "table":
			default:
				return newUsageError("--format: unknown %q, want json or table", format)
			}
			switch analyzer.Mode(mode) {
			case "", analyzer.ModeKayenta, analyzer.ModeTrimtab:
			default:
				return newUsageError("--mode: unknown %q, want kayenta or trimtab", mode)
			}
			data, err := readInput(cmd.InOrStdin(), input)
			if err != nil {
				return err
			}
			req, err := analyzer.DecodeRequest(data)
			if err != nil {
				return newUsageError("%s: %w", input, err)
			}
			if mode != "" {
				req.Config.Mode = analyzer.Mode(mode)
			}
			res, err := analyzer.Judge(req.Config, req.Metrics)
			if err != nil {
				return newUsageError("%s: %w", input, err)
			}
			if format == "table" {
				return writeTable(cmd.OutOrStdout(), res)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "judge input file (JSON or YAML), - for stdin")
	cmd.Flags().StringVar(&mode, "mode", "", "kayenta or trimtab; overrides the input's mode")
	cmd.Flags().StringVar(&format, "format", "json", "output format: json or table")
	return cmd
}

func readInput(stdin io.Reader, name string) ([]byte, error) {
	if name == "-" {
		data, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("reading stdin: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, newUsageError("--input: %w", err)
	}
	return data, nil
}

// writeTable prints one aligned row per metric and the verdict last.
func writeTable(w io.Writer, res analyzer.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tRESULT\tESTIMATE\tCI\tP-VALUE\tEFFECT\tBASELINE P50\tCANARY P50\tN (B/C)\tREASON")
	for _, m := range res.Metrics {
		class := string(m.Classification)
		if m.Critical {
			class += " (critical)"
		}
		if m.Muted {
			class += " (muted)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t[%s, %s]\t%s\t%s\t%s\t%s\t%d/%d\t%s\n", m.Name, class,
			num(m.Estimate), num(m.CI[0]), num(m.CI[1]), num(m.PValue), num(m.EffectSize),
			num(m.Baseline.P50), num(m.Canary.P50), m.Baseline.Count, m.Canary.Count, m.Reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	line := fmt.Sprintf("verdict: %s (score %.2f, mode %s)", res.Verdict, res.Score, res.Mode)
	if res.Reason != "" {
		line += " — " + res.Reason
	}
	_, err := fmt.Fprintf(w, "%s\n%s\n", strings.Repeat("-", 40), line)
	return err
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.4g", v)
}
