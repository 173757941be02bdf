package v1alpha1

// MetricSource says where a metric's samples come from. Exactly one source
// kind is set. String fields marked "template" are Go templates rendered per
// target with the variables .Namespace .Name .Variant .Revision .Interval
// and .PodRegex (see docs/metrics.md).
type MetricSource struct {
	// Prometheus runs a PromQL query (template) against a Prometheus server.
	// +optional
	Prometheus *PrometheusSource `json:"prometheus,omitempty"`
	// Scrape reads a metric from the workload's own pods' /metrics endpoints;
	// it needs no monitoring stack.
	// +optional
	Scrape *ScrapeSource `json:"scrape,omitempty"`
	// CloudWatch reads an AWS CloudWatch metric or metric-math expression.
	// +optional
	CloudWatch *CloudWatchSource `json:"cloudwatch,omitempty"`
	// Web reads a number from a JSON document served over HTTP, for business
	// metrics an application exposes itself.
	// +optional
	Web *WebSource `json:"web,omitempty"`
}

// PrometheusSource is a PromQL query template.
type PrometheusSource struct {
	// Address of the Prometheus server; defaults to the controller's --prometheus.url.
	// Credentials belong in headersSecretRef: the address is readable by
	// anyone who may read this object.
	// +optional
	// +kubebuilder:validation:Pattern=`^https?://`
	Address string `json:"address,omitempty"`
	// Query is a PromQL template, e.g.
	// sum(rate(http_requests_total{namespace="{{.Namespace}}",pod=~"{{.PodRegex}}",code=~"5.."}[{{.Interval}}])).
	// +kubebuilder:validation:MinLength=1
	Query string `json:"query"`
	// HeadersSecretRef names a Secret in the object's namespace whose keys and
	// values are sent as request headers to the Prometheus server (a bearer
	// token in Authorization, a tenant in X-Scope-OrgID); they are never
	// logged and are not sent on a redirect to another server.
	// +optional
	HeadersSecretRef *LocalObjectReference `json:"headersSecretRef,omitempty"`
}

// ScrapeKind says how scraped series become one value.
// +kubebuilder:validation:Enum=gauge;rate;quantile;ratio
type ScrapeKind string

// Ways to turn scraped series into a value.
const (
	// ScrapeGauge takes the current value of a gauge.
	ScrapeGauge ScrapeKind = "gauge"
	// ScrapeRate takes the per-second increase of a counter, as PromQL rate().
	ScrapeRate ScrapeKind = "rate"
	// ScrapeQuantile estimates a quantile of a histogram, as histogram_quantile().
	ScrapeQuantile ScrapeKind = "quantile"
	// ScrapeRatio divides the rate of Metric by the rate of Denominator
	// (an error ratio, for example).
	ScrapeRatio ScrapeKind = "ratio"
)

// ScrapeSource reads a metric family straight from the pods' /metrics.
//
// +kubebuilder:validation:XValidation:rule="self.kind != 'quantile' || has(self.quantile)",message="quantile is required when kind is quantile"
// +kubebuilder:validation:XValidation:rule="self.kind != 'ratio' || has(self.denominator)",message="denominator is required when kind is ratio"
type ScrapeSource struct {
	// Metric is the metric family name as exposed, e.g. http_requests_total;
	// for quantiles, the histogram's base name without _bucket.
	// +kubebuilder:validation:Pattern=`^[a-zA-Z_:][a-zA-Z0-9_:]*$`
	Metric string `json:"metric"`
	// Kind is how the series become a value.
	// +kubebuilder:default=gauge
	// +optional
	Kind ScrapeKind `json:"kind,omitempty"`
	// Quantile in (0,1) for kind quantile, as a decimal string such as "0.99".
	// +kubebuilder:validation:Pattern=`^0?\.[0-9]*[1-9][0-9]*$`
	// +optional
	Quantile string `json:"quantile,omitempty"`
	// Denominator is the counter divided into Metric for kind ratio.
	// +kubebuilder:validation:Pattern=`^[a-zA-Z_:][a-zA-Z0-9_:]*$`
	// +optional
	Denominator string `json:"denominator,omitempty"`
	// MatchLabels keeps only series whose labels have these values
	// (e.g. code: "5..", matched as a regular expression anchored at both ends).
	// +optional
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
	// Port to scrape; defaults to the prometheus.io/port annotation, then a
	// container port named "metrics".
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port *int32 `json:"port,omitempty"`
	// Path to scrape; defaults to the prometheus.io/path annotation, then /metrics.
	// +kubebuilder:validation:Pattern=`^/`
	// +optional
	Path string `json:"path,omitempty"`
}

