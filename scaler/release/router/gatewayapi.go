package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/internal/kube"
)

// originalBackendRefsAnnotation keeps, on the HTTPRoute, the backendRefs of
// each rule trimtab changed, as the user wrote them.
const originalBackendRefsAnnotation = "trimtab.dev/original-backend-refs"

// GatewayAPI splits traffic with backendRef weights on the user's Gateway
// API HTTPRoute (spec.traffic.httpRoute, in the Release's namespace).
//
// Every rule whose backendRefs lead to the user's Service <service> (or to
// the variant Services, once trimtab has changed it) gets exactly two
// backendRefs: <service>-primary with weight 100−w and <service>-canary
// with weight w, on the port (and with the filters) of the user's ref.
// Before changing a rule, trimtab saves its backendRefs in the annotation
// trimtab.dev/original-backend-refs; Restore puts them back and removes the
// annotation. Other rules and every other field of the route are never
// touched. A rule that mixes the Service with other backends is refused:
// its other backends would lose their traffic. At weight 0 the refusal does
// not stop the other rules from going back to the primary, nor a mixed
// rule's canary backendRef from going to weight 0: Route then still reports
// the mixed rule, having taken every route it wrote away from the canary.
type GatewayAPI struct {
	Client client.Client
	// Reader reads the route for Restore from the API server: a cached
	// route lacks its field managers, and Restore gives up trimtab's.
	Reader client.Reader
	// Groups tells Restore, when HTTPRoutes are not served, whether the
	// cluster has the Gateway API at all. Nil: Restore cannot tell, and
	// waits as for a route stored but not served.
	Groups GroupDiscovery
}

// GroupDiscovery lists the API groups the API server serves, and a group
// version's resources; a *discovery.DiscoveryClient is one. It needs no
// RBAC rule: discovery is open to every authenticated client.
type GroupDiscovery interface {
	ServerGroupsWithContext(ctx context.Context) (*metav1.APIGroupList, error)
	ServerResourcesForGroupVersionWithContext(ctx context.Context, groupVersion string) (*metav1.APIResourceList, error)
}

// gatewayAPIGroup is the Gateway API's API group.
const gatewayAPIGroup = "gateway.networking.k8s.io"

// savedRule is one rule's backendRefs before trimtab changed them.
type savedRule struct {
	// Rule is the rule's index. Name, when the rule has one, finds it even
	// if rules were reordered since.
	Rule        int                        `json:"rule"`
	Name        string                     `json:"name,omitempty"`
	BackendRefs []gatewayv1.HTTPBackendRef `json:"backendRefs"`
}

// Route sets the weights of every rule that leads to the release's Service;
// it writes nothing when they are already set.
func (g *GatewayAPI) Route(ctx context.Context, rel *trimtabv1.Release, weight int32) error {
	if err := checkWeight(weight); err != nil {
		return err
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		route, err := readRoute(ctx, g.Client, rel)
		if err != nil {
			return err
		}
		saved, err := savedRules(rel, route)
		if err != nil {
			if weight == 0 {
				// A rollback does not wait for the user's fix: every
				// canary ref goes to 0 (the damaged annotation is left as
				// it is), so the caller may stop the canary's pods.
				if werr := g.takeCanaryOut(ctx, rel, route); werr != nil {
					return werr
				}
			}
			return err
		}
		matched, changed := 0, false
		var mixed []error
		for i := range route.Spec.Rules {
			rule := &route.Spec.Rules[i]
			want, err := weighted(rel, route, i, weight)
			if err != nil && weight > 0 {
				return err
			}
			if err != nil {
				// At weight 0 (a rollback) a rule the user has since
				// mixed with other backends still loses the canary:
				// its canary backendRef, trimtab's own, goes to weight 0,
				// and the user's backends keep theirs.
				mixed = append(mixed, err)
				if refs := withoutCanary(rel, route.Namespace, rule.BackendRefs); refs != nil {
					rule.BackendRefs, changed = refs, true
				}
				continue
			}
			if want == nil {
				continue
			}
			matched++
			if equality.Semantic.DeepEqual(rule.BackendRefs, want) {
				continue
			}
			// Save the refs unless they are trimtab's own from an earlier
			// step; the user may have reapplied the route since.
			j := findSaved(saved, i, rule)
			switch {
			case j < 0:
				saved = append(saved, savedRule{Rule: i, Name: ruleName(rule), BackendRefs: rule.BackendRefs})
			case !onlyVariants(rel, route.Namespace, rule.BackendRefs):
				saved[j] = savedRule{Rule: i, Name: ruleName(rule), BackendRefs: rule.BackendRefs}
			}
			rule.BackendRefs = want
			changed = true
		}
		if matched == 0 && len(mixed) == 0 {
			return misconfigured("HTTPRoute %s/%s has no rule with a backendRef to Service %s: point the backendRefs of the rule to release at %s, or fix spec.traffic.httpRoute", route.Namespace, route.Name, ServiceName(rel), ServiceName(rel))
		}
		if !changed {
			return errors.Join(mixed...)
		}
		raw, err := json.Marshal(saved)
		if err != nil {
			return fmt.Errorf("encode backendRefs of HTTPRoute %s/%s: %w", route.Namespace, route.Name, err)
		}
		if route.Annotations == nil {
			route.Annotations = map[string]string{}
		}
		route.Annotations[originalBackendRefsAnnotation] = string(raw)
		// route carries the resourceVersion it was read at, so a concurrent
		// edit fails with a conflict and is retried from a fresh read.
		if err := g.Client.Update(ctx, route, kube.FieldOwner); err != nil {
			return fmt.Errorf("update HTTPRoute %s/%s: %w", route.Namespace, route.Name, err)
		}
		return errors.Join(mixed...)
	})
}

