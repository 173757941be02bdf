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
		name string
		args []string
		// env is set for the case, as TRIMTAB_* variables a pod spec sets.
		env        map[string]string
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
			stderr: []string{"--leader-elect.lease-duration 5s: must be longer than --leader-elect.renew-deadline 10s"}, emptyOut: true},
		{name: "renew deadline not longer than the lease", args: []string{"controller", "--leader-elect.renew-deadline=20s"}, code: exitUsage,
			stderr: []string{"--leader-elect.lease-duration 15s: must be longer than --leader-elect.renew-deadline 20s"}, emptyOut: true},
		{name: "renew deadline within 1.2 retry periods", args: []string{"controller", "--leader-elect.retry-period=9s"}, code: exitUsage,
			stderr: []string{"--leader-elect.renew-deadline 10s: must be longer than 1.2 × --leader-elect.retry-period 9s"}, emptyOut: true},
		{name: "Prometheus URL without a scheme", args: []string{"controller", "--prometheus.url=prometheus:9090"}, code: exitUsage,
			stderr: []string{"--prometheus.url prometheus:9090: must be the http(s) URL of a Prometheus"}, emptyOut: true},
		{name: "CloudWatch endpoint that is no URL", args: []string{"controller", "--cloudwatch.endpoint=::bad"}, code: exitUsage,
			stderr: []string{"--cloudwatch.endpoint: not a URL"}, emptyOut: true},
		{name: "listen address without a port", args: []string{"controller", "--metrics.address=foo"}, code: exitUsage,
			stderr: []string{`--metrics.address "foo": want host:port or :port`}, emptyOut: true},
		{name: "namespace that is no name", args: []string{"controller", "--namespaces=shop,Bad_NS"}, code: exitUsage,
			stderr: []string{`--namespaces: "Bad_NS" is not a namespace name`}, notErr: []string{`"shop"`}, emptyOut: true},
		{name: "log level that is no level", args: []string{"controller", "--log.level=loud"}, code: exitUsage,
			stderr: []string{`--log.level "loud": want debug, info, warn or error`}, emptyOut: true},
		{name: "log format that is no format", args: []string{"controller", "--log.format=xml"}, code: exitUsage,
			stderr: []string{`--log.format "xml": want json or logfmt`}, emptyOut: true},
		// The same values from the environment name the variable set.
		{name: "env: sync period that does not parse", args: []string{"controller"}, env: map[string]string{"TRIMTAB_SCALING_SYNC_PERIOD": "abc"}, code: exitUsage,
			stderr: []string{`TRIMTAB_SCALING_SYNC_PERIOD=abc (--scaling.sync-period): time: invalid duration "abc"`}, notErr: []string{"invalid argument"}, emptyOut: true},
		{name: "env: sync period zero", args: []string{"controller"}, env: map[string]string{"TRIMTAB_SCALING_SYNC_PERIOD": "0s"}, code: exitUsage,
			stderr: []string{"TRIMTAB_SCALING_SYNC_PERIOD=0s (--scaling.sync-period): must be positive, e.g. 15s"}, emptyOut: true},
		{name: "env: false rollback rate out of range", args: []string{"controller"}, env: map[string]string{"TRIMTAB_ANALYSIS_FALSE_ROLLBACK_RATE": "1.5"}, code: exitUsage,
			stderr: []string{"TRIMTAB_ANALYSIS_FALSE_ROLLBACK_RATE=1.5 (--analysis.false-rollback-rate): must be between 0 and 1"}, emptyOut: true},
		{name: "env: max batch below one", args: []string{"controller"}, env: map[string]string{"TRIMTAB_PROMETHEUS_MAX_BATCH": "0"}, code: exitUsage,
			stderr: []string{"TRIMTAB_PROMETHEUS_MAX_BATCH=0 (--prometheus.max-batch): must be at least 1"}, emptyOut: true},
		{name: "env: renew deadline not longer than the lease, which the command line set", args: []string{"controller", "--leader-elect.lease-duration=20s"},
			env: map[string]string{"TRIMTAB_LEADER_ELECT_RENEW_DEADLINE": "20s"}, code: exitUsage,
			stderr: []string{"--leader-elect.lease-duration 20s: must be longer than TRIMTAB_LEADER_ELECT_RENEW_DEADLINE=20s (--leader-elect.renew-deadline)"}, emptyOut: true},
		{name: "env: history URL credentials are not echoed", args: []string{"controller"}, env: map[string]string{"TRIMTAB_PREDICTIVE_HISTORY_URL": "ftp://user:s3cret@prometheus:9090"}, code: exitUsage,
			stderr: []string{"TRIMTAB_PREDICTIVE_HISTORY_URL=ftp://user:xxxxx@prometheus:9090 (--predictive.history-url): must be the http(s) URL"}, notErr: []string{"s3cret"}, emptyOut: true},
		{name: "env: Prometheus URL that does not parse", args: []string{"controller"}, env: map[string]string{"TRIMTAB_PROMETHEUS_URL": "http://s3cret@[::1"}, code: exitUsage,
			stderr: []string{"TRIMTAB_PROMETHEUS_URL (--prometheus.url): not a URL"}, notErr: []string{"s3cret"}, emptyOut: true},
		{name: "env: listen address without a port", args: []string{"controller"}, env: map[string]string{"TRIMTAB_METRICS_ADDRESS": "foo"}, code: exitUsage,
			stderr: []string{`TRIMTAB_METRICS_ADDRESS="foo" (--metrics.address): want host:port or :port`}, emptyOut: true},
		{name: "env: namespace that is no name", args: []string{"controller"}, env: map[string]string{"TRIMTAB_NAMESPACES": "shop,Bad_NS"}, code: exitUsage,
			stderr: []string{`TRIMTAB_NAMESPACES (--namespaces): "Bad_NS" is not a namespace name`}, emptyOut: true},
		{name: "env: log level that is no level", args: []string{"controller"}, env: map[string]string{"TRIMTAB_LOG_LEVEL": "loud"}, code: exitUsage,
			stderr: []string{`TRIMTAB_LOG_LEVEL="loud" (--log.level): want debug, info, warn or error`}, emptyOut: true},
		{name: "a bad value on the command line wins over a good one in the environment", args: []string{"controller", "--scaling.sync-period=0s"},
			env: map[string]string{"TRIMTAB_SCALING_SYNC_PERIOD": "15s"}, code: exitUsage,
			stderr: []string{"--scaling.sync-period 0s: must be positive"}, notErr: []string{"TRIMTAB_"}, emptyOut: true},
		{name: "judge takes no args", args: []string{"judge", "--input", "x.json", "extra"}, code: exitUsage,
			stderr: []string{"unknown command \"extra\"", "trimtab judge --help"}},
		{name: "replay takes no args", args: []string{"replay", "--trace", "t.csv", "--policy", "p.yaml", "extra"}, code: exitUsage,
			stderr: []string{"unknown command \"extra\"", "trimtab replay --help"}},
		{name: "unknown command", args: []string{"deploy"}, code: exitUsage, stderr: []string{"unknown command \"deploy\""}},
		{name: "controller help", args: []string{"controller", "--help"}, code: 0,
			stdout: []string{"TRIMTAB_LOG_LEVEL", "--leader-elect", "--metrics.address"}, emptyError: true},
		// Not Prometheus's own :9090, which a local Prometheus holds.
		{name: "metrics and probes default to every interface's port 8080", args: []string{"controller", "--help"}, code: 0,
			stdout: []string{`/healthz (default ":8080")`, `/api/v1 (default ":8081")`}, emptyError: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
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
		fromEnv origins
		wantErr string
	}{
		{name: "env sets an unset flag", env: map[string]string{"TRIMTAB_LOG_LEVEL": "debug", "TRIMTAB_LEADER_ELECT_LEASE_DURATION": "30s"},
			want: map[string]string{"log.level": "debug", "leader-elect.lease-duration": "30s"}, fromEnv: origins{"log.level": true, "leader-elect.lease-duration": true}},
		{name: "command line wins", args: []string{"--log.level=warn"}, env: map[string]string{"TRIMTAB_LOG_LEVEL": "debug"},
			want: map[string]string{"log.level": "warn"}, fromEnv: origins{}},
		{name: "bad env value names the variable", env: map[string]string{"TRIMTAB_LEADER_ELECT": "perhaps"},
			wantErr: `TRIMTAB_LEADER_ELECT=perhaps (--leader-elect): strconv.ParseBool: parsing "perhaps": invalid syntax`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := newControllerCmd().Flags()
			require.NoError(t, fs.Parse(tc.args))
			from, err := applyEnv(fs, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			for k, v := range tc.want {
				require.Equal(t, v, fs.Lookup(k).Value.String(), k)
			}
			require.Equal(t, tc.fromEnv, from, "the flags errors name by their variable")
		})
	}
}
