package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/trimtab/trimtab/scaler/sim"
)

func newReplayCmd() *cobra.Command {
	var (
		tracePath, policyPath, format, sloLatency string
		capacity                                  float64
		startup, sync, serviceTime                time.Duration
		concurrency                               int
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
first Utilization metric is driven with the utilization of ready capacity; its
other metrics have no simulated source and are left out, as a note on stderr
says.

For each run it prints replica-seconds (cost), SLO-violation seconds (offered
load above ready capacity), scale events, peak replicas, and the ratios
policy/baseline.

With --slo-latency a violation second is one in which a response-time quantile
exceeds the limit instead: each ready replica takes an equal share of the load
and is modelled as an M/M/c queue serving --concurrency requests at once, each
taking --service-time on an idle replica (by default derived so that a replica
at --capacity is busy the policy's utilization target's share of the time).`,
		Args: usageArgs(cobra.NoArgs),
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
			fmt.Fprint(cmd.ErrOrStderr(), missingRowsNote(tr))
			data, err := os.ReadFile(policyPath)
			if err != nil {
				return newUsageError("--policy: %w", err)
			}
			cfg, dropped, err := sim.ReadPolicy(data)
			if err != nil {
				return newUsageError("--policy %s: %w", policyPath, err)
			}
			fmt.Fprint(cmd.ErrOrStderr(), droppedMetricsNote(cfg.Metrics[0].Name, dropped))
			opt := sim.DefaultOptions()
			opt.Capacity, opt.Startup = capacity, startup
			if opt.Latency, err = latencyObjective(cmd, sloLatency, concurrency, serviceTime); err != nil {
				return err
			}
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
	f.StringVar(&sloLatency, "slo-latency", "", "count the seconds whose response-time quantile exceeds this objective: DURATION (a p95) or pQ=DURATION, e.g. p99=500ms")
	f.IntVar(&concurrency, "concurrency", 1, "with --slo-latency: requests one replica serves at once")
	f.DurationVar(&serviceTime, "service-time", 0, "with --slo-latency: a request's mean time on an idle replica (default: derived from --capacity and the utilization target)")
	return cmd
}

// latencyObjective reads --slo-latency and the queue model's flags; nil
// without --slo-latency.
func latencyObjective(cmd *cobra.Command, objective string, concurrency int, serviceTime time.Duration) (*sim.LatencySLO, error) {
	if objective == "" {
		for _, name := range []string{"concurrency", "service-time"} {
			if cmd.Flags().Changed(name) {
				return nil, newUsageError("--%s models latency and needs --slo-latency", name)
			}
		}
		return nil, nil
	}
	q, limit, err := sim.ParseLatencyObjective(objective)
	if err != nil {
		return nil, newUsageError("--slo-latency %w", err)
	}
	switch {
	case concurrency < 1 || concurrency > sim.MaxConcurrency:
		return nil, newUsageError("--concurrency: must be from 1 to %d, got %d", sim.MaxConcurrency, concurrency)
	case cmd.Flags().Changed("service-time") && serviceTime <= 0:
		return nil, newUsageError("--service-time: must be positive, got %s", serviceTime)
	}
	return &sim.LatencySLO{Quantile: q, Limit: limit, Concurrency: concurrency, ServiceTime: serviceTime}, nil
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

// missingRowsNote says how many steps the trace lacked rows for, which
// count as 0: one stray row on a finer step than the rest halves the load
// of every step without a row. Empty when none was missing.
func missingRowsNote(tr sim.Trace) string {
	missing := len(tr.RPS) - tr.Rows
	if tr.Rows == 0 || missing == 0 {
		return ""
	}
	return fmt.Sprintf("note: the trace's step is %d s (the smallest gap between rows, before line %d); %d of its %d steps have no row and count as 0 rps\n",
		tr.Step, tr.StepLine, missing, len(tr.RPS))
}

// droppedMetricsNote names the policy's metrics that replay leaves out:
// the controller would scale on them too, so the replay understates what
// the policy does when they are the ones that bind. Empty when none was.
func droppedMetricsNote(driven string, dropped []string) string {
	if len(dropped) == 0 {
		return ""
	}
	quoted := make([]string, len(dropped))
	for i, name := range dropped {
		quoted[i] = strconv.Quote(name)
	}
	return fmt.Sprintf("note: replay drives only the policy's first Utilization metric, %q, with the utilization of ready capacity; it leaves out %s, which it has no simulated source for\n",
		driven, strings.Join(quoted, ", "))
}

func writeReplayTable(w io.Writer, c sim.Comparison) error {
	if err := writeViolationDefinition(w, c.Violation); err != nil {
		return err
	}
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

// writeViolationDefinition says what the violation-seconds row counts.
func writeViolationDefinition(w io.Writer, v sim.Violation) error {
	if v.Latency == nil {
		_, err := fmt.Fprintf(w, "violation: offered load above %s rps per ready replica (its capacity at target)\n", replayNum(v.MaxRPSPerReplica))
		return err
	}
	m := v.Latency
	_, err := fmt.Fprintf(w, "violation: p%s latency above %s (M/M/%d per replica, service time %s, saturated at %.4g rps): above %.4g rps per ready replica\n",
		strconv.FormatFloat(100*m.Quantile, 'f', -1, 64), m.Limit, m.Concurrency, m.ServiceTime, m.SaturationRPS, v.MaxRPSPerReplica)
	return err
}
