package collector

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
)

// Class sentinels. Every error a provider puts in a [Result] wraps ErrNoData,
// or ErrPermanent, or both ErrRetryable and ErrNoData.
var (
	// ErrNoData says there is nothing to judge: no series, no datapoints, or
	// a source that could not be read this cycle. It is distinct from a zero
	// value, which is data.
	ErrNoData = errors.New("no data")
	// ErrRetryable says the next cycle may succeed (source down, slow,
	// throttled, or a malformed response).
	ErrRetryable = errors.New("retryable")
	// ErrPermanent says the metric definition is wrong and retrying will not
	// help until someone fixes it.
	ErrPermanent = errors.New("permanent")
)

// Reason is a bounded label value saying why a query failed.
type Reason string

// Reasons, exported as the reason label of trimtab_collector_errors_total.
const (
	ReasonNoData        Reason = "no_data"
	ReasonTimeout       Reason = "timeout"
	ReasonUnavailable   Reason = "unavailable"
	ReasonBadResponse   Reason = "bad_response"
	ReasonBadQuery      Reason = "bad_query"
	ReasonUnknownMetric Reason = "unknown_metric"
	ReasonConfig        Reason = "config"
	ReasonCanceled      Reason = "canceled"
)

// Error is a classified collection failure.
type Error struct {
	Reason Reason
	Err    error
}

// Error implements error.
func (e *Error) Error() string {
	switch e.Reason {
	case ReasonNoData:
		return fmt.Sprintf("no data: %v", e.Err)
	case ReasonTimeout, ReasonUnavailable, ReasonBadResponse, ReasonCanceled:
		return fmt.Sprintf("%s (retryable, no data): %v", e.Reason, e.Err)
	default:
		return e.Err.Error()
	}
}

// Unwrap exposes the class sentinels and the cause.
func (e *Error) Unwrap() []error {
	switch e.Reason {
	case ReasonNoData:
		return []error{ErrNoData, e.Err}
	case ReasonTimeout, ReasonUnavailable, ReasonBadResponse, ReasonCanceled:
		return []error{ErrRetryable, ErrNoData, e.Err}
	default:
		return []error{ErrPermanent, e.Err}
	}
}

// Errorf returns an *Error with the given reason and a formatted cause
// (%w is honoured).
func Errorf(reason Reason, format string, args ...any) error {
	return &Error{Reason: reason, Err: fmt.Errorf(format, args...)}
}

// ReasonOf returns the reason of a classified error, classifying
// unclassified ones: context deadlines are timeouts, network errors are
// unavailable, anything else is a bad response.
func ReasonOf(err error) Reason {
	var ce *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ce):
		return ce.Reason
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return ReasonTimeout
	case errors.Is(err, context.Canceled):
		return ReasonCanceled
	}
	var ne net.Error
	if errors.As(err, &ne) {
		if ne.Timeout() {
			return ReasonTimeout
		}
		return ReasonUnavailable
	}
	return ReasonBadResponse
}

// Classify wraps err as an *Error unless it already is one, using
// [ReasonOf]; providers call it on errors from transports.
func Classify(err error) error {
	var ce *Error
	if err == nil || errors.As(err, &ce) {
		return err
	}
	return &Error{Reason: ReasonOf(err), Err: err}
}
