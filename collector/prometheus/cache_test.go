package prometheus

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
)

// answerAPI answers every query with one series. The cache's bookkeeping
// is what is tested here; the real server is in prometheus_test.go.
type answerAPI struct{}

func (answerAPI) Query(context.Context, Request) (Answer, error) {
	return Answer{Series: []collector.Series{{Labels: map[string]string{"namespace": "ns-0"}, Samples: []collector.Sample{{Value: 1}}}}}, nil
}

func TestCacheKeepsOnlyTheCurrentStep(t *testing.T) {
	cases := []struct {
		name     string
		entries  int // CacheEntries
		steps    int
		noCache  bool
		min, max int // answers left in the cache
	}{
		{name: "answers of past steps are swept", entries: 1000, steps: 5, min: 50, max: 50},
		{name: "a full cache drops arbitrary answers", entries: 40, steps: 1, min: 20, max: 40},
		{name: "NoCache answers are not kept", entries: 1000, steps: 2, noCache: true, min: 0, max: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
			p := New(Options{DefaultURL: "http://127.0.0.1:9", NewAPI: func(string, *http.Client) (API, error) { return answerAPI{}, nil },
				Step: 15 * time.Second, CacheEntries: tc.entries, MaxBatch: 1, Now: func() time.Time { return now }})
			qs := make([]collector.Query, 50)
			for i := range qs {
				qs[i] = collector.Query{Metric: trimtabv1.Metric{Name: "m", MetricSource: trimtabv1.MetricSource{
					Prometheus: &trimtabv1.PrometheusSource{Query: fmt.Sprintf(`scalar(up{i="%d"})`, i)}}}, NoCache: tc.noCache}
			}
			for range tc.steps {
				for _, r := range p.Collect(context.Background(), qs) {
					require.NoError(t, r.Err)
				}
				now = now.Add(15 * time.Second)
			}
			require.GreaterOrEqual(t, len(p.cache), tc.min)
			require.LessOrEqual(t, len(p.cache), tc.max)
		})
	}
}

// TestRotatedCredentialsDoNotPileUpClients: every new token makes a new
// client; those no query used for clientIdle are dropped, while one in use
// every cycle stays.
func TestRotatedCredentialsDoNotPileUpClients(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	token := 0
	secrets := secretFunc(func() map[string][]byte {
		return map[string][]byte{"Authorization": []byte(fmt.Sprintf("Bearer t%d", token))}
	})
	p := New(Options{DefaultURL: "http://127.0.0.1:9", Secrets: secrets, NewAPI: func(string, *http.Client) (API, error) { return answerAPI{}, nil },
		Step: 15 * time.Second, Now: func() time.Time { return now }})
	rotating := collector.Query{Metric: trimtabv1.Metric{Name: "m", MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{
		Query: `scalar(up)`, HeadersSecretRef: &trimtabv1.LocalObjectReference{Name: "token"}}}}, Target: collector.Target{Namespace: "shop"}}
	steady := collector.Query{Metric: trimtabv1.Metric{Name: "m", MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{
		Query: `scalar(up)`}}}}
	for range 200 { // a new token every minute for over three hours
		for _, r := range p.Collect(context.Background(), []collector.Query{rotating, steady}) {
			require.NoError(t, r.Err)
		}
		token++
		now = now.Add(time.Minute)
	}
	require.LessOrEqual(t, len(p.apis), int(2*clientIdle/time.Minute)+1, "clients kept")
	require.Contains(t, p.apis, serverKey{address: "http://127.0.0.1:9"}, "the client used every cycle is kept")
}

type secretFunc func() map[string][]byte

func (f secretFunc) SecretData(context.Context, string, string) (map[string][]byte, error) {
	return f(), nil
}
