package v1alpha1_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/trimtab/trimtab/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.RunMain(m, &env) }

const validRelease = `
apiVersion: trimtab.dev/v1alpha1
kind: Release
metadata: {name: r, namespace: default}
spec:
  targetRef: {name: web}
  strategy:
    canary:
      steps: [{weight: 10, analysisSeconds: 60}, {weight: 50}]
  analysis:
    intervalSeconds: 10
    metrics:
      - name: latency
        prometheus: {query: "up"}
`

const validPolicy = `
apiVersion: trimtab.dev/v1alpha1
kind: ScalingPolicy
metadata: {name: p, namespace: default}
spec:
  targetRef: {name: web}
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - name: cpu
      kind: resource
      resource: cpu
      prometheus: {query: "sum(rate(container_cpu_usage_seconds_total[1m]))"}
      target: {type: Utilization, averageUtilization: 70}
`

// mutate parses doc, applies edit to the object's map and returns it.
func mutate(t *testing.T, doc string, edit func(obj map[string]any)) *unstructured.Unstructured {
	t.Helper()
	var obj map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(doc), &obj))
	edit(obj)
	return &unstructured.Unstructured{Object: obj}
}

// at walks a path of map keys and list indexes inside obj.
func at(obj map[string]any, path ...any) map[string]any {
	var cur any = obj
	for _, p := range path {
		switch k := p.(type) {
		case string:
			cur = cur.(map[string]any)[k]
		case int:
			cur = cur.([]any)[k]
		}
	}
	return cur.(map[string]any)
}

