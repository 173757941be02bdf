package collector

import (
	"errors"
	"net/url"
)

// RedactURL is raw fit for an error, a log line, an Event or a status
// message: without the user and password, and with the query string (where
// tokens travel) replaced by "<redacted>". An address is often all that
// tells an operator which source failed, so the rest is kept.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid URL>"
	}
	u.User, u.Fragment, u.RawFragment = nil, "", ""
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery, u.ForceQuery = "<redacted>", false
	}
	return u.String()
}

// RedactURLError redacts, as RedactURL does, the URL of every *url.Error in
// err's chain (net/http's client errors quote the whole request URL, query
// string included), and returns err.
func RedactURLError(err error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ue, ok := e.(*url.Error); ok {
			ue.URL = RedactURL(ue.URL)
		}
	}
	return err
}
