package prometheus_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/prometheus"
	"github.com/trimtab/trimtab/collector/secretheaders"
	"github.com/trimtab/trimtab/internal/testenv"
)

// namespaceSecrets holds one headers Secret per namespace.
type namespaceSecrets map[string]map[string][]byte

func (s namespaceSecrets) SecretData(_ context.Context, namespace, name string) (map[string][]byte, error) {
	if d, ok := s[namespace]; ok {
		return d, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

// countingTransport counts the requests that reach the server.
type countingTransport struct{ n atomic.Int32 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestHeadersFromSecretReachAnAuthenticatedPrometheus runs against a real
// Prometheus that requires basic authentication (its web config). Each
// namespace's headersSecretRef carries its own credentials: right ones are
// answered, wrong or missing ones are a config error that names what to fix
// and never shows the password, and queries with different credentials
// never share a request or a cached answer, while equal credentials in two
// Secrets do share one.
func TestHeadersFromSecretReachAnAuthenticatedPrometheus(t *testing.T) {
	authed := testenv.StartPrometheusWithBasicAuth(t, "trimtab", "s3cret-pw")
	basic := func(user, password string) []byte {
		return []byte("Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	}
	secrets := namespaceSecrets{
		"team-a": {"Authorization": basic("trimtab", "s3cret-pw")},
		"team-b": {"Authorization": basic("trimtab", "s3cret-pw")},
		"team-c": {"Authorization": basic("trimtab", "wrong-pw")},
	}
	wire := &countingTransport{}
	p := prometheus.New(prometheus.Options{DefaultURL: authed.URL, Secrets: secrets, Step: time.Second,
		HTTPClient: &http.Client{Transport: wire}, Backoff: collector.Backoff{Attempts: 1}})
	query := func(ns string, secret bool) collector.Query {
		q := promQuery(`count(up{namespace!="{{.Namespace}}"}) or vector(0)`, ns, "primary", "")
		if secret {
			q.Metric.Prometheus.HeadersSecretRef = &trimtabv1.LocalObjectReference{Name: "prometheus-auth"}
		}
		return q
	}
	res := p.Collect(context.Background(), []collector.Query{
		query("team-a", true), query("team-b", true), query("team-c", true), query("team-d", false), query("team-e", true),
	})
	cases := []struct {
		name    string
		res     collector.Result
		wantErr string
	}{
		{name: "right credentials", res: res[0]},
		{name: "the same credentials in another namespace's Secret", res: res[1]},
		{name: "wrong password", res: res[2], wantErr: "refused the credentials (client error: 401): check prometheus.headersSecretRef"},
		{name: "no Secret", res: res[3], wantErr: "refused the credentials (client error: 401)"},
		{name: "the Secret does not exist", res: res[4], wantErr: "prometheus.headersSecretRef: Secret team-e/prometheus-auth not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.wantErr == "" {
				require.NoError(t, c.res.Err)
				require.Len(t, c.res.Series, 1)
				return
			}
			require.ErrorContains(t, c.res.Err, c.wantErr)
			require.True(t, errors.Is(c.res.Err, collector.ErrPermanent), "a config error, not retried every cycle")
			require.NotContains(t, c.res.Err.Error(), "s3cret")
			require.NotContains(t, c.res.Err.Error(), "wrong-pw")
		})
	}
	// team-a and team-b share one request; team-c and team-d have their own.
	require.Equal(t, int32(3), wire.n.Load(), "requests sent")
}

// TestHeadersFileReachesTheDefaultPrometheus: --prometheus.headers-file
// authenticates the sources without an address, and a rotated password in
// the file is used at the next collection without a restart.
func TestHeadersFileReachesTheDefaultPrometheus(t *testing.T) {
	authed := testenv.StartPrometheusWithBasicAuth(t, "trimtab", "s3cret-pw")
	path := filepath.Join(t.TempDir(), "headers")
	// The passwords differ in length, so the file's size tells the change
	// even where the clock's resolution hides it in the modification time.
	write := func(password string) {
		line := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("trimtab:"+password)) + "\n"
		require.NoError(t, os.WriteFile(path, []byte(line), 0o600))
	}
	write("old-pw")
	file, err := secretheaders.OpenFile(path)
	require.NoError(t, err)
	p := prometheus.New(prometheus.Options{DefaultURL: authed.URL, DefaultHeaders: file, Step: time.Second, Backoff: collector.Backoff{Attempts: 1}})
	q := promQuery(`vector(1)`, "shop", "primary", "")
	q.NoCache = true

	err = p.Collect(context.Background(), []collector.Query{q})[0].Err
	require.ErrorContains(t, err, "refused the credentials")

	write("s3cret-pw")
	res := p.Collect(context.Background(), []collector.Query{q})[0]
	require.NoError(t, res.Err)
	require.Equal(t, 1.0, res.Series[0].Samples[0].Value)
}

// countingSecrets counts the reads of each namespace's headers Secret.
type countingSecrets struct {
	namespaceSecrets
	mu    sync.Mutex
	reads map[string]int
}

func (s *countingSecrets) SecretData(ctx context.Context, namespace, name string) (map[string][]byte, error) {
	s.mu.Lock()
	s.reads[namespace]++
	s.mu.Unlock()
	return s.namespaceSecrets.SecretData(ctx, namespace, name)
}

// oneAPI answers every query with one series.
type oneAPI struct{}

func (oneAPI) Query(context.Context, prometheus.Request) (prometheus.Answer, error) {
	return prometheus.Answer{Series: []collector.Series{{Labels: map[string]string{}, Samples: []collector.Sample{{Value: 1}}}}}, nil
}

// TestASecretIsReadOncePerCollect: the workloads of a namespace share its
// headers Secret, which one Collect reads once, not once per query (a
// copy out of the cache and a check of every value each), and a missing
// one fails each query that names it.
func TestASecretIsReadOncePerCollect(t *testing.T) {
	secrets := &countingSecrets{namespaceSecrets: namespaceSecrets{"team-a": {"Authorization": []byte("Bearer a")}}, reads: map[string]int{}}
	p := prometheus.New(prometheus.Options{DefaultURL: "http://127.0.0.1:9", Secrets: secrets,
		NewAPI: func(string, *http.Client) (prometheus.API, error) { return oneAPI{}, nil }})
	var qs []collector.Query
	for _, ns := range []string{"team-a", "team-b"} {
		for i := range 50 {
			q := promQuery(`up{namespace="{{.Namespace}}", pod=~"{{.PodRegex}}"}`, ns, fmt.Sprintf("v%d", i), "")
			q.Target.Name = fmt.Sprintf("w%d", i)
			q.Metric.Prometheus.HeadersSecretRef = &trimtabv1.LocalObjectReference{Name: "prometheus-auth"}
			qs = append(qs, q)
		}
	}
	res := p.Collect(context.Background(), qs)
	for i, r := range res {
		if i < 50 {
			require.NoError(t, r.Err)
			continue
		}
		require.ErrorContains(t, r.Err, "Secret team-b/prometheus-auth not found")
	}
	require.Equal(t, map[string]int{"team-a": 1, "team-b": 1}, secrets.reads)
}