// CloudWatchSource is a CloudWatch metric (namespace, name, dimensions,
// statistic) or a metric-math expression.
//
// +kubebuilder:validation:XValidation:rule="has(self.expression) != has(self.metricName)",message="set exactly one of metricName or expression"
// +kubebuilder:validation:XValidation:rule="!has(self.metricName) || has(self.namespace)",message="namespace is required with metricName"
type CloudWatchSource struct {
	// Region overrides the controller's AWS region.
	// +optional
	Region string `json:"region,omitempty"`
	// Namespace of the metric, e.g. AWS/SQS.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// MetricName, e.g. ApproximateNumberOfMessagesVisible.
	// +optional
	MetricName string `json:"metricName,omitempty"`
	// Dimensions select the series; values are templates.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=30
	Dimensions []CloudWatchDimension `json:"dimensions,omitempty"`
	// Statistic: Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99.
	// +kubebuilder:validation:Pattern=`^(Average|Sum|Minimum|Maximum|SampleCount|p\d{1,2}(\.\d+)?)$`
	// +kubebuilder:default=Average
	// +optional
	Statistic string `json:"statistic,omitempty"`
	// PeriodSeconds of each datapoint: 1, 5, 10, 30 or a multiple of 60.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:XValidation:rule="self in [1, 5, 10, 30] || self % 60 == 0",message="periodSeconds must be 1, 5, 10, 30 or a multiple of 60"
	// +kubebuilder:default=60
	// +optional
	PeriodSeconds int32 `json:"periodSeconds,omitempty"`
	// Expression is a CloudWatch metric-math expression (template).
	// +optional
	Expression string `json:"expression,omitempty"`
}

// CloudWatchDimension is one name/value pair of a CloudWatch metric.
type CloudWatchDimension struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Value is a template.
	// +kubebuilder:validation:MinLength=1
	Value string `json:"value"`
}

// WebSource reads a number out of a JSON document served over HTTP.
type WebSource struct {
	// URL (template) fetched with GET.
	// +kubebuilder:validation:Pattern=`^https?://`
	URL string `json:"url"`
	// JSONPath selecting one number, in kubectl's syntax, e.g. {.orders.perMinute}.
	// +kubebuilder:validation:MinLength=1
	JSONPath string `json:"jsonPath"`
	// HeadersSecretRef names a Secret in the object's namespace whose keys and
	// values are sent as request headers (for tokens); they are never logged.
	// +optional
	HeadersSecretRef *LocalObjectReference `json:"headersSecretRef,omitempty"`
	// TimeoutSeconds bounds each request.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=60
	// +kubebuilder:default=5
	// +optional
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`
}

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// Direction says which way a metric going is bad.
// +kubebuilder:validation:Enum=increase-is-bad;decrease-is-bad;either
type Direction string

// Directions.
const (
	IncreaseIsBad Direction = "increase-is-bad"
	DecreaseIsBad Direction = "decrease-is-bad"
	EitherIsBad   Direction = "either"
)

// OnNoData says what a missing metric means.
// +kubebuilder:validation:Enum=hold;fail;pass
type OnNoData string

// What to do when a metric has no data.
const (
	// NoDataHold waits for data, bounded by the progress deadline; never promotes, never scales down.
	NoDataHold OnNoData = "hold"
	// NoDataFail treats missing data as a failed metric.
	NoDataFail OnNoData = "fail"
	// NoDataPass treats missing data as a passing metric.
	NoDataPass OnNoData = "pass"
)

// Threshold is an absolute guard rail: a value below Min or above Max fails
// the metric whatever the statistics say. Bounds are decimal strings (the
// API carries no floats), e.g. "0.05" or "250".
//
// +kubebuilder:validation:XValidation:rule="has(self.min) || has(self.max)",message="set min, max or both"
// +kubebuilder:validation:XValidation:rule="!has(self.min) || !has(self.max) || double(self.min) <= double(self.max)",message="min must be less than or equal to max"
type Threshold struct {
	// Min is the lowest acceptable value.
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`
	// +optional
	Min *string `json:"min,omitempty"`
	// Max is the highest acceptable value.
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`
	// +optional
	Max *string `json:"max,omitempty"`
}

// Metric is a named metric source with the meaning trimtab gives it; it is
// shared by Release analysis and ScalingPolicy.
//
// +kubebuilder:validation:XValidation:rule="[has(self.prometheus), has(self.scrape), has(self.cloudwatch), has(self.web)].filter(x, x).size() == 1",message="exactly one of prometheus, scrape, cloudwatch or web must be set"
type Metric struct {
	// Name identifies the metric in status, Events and dashboards.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Source of the samples; exactly one kind.
	MetricSource `json:",inline"`
	// Group is app, business, infra or any other word; analysis scores are
	// weighted per group.
	// +kubebuilder:default=app
	// +kubebuilder:validation:Pattern=`^[a-z][a-z0-9-]*$`
	// +optional
	Group string `json:"group,omitempty"`
	// Direction in which a change is bad.
	// +kubebuilder:default=increase-is-bad
	// +optional
	Direction Direction `json:"direction,omitempty"`
	// Critical metrics fail the whole analysis when they fail.
	// +optional
	Critical bool `json:"critical,omitempty"`
	// Threshold is an absolute guard rail beside the statistics.
	// +optional
	Threshold *Threshold `json:"threshold,omitempty"`
	// OnNoData decides what a metric without data means.
	// +kubebuilder:default=hold
	// +optional
	OnNoData OnNoData `json:"onNoData,omitempty"`
}
