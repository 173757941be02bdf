package collector

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are trimtab's own metrics about collection. One value serves every
// provider; a nil *Metrics records nothing.
type Metrics struct {
	value     *lastValues
	duration  *prometheus.HistogramVec
	errors    *prometheus.CounterVec
	batch     *prometheus.HistogramVec
	queries   *prometheus.CounterVec
	requests  *prometheus.CounterVec
	cacheHits *prometheus.CounterVec
	samples   *prometheus.CounterVec
	series    *prometheus.GaugeVec
}

// NewMetrics creates the collection metrics and registers them with reg
// (nil: not registered, for tests that only read them back).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	p := []string{"provider"}
	m := &Metrics{
		value: &lastValues{
			desc: prometheus.NewDesc("trimtab_metric_value",
				"Last value collected per metric of a Release or ScalingPolicy and variant, in the metric's own unit.",
				[]string{"namespace", "owner_kind", "owner", "metric", "group", "variant"}, nil),
			values: map[valueKey]float64{},
		},
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trimtab_collector_request_duration_seconds",
			Help:    "Duration of one request to a metric backend (one PromQL query, one GetMetricData call, one pod scrape, one HTTP GET).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, p),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trimtab_collector_errors_total",
			Help: "Queries answered with an error, by provider and reason (no_data, timeout, unavailable, bad_response, bad_query, unknown_metric, config, canceled).",
		}, []string{"provider", "reason"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trimtab_collector_batch_queries",
			Help:    "Number of consumer queries answered by one backend request.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 7),
		}, p),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trimtab_collector_queries_total",
			Help: "Queries asked by the release and scaling controllers, by provider.",
		}, p),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trimtab_collector_requests_total",
			Help: "Requests sent to metric backends, by provider; compare with trimtab_collector_queries_total to see batching and caching at work.",
		}, p),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trimtab_collector_cache_hits_total",
			Help: "Queries answered from the provider's cache without a backend request.",
		}, p),
		samples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trimtab_collector_scraped_samples_total",
			Help: "Samples parsed from pod /metrics endpoints by the scrape provider.",
		}, p),
		series: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trimtab_collector_buffered_series",
			Help: "Series held in the scrape provider's in-memory ring buffers.",
		}, p),
	}
	if reg != nil {
		reg.MustRegister(m.value, m.duration, m.errors, m.batch, m.queries, m.requests, m.cacheHits, m.samples, m.series)
	}
	return m
}

// Provider returns the recorder a provider uses, labelled with its name.
func (m *Metrics) Provider(name string) *ProviderMetrics {
	return &ProviderMetrics{m: m, provider: name}
}

// Forget deletes the exported values of an owner, when it is deleted.
func (m *Metrics) Forget(namespace string, owner Owner) {
	if m == nil {
		return
	}
	m.value.forget(namespace, owner)
}

func (m *Metrics) record(provider string, q Query, r Result) {
	if m == nil {
		return
	}
	if provider == "" {
		provider = "none"
	}
	m.queries.WithLabelValues(provider).Inc()
	key := valueKey{q.Target.Namespace, q.Owner.Kind, q.Owner.Name, q.Metric.Name, q.Metric.Group, string(q.Target.Variant)}
	if r.Err != nil {
		m.errors.WithLabelValues(provider, string(ReasonOf(r.Err))).Inc()
		m.value.delete(key)
		return
	}
	// One value is exported per query. An answer without one (several
	// series, which a scaling metric's consumer sums or reads per pod, or
	// none) is not an error here, but must not leave the last value
	// standing as if it were current.
	if s, err := r.Latest(); err == nil {
		m.value.set(key, s.Value)
	} else {
		m.value.delete(key)
	}
}

// ProviderMetrics records what one provider does; nil-safe.
type ProviderMetrics struct {
	m        *Metrics
	provider string
}

// Request records one backend request that answered batch queries.
func (p *ProviderMetrics) Request(d time.Duration, batch int) {
	if p == nil || p.m == nil {
		return
	}
	p.m.requests.WithLabelValues(p.provider).Inc()
	p.m.duration.WithLabelValues(p.provider).Observe(d.Seconds())
	p.m.batch.WithLabelValues(p.provider).Observe(float64(batch))
}

// CacheHits records n queries answered from cache.
func (p *ProviderMetrics) CacheHits(n int) {
	if p == nil || p.m == nil || n == 0 {
		return
	}
	p.m.cacheHits.WithLabelValues(p.provider).Add(float64(n))
}

// Samples records n scraped samples.
func (p *ProviderMetrics) Samples(n int) {
	if p == nil || p.m == nil {
		return
	}
	p.m.samples.WithLabelValues(p.provider).Add(float64(n))
}

// BufferedSeries sets the number of buffered series.
func (p *ProviderMetrics) BufferedSeries(n int) {
	if p == nil || p.m == nil {
		return
	}
	p.m.series.WithLabelValues(p.provider).Set(float64(n))
}

// lastValues is trimtab_metric_value: the latest value per owner, metric and
// variant, kept as one map entry and turned into series when Prometheus
// scrapes. A labelled gauge would hold about 700 bytes per series between
// scrapes; 10,000 ScalingPolicies with two metrics each have 20,000.
type lastValues struct {
	desc *prometheus.Desc

	mu     sync.Mutex
	values map[valueKey]float64
}

type valueKey struct{ namespace, ownerKind, owner, metric, group, variant string }

func (v *lastValues) set(k valueKey, x float64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.values[k] = x
}

func (v *lastValues) delete(k valueKey) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.values, k)
}

func (v *lastValues) forget(namespace string, owner Owner) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for k := range v.values {
		if k.namespace == namespace && k.ownerKind == owner.Kind && k.owner == owner.Name {
			delete(v.values, k)
		}
	}
}

// Describe implements prometheus.Collector.
func (v *lastValues) Describe(ch chan<- *prometheus.Desc) { ch <- v.desc }

// Collect implements prometheus.Collector; it copies under the lock and
// builds the series outside it, so that a slow scrape holds up no query.
func (v *lastValues) Collect(ch chan<- prometheus.Metric) {
	type entry struct {
		k valueKey
		x float64
	}
	v.mu.Lock()
	snapshot := make([]entry, 0, len(v.values))
	for k, x := range v.values {
		snapshot = append(snapshot, entry{k, x})
	}
	v.mu.Unlock()
	for _, e := range snapshot {
		ch <- prometheus.MustNewConstMetric(v.desc, prometheus.GaugeValue, e.x,
			e.k.namespace, e.k.ownerKind, e.k.owner, e.k.metric, e.k.group, e.k.variant)
	}
}
