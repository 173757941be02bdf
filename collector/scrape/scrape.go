// Package scrape is the default metric provider: it needs no monitoring
// stack. It lists a variant's pods through the API server, scrapes their
// /metrics endpoints concurrently (bounded workers, a timeout per pod),
// keeps a bounded ring buffer per series in memory, and computes gauge
// values, counter rates, histogram quantiles and ratios the way PromQL's
// rate() and histogram_quantile() do, per pod and per variant.
//
// Approximations, compared with Prometheus (docs/metrics.md has more):
//   - Samples are stamped with the provider's clock when the response
//     arrives; exposition timestamps are ignored.
//   - Data exists only from the first Collect that asks for a family; a rate
//     needs two scrapes inside the interval, so the first cycle of a new
//     metric reports no data. Drive Collect more often than the interval
//     (the scaler syncs every 15 s), or use a longer interval.
//   - Windows are left-open (t-interval, t], as in Prometheus 3.
//   - Variant values aggregate pods as sum (gauge, rate), ratio of sums
//     (ratio), and histogram_quantile over summed bucket rates (quantile).
//   - matchLabels filters Metric only: a ratio divides by every series of
//     Denominator (errors / all requests). A pod without a series of Metric
//     counts zero of it (client libraries create code="500" at the first
//     error), so a variant that failed no request has an error ratio of 0
//     where PromQL's sum/sum would have no data.
//   - Only classic histogram buckets are used; native histograms are not.
package scrape

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	dto "github.com/prometheus/client_model/go"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/internal/kube"
)

// PodLister lists the pods of a namespace that match a selector.
type PodLister interface {
	ListPods(ctx context.Context, namespace string, selector labels.Selector) ([]kube.LeanPod, error)
}

// ClientLister lists pods through a reader of LeanPods (the lean pod cache
// in production, kube.NewLeanPodReader in tests).
type ClientLister struct{ Reader client.Reader }

// ListPods implements PodLister. The pods are shared with the cache: read,
// never change them.
func (l ClientLister) ListPods(ctx context.Context, namespace string, selector labels.Selector) ([]kube.LeanPod, error) {
	var list kube.LeanPodList
	if err := l.Reader.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: selector}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	return list.Items, nil
}

// Options configure a Provider; zero fields take the documented defaults.
type Options struct {
	// Pods lists pods; required.
	Pods PodLister
	// HTTPClient is shared by all scrapes; default a pooled client.
	HTTPClient *http.Client
	// Workers bounds concurrent scrapes (default 32).
	Workers int
	// PodTimeout bounds one scrape (default 3 s).
	PodTimeout time.Duration
	// MinInterval: an endpoint scraped more recently is not scraped again,
	// so concurrent consumers share scrapes (default 5 s).
	MinInterval time.Duration
	// BufferPoints is the ring buffer capacity per series (default 120).
	BufferPoints int
	// Retain drops families and pods nobody asked for this long (default 15 min).
	Retain time.Duration
	// MaxBodyBytes bounds one exposition (default 32 MiB).
	MaxBodyBytes int64
	// Now is the clock samples are stamped with (default time.Now).
	Now func() time.Time
	// Metrics records scrapes; nil records nothing.
	Metrics *collector.Metrics
}

// Provider implements collector.Provider for scrape sources.
type Provider struct {
	opts    Options
	metrics *collector.ProviderMetrics

	mu     sync.Mutex
	stores map[string]*podStore
}

