package cluster

import (
	"path/filepath"
	"strings"
	"testing"
)

// The cluster runs serve and the workers with docker-compose.yml's
// environment; every path it names inside the containers (secrets, config,
// the playbook store volume) must be found under the cluster's own
// directory, never on the host itself: a path left as it is makes the
// processes use (or fail to create) the host's /var/lib/riposte, shared by
// every run of the test and by other clusters on the machine, or refuse to
// start as a user that cannot write there. RIPOSTE_PLAYBOOKS is the
// cluster's own option.
func TestComposePathsStayInTheClusterDir(t *testing.T) {
	dir := t.TempDir()
	for _, svc := range []string{"riposte-worker", "riposte-serve"} {
		env, err := ComposeEnv(svc)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for k, v := range env {
			if k == "RIPOSTE_PLAYBOOKS" || !strings.HasPrefix(v, "/") {
				continue
			}
			n++
			if !isMounted(v) {
				t.Errorf("%s: %s=%s is used as it is, on the host, not under the cluster's directory", svc, k, v)
				continue
			}
			if got := hostPath(dir, v); !strings.HasPrefix(got, dir+string(filepath.Separator)) {
				t.Errorf("%s: %s=%s maps to %s, outside %s", svc, k, v, got, dir)
			}
		}
		if n == 0 {
			t.Errorf("%s: no path in docker-compose.yml's environment", svc)
		}
	}
}
