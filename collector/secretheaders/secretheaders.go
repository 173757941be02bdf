// Package secretheaders turns a Secret into request headers (tokens, API
// keys, a tenant id) for the providers that call HTTP servers on the user's
// behalf, and sends them only where they belong. Values never appear in an
// error, a log line or a metric.
package secretheaders

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trimtab/trimtab/collector"
)

// Getter reads a Secret's data.
type Getter interface {
	SecretData(ctx context.Context, namespace, name string) (map[string][]byte, error)
}

// ClientGetter reads Secrets through a controller-runtime reader.
type ClientGetter struct{ Reader client.Reader }

// SecretData implements Getter.
func (c ClientGetter) SecretData(ctx context.Context, namespace, name string) (map[string][]byte, error) {
	var s corev1.Secret
	if err := c.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &s); err != nil {
		return nil, err
	}
	return s.Data, nil
}

// Headers are request headers in name order.
type Headers []Header

// Header is one request header.
type Header struct{ Name, Value string }

// Key identifies the headers without showing them, so that requests with
// the same credentials may share a batch or a cached answer and requests
// with different ones never do.
func (h Headers) Key() string {
	if len(h) == 0 {
		return ""
	}
	sum := sha256.New()
	for _, x := range h {
		sum.Write([]byte(x.Name + "\x00" + x.Value + "\x00"))
	}
	return hex.EncodeToString(sum.Sum(nil))
}

// Read reads the Secret ref names in namespace: one header per key. field
// names the spec field in errors (e.g. "web.headersSecretRef"). Errors are
// collector errors: a missing or unreadable Secret and a key or value no
// request can carry are config errors to fix, not retried every cycle.
func Read(ctx context.Context, secrets Getter, field, namespace, name string) (Headers, error) {
	if secrets == nil {
		return nil, collector.Errorf(collector.ReasonConfig, "%s is set but the controller cannot read Secrets", field)
	}
	data, err := secrets.SecretData(ctx, namespace, name)
	switch {
	case apierrors.IsNotFound(err):
		return nil, collector.Errorf(collector.ReasonConfig, "%s: Secret %s/%s not found; create it with one key per header", field, namespace, name)
	case apierrors.IsForbidden(err):
		return nil, collector.Errorf(collector.ReasonConfig, "%s: the controller may not read Secret %s/%s: grant its ServiceAccount get on secrets in %s", field, namespace, name, namespace)
	case err != nil:
		return nil, collector.Errorf(collector.ReasonUnavailable, "%s: read Secret %s/%s: %w", field, namespace, name, err)
	}
	h := make(Headers, 0, len(data))
	for _, k := range slices.Sorted(maps.Keys(data)) {
		// No request could ever carry it: say so instead of retrying
		// every cycle. A Secret made --from-file often ends its value
		// with a newline. The value is not quoted: it is a secret.
		switch v := string(data[k]); {
		case !httpguts.ValidHeaderFieldName(k):
			return nil, collector.Errorf(collector.ReasonConfig, "%s: key %q of Secret %s/%s is not a valid header name", field, k, namespace, name)
		case !httpguts.ValidHeaderFieldValue(v):
			return nil, collector.Errorf(collector.ReasonConfig, "%s: the value of %q in Secret %s/%s is not a valid header value (a trailing newline or a control character?)", field, k, namespace, name)
		default:
			h = append(h, Header{Name: k, Value: v})
		}
	}
	return h, nil
}

// Client returns base, or with headers a client that adds them to requests
// for origin's scheme and host only. A redirect elsewhere (a login page, a
// CDN) goes out without them: they are credentials for the configured
// server, and net/http would forward every header but Authorization and
// Cookie to wherever a redirect points.
func Client(base *http.Client, origin *url.URL, headers Headers) *http.Client {
	if len(headers) == 0 {
		return base
	}
	c := *base
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = &transport{next: next, scheme: origin.Scheme, host: origin.Host, headers: headers}
	return &c
}

type transport struct {
	next         http.RoundTripper
	scheme, host string
	headers      Headers
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != t.scheme || req.URL.Host != t.host {
		return t.next.RoundTrip(req)
	}
	req = req.Clone(req.Context()) // a RoundTripper must not change its request
	for _, h := range t.headers {
		req.Header.Set(h.Name, h.Value)
	}
	return t.next.RoundTrip(req)
}

// ParseFile reads headers written one per line as `Name: value`, the form
// of --prometheus.headers-file; blank lines and lines starting with # are
// skipped, and spaces around the value are not part of it. Errors name the
// line, never its value.
func ParseFile(data []byte) (Headers, error) {
	var h Headers
	seen := map[string]bool{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if t := strings.TrimSpace(line); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		switch {
		case !ok:
			return nil, fmt.Errorf("line %d: want `Name: value`", i+1)
		case !httpguts.ValidHeaderFieldName(name):
			// Not quoted: on a line that is not `Name: value` (a space
			// for the colon), what comes before the first colon may be
			// part of the secret.
			return nil, fmt.Errorf("line %d: the text before the first colon is not a valid header name (letters, digits and !#$%%&'*+-.^_`|~, no spaces)", i+1)
		case !httpguts.ValidHeaderFieldValue(value):
			return nil, fmt.Errorf("line %d: the value of %s is not a valid header value (a control character?)", i+1, name)
		case seen[http.CanonicalHeaderKey(name)]:
			return nil, fmt.Errorf("line %d: %s is given twice; give each header once", i+1, name)
		}
		seen[http.CanonicalHeaderKey(name)] = true
		h = append(h, Header{Name: name, Value: value})
	}
	slices.SortFunc(h, func(a, b Header) int { return strings.Compare(a.Name, b.Name) })
	return h, nil
}

// File is a headers file read again whenever it changes, so that a token
// rotated in a mounted Secret is used without a restart.
type File struct {
	path string

	mu      sync.Mutex
	read    bool
	mod     time.Time
	size    int64
	headers Headers
	err     error
}

// OpenFile reads path once: a file that is missing or does not parse is an
// error at start-up, where it can be fixed, not at the first query.
func OpenFile(path string) (*File, error) {
	f := &File{path: path}
	if _, err := f.Headers(); err != nil {
		return nil, err
	}
	return f, nil
}

// Headers returns the file's headers, read again when its modification time
// or size changed. A file that stops parsing is an error (the headers are
// not silently dropped).
func (f *File) Headers() (Headers, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := os.Stat(f.path)
	if err != nil {
		return nil, fmt.Errorf("headers file: %w", err)
	}
	if f.read && f.mod.Equal(st.ModTime()) && f.size == st.Size() {
		return f.headers, f.err
	}
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, fmt.Errorf("headers file: %w", err)
	}
	f.read, f.mod, f.size = true, st.ModTime(), st.Size()
	f.headers, f.err = ParseFile(data)
	if f.err != nil {
		f.err = fmt.Errorf("headers file %s: %w", f.path, f.err)
	}
	return f.headers, f.err
}

// Merge returns base with over's headers added, over's value winning for a
// name both give (names compared as HTTP does, case-insensitively).
func Merge(base, over Headers) Headers {
	if len(base) == 0 {
		return over
	}
	if len(over) == 0 {
		return base
	}
	out := slices.Clone(over)
	for _, b := range base {
		if !slices.ContainsFunc(over, func(o Header) bool { return strings.EqualFold(o.Name, b.Name) }) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b Header) int { return strings.Compare(a.Name, b.Name) })
	return out
}
