// Package prometheus answers PromQL sources through the Prometheus HTTP API.
//
// Queries that share a template, a server and an evaluation time are sent
// as one request (see planBatch): 1,000 ScalingPolicies with one template
// cost one query per step, where a per-object design sends 1,000. Instant
// queries are evaluated at At truncated to Options.Step, which makes
// consumers in the same step ask the same question, and answers are cached
// per server, query and step. Templates are parsed with Prometheus's own
// PromQL parser before anything is sent, so invalid PromQL is a per-metric
// permanent error that costs no request.
package prometheus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"golang.org/x/sync/errgroup"

	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/secretheaders"
)

// Options configure a Provider; zero fields take the documented defaults.
type Options struct {
	// DefaultURL is used by sources without an address (--prometheus.url).
	DefaultURL string
	// DefaultHeaders are sent to DefaultURL (--prometheus.headers-file);
	// a source's headersSecretRef adds to them and wins for a name both give.
	DefaultHeaders *secretheaders.File
	// HTTPClient is shared by all servers; default http.DefaultClient.
	HTTPClient *http.Client
	// Secrets resolves prometheus.headersSecretRef; nil rejects sources
	// that use one.
	Secrets secretheaders.Getter
	// NewAPI builds the client of one server, given the HTTP client that
	// carries its headers; default NewHTTPAPI.
	NewAPI func(address string, hc *http.Client) (API, error)
	// Step is the resolution instant queries are evaluated at and cached
	// by (default 15 s, a common scrape interval).
	Step time.Duration
	// Timeout bounds one request, and is passed to Prometheus (default 10 s).
	Timeout time.Duration
	// Backoff retries retryable failures (default collector.DefaultBackoff).
	Backoff collector.Backoff
	// MaxBatch bounds the targets of one request (default 10,000).
	MaxBatch int
	// MaxQueryBytes bounds the length of one combined query (default
	// 4 MiB, well inside the 10 MB form body Prometheus's Go HTTP server
	// parses); a longer batch is split in halves until each part fits.
	MaxQueryBytes int
	// MaxConcurrent bounds the requests in flight at once, over every query
	// template and Collect call (default 16).
	MaxConcurrent int
	// CacheEntries bounds the cache (default 100,000 answers).
	CacheEntries int
	// Now is the clock for queries without At (default time.Now).
	Now func() time.Time
	// Metrics records requests; nil records nothing.
	Metrics *collector.Metrics
}

// Provider implements collector.Provider for prometheus sources.
type Provider struct {
	opts    Options
	metrics *collector.ProviderMetrics

	// inflight bounds the requests in flight across every group and
	// batch of every Collect call (Options.MaxConcurrent).
	inflight chan struct{}

	mu   sync.Mutex
	apis map[serverKey]*server
	// apisSwept is when clients unused for clientIdle were last dropped.
	apisSwept time.Time
	cache     map[cacheKey]cached
	swept     time.Time // when expired answers were last removed
}

type cached struct {
	res     collector.Result
	expires time.Time
}