// New returns a scrape provider.
func New(opts Options) (*Provider, error) {
	if opts.Pods == nil {
		return nil, errors.New("scrape provider: Options.Pods is required")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	if opts.Workers <= 0 {
		opts.Workers = 32
	}
	if opts.PodTimeout <= 0 {
		opts.PodTimeout = 3 * time.Second
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = 5 * time.Second
	}
	if opts.BufferPoints <= 0 {
		opts.BufferPoints = 120
	}
	if opts.Retain <= 0 {
		opts.Retain = 15 * time.Minute
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 32 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Provider{opts: opts, metrics: opts.Metrics.Provider(string(collector.KindScrape)), stores: map[string]*podStore{}}, nil
}

// endpoint is one pod's metrics URL and its store.
type endpoint struct {
	pod   string
	url   string
	store *podStore
	err   error // this cycle's scrape error
}

// plan is one validated query.
type plan struct {
	src      *trimtabv1.ScrapeSource
	kind     trimtabv1.ScrapeKind
	quantile float64
	matchers []matcher
	window   time.Duration
	eps      []*endpoint
	warnings []string
	err      error
}

// Collect implements collector.Provider.
func (p *Provider) Collect(ctx context.Context, qs []collector.Query) []collector.Result {
	start := p.opts.Now()
	plans := make([]*plan, len(qs))
	pods := map[string]podsOrErr{}
	toScrape := map[*endpoint]bool{}
	byKey := map[string]*endpoint{}
	for i, q := range qs {
		pl := p.validate(q)
		plans[i] = pl
		if pl.err != nil {
			continue
		}
		key := q.Target.Namespace + "|" + q.Target.Selector.String()
		po, ok := pods[key]
		if !ok {
			po.pods, po.err = p.opts.Pods.ListPods(ctx, q.Target.Namespace, q.Target.Selector)
			pods[key] = po
		}
		if po.err != nil {
			pl.err = collector.Errorf(collector.ReasonUnavailable, "list pods of %s in namespace %s: %w", q.Target.Selector, q.Target.Namespace, po.err)
			continue
		}
		p.resolve(pl, q, po.pods, byKey, start)
		for _, ep := range pl.eps {
			ep.store.mu.Lock()
			due := start.Sub(ep.store.lastScrape) >= p.opts.MinInterval
			ep.store.mu.Unlock()
			if due {
				toScrape[ep] = true
			}
		}
	}
	p.scrapeAll(ctx, toScrape)
	now := p.opts.Now()
	out := make([]collector.Result, len(qs))
	for i, pl := range plans {
		if pl.err != nil {
			out[i].Err = fmt.Errorf("metric %q: %w", qs[i].Metric.Name, pl.err)
			continue
		}
		out[i] = p.evaluate(pl, qs[i], now)
	}
	p.evict(start)
	return out
}

type podsOrErr struct {
	pods []kube.LeanPod
	err  error
}

var quantileRE = regexp.MustCompile(`^0?\.[0-9]*[1-9][0-9]*$`)

func (p *Provider) validate(q collector.Query) *plan {
	src := q.Metric.Scrape
	pl := &plan{src: src, window: q.Window()}
	switch {
	case src == nil:
		pl.err = collector.Errorf(collector.ReasonConfig, "scrape provider got a metric without a scrape source")
		return pl
	case q.Target.Selector == nil || q.Target.Selector.Empty():
		pl.err = collector.Errorf(collector.ReasonConfig, "target %s/%s (%s) has no pod selector; the controller must set Target.Selector for scrape sources", q.Target.Namespace, q.Target.Name, q.Target.Variant)
		return pl
	case src.Metric == "":
		pl.err = collector.Errorf(collector.ReasonConfig, "scrape.metric is empty; set the metric family name, e.g. http_requests_total")
		return pl
	}
	pl.kind = src.Kind
	if pl.kind == "" {
		pl.kind = trimtabv1.ScrapeGauge
	}
	switch pl.kind {
	case trimtabv1.ScrapeGauge, trimtabv1.ScrapeRate:
	case trimtabv1.ScrapeQuantile:
		v, err := strconv.ParseFloat(src.Quantile, 64)
		if !quantileRE.MatchString(src.Quantile) || err != nil {
			pl.err = collector.Errorf(collector.ReasonConfig, "scrape.quantile %q must be a decimal in (0,1) such as \"0.99\" when kind is quantile", src.Quantile)
			return pl
		}
		pl.quantile = v
	case trimtabv1.ScrapeRatio:
		if src.Denominator == "" {
			pl.err = collector.Errorf(collector.ReasonConfig, "scrape.denominator is required when kind is ratio")
			return pl
		}
	default:
		pl.err = collector.Errorf(collector.ReasonConfig, "scrape.kind %q is unknown; use gauge, rate, quantile or ratio", pl.kind)
		return pl
	}
	names := make([]string, 0, len(src.MatchLabels))
	for n := range src.MatchLabels {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		re, err := regexp.Compile("^(?:" + src.MatchLabels[n] + ")$")
		if err != nil {
			pl.err = collector.Errorf(collector.ReasonConfig, "scrape.matchLabels[%s]: invalid regular expression: %w", n, err)
			return pl
		}
		pl.matchers = append(pl.matchers, matcher{name: n, re: re})
	}
	return pl
}

// families are the exposition families a plan reads.
func (pl *plan) families() []string {
	if pl.kind == trimtabv1.ScrapeRatio {
		return []string{pl.src.Metric, pl.src.Denominator}
	}
	return []string{pl.src.Metric}
}

func podReady(pod *kube.LeanPod) bool {
	if pod.DeletionTimestamp != nil || pod.Status.Phase != corev1.PodRunning || pod.Status.PodIP == "" {
		return false
	}
	r := pod.Ready()
	return r != nil && r.Status == corev1.ConditionTrue
}

// resolve finds the endpoints of the ready pods and records interest.
func (p *Provider) resolve(pl *plan, q collector.Query, pods []kube.LeanPod, byKey map[string]*endpoint, now time.Time) {
	ready := 0
	for i := range pods {
		pod := &pods[i]
		if !podReady(pod) {
			continue
		}
		ready++
		port, err := metricsPort(pl.src, pod)
		if err != nil {
			pl.warnings = append(pl.warnings, err.Error())
			continue
		}
		path := pl.src.Path
		if path == "" {
			path = pod.Annotations["prometheus.io/path"]
		}
		if path == "" {
			path = "/metrics"
		}
		scheme := "http"
		if pod.Annotations["prometheus.io/scheme"] == "https" {
			scheme = "https"
		}
		url := fmt.Sprintf("%s://%s%s", scheme, net.JoinHostPort(pod.Status.PodIP, strconv.Itoa(int(port))), path)
		key := string(pod.UID) + "|" + pod.Namespace + "/" + pod.Name + "|" + url
		ep := byKey[key]
		if ep == nil {
			p.mu.Lock()
			st := p.stores[key]
			if st == nil {
				st = newPodStore(p.opts.BufferPoints)
				p.stores[key] = st
			}
			p.mu.Unlock()
			ep = &endpoint{pod: pod.Name, url: url, store: st}
			byKey[key] = ep
		}
		ep.store.want(pl.families(), now, now.Add(-p.opts.Retain))
		pl.eps = append(pl.eps, ep)
	}
	switch {
	case ready == 0:
		pl.err = collector.Errorf(collector.ReasonNoData, "no running, ready pods match %s in namespace %s", q.Target.Selector, q.Target.Namespace)
	case len(pl.eps) == 0:
		pl.err = collector.Errorf(collector.ReasonConfig, "none of the %d ready pods has a metrics port: %s", ready, strings.Join(pl.warnings, "; "))
	}
}

func metricsPort(src *trimtabv1.ScrapeSource, pod *kube.LeanPod) (int32, error) {
	if src.Port != nil {
		return *src.Port, nil
	}
	if a, ok := pod.Annotations["prometheus.io/port"]; ok {
		n, err := strconv.ParseInt(a, 10, 32)
		if err != nil || n < 1 || n > 65535 {
			return 0, fmt.Errorf("pod %s: annotation prometheus.io/port=%q is not a port number", pod.Name, a)
		}
		return int32(n), nil
	}
	for _, c := range pod.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == "metrics" {
				return cp.ContainerPort, nil
			}
		}
	}
	return 0, fmt.Errorf("pod %s has no metrics port: set scrape.port, the prometheus.io/port annotation or a container port named \"metrics\"", pod.Name)
}