// takeCanaryOut sets every canary backendRef of route to weight 0 and
// writes the route if that changed anything.
func (g *GatewayAPI) takeCanaryOut(ctx context.Context, rel *trimtabv1.Release, route *gatewayv1.HTTPRoute) error {
	changed := false
	for i := range route.Spec.Rules {
		if refs := withoutCanary(rel, route.Namespace, route.Spec.Rules[i].BackendRefs); refs != nil {
			route.Spec.Rules[i].BackendRefs, changed = refs, true
		}
	}
	if !changed {
		return nil
	}
	if err := g.Client.Update(ctx, route, kube.FieldOwner); err != nil {
		return fmt.Errorf("update HTTPRoute %s/%s: %w", route.Namespace, route.Name, err)
	}
	return nil
}

// withoutCanary returns refs with the canary's backendRef at weight 0, or
// nil when no canary ref carries traffic.
func withoutCanary(rel *trimtabv1.Release, ns string, refs []gatewayv1.HTTPBackendRef) []gatewayv1.HTTPBackendRef {
	canary := []string{VariantService(rel, Canary)}
	var out []gatewayv1.HTTPBackendRef
	for i := range refs {
		// An unset weight is 1 (Gateway API).
		if toServiceIn(&refs[i], ns, canary) && (refs[i].Weight == nil || *refs[i].Weight != 0) {
			if out == nil {
				out = slices.Clone(refs)
			}
			out[i].Weight = new(int32(0))
		}
	}
	return out
}

// Restore puts back the backendRefs saved by Route, removes the annotation
// and gives up trimtab's claim on the route's fields. A rule the user has
// changed since (it no longer leads only to the variant Services) or
// removed keeps what the user made of it. A deleted route has nothing to
// restore, and neither has a cluster without the Gateway API: its group
// absent from discovery, no HTTPRoute CRD can hold a route. When the
// group is served but not v1 HTTPRoutes, or the saved backendRefs are
// damaged, Restore cannot tell what to put back: it changes nothing and
// returns an ErrMisconfigured that says what to do. A failed discovery is
// an error to retry.
func (g *GatewayAPI) Restore(ctx context.Context, rel *trimtabv1.Release) error {
	if rel.Spec.Traffic.HTTPRoute == "" {
		return nil
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var route gatewayv1.HTTPRoute
		key := client.ObjectKey{Namespace: rel.Namespace, Name: rel.Spec.Traffic.HTTPRoute}
		err := g.Reader.Get(ctx, key, &route)
		switch {
		case apierrors.IsNotFound(err):
			return g.gone(ctx, key, err)
		case meta.IsNoMatchError(err):
			return g.notServed(ctx, key, err)
		case err != nil:
			return fmt.Errorf("get HTTPRoute %s: %w", key, err)
		}
		if _, ok := route.Annotations[originalBackendRefsAnnotation]; ok {
			if err := g.putBack(ctx, rel, &route); err != nil {
				return err
			}
		}
		return g.disown(ctx, &route)
	})
}

