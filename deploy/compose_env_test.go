package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// codeStrings returns every Go string literal of the non-test sources
// under the given repository directories.
func codeStrings(t *testing.T, dirs ...string) map[string]bool {
	t.Helper()
	lit := regexp.MustCompile(`"([A-Z][A-Z0-9_]*)"`)
	out := map[string]bool{}
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
				out[m[1]] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestComposeEnvironmentIsRead: every variable docker-compose.yml sets on
// a service running the Riposte image is one the code reads (a misspelt or
// retired name is silently ignored by the process, and the setting the
// operator chose never applies).
func TestComposeEnvironmentIsRead(t *testing.T) {
	c := loadCompose(t)
	read := codeStrings(t, "cmd", "internal", "activities", "workflows")
	// Read by the OpenTelemetry SDK itself.
	for _, v := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		read[v] = true
	}
	c0 := c.Services["riposte-worker"]
	var unread []string
	for name, s := range c.Services {
		if s.Image != c0.Image {
			continue
		}
		for k := range s.Environment {
			if !read[k] {
				unread = append(unread, name+": "+k)
			}
		}
	}
	sort.Strings(unread)
	for _, u := range unread {
		t.Errorf("docker-compose.yml sets %s, which no Riposte code reads", u)
	}
}
