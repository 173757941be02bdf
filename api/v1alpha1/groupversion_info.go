// Package v1alpha1 holds trimtab's API: the Release (progressive delivery of a
// Deployment) and the ScalingPolicy (autoscaling of a Deployment), in group
// trimtab.dev. The CRD manifests under deploy/crds are generated from these
// types by controller-gen (make generate); the markers here are the schema.
//
// +kubebuilder:object:generate=true
// +groupName=trimtab.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the API group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "trimtab.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types with a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds the types of this group and version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Release{}, &ReleaseList{}, &ScalingPolicy{}, &ScalingPolicyList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