// gone decides Restore's outcome when reading the route answers 404. A
// deleted route leaves nothing to restore; but a client whose mapping of
// HTTPRoute was made before the cluster turned v1 off gets 404 too, for
// the path, while the route may be stored and still lead to the variant
// Services. Discovery tells the two apart. Without it (Groups nil) a 404
// is a deleted route.
func (g *GatewayAPI) gone(ctx context.Context, key client.ObjectKey, notFound error) error {
	if g.Groups == nil {
		return nil
	}
	gv := gatewayAPIGroup + "/v1"
	resources, err := g.Groups.ServerResourcesForGroupVersionWithContext(ctx, gv)
	switch {
	case apierrors.IsNotFound(err): // the group version is not served at all
	case err != nil:
		return fmt.Errorf("HTTPRoute %s answered 404 (%v); find out whether the cluster serves %s HTTPRoutes: %w", key, notFound, gv, err)
	case slices.ContainsFunc(resources.APIResources, func(r metav1.APIResource) bool { return r.Name == "httproutes" }):
		return nil
	}
	return g.notServed(ctx, key, fmt.Errorf("reading it answered 404 and discovery lists no %s httproutes", gv))
}

// notServed decides Restore's outcome when the cluster does not serve v1
// HTTPRoutes (noMatch says so): nil when the Gateway API's group is absent
// from discovery, since deleting a CRD deletes its objects and no route is
// left to lead to the variant Services. While the group is served (some
// of its CRDs, or HTTPRoutes in another version) a route may be stored
// but not served, still leading there: an ErrMisconfigured, to wait for.
func (g *GatewayAPI) notServed(ctx context.Context, key client.ObjectKey, noMatch error) error {
	if g.Groups != nil {
		groups, err := g.Groups.ServerGroupsWithContext(ctx)
		if err != nil {
			return fmt.Errorf("HTTPRoute %s is not served (%v); find out whether the cluster serves the group %s: %w", key, noMatch, gatewayAPIGroup, err)
		}
		if !slices.ContainsFunc(groups.Groups, func(gr metav1.APIGroup) bool { return gr.Name == gatewayAPIGroup }) {
			return nil
		}
	}
	return misconfigured("this cluster does not serve HTTPRoute (%v), so trimtab cannot put back the backendRefs it changed on HTTPRoute %s: serve %s/v1 HTTPRoutes again (install the Gateway API's standard channel)", noMatch, key, gatewayAPIGroup)
}

// putBack writes route with the saved backendRefs back in its rules and
// without the annotation that saved them.
func (g *GatewayAPI) putBack(ctx context.Context, rel *trimtabv1.Release, route *gatewayv1.HTTPRoute) error {
	saved, err := savedRules(rel, route)
	if err != nil {
		return err
	}
	for _, s := range saved {
		i := findRule(route.Spec.Rules, s)
		if i >= 0 && onlyVariants(rel, route.Namespace, route.Spec.Rules[i].BackendRefs) {
			route.Spec.Rules[i].BackendRefs = s.BackendRefs
		}
	}
	// Refs to the variant Services left in a rule are trimtab's: an
	// unnamed rule that moved (its saved refs not found), or a rule the
	// user mixed with other backends since. Those Services go with the
	// Release, so the refs become one to the release's Service, on the
	// port and with the filters they had, with their weight in a mixed
	// rule.
	for i := range route.Spec.Rules {
		route.Spec.Rules[i].BackendRefs = mergedToService(rel, route.Namespace, route.Spec.Rules[i].BackendRefs)
	}
	delete(route.Annotations, originalBackendRefsAnnotation)
	if err := g.Client.Update(ctx, route, kube.FieldOwner); err != nil {
		return fmt.Errorf("restore HTTPRoute %s/%s: %w", route.Namespace, route.Name, err)
	}
	return nil
}

