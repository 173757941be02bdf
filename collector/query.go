package collector

import (
	"fmt"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/labels"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

// Kind is a metric source kind; each has one provider.
type Kind string

// Source kinds, named like the CRD fields.
const (
	KindPrometheus Kind = "prometheus"
	KindScrape     Kind = "scrape"
	KindCloudWatch Kind = "cloudwatch"
	KindWeb        Kind = "web"
)

// KindOf returns the kind of the one source set in src. The API server
// already enforces "exactly one"; this guards objects built in code.
func KindOf(src trimtabv1.MetricSource) (Kind, error) {
	var kinds []Kind
	if src.Prometheus != nil {
		kinds = append(kinds, KindPrometheus)
	}
	if src.Scrape != nil {
		kinds = append(kinds, KindScrape)
	}
	if src.CloudWatch != nil {
		kinds = append(kinds, KindCloudWatch)
	}
	if src.Web != nil {
		kinds = append(kinds, KindWeb)
	}
	if len(kinds) != 1 {
		return "", Errorf(ReasonConfig, "metric source sets %d of prometheus, scrape, cloudwatch, web (%v); set exactly one", len(kinds), kinds)
	}
	return kinds[0], nil
}

// Variant is which version of a workload a query is about.
type Variant string

// Variants.
const (
	VariantPrimary  Variant = "primary"
	VariantCanary   Variant = "canary"
	VariantBaseline Variant = "baseline"
)

// Target is the workload and variant a query is about.
type Target struct {
	// Namespace of the workload.
	Namespace string
	// Name of the Deployment.
	Name string
	// Variant of the workload.
	Variant Variant
	// Revision is the pod-template hash or version of the variant.
	Revision string
	// Selector picks the variant's pods in Namespace; the scrape provider
	// requires it. The release controller labels the pods it manages.
	Selector labels.Selector
	// PodRegex matches the variant's pod names in PromQL; empty means
	// DefaultPodRegex(Name). Build it from listed pods with [PodRegexFor].
	PodRegex string
}

// DefaultPodRegex matches the pods of a Deployment
// (<name>-<pod-template-hash>-<suffix>).
func DefaultPodRegex(name string) string {
	return regexLiteral(name) + "-[a-z0-9]+-[a-z0-9]+"
}

// StatefulSetPodRegex matches the pods of a StatefulSet (<name>-<ordinal>).
func StatefulSetPodRegex(name string) string {
	return regexLiteral(name) + "-[0-9]+"
}

// noPodRegex matches no pod: its spaces are not allowed in pod names. An
// empty PodRegex would mean the Deployment default, which could match
// another workload's pods.
const noPodRegex = "(no pods listed)"

// PodRegexFor matches exactly the named pods, and no pod when there are
// none. Dots are written as [.] so the result needs no backslash and can sit
// inside a PromQL string literal.
func PodRegexFor(pods []string) string {
	if len(pods) == 0 {
		return noPodRegex
	}
	parts := make([]string, len(pods))
	for i, p := range pods {
		parts[i] = regexLiteral(p)
	}
	return strings.Join(parts, "|")
}

func regexLiteral(s string) string { return strings.ReplaceAll(s, ".", "[.]") }

// Owner is the object a query is collected for; it labels exported values.
type Owner struct {
	// Kind is "release" or "scalingpolicy".
	Kind string
	// Name of the object, in Target.Namespace.
	Name string
}

// Query asks one metric of one target.
type Query struct {
	Owner  Owner
	Metric trimtabv1.Metric
	Target Target
	// Interval is the window rates and CloudWatch datapoints cover
	// ({{.Interval}}); zero means DefaultInterval.
	Interval time.Duration
	// At is the evaluation time; zero means the provider's clock.
	At time.Time
	// Range asks for samples every Step over [Start, End] instead of one
	// sample at At.
	Range *Range
	// NoCache keeps the answer out of a provider's answer cache: a
	// consumer that asks each question once (the scaling cycle asks about
	// a new step every sync) would only fill it. A cached answer is still
	// used.
	NoCache bool
}

// Range is a range query's span and resolution.
type Range struct {
	Start, End time.Time
	Step       time.Duration
}

// DefaultInterval is the rate window when a query leaves Interval zero.
const DefaultInterval = time.Minute

// Window returns the query's interval, defaulted.
func (q Query) Window() time.Duration {
	if q.Interval <= 0 {
		return DefaultInterval
	}
	return q.Interval
}

// Vars are the variables templates see; see the package doc.
type Vars struct {
	Namespace string
	Name      string
	Variant   Variant
	Revision  string
	Interval  string
	PodRegex  string
}

// Vars returns the template variables of q.
func (q Query) Vars() Vars {
	re := q.Target.PodRegex
	if re == "" {
		re = DefaultPodRegex(q.Target.Name)
	}
	return Vars{
		Namespace: q.Target.Namespace,
		Name:      q.Target.Name,
		Variant:   q.Target.Variant,
		Revision:  q.Target.Revision,
		Interval:  model.Duration(q.Window()).String(),
		PodRegex:  re,
	}
}

// templates caches parsed templates: thousands of policies share a handful.
var templates sync.Map // string -> *template.Template

// Render executes the template text with v. field names the CRD field in
// errors ("prometheus.query").
func Render(field, text string, v Vars) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, ok := templates.Load(text)
	if !ok {
		parsed, err := template.New(field).Option("missingkey=error").Parse(text)
		if err != nil {
			return "", Errorf(ReasonConfig, "%s: invalid template: %w; variables are {{.Namespace}} {{.Name}} {{.Variant}} {{.Revision}} {{.Interval}} {{.PodRegex}}", field, err)
		}
		t, _ = templates.LoadOrStore(text, parsed)
	}
	var b strings.Builder
	if err := t.(*template.Template).Execute(&b, v); err != nil {
		return "", Errorf(ReasonConfig, "%s: %w; variables are {{.Namespace}} {{.Name}} {{.Variant}} {{.Revision}} {{.Interval}} {{.PodRegex}}", field, err)
	}
	return b.String(), nil
}

