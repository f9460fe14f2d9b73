package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/test/harness"
)

// ComposeEnv returns the environment docker-compose.yml gives a service
// (riposte-worker or riposte-serve), with ${VAR:-default} replaced by its
// default.
func ComposeEnv(service string) (map[string]string, error) {
	data, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "docker-compose.yml"))
	if err != nil {
		return nil, err
	}
	var doc struct {
		Services map[string]struct {
			Environment map[string]any `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("docker-compose.yml: %w", err)
	}
	svc, ok := doc.Services[service]
	if !ok {
		return nil, fmt.Errorf("docker-compose.yml has no service %s", service)
	}
	out := map[string]string{}
	for k, v := range svc.Environment {
		if k == "<<" {
			continue
		}
		out[k] = interpolate(fmt.Sprint(v))
	}
	return out, nil
}

var composeVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}`)

func interpolate(s string) string {
	return composeVar.ReplaceAllStringFunc(s, func(m string) string {
		return composeVar.FindStringSubmatch(m)[2]
	})
}

// isMounted reports whether v is a path docker-compose.yml mounts into
// the Riposte containers (secrets under /run, the config under
// /etc/riposte, the playbook store volume under /var/lib/riposte), which
// the cluster's processes find under their directory instead (hostPath).
func isMounted(v string) bool {
	for _, p := range []string{"/run/", "/etc/riposte/", "/var/lib/riposte/"} {
		if strings.HasPrefix(v, p) {
			return true
		}
	}
	return false
}

// hostPath is the mounted path v under the cluster's directory dir.
func hostPath(dir, v string) string { return filepath.Join(dir, v) }