// New returns a Prometheus provider.
func New(opts Options) *Provider {
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.NewAPI == nil {
		opts.NewAPI = NewHTTPAPI
	}
	if opts.Step <= 0 {
		opts.Step = 15 * time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Backoff.Attempts <= 0 {
		opts.Backoff = collector.DefaultBackoff
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 10_000
	}
	if opts.MaxQueryBytes <= 0 {
		opts.MaxQueryBytes = 4 << 20
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 16
	}
	if opts.CacheEntries <= 0 {
		opts.CacheEntries = 100_000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Provider{opts: opts, metrics: opts.Metrics.Provider(string(collector.KindPrometheus)),
		inflight: make(chan struct{}, opts.MaxConcurrent),
		apis:     map[serverKey]*server{}, cache: map[cacheKey]cached{}}
}

// prepared is one query ready to send.
type prepared struct {
	address  string
	headers  secretheaders.Headers
	server   serverKey
	rendered string
	at       time.Time
	rng      *Range
	group    groupKey
	cacheKey cacheKey
}

// The keys are structs of strings the queries already hold (a template is
// the cached policy's own string): at 10,000 policies, keys concatenated
// into strings of their own were about 7 MB of every cycle's peak.

// serverKey is what one client serves: an address and the digest of its
// headers (secretheaders.Headers.Key).
type serverKey struct{ address, headers string }

// span is what a query evaluates, in Unix milliseconds: an instant (start
// and end equal, no step) or a range.
type span struct{ start, end, step int64 }

// groupKey is what queries must share to go in one request.
type groupKey struct {
	server             serverKey
	template, interval string
	span               span
}

// cacheKey is one answer.
type cacheKey struct {
	server   serverKey
	rendered string
	span     span
}

// Collect implements collector.Provider.
func (p *Provider) Collect(ctx context.Context, qs []collector.Query) []collector.Result {
	out := make([]collector.Result, len(qs))
	now := p.opts.Now()
	groups := map[groupKey]map[string][]int{} // rendered -> query indexes
	preps := make([]prepared, len(qs))
	hits := 0
	heads := &headerReads{secrets: map[secretRead]headerRead{}}
	for i, q := range qs {
		pr, err := p.prepare(ctx, q, now, heads)
		if err != nil {
			out[i].Err = err
			continue
		}
		preps[i] = pr
		if res, ok := p.cached(pr.cacheKey, now); ok {
			out[i] = res
			hits++
			continue
		}
		if groups[pr.group] == nil {
			groups[pr.group] = map[string][]int{}
		}
		groups[pr.group][pr.rendered] = append(groups[pr.group][pr.rendered], i)
	}
	p.metrics.CacheHits(hits)
	var wg sync.WaitGroup
	for _, byRendered := range groups {
		rendered := make([]string, 0, len(byRendered))
		for r := range byRendered {
			rendered = append(rendered, r)
		}
		sort.Strings(rendered)
		for lo := 0; lo < len(rendered); lo += p.opts.MaxBatch {
			chunk := rendered[lo:min(lo+p.opts.MaxBatch, len(rendered))]
			first := preps[byRendered[chunk[0]][0]]
			wg.Add(1)
			go func() {
				defer wg.Done()
				results := p.run(ctx, first, chunk)
				for j, r := range chunk {
					for _, i := range byRendered[r] {
						out[i] = results[j]
						if !qs[i].NoCache && (results[j].Err == nil || !errors.Is(results[j].Err, collector.ErrRetryable)) {
							p.store(preps[i].cacheKey, results[j], now)
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	// Every error names its metric, whether it was prepared, cached or
	// answered now.
	for i := range out {
		if out[i].Err != nil {
			out[i].Err = fmt.Errorf("metric %q: %w", qs[i].Metric.Name, out[i].Err)
		}
	}
	return out
}

// headerReads are the headers one Collect call has read: thousands of
// queries share the headers file and a few Secrets, which are read, merged
// and digested once per call rather than once per query (a stat, or a
// Secret copied out of the cache and checked, each).
type headerReads struct {
	file    *headerRead
	secrets map[secretRead]headerRead
}

// secretRead is a headersSecretRef, and whether its source has the
// headers file's headers beneath (no address of its own).
type secretRead struct {
	namespace, name string
	overFile        bool
}

type headerRead struct {
	headers secretheaders.Headers
	key     string // headers.Key()
	err     error
}

func (p *Provider) fileHeaders(heads *headerReads) headerRead {
	if heads.file == nil {
		h, err := p.opts.DefaultHeaders.Headers()
		heads.file = &headerRead{headers: h, key: h.Key(), err: err}
	}
	return *heads.file
}

func (p *Provider) secretHeaders(ctx context.Context, heads *headerReads, at secretRead, base secretheaders.Headers) headerRead {
	r, ok := heads.secrets[at]
	if !ok {
		h, err := secretheaders.Read(ctx, p.opts.Secrets, "prometheus.headersSecretRef", at.namespace, at.name)
		h = secretheaders.Merge(base, h)
		r = headerRead{headers: h, key: h.Key(), err: err}
		heads.secrets[at] = r
	}
	return r
}

func (p *Provider) prepare(ctx context.Context, q collector.Query, now time.Time, heads *headerReads) (prepared, error) {
	src := q.Metric.Prometheus
	if src == nil {
		return prepared{}, collector.Errorf(collector.ReasonConfig, "prometheus provider got a metric without a prometheus source")
	}
	pr := prepared{address: src.Address}
	var h headerRead
	if pr.address == "" {
		pr.address = p.opts.DefaultURL
		if p.opts.DefaultHeaders != nil {
			if h = p.fileHeaders(heads); h.err != nil {
				return prepared{}, collector.Errorf(collector.ReasonConfig, "--prometheus.headers-file: %w", h.err)
			}
		}
	}
	if pr.address == "" {
		return prepared{}, collector.Errorf(collector.ReasonConfig, "prometheus.address is empty and the controller has no --prometheus.url")
	}
	if ref := src.HeadersSecretRef; ref != nil {
		if h = p.secretHeaders(ctx, heads, secretRead{q.Target.Namespace, ref.Name, src.Address == ""}, h.headers); h.err != nil {
			return prepared{}, h.err
		}
	}
	pr.headers = h.headers
	// Equal headers from different Secrets (one token copied into every
	// namespace) still share requests; different ones (another tenant)
	// never share a request or an answer.
	pr.server = serverKey{pr.address, h.key}
	vars := q.Vars()
	rendered, err := collector.Render("prometheus.query", src.Query, vars)
	if err != nil {
		return prepared{}, err
	}
	if _, err := parser.ParseExpr(rendered); err != nil {
		return prepared{}, collector.Errorf(collector.ReasonBadQuery, "prometheus.query is not valid PromQL: %w (rendered: %s)", err, rendered)
	}
	pr.rendered = rendered
	var sp span
	if r := q.Range; r != nil {
		step := r.Step
		if step <= 0 {
			step = p.opts.Step
		}
		pr.rng = &Range{Start: r.Start.Truncate(step), End: r.End.Truncate(step), Step: step}
		sp = span{pr.rng.Start.UnixMilli(), pr.rng.End.UnixMilli(), step.Milliseconds()}
	} else {
		at := q.At
		if at.IsZero() {
			at = now
		}
		pr.at = at.Truncate(p.opts.Step)
		sp = span{start: pr.at.UnixMilli(), end: pr.at.UnixMilli()}
	}
	pr.group = groupKey{server: pr.server, template: src.Query, interval: vars.Interval, span: sp}
	pr.cacheKey = cacheKey{server: pr.server, rendered: rendered, span: sp}
	return pr, nil
}

func (p *Provider) cached(key cacheKey, now time.Time) (collector.Result, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.cache[key]
	if !ok || !now.Before(c.expires) {
		return collector.Result{}, false
	}
	return c.res, true
}

func (p *Provider) store(key cacheKey, res collector.Result, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Answers live one step, and the next step asks new questions: sweep
	// the expired ones once per step, or 10,000 workloads would leave
	// 20,000 dead answers a cycle until the cache filled up.
	if now.Sub(p.swept) >= p.opts.Step {
		p.swept = now
		for k, c := range p.cache {
			if !now.Before(c.expires) {
				delete(p.cache, k)
			}
		}
	}
	if len(p.cache) >= p.opts.CacheEntries {
		for k := range p.cache { // full of live answers: drop arbitrary ones
			if len(p.cache) < p.opts.CacheEntries/2 {
				break
			}
			delete(p.cache, k)
		}
	}
	p.cache[key] = cached{res: res, expires: now.Add(p.opts.Step)}
}

// server is the client of one address with one set of headers.
type server struct {
	api  API
	used time.Time
}

// clientIdle is how long a client may go unused before it is dropped: each
// rotated token (a new headers file, a Secret updated in any namespace) makes
// a new client, and the old ones must not pile up for the life of the
// controller. A dropped client is rebuilt at its next query; connections
// live in the shared transport, so nothing else is lost.
const clientIdle = 10 * time.Minute

func (p *Provider) api(pr prepared) (API, error) {
	now := p.opts.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if now.Sub(p.apisSwept) >= clientIdle {
		p.apisSwept = now
		for k, s := range p.apis {
			if now.Sub(s.used) >= clientIdle {
				delete(p.apis, k)
			}
		}
	}
	if s := p.apis[pr.server]; s != nil {
		s.used = now
		return s.api, nil
	}
	u, err := url.Parse(pr.address)
	if err != nil {
		return nil, collector.Errorf(collector.ReasonConfig, "prometheus.address %q: %w", collector.RedactURL(pr.address), collector.RedactURLError(err))
	}
	a, err := p.opts.NewAPI(pr.address, secretheaders.Client(p.opts.HTTPClient, u, pr.headers))
	if err != nil {
		return nil, collector.Errorf(collector.ReasonConfig, "prometheus.address %q: %w", collector.RedactURL(pr.address), collector.RedactURLError(err))
	}
	p.apis[pr.server] = &server{api: a, used: now}
	return a, nil
}

// run answers distinct rendered queries of one group, batched when it can.
func (p *Provider) run(ctx context.Context, pr prepared, rendered []string) []collector.Result {
	a, err := p.api(pr)
	if err != nil {
		return collector.Fail(len(rendered), err)
	}
	if len(rendered) > 1 {
		if b, ok := planBatch(rendered); ok {
			if len(b.query) > p.opts.MaxQueryBytes {
				half := len(rendered) / 2
				return append(p.run(ctx, pr, rendered[:half]), p.run(ctx, pr, rendered[half:])...)
			}
			series, warnings, err := p.send(ctx, a, pr, b.query, len(rendered))
			if err == nil {
				return splitBatch(b, series, warnings, len(rendered))
			}
			if !errors.Is(err, collector.ErrPermanent) {
				return collector.Fail(len(rendered), err)
			}
			// A permanent failure of the combined query: ask one by one so
			// that each metric gets its own error.
		}
	}
	// Unbatchable queries (scalars) go one by one, a few at a time, so
	// that thousands of them do not open thousands of connections at once.
	out := make([]collector.Result, len(rendered))
	var g errgroup.Group
	g.SetLimit(p.opts.MaxConcurrent)
	for i, r := range rendered {
		g.Go(func() error {
			series, warnings, err := p.send(ctx, a, pr, r, 1)
			out[i].Warnings = warnings
			if err != nil {
				out[i].Err = err
				return nil
			}
			out[i].Series = series
			return nil
		})
	}
	_ = g.Wait() // every error is in out
	return out
}

func splitBatch(b batch, series []collector.Series, warnings []string, n int) []collector.Result {
	per := make([][]collector.Series, n)
	for _, s := range series {
		for _, i := range b.split(s.Labels) {
			per[i] = append(per[i], s)
		}
		if b.strip != "" {
			delete(s.Labels, b.strip)
		}
	}
	out := make([]collector.Result, n)
	for i := range out {
		out[i].Warnings = warnings
		out[i].Series = per[i]
	}
	return out
}

// send runs one query with retries.
func (p *Provider) send(ctx context.Context, a API, pr prepared, query string, batch int) ([]collector.Series, []string, error) {
	var ans Answer
	err := p.opts.Backoff.Do(ctx, func(ctx context.Context) error {
		select {
		case p.inflight <- struct{}{}:
			defer func() { <-p.inflight }()
		case <-ctx.Done():
			return ctx.Err()
		}
		ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
		defer cancel()
		began := time.Now()
		var err error
		ans, err = a.Query(ctx, Request{Query: query, At: pr.at, Range: pr.rng, Timeout: p.opts.Timeout})
		p.metrics.Request(time.Since(began), batch)
		return classify(err, pr.address)
	})
	return ans.Series, ans.Warnings, err
}

// classify maps a failed query to a collector reason.
func classify(err error, address string) error {
	var pe *Error
	if err == nil || !errors.As(err, &pe) {
		if err != nil {
			err = collector.Classify(fmt.Errorf("prometheus at %s: %w", collector.RedactURL(address), collector.RedactURLError(err)))
		}
		return err
	}
	at := collector.RedactURL(address)
	switch {
	case pe.Type == "bad_data" || pe.Type == "execution":
		return collector.Errorf(collector.ReasonBadQuery, "prometheus at %s rejected the query: %s", at, pe.Msg)
	case pe.Type == "timeout":
		return collector.Errorf(collector.ReasonTimeout, "prometheus at %s: %s", at, pe.Msg)
	case pe.Type == "canceled":
		return collector.Errorf(collector.ReasonCanceled, "prometheus at %s: %s", at, pe.Msg)
	case pe.Status == http.StatusTooManyRequests || pe.Status == http.StatusRequestTimeout:
		// A front end (Thanos, Mimir, Cortex) throttling or timing out,
		// which passes; the query is not at fault.
		return collector.Errorf(collector.ReasonUnavailable, "prometheus at %s: %s (throttled; retrying)", at, pe.Msg)
	case pe.Status == http.StatusUnauthorized || pe.Status == http.StatusForbidden:
		return collector.Errorf(collector.ReasonConfig, "prometheus at %s refused the credentials (%s): check prometheus.headersSecretRef, or the controller's --prometheus.headers-file for --prometheus.url", at, pe.Msg)
	case pe.Status/100 == 4:
		return collector.Errorf(collector.ReasonBadQuery, "prometheus at %s: %s", at, pe.Msg)
	default: // 5xx, errorType internal or unavailable
		return collector.Errorf(collector.ReasonUnavailable, "prometheus at %s: %s", at, pe.Msg)
	}
}
