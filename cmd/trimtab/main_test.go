package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCLI(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		code       int
		stdout     []string
		stderr     []string
		emptyOut   bool
		emptyError bool
		notErr     []string
	}{
		{name: "help", args: []string{"--help"}, code: 0,
			stdout: []string{"release-safety and autoscaling controller for Kubernetes", "controller", "version", "Usage:"}, emptyError: true},
		{name: "no args prints help", args: nil, code: 0, stdout: []string{"Usage:"}, emptyError: true},
		{name: "version", args: []string{"version"}, code: 0, stdout: []string{"trimtab dev (commit "}, emptyError: true},
		{name: "version takes no args", args: []string{"version", "extra"}, code: exitUsage, stderr: []string{"unknown command \"extra\"", "trimtab version --help"}},
		{name: "bad flag", args: []string{"--bogus"}, code: exitUsage, stderr: []string{"unknown flag: --bogus", "trimtab --help"}, emptyOut: true},
		{name: "bad subcommand flag", args: []string{"controller", "--leader-elect=maybe"}, code: exitUsage,
			stderr: []string{"invalid argument \"maybe\" for \"--leader-elect\"", "trimtab controller --help"}, emptyOut: true},
		{name: "max batch below one", args: []string{"controller", "--prometheus.max-batch=0"}, code: exitUsage,
			stderr: []string{"--prometheus.max-batch 0: must be at least 1"}, emptyOut: true},
		{name: "missing Prometheus headers file", args: []string{"controller", "--prometheus.headers-file=/nonexistent/headers"}, code: exitUsage,
			stderr: []string{"--prometheus.headers-file: headers file: stat /nonexistent/headers: no such file"}, emptyOut: true},
		{name: "Prometheus headers file that does not parse", args: []string{"controller", "--prometheus.headers-file=testdata/headers-bad"}, code: exitUsage,
			stderr: []string{"--prometheus.headers-file: headers file testdata/headers-bad: line 2: want `Name: value`"}, notErr: []string{"s3cret"}, emptyOut: true},
		{name: "history URL without a scheme", args: []string{"controller", "--predictive.history-url=prometheus:9090"}, code: exitUsage,
			stderr: []string{"--predictive.history-url", "must be the http(s) URL of a Prometheus"}, emptyOut: true},
		{name: "history URL credentials are not echoed", args: []string{"controller", "--predictive.history-url=ftp://user:s3cret@prometheus:9090"}, code: exitUsage,
			stderr: []string{"--predictive.history-url ftp://user:xxxxx@prometheus:9090: must be the http(s) URL"}, notErr: []string{"s3cret"}, emptyOut: true},
		{name: "history URL that does not parse", args: []string{"controller", "--predictive.history-url=http://s3cret@[::1"}, code: exitUsage,
			stderr: []string{"--predictive.history-url: not a URL"}, notErr: []string{"s3cret"}, emptyOut: true},
		{name: "false rollback rate out of range", args: []string{"controller", "--analysis.false-rollback-rate=1.5"}, code: exitUsage,
			stderr: []string{"--analysis.false-rollback-rate 1.5: must be between 0 and 1"}, emptyOut: true},
		{name: "sync period zero", args: []string{"controller", "--scaling.sync-period=0s"}, code: exitUsage,
			stderr: []string{"--scaling.sync-period 0s: must be positive, e.g. 15s"}, emptyOut: true},
		{name: "sync period negative", args: []string{"controller", "--scaling.sync-period=-15s"}, code: exitUsage,
			stderr: []string{"--scaling.sync-period -15s: must be positive"}, emptyOut: true},
		{name: "metric interval zero", args: []string{"controller", "--scaling.metric-interval=0s"}, code: exitUsage,
			stderr: []string{"--scaling.metric-interval 0s: must be positive, e.g. 1m"}, emptyOut: true},
		{name: "shutdown timeout negative", args: []string{"controller", "--shutdown-timeout=-1s"}, code: exitUsage,
			stderr: []string{"--shutdown-timeout -1s: must be positive"}, emptyOut: true},
		{name: "lease not longer than the renew deadline", args: []string{"controller", "--leader-elect.lease-duration=5s"}, code: exitUsage,
			stderr: []string{"--leader-elect.lease-duration 5s: must be longer than --leader-elect.renew-deadline (10s)"}, emptyOut: true},
		{name: "renew deadline not longer than the lease", args: []string{"controller", "--leader-elect.renew-deadline=20s"}, code: exitUsage,
			stderr: []string{"--leader-elect.lease-duration 15s: must be longer than --leader-elect.renew-deadline (20s)"}, emptyOut: true},
		{name: "renew deadline within 1.2 retry periods", args: []string{"controller", "--leader-elect.retry-period=9s"}, code: exitUsage,
			stderr: []string{"--leader-elect.renew-deadline 10s: must be longer than 1.2 × --leader-elect.retry-period (9s)"}, emptyOut: true},
		{name: "Prometheus URL without a scheme", args: []string{"controller", "--prometheus.url=prometheus:9090"}, code: exitUsage,
			stderr: []string{"--prometheus.url prometheus:9090: must be the http(s) URL of a Prometheus"}, emptyOut: true},
		{name: "CloudWatch endpoint that is no URL", args: []string{"controller", "--cloudwatch.endpoint=::bad"}, code: exitUsage,
			stderr: []string{"--cloudwatch.endpoint: not a URL"}, emptyOut: true},
		{name: "listen address without a port", args: []string{"controller", "--metrics.address=foo"}, code: exitUsage,
			stderr: []string{`--metrics.address "foo": want host:port or :port`}, emptyOut: true},
		{name: "namespace that is no name", args: []string{"controller", "--namespaces=shop,Bad_NS"}, code: exitUsage,
			stderr: []string{`--namespaces: "Bad_NS" is not a namespace name`}, notErr: []string{`"shop"`}, emptyOut: true},
		{name: "judge takes no args", args: []string{"judge", "--input", "x.json", "extra"}, code: exitUsage,
			stderr: []string{"unknown command \"extra\"", "trimtab judge --help"}},
		{name: "replay takes no args", args: []string{"replay", "--trace", "t.csv", "--policy", "p.yaml", "extra"}, code: exitUsage,
			stderr: []string{"unknown command \"extra\"", "trimtab replay --help"}},
		{name: "unknown command", args: []string{"deploy"}, code: exitUsage, stderr: []string{"unknown command \"deploy\""}},
		{name: "controller help", args: []string{"controller", "--help"}, code: 0,
			stdout: []string{"TRIMTAB_LOG_LEVEL", "--leader-elect", "--metrics.address"}, emptyError: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, strings.NewReader(""), &out, &errb)
			require.Equal(t, tc.code, code, "stdout: %s\nstderr: %s", out.String(), errb.String())
			for _, s := range tc.stdout {
				require.Contains(t, out.String(), s)
			}
			for _, s := range tc.notErr {
				require.NotContains(t, errb.String(), s)
			}
			for _, s := range tc.stderr {
				require.Contains(t, errb.String(), s)
			}
			if tc.emptyOut {
				require.Empty(t, out.String())
			}
			if tc.emptyError {
				require.Empty(t, errb.String())
			}
		})
	}
}

func TestControllerEnvFallback(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		want    map[string]string
		wantErr string
	}{
		{name: "env sets an unset flag", env: map[string]string{"TRIMTAB_LOG_LEVEL": "debug", "TRIMTAB_LEADER_ELECT_LEASE_DURATION": "30s"},
			want: map[string]string{"log.level": "debug", "leader-elect.lease-duration": "30s"}},
		{name: "command line wins", args: []string{"--log.level=warn"}, env: map[string]string{"TRIMTAB_LOG_LEVEL": "debug"},
			want: map[string]string{"log.level": "warn"}},
		{name: "bad env value names the variable", env: map[string]string{"TRIMTAB_LEADER_ELECT": "perhaps"},
			wantErr: "environment variable TRIMTAB_LEADER_ELECT (for --leader-elect)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := newControllerCmd().Flags()
			require.NoError(t, fs.Parse(tc.args))
			err := applyEnv(fs, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			for k, v := range tc.want {
				require.Equal(t, v, fs.Lookup(k).Value.String(), k)
			}
		})
	}
}
