// Package kube holds the Kubernetes plumbing shared by the controller
// process and the test environment.
package kube

import (
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

// FieldOwner is the field manager of every write trimtab makes.
const FieldOwner = client.FieldOwner("trimtab")

// NewScheme knows the built-in Kubernetes types, Gateway API's (for the
// gatewayAPI router) and trimtab's.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	// All only fail on conflicting registrations, a programming error.
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := trimtabv1.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := gatewayv1.Install(s); err != nil {
		panic(err)
	}
	return s
}
