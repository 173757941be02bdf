package secretheaders_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/collector/secretheaders"
)

func TestParseFile(t *testing.T) {
	cases := []struct {
		name    string
		in      string
		want    secretheaders.Headers
		wantErr string
	}{
		{name: "headers in name order, comments and blank lines skipped",
			in:   "# Mimir\nX-Scope-OrgID: team-a\n\nAuthorization: Bearer abc\n",
			want: secretheaders.Headers{{Name: "Authorization", Value: "Bearer abc"}, {Name: "X-Scope-OrgID", Value: "team-a"}}},
		{name: "CRLF line ends and spaces around the value",
			in:   "Authorization:   Basic YTpi  \r\n",
			want: secretheaders.Headers{{Name: "Authorization", Value: "Basic YTpi"}}},
		{name: "a value with a colon", in: "X-Token: a:b:c", want: secretheaders.Headers{{Name: "X-Token", Value: "a:b:c"}}},
		{name: "empty file", in: "", want: nil},
		{name: "line without a colon", in: "Authorization Bearer s3cret\n", wantErr: "line 1: want `Name: value`"},
		{name: "invalid name", in: "\nBad Name: s3cret", wantErr: "line 2: the text before the first colon is not a valid header name"},
		{name: "a space for the colon, the secret holding one", in: "Authorization Bearer s3cret:x", wantErr: "line 1: the text before the first colon is not a valid header name"},
		{name: "control character in the value", in: "X-Token: s3\x01cret", wantErr: "line 1: the value of X-Token is not a valid header value"},
		{name: "a header given twice, in any case", in: "X-Token: a\nx-token: s3cret", wantErr: "line 2: x-token is given twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := secretheaders.ParseFile([]byte(c.in))
			if c.wantErr != "" {
				require.ErrorContains(t, err, c.wantErr)
				require.NotContains(t, err.Error(), "s3")
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add("Authorization: Bearer x\nX-Scope-OrgID: a\n")
	f.Add("# c\n\r\n:\n")
	f.Fuzz(func(t *testing.T, in string) {
		h, err := secretheaders.ParseFile([]byte(in))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, x := range h {
			req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
			req.Header.Set(x.Name, x.Value)
			if req.Header.Get(x.Name) != x.Value || seen[http.CanonicalHeaderKey(x.Name)] {
				t.Fatalf("accepted %q: %q", x.Name, x.Value)
			}
			seen[http.CanonicalHeaderKey(x.Name)] = true
		}
	})
}

// TestFileIsReadAgainWhenItChanges: a token rotated in a mounted Secret is
// used without a restart, and a file that stops parsing is an error rather
// than requests without the headers.
func TestFileIsReadAgainWhenItChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "headers")
	write := func(content string, mod time.Time) {
		require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
		require.NoError(t, os.Chtimes(path, mod, mod))
	}
	start := time.Now().Add(-time.Hour)
	write("Authorization: Bearer one\n", start)
	f, err := secretheaders.OpenFile(path)
	require.NoError(t, err)
	h, err := f.Headers()
	require.NoError(t, err)
	require.Equal(t, "Bearer one", h[0].Value)

	write("Authorization: Bearer two\n", start.Add(time.Minute))
	h, err = f.Headers()
	require.NoError(t, err)
	require.Equal(t, "Bearer two", h[0].Value)

	write("Authorization Bearer three\n", start.Add(2*time.Minute))
	_, err = f.Headers()
	require.ErrorContains(t, err, "line 1")

	_, err = secretheaders.OpenFile(filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "no such file")
}

// TestClientSendsHeadersToItsOriginOnly: the headers are credentials for
// the configured server. A redirect within it keeps them; a redirect to
// another server (a login page, a CDN) goes without them.
func TestClientSendsHeadersToItsOriginOnly(t *testing.T) {
	got := map[string]string{}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got["other"] = r.Header.Get("X-Scope-OrgID") + r.Header.Get("Authorization")
	}))
	defer other.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "/here", http.StatusFound)
		case "/away":
			http.Redirect(w, r, other.URL+"/login", http.StatusFound)
		default:
			got["origin"] = r.Header.Get("X-Scope-OrgID")
		}
	}))
	defer origin.Close()
	u, err := url.Parse(origin.URL)
	require.NoError(t, err)
	c := secretheaders.Client(http.DefaultClient, u, secretheaders.Headers{{Name: "Authorization", Value: "Bearer s3cret"}, {Name: "X-Scope-OrgID", Value: "team-a"}})

	resp, err := c.Get(origin.URL + "/moved")
	require.NoError(t, err)
	_ = resp.Body.Close()
	require.Equal(t, "team-a", got["origin"], "a redirect within the server keeps the headers")

	resp, err = c.Get(origin.URL + "/away")
	require.NoError(t, err)
	_ = resp.Body.Close()
	_, reached := got["other"]
	require.True(t, reached)
	require.Empty(t, got["other"], "the headers reached another server")

	require.Same(t, http.DefaultClient, secretheaders.Client(http.DefaultClient, u, nil), "no headers: the shared client")
}

func TestMerge(t *testing.T) {
	file := secretheaders.Headers{{Name: "Authorization", Value: "Bearer shared"}, {Name: "X-Scope-OrgID", Value: "default"}}
	secret := secretheaders.Headers{{Name: "x-scope-orgid", Value: "team-a"}}
	got := secretheaders.Merge(file, secret)
	require.Equal(t, secretheaders.Headers{{Name: "Authorization", Value: "Bearer shared"}, {Name: "x-scope-orgid", Value: "team-a"}}, got)
	require.NotEqual(t, file.Key(), got.Key())
	require.Equal(t, file.Key(), secretheaders.Merge(file, nil).Key())
	require.False(t, strings.Contains(got.Key(), "team-a"), "the key does not show the values")
}