// scrapeAll scrapes the endpoints with bounded concurrency.
func (p *Provider) scrapeAll(ctx context.Context, eps map[*endpoint]bool) {
	sem := make(chan struct{}, p.opts.Workers)
	var wg sync.WaitGroup
	for ep := range eps {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			st := ep.store
			st.mu.Lock()
			if wait := st.scraping; wait != nil {
				// Another consumer is scraping this pod: take its result.
				st.mu.Unlock()
				select {
				case <-wait:
				case <-ctx.Done():
					ep.err = collector.Errorf(collector.ReasonCanceled, "pod %s: %w", ep.pod, ctx.Err())
					return
				}
				st.mu.Lock()
				ep.err = st.lastErr
				st.mu.Unlock()
				return
			}
			done := make(chan struct{})
			st.scraping = done
			st.mu.Unlock()
			ep.err = p.scrape(ctx, ep)
			st.mu.Lock()
			if ep.err != nil {
				st.lastErr = ep.err
			}
			st.scraping = nil
			st.mu.Unlock()
			close(done)
		}()
	}
	wg.Wait()
	n := 0
	p.mu.Lock()
	for _, st := range p.stores {
		n += st.seriesCount()
	}
	p.mu.Unlock()
	p.metrics.BufferedSeries(n)
}

