// Package providers builds the collector's providers by kind; it is the one
// place that knows every provider, and it errors on kinds it does not know.
package providers

import (
	"fmt"
	"net/http"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/cloudwatch"
	"github.com/trimtab/trimtab/collector/prometheus"
	"github.com/trimtab/trimtab/collector/scrape"
	"github.com/trimtab/trimtab/collector/secretheaders"
	"github.com/trimtab/trimtab/collector/web"
)

// Config is what the controller knows from its flags.
type Config struct {
	// Kube reads Secrets (web headers); the manager's cached client in
	// production.
	Kube client.Reader
	// Pods reads kube.LeanPods for the scrape provider: the lean pod cache
	// in production.
	Pods client.Reader
	// HTTPClient is shared by the HTTP-based providers; nil uses each
	// provider's default.
	HTTPClient *http.Client
	// PrometheusURL is the default server (--prometheus.url).
	PrometheusURL string
	// PrometheusHeaders are sent to PrometheusURL (--prometheus.headers-file).
	PrometheusHeaders *secretheaders.File
	// PrometheusMaxBatch bounds the targets one Prometheus request answers
	// (--prometheus.max-batch); zero takes the provider's default.
	PrometheusMaxBatch int
	// AWSRegion and CloudWatchEndpoint configure CloudWatch (--aws.region,
	// --cloudwatch.endpoint); credentials come from the default chain.
	AWSRegion          string
	CloudWatchEndpoint string
	// ScrapeMinInterval: a pod scraped more recently is not scraped again,
	// so consumers share scrapes; zero takes the scrape provider's default.
	// Keep it below the shortest analysis interval.
	ScrapeMinInterval time.Duration
	// Metrics records collection; nil records nothing.
	Metrics *collector.Metrics
}

// Kinds lists every kind New knows.
var Kinds = []collector.Kind{collector.KindScrape, collector.KindPrometheus, collector.KindCloudWatch, collector.KindWeb}

// New builds the provider of one kind.
func New(kind collector.Kind, cfg Config) (collector.Provider, error) {
	switch kind {
	case collector.KindScrape:
		if cfg.Pods == nil {
			return nil, fmt.Errorf("scrape provider needs a reader of pods (Config.Pods)")
		}
		return scrape.New(scrape.Options{Pods: scrape.ClientLister{Reader: cfg.Pods}, HTTPClient: cfg.HTTPClient, Metrics: cfg.Metrics, MinInterval: cfg.ScrapeMinInterval})
	case collector.KindPrometheus:
		return prometheus.New(prometheus.Options{DefaultURL: cfg.PrometheusURL, DefaultHeaders: cfg.PrometheusHeaders, MaxBatch: cfg.PrometheusMaxBatch, HTTPClient: cfg.HTTPClient,
			Secrets: secrets(cfg), Metrics: cfg.Metrics}), nil
	case collector.KindCloudWatch:
		return cloudwatch.New(cloudwatch.Options{Region: cfg.AWSRegion, Endpoint: cfg.CloudWatchEndpoint, Metrics: cfg.Metrics}), nil
	case collector.KindWeb:
		return web.New(web.Options{HTTPClient: cfg.HTTPClient, Secrets: secrets(cfg), Metrics: cfg.Metrics}), nil
	default:
		return nil, fmt.Errorf("unknown metric source kind %q; known kinds are %v", kind, Kinds)
	}
}

// secrets reads headersSecretRef Secrets, or is nil (sources that name one
// fail with a config error) when the controller has no Kubernetes client.
func secrets(cfg Config) secretheaders.Getter {
	if cfg.Kube == nil {
		return nil
	}
	return secretheaders.ClientGetter{Reader: cfg.Kube}
}

// NewCollector builds a Collector over the given kinds (all of Kinds when
// none are given).
func NewCollector(cfg Config, opts collector.Options, kinds ...collector.Kind) (*collector.Collector, error) {
	if len(kinds) == 0 {
		kinds = Kinds
	}
	ps := make(map[collector.Kind]collector.Provider, len(kinds))
	for _, k := range kinds {
		p, err := New(k, cfg)
		if err != nil {
			return nil, err
		}
		ps[k] = p
	}
	if opts.Metrics == nil {
		opts.Metrics = cfg.Metrics
	}
	return collector.New(ps, opts), nil
}
