// Package manager wires trimtab's controller process: the controller-runtime
// manager with leader election, the probe and metrics server, and the API
// server, with a graceful shutdown that stops work before releasing the lease.
package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	awscw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/trimtab/trimtab/collector/cloudwatch"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/providers"
	"github.com/trimtab/trimtab/collector/secretheaders"
	"github.com/trimtab/trimtab/internal/controller"
	"github.com/trimtab/trimtab/internal/httpapi"
	"github.com/trimtab/trimtab/internal/kube"
	"github.com/trimtab/trimtab/scaler"
)

// Options configure the controller process. Zero durations take the
// defaults of controller-runtime and Argo Rollouts (15 s / 10 s / 2 s).
type Options struct {
	LeaderElection          bool
	LeaderElectionNamespace string
	LeaderElectionID        string
	LeaseDuration           time.Duration
	RenewDeadline           time.Duration
	RetryPeriod             time.Duration
	// MetricsAddress serves /metrics, /livez, /readyz and /healthz.
	MetricsAddress string
	// APIAddress serves trimtab's /api/v1.
	APIAddress string
	// PprofAddress, when set, serves Go's profiles under /debug/pprof/
	// (heap, CPU, goroutines): off by default, since a profile shows the
	// process's memory to whoever can reach the port.
	PprofAddress string
	// ShutdownTimeout bounds the graceful stop of servers and controllers.
	ShutdownTimeout time.Duration
	Version         httpapi.Info
	// Metric sources: the default Prometheus server, and CloudWatch's
	// region and endpoint (credentials come from the AWS default chain).
	PrometheusURL string
	// PrometheusHeadersFile holds headers for PrometheusURL and
	// PredictiveHistoryURL, one `Name: value` per line, read again when it
	// changes.
	PrometheusHeadersFile string
	PrometheusMaxBatch    int
	AWSRegion             string
	CloudWatchEndpoint    string
	// PublishNamespace, when set, turns on publishing release and scaling
	// decisions to CloudWatch under this metric namespace.
	PublishNamespace string
	// CloudWatchClientOptions adjust the CloudWatch client; tests use them
	// to speak moto's protocol. Production leaves them empty.
	CloudWatchClientOptions []func(*awscw.Options)
	// Namespaces limits the controller to these namespaces; empty means all.
	Namespaces []string
	// FalseRollbackRate bounds the chance that a release of a healthy
	// canary is rolled back (default 0.01).
	FalseRollbackRate float64
	// ScalingSyncPeriod is how often every ScalingPolicy is synced, and
	// ScalingMetricInterval the window of its queries (defaults 15 s, 1 min).
	ScalingSyncPeriod     time.Duration
	ScalingMetricInterval time.Duration
	// ReleaseRetryPeriod is how often a Release whose setup the user must
	// fix is reconciled again when none of the objects the controller
	// watches changes (default 1 min); tests lengthen it to show that a
	// watch, not the retry, noticed a change.
	ReleaseRetryPeriod time.Duration
	// PredictiveHistoryURL is a Prometheus that scrapes this controller's
	// metrics, from which a new forecast model reads its policy's past
	// demand (--predictive.history-url; empty: no warm start).
	PredictiveHistoryURL string
}

// FlagError is a failure of New caused by one flag's value: a listen
// address that is taken, say. It is returned as it is, never wrapped, and
// its message names the flag (--metrics.address :8080: …); the trimtab
// command names instead what the user set, which may be the flag's
// TRIMTAB_* variable.
type FlagError struct {
	// Flag is the flag's name without its dashes, e.g. "metrics.address".
	Flag string
	// Value is the flag's value as the message shows it; empty leaves it
	// out, for a value that may hold a secret.
	Value string
	Err   error
}

func (e *FlagError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("--%s: %v", e.Flag, e.Err)
	}
	return fmt.Sprintf("--%s %s: %v", e.Flag, e.Value, e.Err)
}

func (e *FlagError) Unwrap() error { return e.Err }

// Manager is a configured, not yet running, controller process. Its
// listeners are bound by New so callers (and tests using port 0) know the
// addresses before Run.
type Manager struct {
	opts     Options
	logger   *slog.Logger
	mgr      ctrl.Manager
	registry *prometheus.Registry
	// policySeries are served on /metrics beside the registry.
	policySeries *scaler.Recorder
	probes       *http.Server
	api          *http.Server
	probesLn     net.Listener
	apiLn        net.Listener
	pprof        *http.Server
	pprofLn      net.Listener
	draining     atomic.Bool
	pods         cache.Cache
}