func (p *Provider) scrape(ctx context.Context, ep *endpoint) error {
	ctx, cancel := context.WithTimeout(ctx, p.opts.PodTimeout)
	defer cancel()
	began := time.Now()
	defer func() { p.metrics.Request(time.Since(began), 1) }()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.url, nil)
	if err != nil {
		return collector.Errorf(collector.ReasonConfig, "pod %s: scrape URL %s (port and path from scrape.port/scrape.path or the prometheus.io annotations): %w", ep.pod, collector.RedactURL(ep.url), collector.RedactURLError(err))
	}
	req.Header.Set("Accept", acceptHeader)
	resp, err := p.opts.HTTPClient.Do(req)
	if err != nil {
		return scrapeError(ep, ctx, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		reason := collector.ReasonBadResponse
		if resp.StatusCode >= 500 {
			reason = collector.ReasonUnavailable
		}
		return collector.Errorf(reason, "pod %s: GET %s: HTTP %d", ep.pod, collector.RedactURL(ep.url), resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, p.opts.MaxBodyBytes+1))
	if err != nil {
		return scrapeError(ep, ctx, err)
	}
	if int64(len(body)) > p.opts.MaxBodyBytes {
		return collector.Errorf(collector.ReasonBadResponse, "pod %s: exposition larger than %d bytes", ep.pod, p.opts.MaxBodyBytes)
	}
	fams, err := parse(body, resp.Header.Get("Content-Type"))
	if err != nil {
		return collector.Errorf(collector.ReasonBadResponse, "pod %s: %w", ep.pod, err)
	}
	p.metrics.Samples(ep.store.ingest(fams, p.opts.Now()))
	return nil
}

func scrapeError(ep *endpoint, ctx context.Context, err error) error {
	// The path may carry a token in its query string.
	if ctx.Err() != nil {
		return collector.Errorf(collector.ReasonTimeout, "pod %s: scrape of %s did not finish in time: %w", ep.pod, collector.RedactURL(ep.url), ctx.Err())
	}
	return collector.Classify(fmt.Errorf("pod %s: scrape %s: %w", ep.pod, collector.RedactURL(ep.url), collector.RedactURLError(err)))
}

// evict forgets endpoints nobody has asked about for Retain.
func (p *Provider) evict(now time.Time) {
	cutoff := now.Add(-p.opts.Retain)
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, st := range p.stores {
		st.mu.Lock()
		idle := true
		for _, at := range st.interest {
			if !at.Before(cutoff) {
				idle = false
				break
			}
		}
		st.mu.Unlock()
		if idle {
			delete(p.stores, k)
		}
	}
}

