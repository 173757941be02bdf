package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trimtab/trimtab/scaler/sim"
)

func newReplayCmd() *cobra.Command {
	var (
		tracePath, policyPath, format string
		capacity                      float64
		startup, sync                 time.Duration
	)
	cmd := &cobra.Command{
		Use:   "replay --trace FILE.csv --policy FILE.yaml",
		Short: "Simulate a ScalingPolicy under a load trace, against the pure-HPA baseline",
		Long: `replay runs a workload through a request-rate trace (CSV "timestamp,rps", Unix
seconds on a fixed step; missing rows are 0) twice: with the policy's predictive
mode off (exact Kubernetes HPA semantics) and as given. Each ready replica serves
--capacity requests per second at the policy's utilization target, a new replica
is ready after --startup, and the controller syncs every --sync (by default the
policy's spec.syncPeriodSeconds, else 15s). The policy's
first Utilization metric is driven with the utilization of ready capacity.

For each run it prints replica-seconds (cost), SLO-violation seconds (offered
load above ready capacity), scale events, peak replicas, and the ratios
policy/baseline.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tracePath == "" || policyPath == "" {
				return newUsageError("--trace and --policy are required (see 'trimtab replay --help')")
			}
			if format != "json" && format != "table" {
				return newUsageError("--format: must be json or table, got %q", format)
			}
			tr, err := readTrace(tracePath)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(policyPath)
			if err != nil {
				return newUsageError("--policy: %w", err)
			}
			cfg, err := sim.ReadPolicy(data)
			if err != nil {
				return newUsageError("--policy %s: %w", policyPath, err)
			}
			opt := sim.DefaultOptions()
			opt.Capacity, opt.Startup = capacity, startup
			switch {
			case cmd.Flags().Changed("sync"):
				opt.Sync = sync
			case cfg.SyncPeriod > 0:
				opt.Sync = cfg.SyncPeriod
			}
			c, err := sim.Compare(tr, cfg, opt)
			if err != nil {
				return newUsageError("%w", err)
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(c)
			}
			return writeReplayTable(cmd.OutOrStdout(), c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&tracePath, "trace", "", "load trace CSV: timestamp,rps")
	f.StringVar(&policyPath, "policy", "", "ScalingPolicy YAML (apiVersion trimtab.dev/v1alpha1)")
	f.Float64Var(&capacity, "capacity", 1, "requests per second one ready replica serves at the utilization target")
	f.DurationVar(&startup, "startup", time.Minute, "time from a replica's creation to readiness")
	f.DurationVar(&sync, "sync", 0, "controller sync period (default: the policy's spec.syncPeriodSeconds, else 15s)")
	f.StringVar(&format, "format", "table", "output format: json or table")
	return cmd
}

func readTrace(path string) (sim.Trace, error) {
	fh, err := os.Open(path)
	if err != nil {
		return sim.Trace{}, newUsageError("--trace: %w", err)
	}
	defer fh.Close()
	tr, err := sim.ParseTrace(fh)
	if err != nil {
		return sim.Trace{}, newUsageError("--trace %s: %w", path, err)
	}
	return tr, nil
}

func writeReplayTable(w io.Writer, c sim.Comparison) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tbaseline (HPA)\tpolicy\tpolicy/baseline\t")
	row := func(name string, b, p float64, r *float64) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", name, replayNum(b), replayNum(p), ratioText(r))
	}
	row("replica-seconds", c.Baseline.ReplicaSeconds, c.Policy.ReplicaSeconds, c.Ratios.ReplicaSeconds)
	row("violation-seconds", c.Baseline.ViolationSeconds, c.Policy.ViolationSeconds, c.Ratios.ViolationSeconds)
	row("scale events", float64(c.Baseline.ScaleEvents), float64(c.Policy.ScaleEvents), c.Ratios.ScaleEvents)
	row("peak replicas", float64(c.Baseline.PeakReplicas), float64(c.Policy.PeakReplicas), c.Ratios.PeakReplicas)
	return tw.Flush()
}

func replayNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func ratioText(r *float64) string {
	if r == nil {
		return "-"
	}
	return strconv.FormatFloat(*r, 'f', 3, 64)
}
