package main

import (
	"slices"
	"testing"

	"github.com/cilium-docker/cilium-docker/cmd/internal/cli"
	"github.com/cilium-docker/cilium-docker/internal/matrix"
)

func TestE2EConfig(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	cfg, err := e2eConfig(nil, false, env(map[string]string{}), cli.IO{})
	if err != nil || len(cfg.Legs) != 0 || !cfg.Long || cfg.FailFast || cfg.Parallel || cfg.Run != "" {
		t.Errorf("no environment: %+v, %v; want every leg (none named), the long test, one after the other", cfg, err)
	}
	cfg, err = e2eConfig(nil, true, env(map[string]string{
		"E2E_LEGS": matrix.LegDebian + " " + matrix.LegWalkthrough, "E2E_LONG": "0", "E2E_FAIL_FAST": "1", "E2E_PARALLEL": "1",
		"E2E_TIMEOUT": "10m", "E2E_LOG_DIR": "/tmp/x", "PLUGIN_BIN": "/b/p", "TESTBED_ID": "t1", "E2E_RUN": "^TestX$",
	}), cli.IO{})
	if err != nil || !slices.Equal(cfg.Legs, []string{matrix.LegDebian, matrix.LegWalkthrough}) || cfg.Long || !cfg.FailFast ||
		!cfg.Parallel || !cfg.BuildOnly || cfg.Timeout != "10m" || cfg.LogDir != "/tmp/x" || cfg.PluginBin != "/b/p" ||
		cfg.BedID != "t1" || cfg.Run != "^TestX$" {
		t.Errorf("the environment read as %+v, %v", cfg, err)
	}
	cfg, _ = e2eConfig([]string{matrix.LegCurrent}, false, env(map[string]string{"E2E_LEGS": matrix.LegDebian}), cli.IO{})
	if !slices.Equal(cfg.Legs, []string{matrix.LegCurrent}) {
		t.Errorf("arguments and E2E_LEGS: legs %v, want the arguments", cfg.Legs)
	}
	for _, legs := range [][]string{{"bogus"}, {"docker29.8.1-cilium1.19.6"}} {
		if _, err := e2eConfig(legs, false, env(map[string]string{}), cli.IO{}); err == nil {
			t.Errorf("legs %v: no error", legs)
		} else if code, _ := cli.ExitCode(err); code != 2 {
			t.Errorf("legs %v: exit %d, want 2 (usage)", legs, code)
		}
	}
	if _, err := e2eConfig([]string{"docker29.8.1-cilium1.19.6"}, false, env(map[string]string{"E2E_RUN": "^TestTwoNodes$"}), cli.IO{}); err != nil {
		t.Errorf("an ad-hoc leg with E2E_RUN: %v", err)
	}
	if got := childEnv([]string{"A=1"}); len(got) != 2 || got[1][:5] != "HOME=" {
		t.Errorf("childEnv without HOME = %q, want HOME added", got)
	}
	if got := childEnv([]string{"HOME=/h"}); !slices.Equal(got, []string{"HOME=/h"}) {
		t.Errorf("childEnv with HOME = %q", got)
	}
}