// disown removes trimtab from the route's field managers. The Gateway API
// makes a route's rules one atomic list, so trimtab's writes, the one that
// restores them too, made it the manager of all of them: the user's next
// server-side apply of their own route would conflict with a Release that
// is gone. It takes a write of its own, which changes nothing but the
// managers; what trimtab managed then has no manager until someone writes
// it.
func (g *GatewayAPI) disown(ctx context.Context, route *gatewayv1.HTTPRoute) error {
	kept := slices.DeleteFunc(slices.Clone(route.ManagedFields), func(m metav1.ManagedFieldsEntry) bool {
		return m.Manager == string(kube.FieldOwner)
	})
	// A route that no one else manages (one without parentRefs) stays
	// trimtab's: one that no one manages, the API server gives a manager
	// that the next apply conflicts with, named less helpfully.
	if len(kept) == len(route.ManagedFields) || len(kept) == 0 {
		return nil
	}
	route.ManagedFields = kept
	if err := g.Client.Update(ctx, route, kube.FieldOwner); err != nil {
		return fmt.Errorf("give up the fields of HTTPRoute %s/%s: %w", route.Namespace, route.Name, err)
	}
	return nil
}

// Replicas keeps the primary whole: the Gateway weighs requests, not pods.
func (*GatewayAPI) Replicas(total, weight int32, s Sizing) Split {
	return separate(total, weight, s)
}

// readRoute reads the user's HTTPRoute through c; an empty name or a
// missing route is ErrMisconfigured.
func readRoute(ctx context.Context, c client.Reader, rel *trimtabv1.Release) (*gatewayv1.HTTPRoute, error) {
	var route gatewayv1.HTTPRoute
	if err := getUsers(ctx, c, rel, &route, "HTTPRoute", "spec.traffic.httpRoute", rel.Spec.Traffic.HTTPRoute, ServiceName(rel)); err != nil {
		return nil, err
	}
	return &route, nil
}

// weighted returns the backendRefs rule i should have at weight, or nil when
// the rule does not lead to the release's Services.
func weighted(rel *trimtabv1.Release, route *gatewayv1.HTTPRoute, i int, weight int32) ([]gatewayv1.HTTPBackendRef, error) {
	names := []string{ServiceName(rel), VariantService(rel, Primary), VariantService(rel, Canary)}
	var first *gatewayv1.HTTPBackendRef
	var others []string
	for j := range route.Spec.Rules[i].BackendRefs {
		ref := &route.Spec.Rules[i].BackendRefs[j]
		switch {
		case !toServiceIn(ref, route.Namespace, names):
			others = append(others, describeRef(ref))
		case first == nil:
			first = ref
		}
	}
	if first == nil {
		return nil, nil
	}
	if len(others) > 0 {
		return nil, misconfigured("HTTPRoute %s/%s rule %d sends traffic to Service %s and also to %s: trimtab would take their traffic away; move them to a rule of their own", route.Namespace, route.Name, i, ServiceName(rel), strings.Join(others, ", "))
	}
	primary, canary := first.DeepCopy(), first.DeepCopy()
	primary.Name, primary.Weight = gatewayv1.ObjectName(VariantService(rel, Primary)), new(100-weight)
	canary.Name, canary.Weight = gatewayv1.ObjectName(VariantService(rel, Canary)), new(weight)
	return []gatewayv1.HTTPBackendRef{*primary, *canary}, nil
}

// mergedToService returns refs with those to the variant Services merged into
// one to the release's Service (unweighted when nothing else is left).
func mergedToService(rel *trimtabv1.Release, ns string, refs []gatewayv1.HTTPBackendRef) []gatewayv1.HTTPBackendRef {
	variants := []string{VariantService(rel, Primary), VariantService(rel, Canary)}
	var (
		merged *gatewayv1.HTTPBackendRef
		weight int32
		out    []gatewayv1.HTTPBackendRef
	)
	for i := range refs {
		if !toServiceIn(&refs[i], ns, variants) {
			out = append(out, refs[i])
			continue
		}
		// An unset weight is 1 (Gateway API).
		weight += ptr.Deref(refs[i].Weight, 1)
		if merged == nil {
			merged = refs[i].DeepCopy()
		}
	}
	if merged == nil {
		return refs
	}
	merged.Name, merged.Weight = gatewayv1.ObjectName(ServiceName(rel)), nil
	if len(out) > 0 {
		merged.Weight = new(weight)
	}
	return append([]gatewayv1.HTTPBackendRef{*merged}, out...)
}