// Sample is one value at one time.
type Sample struct {
	Time  time.Time
	Value float64
}

// Series is a labelled sequence of samples in time order.
type Series struct {
	Labels  map[string]string
	Samples []Sample
}

// Result answers one query: series, or an error (see the package doc).
// Collector.Collect hands out no NaN sample and no series without samples.
type Result struct {
	// Series is the answer. Aggregating queries return one series.
	Series []Series
	// PerPod holds one series per pod (label "pod") when the provider sees
	// pods (scrape).
	PerPod []Series
	// Warnings are non-fatal problems (Prometheus warnings, pods that could
	// not be scraped); controllers may surface them in Events.
	Warnings []string
	// Err is nil, or classified (see the package doc). It names the
	// query's metric (metric "error-rate": …), so that consumers can show
	// it as it is; Collector.Collect names it for a provider that does not.
	Err error
}

// Latest returns the last sample of the only series.
func (r Result) Latest() (Sample, error) {
	s, err := r.only()
	if err != nil {
		return Sample{}, err
	}
	return s.Samples[len(s.Samples)-1], nil
}

// Values returns the sample values of the only series, oldest first, for the
// analyzer.
func (r Result) Values() ([]float64, error) {
	s, err := r.only()
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(s.Samples))
	for i, p := range s.Samples {
		out[i] = p.Value
	}
	return out, nil
}

func (r Result) only() (Series, error) {
	if r.Err != nil {
		return Series{}, r.Err
	}
	switch len(r.Series) {
	case 0:
		return Series{}, Errorf(ReasonNoData, "no series")
	case 1:
		if len(r.Series[0].Samples) == 0 {
			return Series{}, Errorf(ReasonNoData, "series has no samples")
		}
		return r.Series[0], nil
	default:
		return Series{}, Errorf(ReasonBadQuery, "query returned %d series where one was expected; aggregate it (for example sum(...) or sum by (...))", len(r.Series))
	}
}

// Fail returns n results carrying err, for a batch that failed as a whole.
func Fail(n int, err error) []Result {
	out := make([]Result, n)
	for i := range out {
		out[i].Err = err
	}
	return out
}

// String describes the query for logs and errors.
func (q Query) String() string {
	return fmt.Sprintf("%s/%s metric %q (%s)", q.Target.Namespace, q.Target.Name, q.Metric.Name, q.Target.Variant)
}
