// Package web reads business metrics an application serves as JSON: an
// HTTP GET (headers from a Secret, for tokens), a kubectl-style JSONPath
// selecting one number, and a timeout. Identical requests in one batch are
// sent once. URLs in errors lose their query string and user info, and
// header values never appear anywhere.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/util/jsonpath"

	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/secretheaders"
)

// Options configure a Provider.
type Options struct {
	// HTTPClient is shared by all requests; default http.DefaultClient.
	HTTPClient *http.Client
	// Secrets resolves headersSecretRef; nil rejects sources that use one.
	Secrets secretheaders.Getter
	// Backoff retries retryable failures (default collector.DefaultBackoff).
	Backoff collector.Backoff
	// MaxBodyBytes bounds a response (default 4 MiB).
	MaxBodyBytes int64
	// MaxConcurrent bounds the requests in flight at once (default 16).
	MaxConcurrent int
	// Now stamps samples (default time.Now).
	Now func() time.Time
	// Metrics records requests; nil records nothing.
	Metrics *collector.Metrics
}

// Provider implements collector.Provider for web sources.
type Provider struct {
	opts    Options
	metrics *collector.ProviderMetrics
}

// New returns a web provider.
func New(opts Options) *Provider {
	if opts.HTTPClient == nil {
		opts.HTTPClient = http.DefaultClient
	}
	if opts.Backoff.Attempts <= 0 {
		opts.Backoff = collector.DefaultBackoff
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 4 << 20
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 16
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Provider{opts: opts, metrics: opts.Metrics.Provider(string(collector.KindWeb))}
}

type request struct {
	url     string
	headers secretheaders.Headers
	timeout time.Duration
}

func (r request) key() string {
	return r.url + "\x00" + r.headers.Key() + "\x00" + r.timeout.String()
}

type fetched struct {
	doc any
	at  time.Time
	err error
}

// Collect implements collector.Provider.
func (p *Provider) Collect(ctx context.Context, qs []collector.Query) []collector.Result {
	out := make([]collector.Result, len(qs))
	paths := make([]*jsonpath.JSONPath, len(qs))
	keys := make([]string, len(qs))
	fetches := map[string]*fetched{}
	reqs := map[string]request{}
	for i, q := range qs {
		req, jp, err := p.prepare(ctx, q)
		if err != nil {
			out[i].Err = fmt.Errorf("metric %q: %w", q.Metric.Name, err)
			continue
		}
		paths[i], keys[i] = jp, req.key()
		reqs[keys[i]] = req
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		sem = make(chan struct{}, p.opts.MaxConcurrent)
	)
	for k, req := range reqs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f := &fetched{}
			f.doc, f.err = p.fetch(ctx, req)
			f.at = p.opts.Now()
			mu.Lock()
			fetches[k] = f
			mu.Unlock()
		}()
	}
	wg.Wait()
	for i, q := range qs {
		if out[i].Err != nil {
			continue
		}
		f := fetches[keys[i]]
		v, err := f.doc, f.err
		if err == nil {
			var val float64
			if val, err = extract(paths[i], q.Metric.Web.JSONPath, v); err == nil {
				out[i].Series = []collector.Series{{Samples: []collector.Sample{{Time: f.at, Value: val}}}}
			}
		}
		if err != nil {
			out[i].Err = fmt.Errorf("metric %q: GET %s: %w", q.Metric.Name, collector.RedactURL(reqs[keys[i]].url), err)
		}
	}
	return out
}

func (p *Provider) prepare(ctx context.Context, q collector.Query) (request, *jsonpath.JSONPath, error) {
	src := q.Metric.Web
	if src == nil {
		return request{}, nil, collector.Errorf(collector.ReasonConfig, "web provider got a metric without a web source")
	}
	raw, err := collector.Render("web.url", src.URL, q.Vars())
	if err != nil {
		return request{}, nil, err
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return request{}, nil, collector.Errorf(collector.ReasonConfig, "web.url %q must be an absolute http or https URL", collector.RedactURL(raw))
	}
	jp := jsonpath.New("web.jsonPath")
	if err := jp.Parse(src.JSONPath); err != nil {
		return request{}, nil, collector.Errorf(collector.ReasonConfig, "web.jsonPath %q is not valid (kubectl syntax, e.g. {.orders.perMinute}): %w", src.JSONPath, err)
	}
	req := request{url: raw, timeout: time.Duration(src.TimeoutSeconds) * time.Second}
	if req.timeout <= 0 {
		req.timeout = 5 * time.Second
	}
	if ref := src.HeadersSecretRef; ref != nil {
		if req.headers, err = secretheaders.Read(ctx, p.opts.Secrets, "web.headersSecretRef", q.Target.Namespace, ref.Name); err != nil {
			return request{}, nil, err
		}
	}
	return req, jp, nil
}