// evaluate computes a plan's answer at the end of the cycle.
func (p *Provider) evaluate(pl *plan, q collector.Query, now time.Time) collector.Result {
	res := collector.Result{Warnings: pl.warnings}
	var failed []error
	for _, ep := range pl.eps {
		if ep.err != nil {
			failed = append(failed, ep.err)
			res.Warnings = append(res.Warnings, ep.err.Error())
		}
	}
	if len(failed) == len(pl.eps) {
		res.Err = fmt.Errorf("metric %q: all %d pods failed to scrape: %w", q.Metric.Name, len(failed), errors.Join(failed...))
		if r := collector.ReasonOf(failed[0]); r != "" {
			res.Err = &collector.Error{Reason: r, Err: res.Err}
		}
		return res
	}
	// A pod that failed to scrape is left out: what it has buffered is
	// as old as its last success, and Prometheus would have marked its
	// series stale.
	pl.eps = slices.DeleteFunc(pl.eps, func(ep *endpoint) bool { return ep.err != nil })
	if err := pl.checkTypes(); err != nil {
		res.Err = fmt.Errorf("metric %q: %w", q.Metric.Name, err)
		return res
	}
	times := []time.Time{now}
	if r := q.Range; r != nil && r.Step > 0 && !r.End.Before(r.Start) {
		if n := r.End.Sub(r.Start)/r.Step + 1; n > maxRangePoints {
			res.Err = collector.Errorf(collector.ReasonBadQuery, "metric %q: a range of %d points (%v at a %v step) is more than %d; widen the step", q.Metric.Name, n, r.End.Sub(r.Start), r.Step, maxRangePoints)
			return res
		}
		times = times[:0]
		for t := r.Start; !t.After(r.End); t = t.Add(r.Step) {
			times = append(times, t)
		}
	}
	agg := collector.Series{}
	perPod := map[string]*collector.Series{}
	for _, t := range times {
		v, pods := pl.at(t.UnixMilli())
		if !math.IsNaN(v) {
			agg.Samples = append(agg.Samples, collector.Sample{Time: t, Value: v})
		}
		for pod, pv := range pods {
			s := perPod[pod]
			if s == nil {
				s = &collector.Series{Labels: map[string]string{"pod": pod}}
				perPod[pod] = s
			}
			s.Samples = append(s.Samples, collector.Sample{Time: t, Value: pv})
		}
	}
	if len(agg.Samples) == 0 {
		res.Err = collector.Errorf(collector.ReasonNoData, "metric %q: %s", q.Metric.Name, pl.noDataReason(times[len(times)-1].UnixMilli()))
		return res
	}
	res.Series = []collector.Series{agg}
	names := make([]string, 0, len(perPod))
	for n := range perPod {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		res.PerPod = append(res.PerPod, *perPod[n])
	}
	return res
}

// maxRangePoints bounds a range query's points, as Prometheus does (its
// "exceeded maximum resolution of 11,000 points"): each costs an
// evaluation over every pod.
const maxRangePoints = 11_000

