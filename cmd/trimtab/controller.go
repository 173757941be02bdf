package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/trimtab/trimtab/collector/secretheaders"
	"github.com/trimtab/trimtab/internal/httpapi"
	"github.com/trimtab/trimtab/internal/logging"
	"github.com/trimtab/trimtab/internal/manager"
)

// inClusterNamespaceFile is where a pod finds its own namespace.
const inClusterNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

func newControllerCmd() *cobra.Command {
	var (
		opts       manager.Options
		kubeconfig string
		logLevel   string
		logFormat  string
	)
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the trimtab controller (Releases and ScalingPolicies) against a cluster",
		Long: `Run the trimtab controller against the cluster of --kubeconfig, $KUBECONFIG or the
in-cluster service account. Every flag can also be set through an environment
variable: TRIMTAB_ followed by the flag name in upper case with dots and dashes
as underscores (--log.level → TRIMTAB_LOG_LEVEL). A flag given on the command
line wins over the environment.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := applyEnv(cmd.Flags(), os.LookupEnv)
			if err != nil {
				return usageError{err}
			}
			if err := checkFlags(opts, from); err != nil {
				return usageError{err}
			}
			level, format, err := logSettings(logLevel, logFormat, from)
			if err != nil {
				return usageError{err}
			}
			logger := logging.New(cmd.Context(), cmd.ErrOrStderr(), level, format)
			setMemoryLimit(logger)
			cfg, err := restConfig(kubeconfig)
			if err != nil {
				return err
			}
			if opts.LeaderElectionNamespace == "" {
				opts.LeaderElectionNamespace = ownNamespace()
			}
			opts.Version = httpapi.Info{Version: version, Commit: commit()}
			m, err := manager.New(cfg, opts, logger)
			if err != nil {
				return from.explain(err)
			}
			logger.Info("trimtab controller starting", "version", version, "host", cfg.Host,
				"metrics_address", m.MetricsAddr(), "api_address", m.APIAddr(), "pprof_address", m.PprofAddr(),
				"leader_election", opts.LeaderElection, "lease_namespace", opts.LeaderElectionNamespace)
			return m.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then in-cluster config)")
	f.BoolVar(&opts.LeaderElection, "leader-elect", true, "elect a leader through a Lease so only one replica acts")
	f.StringVar(&opts.LeaderElectionNamespace, "leader-elect.namespace", "", "namespace of the leader Lease (default: the pod's namespace, else \"default\")")
	f.StringVar(&opts.LeaderElectionID, "leader-elect.id", "trimtab-controller-leader", "name of the leader Lease")
	f.DurationVar(&opts.LeaseDuration, "leader-elect.lease-duration", 15*time.Second, "how long followers wait before taking over a silent leader's Lease")
	f.DurationVar(&opts.RenewDeadline, "leader-elect.renew-deadline", 10*time.Second, "how long the leader retries renewing before giving up leadership")
	f.DurationVar(&opts.RetryPeriod, "leader-elect.retry-period", 2*time.Second, "interval between leader election attempts")
	// Every interface: Prometheus and the kubelet's probes reach the pod's
	// IP. Port 8080, controller-runtime's, leaves Prometheus its own 9090.
	f.StringVar(&opts.MetricsAddress, "metrics.address", ":8080", "address serving /metrics, /livez, /readyz and /healthz")
	f.StringVar(&opts.APIAddress, "api.address", ":8081", "address serving trimtab's /api/v1")
	f.StringVar(&opts.PprofAddress, "pprof.address", "", "address serving Go's profiles under /debug/pprof/, e.g. 127.0.0.1:6060 to reach through kubectl port-forward (default: off)")
	f.DurationVar(&opts.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long a graceful shutdown may take")
	f.StringSliceVar(&opts.Namespaces, "namespaces", nil, "watch only these namespaces (comma-separated; default: all)")
	f.StringVar(&opts.PrometheusURL, "prometheus.url", "", "default Prometheus server for metrics with a prometheus source, e.g. http://prometheus.monitoring:9090")
	f.StringVar(&opts.PrometheusHeadersFile, "prometheus.headers-file", "", "file of HTTP headers sent to --prometheus.url and --predictive.history-url, one `Name: value` per line (a mounted Secret: Authorization, X-Scope-OrgID); read again when it changes")
	f.IntVar(&opts.PrometheusMaxBatch, "prometheus.max-batch", 10000, "most workloads one Prometheus request answers for a shared query template; lower it if a proxy in front of Prometheus limits request size")
	f.StringVar(&opts.AWSRegion, "aws.region", "", "AWS region for CloudWatch metrics (default: the AWS SDK's own lookup)")
	f.StringVar(&opts.CloudWatchEndpoint, "cloudwatch.endpoint", "", "CloudWatch endpoint override (default: the region's)")
	f.StringVar(&opts.PublishNamespace, "cloudwatch.publish-namespace", "", "publish release scores and scaling decisions to CloudWatch under this namespace, e.g. Trimtab (default: off)")
	f.Float64Var(&opts.FalseRollbackRate, "analysis.false-rollback-rate", 0.01, "chance that a whole release of a healthy canary is rolled back; the judge stops early only on evidence stronger than this allows")
	f.DurationVar(&opts.ScalingSyncPeriod, "scaling.sync-period", 15*time.Second, "how often every ScalingPolicy is synced: one metric batch for all, then a decision each (the HPA's --horizontal-pod-autoscaler-sync-period)")
	f.DurationVar(&opts.ScalingMetricInterval, "scaling.metric-interval", time.Minute, "window of ScalingPolicy queries ({{.Interval}}) and of the per-pod samples they return")
	f.StringVar(&opts.PredictiveHistoryURL, "predictive.history-url", "", "Prometheus that scrapes this controller's /metrics, e.g. http://prometheus.monitoring:9090: a new forecast model (after a restart or leader change) reads its policy's past demand from it instead of learning a season from scratch (default: off)")
	f.StringVar(&logLevel, "log.level", "info", "log level: debug, info, warn or error")
	f.StringVar(&logFormat, "log.format", "json", "log format: json or logfmt")
	return cmd
}

// setMemoryLimit tells the garbage collector about the container's memory
// limit, unless GOMEMLIMIT already did.
func setMemoryLimit(logger *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	limit, ok, err := manager.CgroupMemoryLimit("/sys/fs/cgroup")
	if err != nil {
		logger.Warn("no soft memory limit set", "err", err)
		return
	}
	if ok {
		soft := manager.SoftMemoryLimit(limit)
		debug.SetMemoryLimit(soft)
		logger.Info("soft memory limit set from the container's limit", "container_limit_bytes", limit, "gomemlimit_bytes", soft)
	}
}

// envName is the environment variable that backs a flag.
func envName(flag string) string {
	return "TRIMTAB_" + strings.NewReplacer(".", "_", "-", "_").Replace(strings.ToUpper(flag))
}

// origins are the flags whose value came from the environment. Errors
// name what the user set: the variable, not a flag they never typed.
type origins map[string]bool

// name is how an error calls a flag: --scaling.sync-period, or
// TRIMTAB_SCALING_SYNC_PERIOD (--scaling.sync-period) when the environment
// set it.
func (o origins) name(flag string) string {
	if o[flag] {
		return envName(flag) + " (--" + flag + ")"
	}
	return "--" + flag
}

// setting is a flag and its value as an error quotes them, as they were
// set: --scaling.sync-period 0s, or TRIMTAB_SCALING_SYNC_PERIOD=0s
// (--scaling.sync-period).
func (o origins) setting(flag string, value any) string {
	if o[flag] {
		return fmt.Sprintf("%s=%v (--%s)", envName(flag), value, flag)
	}
	return fmt.Sprintf("--%s %v", flag, value)
}

// explain names the flag of a manager.FlagError as the user set it, like
// the checks before start-up do; other errors are returned as they are.
func (o origins) explain(err error) error {
	var fe *manager.FlagError
	if !errors.As(err, &fe) {
		return err
	}
	if fe.Value == "" {
		return fmt.Errorf("%s: %w", o.name(fe.Flag), fe.Err)
	}
	return fmt.Errorf("%s: %w", o.setting(fe.Flag, fe.Value), fe.Err)
}

// applyEnv sets every flag not given on the command line from its
// environment variable, and returns the flags it set. The value is set on
// the flag's Value rather than through the FlagSet, which would mark it
// given on the command line and word its error as a bad command-line
// argument.
func applyEnv(fs *pflag.FlagSet, lookup func(string) (string, bool)) (origins, error) {
	from := origins{}
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		if v, ok := lookup(envName(f.Name)); ok {
			from[f.Name] = true
			if setErr := f.Value.Set(v); setErr != nil {
				err = fmt.Errorf("%s: %w", from.setting(f.Name, v), setErr)
			}
		}
	})
	return from, err
}

// logSettings reads --log.level and --log.format.
func logSettings(level, format string, from origins) (slog.Level, logging.Format, error) {
	lvl, err := logging.ParseLevel(level)
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", from.setting("log.level", strconv.Quote(level)), err)
	}
	f, err := logging.ParseFormat(format)
	if err != nil {
		return 0, "", fmt.Errorf("%s: %w", from.setting("log.format", strconv.Quote(format)), err)
	}
	return lvl, f, nil
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load Kubernetes client config (--kubeconfig, $KUBECONFIG or in-cluster): %w", err)
	}
	cfg.UserAgent = "trimtab/" + version
	return cfg, nil
}

func ownNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	if b, err := os.ReadFile(inClusterNamespaceFile); err == nil && len(b) > 0 {
		return strings.TrimSpace(string(b))
	}
	return "default"
}

// checkFlags refuses values the controller cannot run with, naming each
// as it was set (see origins), before anything connects.
func checkFlags(opts manager.Options, from origins) error {
	if r := opts.FalseRollbackRate; !(r > 0 && r < 1) {
		return fmt.Errorf("%s: must be between 0 and 1, e.g. 0.01", from.setting("analysis.false-rollback-rate", r))
	}
	if opts.PrometheusMaxBatch < 1 {
		return fmt.Errorf("%s: must be at least 1, e.g. 10000", from.setting("prometheus.max-batch", opts.PrometheusMaxBatch))
	}
	if opts.PrometheusHeadersFile != "" {
		if _, err := secretheaders.OpenFile(opts.PrometheusHeadersFile); err != nil {
			return fmt.Errorf("%s: %w", from.name("prometheus.headers-file"), err)
		}
	}
	if err := checkURL(from, "predictive.history-url", opts.PredictiveHistoryURL, "must be the http(s) URL of a Prometheus that scrapes this controller, e.g. http://prometheus.monitoring:9090"); err != nil {
		return err
	}
	if err := checkDurations(opts, from); err != nil {
		return err
	}
	return checkEndpoints(opts, from)
}

// checkDurations refuses durations the controller cannot run with: zero
// or negative periods would otherwise be replaced by the defaults without
// a word, and lease timings the leader election refuses would fail only
// once the manager starts.
func checkDurations(opts manager.Options, from origins) error {
	for _, d := range []struct {
		flag, example string
		v             time.Duration
	}{
		{"scaling.sync-period", "15s", opts.ScalingSyncPeriod},
		{"scaling.metric-interval", "1m", opts.ScalingMetricInterval},
		{"shutdown-timeout", "30s", opts.ShutdownTimeout},
		{"leader-elect.lease-duration", "15s", opts.LeaseDuration},
		{"leader-elect.renew-deadline", "10s", opts.RenewDeadline},
		{"leader-elect.retry-period", "2s", opts.RetryPeriod},
	} {
		if d.v <= 0 {
			return fmt.Errorf("%s: must be positive, e.g. %s", from.setting(d.flag, d.v), d.example)
		}
	}
	if opts.LeaseDuration <= opts.RenewDeadline {
		return fmt.Errorf("%s: must be longer than %s",
			from.setting("leader-elect.lease-duration", opts.LeaseDuration), from.setting("leader-elect.renew-deadline", opts.RenewDeadline))
	}
	if float64(opts.RenewDeadline) <= 1.2*float64(opts.RetryPeriod) {
		return fmt.Errorf("%s: must be longer than 1.2 × %s",
			from.setting("leader-elect.renew-deadline", opts.RenewDeadline), from.setting("leader-elect.retry-period", opts.RetryPeriod))
	}
	return nil
}

// checkURL accepts an empty value (unset) or an absolute http(s) URL. The
// value is not echoed when it does not parse: it may carry credentials.
func checkURL(from origins, flag, raw, hint string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%s: not a URL: %s", from.name(flag), hint)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %s", from.setting(flag, u.Redacted()), hint)
	}
	return nil
}

// checkEndpoints refuses the URLs, addresses and namespaces the controller
// could only fail on later (a listener at start-up, a query at the first
// sync).
func checkEndpoints(opts manager.Options, from origins) error {
	var errs []error
	errs = append(errs,
		checkURL(from, "prometheus.url", opts.PrometheusURL, "must be the http(s) URL of a Prometheus, e.g. http://prometheus.monitoring:9090"),
		checkURL(from, "cloudwatch.endpoint", opts.CloudWatchEndpoint, "must be an http(s) URL, e.g. https://monitoring.eu-west-1.amazonaws.com"))
	for _, a := range []struct{ flag, value string }{
		{"metrics.address", opts.MetricsAddress}, {"api.address", opts.APIAddress}, {"pprof.address", opts.PprofAddress},
	} {
		if a.value == "" && a.flag == "pprof.address" {
			continue // off
		}
		if _, port, err := net.SplitHostPort(a.value); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("%s: want host:port or :port, e.g. :8080 or 127.0.0.1:8080", from.setting(a.flag, strconv.Quote(a.value))))
		}
	}
	for _, ns := range opts.Namespaces {
		if msgs := validation.IsDNS1123Label(ns); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a namespace name: %s", from.name("namespaces"), ns, strings.Join(msgs, "; ")))
		}
	}
	return errors.Join(errs...)
}