func TestInvalidObjectsAreRejectedNamingTheField(t *testing.T) {
	cases := []struct {
		name string
		doc  string
		edit func(o map[string]any)
		// want are substrings of the API server's message: the field path and what is wrong.
		want []string
	}{
		{"release without targetRef", validRelease, func(o map[string]any) { delete(at(o, "spec"), "targetRef") },
			[]string{"spec.targetRef", "Required"}},
		{"release target kind not Deployment", validRelease, func(o map[string]any) { at(o, "spec", "targetRef")["kind"] = "StatefulSet" },
			[]string{"spec.targetRef.kind", "Unsupported value"}},
		{"both canary and blueGreen", validRelease, func(o map[string]any) { at(o, "spec", "strategy")["blueGreen"] = map[string]any{} },
			[]string{"spec.strategy", "set exactly one of canary or blueGreen"}},
		{"neither canary nor blueGreen", validRelease, func(o map[string]any) { delete(at(o, "spec", "strategy"), "canary") },
			[]string{"spec.strategy", "set exactly one of canary or blueGreen"}},
		{"step weight above 100", validRelease, func(o map[string]any) { at(o, "spec", "strategy", "canary", "steps", 1)["weight"] = 150 },
			[]string{"spec.strategy.canary.steps[1].weight", "less than or equal to 100"}},
		{"step weight zero", validRelease, func(o map[string]any) { at(o, "spec", "strategy", "canary", "steps", 0)["weight"] = 0 },
			[]string{"spec.strategy.canary.steps[0].weight", "greater than or equal to 1"}},
		{"step weights descending", validRelease, func(o map[string]any) { at(o, "spec", "strategy", "canary", "steps", 0)["weight"] = 60 },
			[]string{"spec.strategy.canary.steps", "step weights must be in ascending order"}},
		{"analysis interval below 1s", validRelease, func(o map[string]any) { at(o, "spec", "analysis")["intervalSeconds"] = 0 },
			[]string{"spec.analysis.intervalSeconds", "greater than or equal to 1"}},
		{"marginal score above pass score", validRelease, func(o map[string]any) {
			at(o, "spec", "analysis")["passScore"] = 70
			at(o, "spec", "analysis")["marginalScore"] = 80
		}, []string{"spec.analysis", "marginalScore must be less than or equal to passScore"}},
		{"metric with two sources", validRelease, func(o map[string]any) {
			at(o, "spec", "analysis", "metrics", 0)["scrape"] = map[string]any{"metric": "x"}
		}, []string{"spec.analysis.metrics[0]", "exactly one of prometheus, scrape, cloudwatch or web must be set"}},
		{"metric with no source", validRelease, func(o map[string]any) { delete(at(o, "spec", "analysis", "metrics", 0), "prometheus") },
			[]string{"spec.analysis.metrics[0]", "exactly one of prometheus, scrape, cloudwatch or web must be set"}},
		{"unknown direction", validRelease, func(o map[string]any) { at(o, "spec", "analysis", "metrics", 0)["direction"] = "up" },
			[]string{"spec.analysis.metrics[0].direction", "Unsupported value"}},
		{"unknown onNoData", validRelease, func(o map[string]any) { at(o, "spec", "analysis", "metrics", 0)["onNoData"] = "ignore" },
			[]string{"spec.analysis.metrics[0].onNoData", "Unsupported value"}},
		{"threshold min above max", validRelease, func(o map[string]any) {
			at(o, "spec", "analysis", "metrics", 0)["threshold"] = map[string]any{"min": "5", "max": "1.5"}
		}, []string{"spec.analysis.metrics[0].threshold", "min must be less than or equal to max"}},
		{"threshold not a number", validRelease, func(o map[string]any) {
			at(o, "spec", "analysis", "metrics", 0)["threshold"] = map[string]any{"max": "lots"}
		}, []string{"spec.analysis.metrics[0].threshold.max", "should match"}},
		{"quantile scrape without quantile", validRelease, func(o map[string]any) {
			m := at(o, "spec", "analysis", "metrics", 0)
			delete(m, "prometheus")
			m["scrape"] = map[string]any{"metric": "http_request_duration_seconds", "kind": "quantile"}
		}, []string{"spec.analysis.metrics[0].scrape", "quantile is required when kind is quantile"}},
		{"cloudwatch with both metricName and expression", validRelease, func(o map[string]any) {
			m := at(o, "spec", "analysis", "metrics", 0)
			delete(m, "prometheus")
			m["cloudwatch"] = map[string]any{"namespace": "AWS/SQS", "metricName": "x", "expression": "m1*2"}
		}, []string{"spec.analysis.metrics[0].cloudwatch", "set exactly one of metricName or expression"}},
		{"cloudwatch bad period", validRelease, func(o map[string]any) {
			m := at(o, "spec", "analysis", "metrics", 0)
			delete(m, "prometheus")
			m["cloudwatch"] = map[string]any{"namespace": "AWS/SQS", "metricName": "x", "periodSeconds": 45}
		}, []string{"spec.analysis.metrics[0].cloudwatch.periodSeconds", "must be 1, 5, 10, 30 or a multiple of 60"}},
		{"nginx router without ingress", validRelease, func(o map[string]any) { at(o, "spec")["traffic"] = map[string]any{"router": "nginx"} },
			[]string{"spec.traffic", "ingress is required when router is nginx"}},
		{"wrong type", validRelease, func(o map[string]any) { at(o, "spec")["progressDeadlineSeconds"] = "soon" },
			[]string{"spec.progressDeadlineSeconds", "must be of type integer"}},
		{"policy min above max", validPolicy, func(o map[string]any) { at(o, "spec")["minReplicas"] = 20 },
			[]string{"spec", "minReplicas must be less than or equal to maxReplicas"}},
		{"policy target apiVersion not group/version", validPolicy, func(o map[string]any) { at(o, "spec", "targetRef")["apiVersion"] = "apps/v1/StatefulSet" },
			[]string{"spec.targetRef.apiVersion", "should match"}},
		{"policy target version not a DNS label", validPolicy, func(o map[string]any) { at(o, "spec", "targetRef")["apiVersion"] = "apps/V1" },
			[]string{"spec.targetRef.apiVersion", "should match"}},
		{"policy target kind not as in manifests", validPolicy, func(o map[string]any) { at(o, "spec", "targetRef")["kind"] = "statefulset" },
			[]string{"spec.targetRef.kind", "should match"}},
		{"policy maxReplicas zero", validPolicy, func(o map[string]any) { at(o, "spec")["maxReplicas"] = 0 },
			[]string{"spec.maxReplicas", "greater than or equal to 1"}},
		{"policy without metrics", validPolicy, func(o map[string]any) { at(o, "spec")["metrics"] = []any{} },
			[]string{"spec.metrics", "at least 1 items"}},
		{"utilization target without averageUtilization", validPolicy, func(o map[string]any) {
			at(o, "spec", "metrics", 0)["target"] = map[string]any{"type": "Utilization"}
		}, []string{"spec.metrics[0].target", "averageUtilization is required when type is Utilization"}},
		{"utilization on a pods metric", validPolicy, func(o map[string]any) { at(o, "spec", "metrics", 0)["kind"] = "pods" },
			[]string{"spec.metrics[0]", "target.type Utilization is only valid with kind resource"}},
		{"resource metric without resource", validPolicy, func(o map[string]any) { delete(at(o, "spec", "metrics", 0), "resource") },
			[]string{"spec.metrics[0]", "resource (cpu or memory) is required when kind is resource"}},
		{"bad select policy", validPolicy, func(o map[string]any) {
			at(o, "spec")["behavior"] = map[string]any{"scaleDown": map[string]any{"selectPolicy": "Sometimes"}}
		}, []string{"spec.behavior.scaleDown.selectPolicy", "Unsupported value"}},
		{"policy period too long", validPolicy, func(o map[string]any) {
			at(o, "spec")["behavior"] = map[string]any{"scaleUp": map[string]any{"policies": []any{map[string]any{"type": "Pods", "value": 4, "periodSeconds": 3600}}}}
		}, []string{"spec.behavior.scaleUp.policies[0].periodSeconds", "less than or equal to 1800"}},
		{"unknown predictive mode", validPolicy, func(o map[string]any) { at(o, "spec")["predictive"] = map[string]any{"mode": "maybe"} },
			[]string{"spec.predictive.mode", "Unsupported value"}},
		{"sync period too long", validPolicy, func(o map[string]any) { at(o, "spec")["syncPeriodSeconds"] = 601 },
			[]string{"spec.syncPeriodSeconds", "less than or equal to 600"}},
		{"season not in whole minutes", validPolicy, func(o map[string]any) { at(o, "spec")["predictive"] = map[string]any{"seasonSeconds": 90} },
			[]string{"spec.predictive.seasonSeconds", "multiple of 60"}},
		{"season over 31 days", validPolicy, func(o map[string]any) { at(o, "spec")["predictive"] = map[string]any{"seasonSeconds": 2678460} },
			[]string{"spec.predictive.seasonSeconds", "less than or equal to 2678400"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := mutate(t, tc.doc, tc.edit)
			err := env.Client.Create(context.Background(), obj, client.DryRunAll)
			require.Error(t, err, "the API server accepted an invalid object")
			require.True(t, apierrors.IsInvalid(err), "want Invalid, got %v", err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestValidObjectsAndDocExamplesAreAccepted(t *testing.T) {
	docs := map[string]string{"inline release": validRelease, "inline policy": validPolicy}
	files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "docs", "examples", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "docs/examples must hold example objects")
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		docs[filepath.Base(f)] = string(b)
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			for _, part := range strings.Split(doc, "\n---") {
				if strings.TrimSpace(part) == "" {
					continue
				}
				obj := mutate(t, part, func(o map[string]any) {
					// The examples name their own namespaces; dry-run in default.
					at(o, "metadata")["namespace"] = "default"
				})
				require.NoError(t, env.Client.Create(context.Background(), obj, client.DryRunAll))
			}
		})
	}
}

// TestTargetRefFormsAreAccepted: what an HPA's scaleTargetRef may name, the
// CRD must let through; whether the kind is served is the controller's
// check, which names the field to fix.
func TestTargetRefFormsAreAccepted(t *testing.T) {
	cases := []struct{ name, apiVersion, kind string }{
		{"core group", "v1", "ReplicationController"},
		{"beta version", "autoscaling.example.com/v2beta2", "Worker"},
		{"version named as a CRD may name it", "example.com/foo1", "Worker"},
		{"version with a dash", "example.com/v1-preview", "Worker"},
		{"kind with digits", "example.com/v1", "Worker2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := mutate(t, validPolicy, func(o map[string]any) {
				ref := at(o, "spec", "targetRef")
				ref["apiVersion"], ref["kind"] = tc.apiVersion, tc.kind
			})
			require.NoError(t, env.Client.Create(context.Background(), obj, client.DryRunAll))
		})
	}
}
