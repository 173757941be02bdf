package web_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/web"
)

type secrets map[string][]byte

func (s secrets) SecretData(context.Context, string, string) (map[string][]byte, error) {
	return s, nil
}

// TestInvalidHeaderValueIsPermanent: a Secret created from a file
// (`kubectl create secret generic --from-file`) often ends its value with
// "\n", which no request can carry: a permanent config error to fix in the
// Secret, not a request retried every cycle, and the value stays out of it.
func TestInvalidHeaderValueIsPermanent(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`{"v": 1}`))
	}))
	defer srv.Close()
	p := web.New(web.Options{Secrets: secrets{"Authorization": []byte("Bearer abc123\n")},
		Backoff: collector.Backoff{Attempts: 3}})
	q := collector.Query{Metric: trimtabv1.Metric{Name: "orders", MetricSource: trimtabv1.MetricSource{Web: &trimtabv1.WebSource{
		URL: srv.URL, JSONPath: "{.v}", HeadersSecretRef: &trimtabv1.LocalObjectReference{Name: "hdr"}}}},
		Target: collector.Target{Namespace: "shop", Name: "web"}}
	err := p.Collect(context.Background(), []collector.Query{q})[0].Err
	t.Logf("server hits: %d; error: %v; reason %s", hits.Load(), err, collector.ReasonOf(err))
	require.NotContains(t, err.Error(), "abc123")
	require.True(t, errors.Is(err, collector.ErrPermanent), "got reason %s", collector.ReasonOf(err))
}

// TestSecretHeadersNotForwardedOffOrigin: the application answers with a
// redirect to another server (a login page, a CDN). The headers from
// headersSecretRef are credentials for the configured URL only; they must
// not be sent to wherever the redirect points.
func TestSecretHeadersNotForwardedOffOrigin(t *testing.T) {
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("X-Api-Key"))
		fmt.Fprint(w, `{"v":1}`)
	}))
	defer other.Close()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusFound)
	}))
	defer app.Close()
	p := web.New(web.Options{Secrets: secrets{"X-Api-Key": []byte("s3cr3t")}})
	p.Collect(context.Background(), []collector.Query{webQuery("orders", app.URL+"/stats", "{.v}", "stats-token", 0)})
	require.Empty(t, leaked.Load(), "the secret header reached another origin")
}