// checkTypes rejects a kind that does not fit the family's type.
func (pl *plan) checkTypes() error {
	for _, ep := range pl.eps {
		ep.store.mu.Lock()
		typ, known := ep.store.types[pl.src.Metric]
		denom, denomKnown := ep.store.types[pl.src.Denominator]
		ep.store.mu.Unlock()
		// A ratio rates its denominator too: it must be a counter.
		if pl.kind == trimtabv1.ScrapeRatio && denomKnown && denom != dto.MetricType_COUNTER && denom != dto.MetricType_UNTYPED {
			return collector.Errorf(collector.ReasonBadQuery, "scrape.denominator %s must be a counter, but pod %s exposes it as a %s", pl.src.Denominator, ep.pod, strings.ToLower(denom.String()))
		}
		if !known {
			continue
		}
		var bad bool
		switch pl.kind {
		case trimtabv1.ScrapeGauge:
			// A summary's quantile series are gauges, one of which
			// matchLabels must pick: their sum means nothing.
			_, quantile := pl.src.MatchLabels["quantile"]
			bad = typ != dto.MetricType_GAUGE && typ != dto.MetricType_UNTYPED && (typ != dto.MetricType_SUMMARY || !quantile)
		case trimtabv1.ScrapeRate, trimtabv1.ScrapeRatio:
			bad = typ != dto.MetricType_COUNTER && typ != dto.MetricType_UNTYPED
		case trimtabv1.ScrapeQuantile:
			bad = typ != dto.MetricType_HISTOGRAM
		}
		if bad {
			return collector.Errorf(collector.ReasonBadQuery, "scrape.kind %s does not fit %s, which pod %s exposes as a %s; use %s", pl.kind, pl.src.Metric, ep.pod, strings.ToLower(typ.String()), kindFor(typ))
		}
	}
	return nil
}

func kindFor(t dto.MetricType) string {
	switch t {
	case dto.MetricType_COUNTER:
		return "kind rate (or ratio)"
	case dto.MetricType_HISTOGRAM:
		return "kind quantile"
	case dto.MetricType_SUMMARY:
		return "kind gauge with matchLabels {quantile: \"0.99\"}"
	default:
		return "kind gauge"
	}
}

// noDataReason says why the variant has no value at t, the last time
// evaluated.
func (pl *plan) noDataReason(t int64) string {
	exposed := 0
	for _, ep := range pl.eps {
		ep.store.mu.Lock()
		if _, ok := ep.store.types[pl.src.Metric]; ok {
			exposed++
		}
		ep.store.mu.Unlock()
	}
	if exposed == 0 {
		return fmt.Sprintf("%s is not exposed by any of the %d pods scraped", pl.src.Metric, len(pl.eps))
	}
	switch pl.kind {
	case trimtabv1.ScrapeRate, trimtabv1.ScrapeRatio, trimtabv1.ScrapeQuantile:
		return fmt.Sprintf("no rate yet: %s needs two scrapes within the %v interval, or had no increase (ratio and quantile need a non-zero denominator or observations)", pl.src.Metric, pl.window)
	}
	if pods := pl.nanPods(t); len(pods) > 0 {
		return fmt.Sprintf("%s reads NaN (an exporter's 0/0, say) on %s, which makes the sum over the pods NaN", pl.src.Metric, somePods(pods))
	}
	return fmt.Sprintf("no series of %s match matchLabels", pl.src.Metric)
}

// nanPods are the pods whose gauge, as at sums it, reads NaN at t.
func (pl *plan) nanPods(t int64) []string {
	var pods []string
	for _, ep := range pl.eps {
		if v, ok := ep.sumLatest(pl.src.Metric, pl.matchers, t-staleness.Milliseconds(), t); ok && math.IsNaN(v) {
			pods = append(pods, ep.pod)
		}
	}
	// Sorted: the pods come in the cache's order, and a message that
	// changed with it would rewrite the condition every cycle.
	sort.Strings(pods)
	return pods
}

// somePods names a few pods: an error goes into conditions and Events,
// which a deployment of hundreds of pods would flood.
func somePods(pods []string) string {
	const most = 3
	if len(pods) == 1 {
		return "pod " + pods[0]
	}
	if len(pods) <= most {
		return "pods " + strings.Join(pods, ", ")
	}
	return fmt.Sprintf("pods %s and %d more", strings.Join(pods[:most], ", "), len(pods)-most)
}

// staleness is how far back a gauge's last value is still current, as
// PromQL's lookback delta.
const staleness = 5 * time.Minute