func (p *Provider) fetch(ctx context.Context, r request) (any, error) {
	var doc any
	err := p.opts.Backoff.Do(ctx, func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, r.timeout)
		defer cancel()
		began := time.Now()
		defer func() { p.metrics.Request(time.Since(began), 1) }()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
		if err != nil {
			return collector.Errorf(collector.ReasonConfig, "build request: %w", err)
		}
		req.Header.Set("Accept", "application/json")
		resp, err := secretheaders.Client(p.opts.HTTPClient, req.URL, r.headers).Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return collector.Errorf(collector.ReasonTimeout, "no answer within %v", r.timeout)
			}
			// The url.Error would repeat the full URL, query string included.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return collector.Classify(err)
		}
		defer func() { _ = resp.Body.Close() }()
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode >= 500:
			return collector.Errorf(collector.ReasonUnavailable, "HTTP %d", resp.StatusCode)
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return collector.Errorf(collector.ReasonConfig, "HTTP %d: check the headers in web.headersSecretRef", resp.StatusCode)
		case resp.StatusCode != http.StatusOK:
			return collector.Errorf(collector.ReasonConfig, "HTTP %d: check web.url", resp.StatusCode)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, p.opts.MaxBodyBytes+1))
		if err != nil {
			return collector.Classify(err)
		}
		if int64(len(body)) > p.opts.MaxBodyBytes {
			return collector.Errorf(collector.ReasonBadResponse, "response larger than %d bytes", p.opts.MaxBodyBytes)
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return collector.Errorf(collector.ReasonBadResponse, "response is not JSON: %w", err)
		}
		return nil
	})
	return doc, err
}

// extract applies the JSONPath and returns the one number it selects.
func extract(jp *jsonpath.JSONPath, expr string, doc any) (float64, error) {
	results, err := jp.FindResults(doc)
	if err != nil {
		return 0, collector.Errorf(collector.ReasonBadQuery, "web.jsonPath %s matches nothing in the response: %w", expr, err)
	}
	var vals []any
	for _, r := range results {
		for _, v := range r {
			vals = append(vals, v.Interface())
		}
	}
	if len(vals) != 1 {
		return 0, collector.Errorf(collector.ReasonBadQuery, "web.jsonPath %s selects %d values; it must select exactly one number", expr, len(vals))
	}
	switch v := vals[0].(type) {
	case float64:
		return v, nil
	case string:
		f, err := strconv.ParseFloat(v, 64)
		switch {
		case math.IsInf(f, 0):
			// "Inf", or a number beyond a float64 ("1e999"): a division by
			// zero in the application, say. No decision can use it, and
			// the path is right, so the next answer may do.
			return 0, collector.Errorf(collector.ReasonBadResponse,
				"web.jsonPath %s selects the string %q, which is infinite: the endpoint must serve a finite number (null or \"NaN\" for no data)", expr, truncate(v))
		case err == nil:
			// NaN too: Collector.Collect drops it, which leaves no data.
			return f, nil
		case signedNaN(v):
			return math.NaN(), nil
		}
		return 0, collector.Errorf(collector.ReasonBadQuery, "web.jsonPath %s selects the string %q, not a number", expr, truncate(v))
	case nil:
		return 0, collector.Errorf(collector.ReasonNoData, "web.jsonPath %s selects null", expr)
	default:
		return 0, collector.Errorf(collector.ReasonBadQuery, "web.jsonPath %s selects a %T, not a number", expr, v)
	}
}

// signedNaN reports "-nan" and "+NaN", which C's printf and others write
// for a NaN with its sign bit set, and strconv does not parse.
func signedNaN(s string) bool {
	return len(s) == 4 && (s[0] == '-' || s[0] == '+') && strings.EqualFold(s[1:], "nan")
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
