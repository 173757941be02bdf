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
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/jsonpath"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trimtab/trimtab/collector"
)

// SecretGetter reads a Secret's data.
type SecretGetter interface {
	SecretData(ctx context.Context, namespace, name string) (map[string][]byte, error)
}

// ClientSecrets reads Secrets through a controller-runtime reader.
type ClientSecrets struct{ Reader client.Reader }

// SecretData implements SecretGetter.
func (c ClientSecrets) SecretData(ctx context.Context, namespace, name string) (map[string][]byte, error) {
	var s corev1.Secret
	if err := c.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
		return nil, err
	}
	return s.Data, nil
}

// Options configure a Provider.
type Options struct {
	// HTTPClient is shared by all requests; default http.DefaultClient.
	HTTPClient *http.Client
	// Secrets resolves headersSecretRef; nil rejects sources that use one.
	Secrets SecretGetter
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
	headers map[string]string
	timeout time.Duration
}

func (r request) key() string {
	names := make([]string, 0, len(r.headers))
	for n := range r.headers {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(r.url)
	for _, n := range names {
		b.WriteString("\x00" + n + "\x00" + r.headers[n])
	}
	return b.String() + "\x00" + r.timeout.String()
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
		if p.opts.Secrets == nil {
			return request{}, nil, collector.Errorf(collector.ReasonConfig, "web.headersSecretRef is set but the controller cannot read Secrets")
		}
		data, err := p.opts.Secrets.SecretData(ctx, q.Target.Namespace, ref.Name)
		switch {
		case apierrors.IsNotFound(err):
			return request{}, nil, collector.Errorf(collector.ReasonConfig, "web.headersSecretRef: Secret %s/%s not found; create it with one key per header", q.Target.Namespace, ref.Name)
		case apierrors.IsForbidden(err):
			return request{}, nil, collector.Errorf(collector.ReasonConfig, "web.headersSecretRef: the controller may not read Secret %s/%s: grant its ServiceAccount get on secrets in %s", q.Target.Namespace, ref.Name, q.Target.Namespace)
		case err != nil:
			return request{}, nil, collector.Errorf(collector.ReasonUnavailable, "web.headersSecretRef: read Secret %s/%s: %w", q.Target.Namespace, ref.Name, err)
		}
		req.headers = make(map[string]string, len(data))
		for _, k := range slices.Sorted(maps.Keys(data)) {
			// No request could ever carry it: say so instead of
			// retrying every cycle. A Secret made --from-file often
			// ends its value with a newline. The value is not quoted:
			// it is a secret.
			switch v := string(data[k]); {
			case !httpguts.ValidHeaderFieldName(k):
				return request{}, nil, collector.Errorf(collector.ReasonConfig, "web.headersSecretRef: key %q of Secret %s/%s is not a valid header name", k, q.Target.Namespace, ref.Name)
			case !httpguts.ValidHeaderFieldValue(v):
				return request{}, nil, collector.Errorf(collector.ReasonConfig, "web.headersSecretRef: the value of %q in Secret %s/%s is not a valid header value (a trailing newline or a control character?)", k, q.Target.Namespace, ref.Name)
			default:
				req.headers[k] = v
			}
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
		for k, v := range r.headers {
			req.Header.Set(k, v)
		}
		resp, err := p.client(r).Do(req)
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

// client is the shared client, except that the Secret's headers are
// dropped from a redirect to another origin: they are credentials for the
// configured URL, and net/http forwards every header but Authorization and
// Cookie to wherever a redirect points.
func (p *Provider) client(r request) *http.Client {
	if len(r.headers) == 0 {
		return p.opts.HTTPClient
	}
	c := *p.opts.HTTPClient
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if o := via[0].URL; req.URL.Scheme != o.Scheme || req.URL.Host != o.Host {
			for k := range r.headers {
				req.Header.Del(k)
			}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
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
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			if math.IsNaN(f) {
				// 0/0 formatted by the application: missing data, not a value.
				return 0, collector.Errorf(collector.ReasonNoData, "web.jsonPath %s selects %q", expr, v)
			}
			return f, nil
		}
		return 0, collector.Errorf(collector.ReasonBadQuery, "web.jsonPath %s selects the string %q, not a number", expr, truncate(v))
	case nil:
		return 0, collector.Errorf(collector.ReasonNoData, "web.jsonPath %s selects null", expr)
	default:
		return 0, collector.Errorf(collector.ReasonBadQuery, "web.jsonPath %s selects a %T, not a number", expr, v)
	}
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
