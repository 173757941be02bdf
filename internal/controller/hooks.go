package controller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/scaler/release"
)

// HTTPHooks runs release hooks as HTTP requests.
type HTTPHooks struct {
	// Client is shared by every hook; its transport is reused.
	Client *http.Client
	// RetryDelay separates attempts (default 1 s).
	RetryDelay time.Duration
}

// Run calls every hook of the phase in order and stops at the first that
// fails all its attempts. A hook passes on any 2xx answer.
func (h *HTTPHooks) Run(ctx context.Context, hooks []trimtabv1.Hook, phase trimtabv1.HookPhase) release.HookResult {
	res := release.HookResult{Phase: phase, Passed: true}
	for i, hook := range hooks {
		if hook.Phase != phase {
			continue
		}
		if err := h.call(ctx, hook, fmt.Sprintf("spec.analysis.hooks[%d].url", i)); err != nil {
			res.Passed = false
			res.Message = fmt.Sprintf("hook %s: %v", hook.Name, err)
			return res
		}
	}
	return res
}

// call makes a hook's attempts; field names its url in the spec.
func (h *HTTPHooks) call(ctx context.Context, hook trimtabv1.Hook, field string) error {
	if !release.ValidHookURL(hook.URL) {
		// A backstop: NewPlan refuses such a spec before the release.
		return errBadHookURL{url: collector.RedactURL(hook.URL), field: field}
	}
	attempts := int(hook.Retries) + 1
	delay := h.RetryDelay
	if delay == 0 {
		delay = time.Second
	}
	var last error
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w (last attempt: %v)", ctx.Err(), last)
			case <-time.After(delay):
			}
		}
		if last = h.once(ctx, hook); last == nil {
			return nil
		}
	}
	return fmt.Errorf("%s after %d attempt(s)", last, attempts)
}

func (h *HTTPHooks) once(ctx context.Context, hook trimtabv1.Hook) error {
	timeout := time.Duration(max(hook.TimeoutSeconds, 1)) * time.Second
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	method, body := http.MethodGet, io.Reader(nil)
	if hook.Body != "" {
		method, body = http.MethodPost, strings.NewReader(hook.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, hook.URL, body)
	if err != nil {
		return fmt.Errorf("%s %s: %s", method, collector.RedactURL(hook.URL), transportReason(err))
	}
	client := h.Client
	if method == http.MethodPost {
		c := *h.Client
		prev := c.CheckRedirect
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if err := keepPost(req, via); err != nil || prev == nil {
				return err
			}
			return prev(req, via)
		}
		client = &c
	}
	resp, err := client.Do(req)
	if err != nil {
		// The transport's error repeats the URL, query string and all.
		return fmt.Errorf("%s %s: request failed (%s)", method, collector.RedactURL(hook.URL), transportReason(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s %s answered %s", method, collector.RedactURL(hook.URL), resp.Status)
	}
	return nil
}

// keepPost refuses a redirect that turns a hook's POST into a GET (301,
// 302 and 303 do, in every HTTP client): the hook's body would be lost and
// a 2xx from the page redirected to would pass a hook that never ran.
func keepPost(req *http.Request, via []*http.Request) error {
	if req.Method != via[0].Method {
		return fmt.Errorf("a redirect to %s turns the POST into a GET without its body: point the hook's url at the final address", collector.RedactURL(req.URL.String()))
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	return nil
}

// errBadHookURL is a hook URL no request can be made of; field names it.
type errBadHookURL struct{ url, field string }

func (e errBadHookURL) Error() string {
	return fmt.Sprintf("url %s is not an absolute http(s) URL (http://host/path): fix %s", e.url, e.field)
}

func transportReason(err error) string {
	if ue, ok := err.(*url.Error); ok {
		if ue.Timeout() {
			return "timed out"
		}
		return ue.Err.Error()
	}
	return "transport error"
}