// New builds the manager against cfg. Process-wide metrics (Go runtime,
// controller-runtime's own) are served beside trimtab's, which live on a
// registry of this Manager so that two managers in one test stay apart.
func New(cfg *rest.Config, opts Options, logger *slog.Logger) (*Manager, error) {
	if opts.ShutdownTimeout == 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	if opts.LeaderElectionID == "" {
		opts.LeaderElectionID = "trimtab-controller-leader"
	}
	if cfg.QPS == 0 {
		// client-go's default of 5 requests/s would take half an hour to
		// write the status of 10,000 ScalingPolicies; like controller-runtime's
		// own config loader, rely on the API server's priority and fairness.
		cfg = rest.CopyConfig(cfg)
		cfg.QPS = -1
	}
	m := &Manager{opts: opts, logger: logger, registry: prometheus.NewRegistry()}
	lease := func(d, def time.Duration) *time.Duration {
		if d == 0 {
			d = def
		}
		return &d
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        kube.NewScheme(),
		Cache:                         controller.CacheOptions(opts.Namespaces),
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		LeaderElection:                opts.LeaderElection,
		LeaderElectionID:              opts.LeaderElectionID,
		LeaderElectionNamespace:       opts.LeaderElectionNamespace,
		LeaderElectionResourceLock:    "leases",
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 lease(opts.LeaseDuration, 15*time.Second),
		RenewDeadline:                 lease(opts.RenewDeadline, 10*time.Second),
		RetryPeriod:                   lease(opts.RetryPeriod, 2*time.Second),
		GracefulShutdownTimeout:       &opts.ShutdownTimeout,
		// Several managers may share a process (tests of leader election);
		// the check only protects controller-runtime's global metrics.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		return nil, fmt.Errorf("create controller manager: %w", err)
	}
	m.mgr = mgr
	metrics, err := controller.NewMetrics(m.registry)
	if err != nil {
		return nil, fmt.Errorf("register metrics: %w", err)
	}
	m.policySeries = metrics.PolicySeries()
	// One pooled client for every outbound call (scrapes, hooks, web).
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second}}
	// Pods have their own cache of LeanPods: the few fields trimtab reads.
	pods, err := kube.AddLeanPodCache(mgr, opts.Namespaces)
	if err != nil {
		return nil, err
	}
	m.pods = pods
	collectorMetrics := collector.NewMetrics(m.registry)
	var promHeaders *secretheaders.File
	if opts.PrometheusHeadersFile != "" {
		if promHeaders, err = secretheaders.OpenFile(opts.PrometheusHeadersFile); err != nil {
			return nil, &FlagError{Flag: "prometheus.headers-file", Err: err}
		}
	}
	coll, err := providers.NewCollector(providers.Config{
		Kube: mgr.GetClient(), Pods: pods, HTTPClient: httpClient, Metrics: collectorMetrics,
		// Release analysis looks as often as every second and needs a
		// fresh scrape at each look.
		ScrapeMinInterval: 500 * time.Millisecond,
		PrometheusURL:     opts.PrometheusURL, PrometheusHeaders: promHeaders, PrometheusMaxBatch: opts.PrometheusMaxBatch,
		AWSRegion: opts.AWSRegion, CloudWatchEndpoint: opts.CloudWatchEndpoint,
	}, collector.Options{})
	if err != nil {
		return nil, fmt.Errorf("metric collector: %w", err)
	}
	var history controller.Collector
	if opts.PredictiveHistoryURL != "" {
		// Its requests count with the other Prometheus requests.
		history, err = providers.New(collector.KindPrometheus, providers.Config{PrometheusURL: opts.PredictiveHistoryURL, PrometheusHeaders: promHeaders,
			HTTPClient: httpClient, Metrics: collectorMetrics})
		if err != nil {
			return nil, &FlagError{Flag: "predictive.history-url", Err: err}
		}
	}
	var publisher controller.DecisionPublisher
	if opts.PublishNamespace != "" {
		// Loading the AWS configuration happens once, at start-up.
		cw, err := cloudwatch.NewClient(context.Background(), opts.AWSRegion, opts.CloudWatchEndpoint, opts.CloudWatchClientOptions...)
		if err != nil {
			return nil, &FlagError{Flag: "cloudwatch.publish-namespace", Err: err}
		}
		publisher = cloudwatch.NewPublisher(cw, opts.PublishNamespace)
	}
	if err := controller.Setup(mgr, controller.Deps{
		Metrics: metrics, Collector: coll, Pods: pods, HTTPClient: httpClient, FalseRollbackRate: opts.FalseRollbackRate,
		ScalingSyncPeriod: opts.ScalingSyncPeriod, ScalingMetricInterval: opts.ScalingMetricInterval, PredictiveHistory: history, Log: logger,
		Publisher: publisher, ReleaseRetryPeriod: opts.ReleaseRetryPeriod,
	}); err != nil {
		return nil, fmt.Errorf("set up controllers: %w", err)
	}
	if err := m.registry.Register(collectors.NewBuildInfoCollector()); err != nil {
		return nil, err
	}
	router, err := httpapi.New(logger, m.registry, opts.Version)
	if err != nil {
		return nil, fmt.Errorf("api router: %w", err)
	}
	if m.probesLn, err = net.Listen("tcp", opts.MetricsAddress); err != nil {
		return nil, &FlagError{Flag: "metrics.address", Value: opts.MetricsAddress, Err: err}
	}
	if m.apiLn, err = net.Listen("tcp", opts.APIAddress); err != nil {
		m.probesLn.Close()
		return nil, &FlagError{Flag: "api.address", Value: opts.APIAddress, Err: err}
	}
	if opts.PprofAddress != "" {
		if m.pprofLn, err = net.Listen("tcp", opts.PprofAddress); err != nil {
			m.probesLn.Close()
			m.apiLn.Close()
			return nil, &FlagError{Flag: "pprof.address", Value: opts.PprofAddress, Err: err}
		}
		m.pprof = newServer(pprofHandler())
		// A CPU or trace profile streams for as long as its ?seconds= asks.
		m.pprof.WriteTimeout = 0
	}
	m.probes = newServer(m.probeHandler())
	m.api = newServer(router)
	return m, nil
}