// onlyVariants says whether refs lead only to the variant Services, that is
// whether they are what Route wrote.
func onlyVariants(rel *trimtabv1.Release, ns string, refs []gatewayv1.HTTPBackendRef) bool {
	names := []string{VariantService(rel, Primary), VariantService(rel, Canary)}
	for i := range refs {
		if !toServiceIn(&refs[i], ns, names) {
			return false
		}
	}
	return len(refs) > 0
}

// toServiceIn says whether ref is a Service in namespace ns with one of names.
func toServiceIn(ref *gatewayv1.HTTPBackendRef, ns string, names []string) bool {
	return (ref.Group == nil || *ref.Group == "") &&
		(ref.Kind == nil || *ref.Kind == "Service") &&
		(ref.Namespace == nil || string(*ref.Namespace) == ns) &&
		slices.Contains(names, string(ref.Name))
}

func describeRef(ref *gatewayv1.HTTPBackendRef) string {
	kind := "Service"
	if ref.Kind != nil {
		kind = string(*ref.Kind)
	}
	if ref.Namespace != nil {
		return fmt.Sprintf("%s %s/%s", kind, *ref.Namespace, ref.Name)
	}
	return fmt.Sprintf("%s %s", kind, ref.Name)
}

func ruleName(rule *gatewayv1.HTTPRouteRule) string {
	if rule.Name == nil {
		return ""
	}
	return string(*rule.Name)
}

// savedRules decodes the annotation; a route without it has none saved.
func savedRules(rel *trimtabv1.Release, route *gatewayv1.HTTPRoute) ([]savedRule, error) {
	raw, ok := route.Annotations[originalBackendRefsAnnotation]
	if !ok {
		return nil, nil
	}
	var saved []savedRule
	if err := json.Unmarshal([]byte(raw), &saved); err != nil {
		return nil, damagedRecord(rel, route, err)
	}
	return saved, nil
}

// damagedRecord is the ErrMisconfigured of an annotation that does not
// decode: trimtab can no longer tell what the rules it changed held, so it
// names those that still lead to the variant Services for the user to put
// back by hand.
func damagedRecord(rel *trimtabv1.Release, route *gatewayv1.HTTPRoute, err error) error {
	variants := []string{VariantService(rel, Primary), VariantService(rel, Canary)}
	var rules []string
	for i := range route.Spec.Rules {
		if slices.ContainsFunc(route.Spec.Rules[i].BackendRefs, func(ref gatewayv1.HTTPBackendRef) bool {
			return toServiceIn(&ref, route.Namespace, variants)
		}) {
			rules = append(rules, strconv.Itoa(i))
		}
	}
	fix := fmt.Sprintf("no rule leads to Service %s or %s any more, so remove the annotation", variants[0], variants[1])
	if len(rules) > 0 {
		which := "rule " + rules[0] + ", put back the backendRefs it had"
		if len(rules) > 1 {
			which = "rules " + strings.Join(rules, ", ") + ", put back the backendRefs they had"
		}
		fix = fmt.Sprintf("in %s before the release in place of those to Services %s and %s (your manifest of the route has them; usually one ref to Service %s on the same port), then remove the annotation",
			which, variants[0], variants[1], ServiceName(rel))
	}
	return misconfigured("annotation %s on HTTPRoute %s/%s is not what trimtab wrote (%v), so trimtab cannot tell what the backendRefs were: %s",
		originalBackendRefsAnnotation, route.Namespace, route.Name, err, fix)
}

// findSaved returns the index in saved of rule i, or -1.
func findSaved(saved []savedRule, i int, rule *gatewayv1.HTTPRouteRule) int {
	name := ruleName(rule)
	return slices.IndexFunc(saved, func(s savedRule) bool {
		if name != "" || s.Name != "" {
			return s.Name == name
		}
		return s.Rule == i
	})
}

// findRule returns the index of the rule s was saved from, or -1.
func findRule(rules []gatewayv1.HTTPRouteRule, s savedRule) int {
	if s.Name != "" {
		return slices.IndexFunc(rules, func(r gatewayv1.HTTPRouteRule) bool { return ruleName(&r) == s.Name })
	}
	if s.Rule < 0 || s.Rule >= len(rules) || ruleName(&rules[s.Rule]) != "" {
		return -1
	}
	return s.Rule
}
