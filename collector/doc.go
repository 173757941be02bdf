// Package collector turns the metric sources of Releases and ScalingPolicies
// into samples for the analyzer (canary vs baseline) and the scaler (current
// load per workload).
//
// # Shapes
//
// A consumer builds one [Query] per (metric, target) pair and hands the whole
// batch to [Collector.Collect]. Result i answers query i. The Collector groups
// the batch by source kind ([KindOf]) and gives each [Provider] its whole
// share in one call, so a provider can batch and cache across every consumer:
// 1,000 ScalingPolicies sharing one PromQL template cost one Prometheus query
// per interval, and 1,000 CloudWatch metrics cost two GetMetricData calls.
//
// A [Result] holds time series of float64 samples, or an error. There is no
// silent zero: an empty answer is an error that wraps [ErrNoData]. Errors are
// classified for the controllers:
//
//   - errors.Is(err, ErrNoData): nothing to judge; the analyzer and scaler
//     apply the metric's onNoData (never promote, never scale down).
//   - errors.Is(err, ErrRetryable): the source is down, slow or returned
//     garbage; it also wraps ErrNoData, and the next cycle may succeed.
//   - errors.Is(err, ErrPermanent): the metric is wrong (invalid PromQL, an
//     unknown CloudWatch metric, a JSONPath that matches nothing, a counter
//     asked for as a histogram); the controllers put the message, which
//     names the field to fix, in a condition.
//
// [ReasonOf] gives the bounded reason label exported with errors.
//
// # Targets and variants
//
// A [Target] names a workload (namespace and Deployment name), the variant
// (primary, canary or baseline) and its revision. The release controller
// labels the pods of each variant; the Target carries the label selector that
// picks them (Target.Selector). The scrape provider lists pods with it; the
// other providers only see it through the template variables.
//
// # Template variables
//
// String fields of sources marked "template" in the CRD are Go text/template
// strings rendered per query with [Vars]:
//
//	{{.Namespace}}  Target.Namespace
//	{{.Name}}       Target.Name (the Deployment)
//	{{.Variant}}    primary | canary | baseline
//	{{.Revision}}   Target.Revision (pod-template hash or version label)
//	{{.Interval}}   Query.Interval as a PromQL duration ("1m", "30s")
//	{{.PodRegex}}   Target.PodRegex, or "<name>-[a-z0-9]+-[a-z0-9]+"
//
// Unknown variables are an error (missingkey=error), never an empty string.
//
// docs/metrics.md describes every provider, its approximations, failure
// behaviour and the metrics trimtab exports about collection.
package collector