func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

func newServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
}

// MetricsAddr is the bound address of the metrics and probe server.
func (m *Manager) MetricsAddr() string { return m.probesLn.Addr().String() }

// APIAddr is the bound address of the API server.
func (m *Manager) APIAddr() string { return m.apiLn.Addr().String() }

// PprofAddr is the bound address of the profiling server, "" when off.
func (m *Manager) PprofAddr() string {
	if m.pprofLn == nil {
		return ""
	}
	return m.pprofLn.Addr().String()
}

// Registry holds trimtab's own metrics.
func (m *Manager) Registry() *prometheus.Registry { return m.registry }

// Elected is closed when this manager becomes the leader (at once without
// leader election).
func (m *Manager) Elected() <-chan struct{} { return m.mgr.Elected() }

func (m *Manager) probeHandler() http.Handler {
	synced := func(req *http.Request) error {
		ctx, cancel := context.WithTimeout(req.Context(), time.Second)
		defer cancel()
		if !m.mgr.GetCache().WaitForCacheSync(ctx) || !m.pods.WaitForCacheSync(ctx) {
			return errors.New("informer caches have not synced")
		}
		return nil
	}
	draining := func(*http.Request) error {
		if m.draining.Load() {
			return errors.New("shutting down")
		}
		return nil
	}
	live := &healthz.Handler{Checks: map[string]healthz.Checker{"ping": healthz.Ping}}
	ready := &healthz.Handler{Checks: map[string]healthz.Checker{"informers": synced, "shutdown": draining}}
	mux := http.NewServeMux()
	// Each probe also serves its checks one by one (/readyz/informers).
	for path, h := range map[string]http.Handler{"/livez": live, "/healthz": live, "/readyz": ready} {
		mux.Handle(path, http.StripPrefix(path, h))
		mux.Handle(path+"/", http.StripPrefix(path, h))
	}
	mux.Handle("/metrics", metricsHandler(prometheus.Gatherers{ctrlmetrics.Registry, m.registry}, m.policySeries, m.logger))
	return mux
}

// Run serves until ctx is cancelled or leadership is lost. On cancel it
// marks itself not ready, stops the controllers (which releases the lease
// only after they stopped), then shuts the servers down.
func (m *Manager) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	serve := func(s *http.Server, ln net.Listener) func() error {
		return func() error {
			if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}
	}
	g.Go(serve(m.probes, m.probesLn))
	g.Go(serve(m.api, m.apiLn))
	if m.pprof != nil {
		g.Go(serve(m.pprof, m.pprofLn))
	}
	g.Go(func() error {
		err := m.mgr.Start(gctx)
		m.draining.Store(true)
		// The servers outlive the controllers by design: probes must keep
		// answering (not ready) while work drains.
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.opts.ShutdownTimeout)
		defer cancel()
		err = errors.Join(err, m.api.Shutdown(shutdownCtx), m.probes.Shutdown(shutdownCtx))
		if m.pprof != nil {
			err = errors.Join(err, m.pprof.Shutdown(shutdownCtx))
		}
		return err
	})
	err := g.Wait()
	m.logger.Info("controller stopped", "error", err)
	return err
}
