package release

import (
	"fmt"
	"strconv"
	"strings"
)

// Annotations through which people (kubectl, the API, Slack) steer a
// Release. Pause and freeze are levels: they hold while the annotation says
// "true". Requests are one-shot but name the revision (and step) they are
// for, so acting on one twice, or on a stale one, changes nothing.
const (
	AnnotationPaused  = "trimtab.dev/paused"
	AnnotationFrozen  = "trimtab.dev/frozen"
	AnnotationRequest = "trimtab.dev/request"
	// AnnotationDesiredReplicas is how a ScalingPolicy scales a workload
	// that a Release manages: it sets the workload's total size here, and
	// the Release controller splits it between primary, canary and baseline
	// in the release's proportions, so the two controllers never write the
	// same replica counts.
	AnnotationDesiredReplicas = "trimtab.dev/desired-replicas"
)

// Verb is a one-shot request.
type Verb string

// Verbs of AnnotationRequest.
const (
	// VerbAbort rolls the named revision back now.
	VerbAbort Verb = "abort"
	// VerbApprove passes the manual gate of the named revision and step.
	VerbApprove Verb = "approve"
	// VerbPromote promotes the named revision now, skipping remaining steps.
	VerbPromote Verb = "promote"
	// VerbRetry releases a rolled-back revision again.
	VerbRetry Verb = "retry"
)

// Request is a parsed AnnotationRequest: "abort:REV", "promote:REV",
// "retry:REV" or "approve:REV:STEP".
type Request struct {
	Verb     Verb
	Revision string
	Step     int32
}

// ParseRequest parses an AnnotationRequest value.
func ParseRequest(s string) (*Request, error) {
	parts := strings.Split(strings.TrimSpace(s), ":")
	bad := func(why string) (*Request, error) {
		return nil, fmt.Errorf("annotation %s=%q: %s; use abort:REVISION, promote:REVISION, retry:REVISION or approve:REVISION:STEP with the revision from status.canaryRevision", AnnotationRequest, s, why)
	}
	if len(parts) < 2 || parts[1] == "" {
		return bad("missing the revision")
	}
	r := &Request{Verb: Verb(parts[0]), Revision: parts[1]}
	switch r.Verb {
	case VerbAbort, VerbPromote, VerbRetry:
		if len(parts) != 2 {
			return bad("too many parts")
		}
	case VerbApprove:
		if len(parts) != 3 {
			return bad("approve needs the step")
		}
		n, err := strconv.ParseInt(parts[2], 10, 32)
		if err != nil || n < 1 {
			return bad("the step must be a number from 1")
		}
		r.Step = int32(n)
	default:
		return bad(fmt.Sprintf("unknown verb %q", parts[0]))
	}
	return r, nil
}

// String formats the request as its annotation value.
func (r Request) String() string {
	if r.Verb == VerbApprove {
		return fmt.Sprintf("%s:%s:%d", r.Verb, r.Revision, r.Step)
	}
	return fmt.Sprintf("%s:%s", r.Verb, r.Revision)
}

// is reports whether r (possibly nil) asks verb for revision.
func (r *Request) is(verb Verb, revision string) bool {
	return r != nil && r.Verb == verb && r.Revision == revision && revision != ""
}