// at computes the variant value and per-pod values at t (ms).
func (pl *plan) at(t int64) (float64, map[string]float64) {
	from := t - pl.window.Milliseconds()
	perPod := map[string]float64{}
	switch pl.kind {
	case trimtabv1.ScrapeGauge:
		sum, any := 0.0, false
		for _, ep := range pl.eps {
			if v, ok := ep.sumLatest(pl.src.Metric, pl.matchers, t-staleness.Milliseconds(), t); ok {
				perPod[ep.pod] += v
				sum += v
				any = true
			}
		}
		if !any {
			return math.NaN(), perPod
		}
		return sum, perPod
	case trimtabv1.ScrapeRate, trimtabv1.ScrapeRatio:
		num, den, anyNum, anyDen := 0.0, 0.0, false, false
		for _, ep := range pl.eps {
			n, okN := ep.sumRate(pl.src.Metric, pl.matchers, from, t)
			if pl.kind == trimtabv1.ScrapeRate {
				if okN {
					perPod[ep.pod] += n
					num += n
					anyNum = true
				}
				continue
			}
			// A pod's requests count even when it has no numerator series:
			// a client library creates a labelled series (code="500") at its
			// first increment, so "none" is zero errors, not no data.
			d, okD := ep.sumRate(pl.src.Denominator, nil, from, t)
			if !okD {
				continue
			}
			if !okN {
				n = 0
			}
			if d > 0 {
				perPod[ep.pod] = n / d
			}
			num, den, anyNum, anyDen = num+n, den+d, true, true
		}
		switch {
		case !anyNum:
			return math.NaN(), perPod
		case pl.kind == trimtabv1.ScrapeRate:
			return num, perPod
		case !anyDen || den == 0:
			return math.NaN(), perPod
		}
		return num / den, perPod
	default: // quantile
		total := map[float64]float64{}
		for _, ep := range pl.eps {
			buckets := ep.bucketRates(pl.src.Metric+"_bucket", pl.matchers, from, t)
			if len(buckets) == 0 {
				continue
			}
			bs := make([]bucket, 0, len(buckets))
			for le, c := range buckets {
				bs = append(bs, bucket{le, c})
				total[le] += c
			}
			if v := histogramQuantile(pl.quantile, bs); !math.IsNaN(v) {
				perPod[ep.pod] = v
			}
		}
		bs := make([]bucket, 0, len(total))
		for le, c := range total {
			bs = append(bs, bucket{le, c})
		}
		return histogramQuantile(pl.quantile, bs), perPod
	}
}

// each calls fn with the points in (from, to] of every series called name
// that matches m, under the store's lock.
func (ep *endpoint) each(name string, m []matcher, from, to int64, fn func(s *series, pts []point, truncated bool)) {
	ep.store.mu.Lock()
	defer ep.store.mu.Unlock()
	var buf []point
	for _, s := range ep.store.byName[name] {
		if s.matches(m) {
			var truncated bool
			buf, truncated = s.ring.window(from, to, buf[:0])
			fn(s, buf, truncated)
		}
	}
}

func (ep *endpoint) sumLatest(name string, m []matcher, from, to int64) (sum float64, any bool) {
	ep.each(name, m, from, to, func(_ *series, pts []point, _ bool) {
		if len(pts) > 0 {
			sum += pts[len(pts)-1].v
			any = true
		}
	})
	return sum, any
}

func (ep *endpoint) sumRate(name string, m []matcher, from, to int64) (sum float64, any bool) {
	ep.each(name, m, from, to, func(_ *series, pts []point, truncated bool) {
		if r, ok := extrapolatedRate(pts, from, to, truncated); ok {
			sum += r
			any = true
		}
	})
	return sum, any
}

// bucketRates sums the rates of matching _bucket series per bound.
func (ep *endpoint) bucketRates(name string, m []matcher, from, to int64) map[float64]float64 {
	out := map[float64]float64{}
	ep.each(name, m, from, to, func(s *series, pts []point, truncated bool) {
		if r, ok := extrapolatedRate(pts, from, to, truncated); ok {
			out[s.le] += r
		}
	})
	return out
}
