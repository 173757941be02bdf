package controller

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler/release"
)

func TestHTTPHooks(t *testing.T) {
	var flakyCalls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		case "/flaky":
			if flakyCalls.Add(1) < 3 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusOK)
		case "/slow":
			time.Sleep(1500 * time.Millisecond)
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/post":
			if r.Method != http.MethodPost {
				w.WriteHeader(http.StatusMethodNotAllowed)
			}
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	hook := func(name, path string, retries int32) trimtabv1.Hook {
		return trimtabv1.Hook{Name: name, Phase: trimtabv1.HookPreRollout, URL: srv.URL + path, Retries: retries, TimeoutSeconds: 1}
	}
	cases := []struct {
		name   string
		hooks  []trimtabv1.Hook
		passed bool
		msg    []string
	}{
		{"2xx passes", []trimtabv1.Hook{hook("ok", "/ok", 0)}, true, nil},
		{"retries until it passes", []trimtabv1.Hook{hook("flaky", "/flaky", 3)}, true, nil},
		{"POST with a body", []trimtabv1.Hook{func() trimtabv1.Hook { h := hook("post", "/post", 0); h.Body = "{}"; return h }()}, true, nil},
		{"error status fails after its retries", []trimtabv1.Hook{hook("ok", "/ok", 0), hook("broken", "/broken?token=s3cret", 1)}, false,
			[]string{"hook broken", "answered 500 Internal Server Error", "after 2 attempt(s)", "/broken?<redacted>"}},
		{"timeout fails", []trimtabv1.Hook{hook("slow", "/slow", 0)}, false, []string{"hook slow", "timed out"}},
		{"unreachable fails", []trimtabv1.Hook{{Name: "down", Phase: trimtabv1.HookPreRollout, URL: "http://127.0.0.1:1/", TimeoutSeconds: 1}}, false,
			[]string{"hook down", "request failed"}},
		{"an unparseable URL fails at once, without its token", []trimtabv1.Hook{{Name: "typo", Phase: trimtabv1.HookPreRollout, URL: "http://hooks example/x?token=s3cret", Retries: 10, TimeoutSeconds: 1}}, false,
			[]string{"hook typo", "is not an absolute http(s) URL (http://host/path): fix spec.analysis.hooks[0].url"}},
		{"a URL without a scheme fails at once, naming its field", []trimtabv1.Hook{hook("ok", "/ok", 0), {Name: "bare", Phase: trimtabv1.HookPreRollout, URL: "hooks.example/x?token=s3cret", Retries: 10, TimeoutSeconds: 1}}, false,
			[]string{"hook bare", "url hooks.example/x?<redacted> is not an absolute http(s) URL", "fix spec.analysis.hooks[1].url"}},
		{"a POST redirected into a GET fails: its body would be lost", []trimtabv1.Hook{func() trimtabv1.Hook { h := hook("moved", "/moved", 0); h.Body = "{}"; return h }()}, false,
			[]string{"hook moved", "/ok turns the POST into a GET without its body"}},
		{"a GET follows a redirect", []trimtabv1.Hook{hook("moved", "/moved", 0)}, true, nil},
		{"hooks of other phases do not run", []trimtabv1.Hook{{Name: "later", Phase: trimtabv1.HookPostRollout, URL: srv.URL + "/broken"}}, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			flakyCalls.Store(0)
			h := &HTTPHooks{Client: srv.Client(), RetryDelay: 10 * time.Millisecond}
			res := h.Run(context.Background(), tc.hooks, trimtabv1.HookPreRollout)
			require.Equal(t, tc.passed, res.Passed, res.Message)
			require.Equal(t, trimtabv1.HookPreRollout, res.Phase)
			for _, m := range tc.msg {
				require.Contains(t, res.Message, m)
			}
			require.NotContains(t, res.Message, "s3cret", "hook URLs' query strings may carry tokens")
		})
	}
}

// phaseCounter counts the hook runs per phase; every hook passes.
type phaseCounter struct{ runs map[trimtabv1.HookPhase]int }

func (c *phaseCounter) Run(_ context.Context, _ []trimtabv1.Hook, phase trimtabv1.HookPhase) release.HookResult {
	c.runs[phase]++
	return release.HookResult{Phase: phase, Passed: true}
}

// TestDecideRunsEachHookPhaseOnce: a single 100 % step with pre-rollout
// and pre-promotion hooks crosses both phases in one reconcile; over two
// reconciles each phase's hooks run once.
func TestDecideRunsEachHookPhaseOnce(t *testing.T) {
	rel := &trimtabv1.Release{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}, Spec: trimtabv1.ReleaseSpec{
		TargetRef: trimtabv1.TargetRef{Name: "web"},
		Strategy:  trimtabv1.Strategy{Canary: &trimtabv1.CanaryStrategy{Steps: []trimtabv1.CanaryStep{{Weight: 100, AnalysisSeconds: 60}}}},
		Analysis: trimtabv1.Analysis{Hooks: []trimtabv1.Hook{
			{Name: "migrate", Phase: trimtabv1.HookPreRollout, URL: "http://hooks.invalid/migrate"},
			{Name: "confirm", Phase: trimtabv1.HookPrePromotion, URL: "http://hooks.invalid/confirm"},
		}},
	}}
	rel.Status = trimtabv1.ReleaseStatus{State: release.StateIdle, StableRevision: "rev1"}
	plan, err := release.NewPlan(rel.Spec)
	require.NoError(t, err)
	h := &phaseCounter{runs: map[trimtabv1.HookPhase]int{}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &ReleaseReconciler{Hooks: h, Now: func() time.Time { return now }}
	for range 2 { // the first reconcile's status is written
		// The canary's pods are ready: hooks run then.
		w := &workload{plan: plan, observed: release.Observed{TargetRevision: "rev2", PrimaryRevision: "rev1", PrimaryReady: true, CanaryReadyWeight: 100}}
		rel.Status = r.decide(context.Background(), rel, w).Status
	}
	require.Equal(t, map[trimtabv1.HookPhase]int{trimtabv1.HookPreRollout: 1, trimtabv1.HookPrePromotion: 1}, h.runs)
}
