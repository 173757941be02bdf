package release

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
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

// take reports whether the request is want and has not been handled, and
// then counts it as acted on. A request stays in its annotation after it
// acted: without this, a retry would release its revision again after
// every rollback.
func (m *machine) take(want Request) bool {
	r := m.o.Request
	if r == nil || *r != want || want.Revision == "" || r.String() == m.st.HandledRequest {
		return false
	}
	m.acted = true
	return true
}

// settleRequest records, once the decision is taken, what became of a
// request not handled before: acted on, ignored with a RequestIgnored
// Event, or left to act later. An ignored request is told once, and never
// acts: the person was told to do something else.
func (m *machine) settleRequest(handled string) {
	r := m.o.Request
	switch {
	case r == nil:
		// Removed: the same request made anew is a new request.
		m.st.HandledRequest = ""
	case r.String() == handled:
	case m.acted:
		m.st.HandledRequest = r.String()
	default:
		why, instead := m.ignored(*r)
		if why == "" {
			m.st.HandledRequest = ""
			return
		}
		m.st.HandledRequest = r.String()
		m.event(corev1.EventTypeWarning, ReasonRequestIgnored, "Request %s=%s ignored: %s; %s", AnnotationRequest, r, why, instead)
	}
}

// ignored says why r cannot act on the release as decided and what to do
// instead; an empty why means that it may still act: an approval of the
// current step's gate made before the step waits for it.
func (m *machine) ignored(r Request) (why, instead string) {
	c := m.st.CanaryRevision
	switch m.st.State {
	case StateProgressing, StateWaitingApproval, StatePaused, StateFrozen, StatePromoting:
	default:
		return m.ignoredIdle(r)
	}
	if r.Revision != c {
		why = fmt.Sprintf("the release in progress is of revision %s, not %s", c, r.Revision)
		switch r.Verb {
		case VerbAbort, VerbPromote:
			return why, fmt.Sprintf("to %s it, %s", r.Verb, ask(r.Verb, c))
		case VerbApprove:
			return why, approveWhenAsked
		}
		return why, "a retry releases the revision last rolled back again, once no release is in progress"
	}
	switch {
	case m.st.State == StatePromoting && r.Verb == VerbAbort:
		return fmt.Sprintf("the primary runs revision %s already", c), "to go back, apply the previous template to the target, which releases it"
	case m.st.State == StatePromoting:
		return fmt.Sprintf("revision %s is being promoted", c), "nothing is left to do"
	case r.Verb == VerbRetry:
		return fmt.Sprintf("revision %s is being released now", c), "nothing is left to do"
	}
	// An abort or a promotion of the release in progress acts at once, so
	// r is an approval.
	switch step := m.st.Step; {
	case r.Step < step:
		return fmt.Sprintf("step %d has passed and the release is at step %d", r.Step, step), approveWhenAsked
	case r.Step > step:
		return fmt.Sprintf("the release is at step %d, and a step is approved after its analysis has passed", step), approveWhenAsked
	case !m.step().Gate:
		return fmt.Sprintf("step %d has no manual gate: it goes on when its analysis passes", step),
			fmt.Sprintf("to end the release early, %s or %s", ask(VerbPromote, c), ask(VerbAbort, c))
	}
	return "", ""
}

// ignoredIdle is ignored while no release is in progress.
func (m *machine) ignoredIdle(r Request) (why, instead string) {
	s, f, rev := m.st.StableRevision, m.st.FailedRevision, r.Revision
	// retryOf is how a rolled-back revision is released again.
	retryOf := func(rev string) string {
		if m.o.TargetRevision == rev {
			return fmt.Sprintf("to release %s again, %s", rev, ask(VerbRetry, rev))
		}
		return fmt.Sprintf("to release %s again, apply its template to the target, then %s", rev, ask(VerbRetry, rev))
	}
	switch {
	case r.Verb == VerbApprove:
		return "no release is in progress, so no step waits for approval", approveWhenAsked
	case r.Verb == VerbRetry && f == "":
		return "no revision is rolled back", "nothing is left to do"
	case r.Verb == VerbRetry && rev != f:
		return fmt.Sprintf("revision %s is not the one last rolled back (%s)", rev, f), retryOf(f)
	case r.Verb == VerbRetry:
		return fmt.Sprintf("the target's template is no longer that of revision %s", rev),
			fmt.Sprintf("apply it to the target again, then remove this request (%s-) and make it anew", AnnotationRequest)
	case rev == s && r.Verb == VerbAbort:
		return fmt.Sprintf("revision %s is the stable one, which the primary serves", rev), "to go back, apply the previous template to the target, which releases it"
	case rev == s:
		return fmt.Sprintf("revision %s is the stable one already", rev), "nothing is left to do"
	case rev == f && r.Verb == VerbAbort:
		return fmt.Sprintf("revision %s was rolled back already", rev), "nothing is left to do"
	case rev == f:
		return fmt.Sprintf("revision %s was rolled back", rev), retryOf(rev)
	}
	why = fmt.Sprintf("no release of revision %s is in progress (the primary serves %s)", rev, s)
	if r.Verb == VerbAbort {
		return why, "nothing is left to do"
	}
	return why, "apply its template to the target, which releases it"
}

// approveWhenAsked is what to do instead of an approval that cannot act.
const approveWhenAsked = "approve a step when its WaitingForApproval Event asks for it, with the value it prints"

// ask is the annotation that requests verb for revision.
func ask(verb Verb, revision string) string {
	return fmt.Sprintf("annotate %s=%s:%s", AnnotationRequest, verb, revision)
}
