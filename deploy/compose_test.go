// Package deploy holds the container deployment (docker-compose.yml at the
// repository root, the Dockerfile, and the helper scripts and config in this
// directory). No Docker engine is needed to run these checks: they read the
// files and compare them with the code and go.mod.
package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"

	"go.temporal.io/server/common/dynamicconfig"
	"gopkg.in/yaml.v3"

	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/policy"
	"github.com/riposte-dev/riposte/workflows"
)

const root = ".."

// compose is the part of a compose file these checks read.
type compose struct {
	Services map[string]service `yaml:"services"`
	Secrets  map[string]struct {
		File        string `yaml:"file"`
		Environment string `yaml:"environment"`
	} `yaml:"secrets"`
}

type service struct {
	Image         string            `yaml:"image"`
	Build         any               `yaml:"build"`
	Command       []string          `yaml:"command"`
	Entrypoint    []string          `yaml:"entrypoint"`
	ContainerName string            `yaml:"container_name"`
	Environment   map[string]string `yaml:"environment"`
	Volumes       []string          `yaml:"volumes"`
	Ports         []string          `yaml:"ports"`
	Secrets       []string          `yaml:"secrets"`
	Profiles      []string          `yaml:"profiles"`
	DependsOn     map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
}

func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadCompose(t *testing.T) compose {
	t.Helper()
	var c compose
	// yaml.v3 resolves the anchors and << merge keys the file uses.
	if err := yaml.Unmarshal(readFile(t, "docker-compose.yml"), &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return c
}

// interpolate resolves ${VAR:-default} / ${VAR-default} to the default and
// ${VAR} to "" (what compose does with the variable unset).
var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}`)

func interpolate(s string) string {
	return varRef.ReplaceAllString(s, "$2")
}

// goModVersion returns the version of a module required in go.mod.
func goModVersion(t *testing.T, module string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(module) + `\s+v(\S+)`)
	m := re.FindSubmatch(readFile(t, "go.mod"))
	if m == nil {
		t.Fatalf("go.mod does not require %s", module)
	}
	return string(m[1])
}

// splitImage splits an image reference into repository, tag and digest.
func splitImage(ref string) (repo, tag, digest string) {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref, digest = ref[:i], ref[i+1:]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref, tag = ref[:i], ref[i+1:]
	}
	return ref, tag, digest
}

func TestImagesArePinned(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		if s.Image == "" {
			t.Errorf("service %s has no image (a built service needs image: with a tag too)", name)
			continue
		}
		repo, tag, digest := splitImage(interpolate(s.Image))
		switch {
		case tag == "" && digest == "":
			t.Errorf("service %s: image %q has no tag", name, s.Image)
		case tag == "latest", strings.HasSuffix(tag, "-latest"):
			t.Errorf("service %s: image %q uses latest", name, s.Image)
		case repo == "":
			t.Errorf("service %s: image %q has no repository", name, s.Image)
		}
	}
}

func TestTemporalImagesFollowGoMod(t *testing.T) {
	c := loadCompose(t)
	server := goModVersion(t, "go.temporal.io/server")
	ui := goModVersion(t, "github.com/temporalio/ui-server/v2")
	want := map[string]string{"temporalio/server": server, "temporalio/admin-tools": server, "temporalio/ui": ui}
	seen := map[string]bool{}
	for name, s := range c.Services {
		repo, tag, _ := splitImage(interpolate(s.Image))
		if v, ok := want[repo]; ok {
			seen[repo] = true
			if tag != v {
				t.Errorf("service %s: %s:%s, but go.mod has %s (the UI embedded in riposte dev is ui-server %s)", name, repo, tag, v, ui)
			}
		}
	}
	for repo := range want {
		if !seen[repo] {
			t.Errorf("no service uses %s", repo)
		}
	}
}

// TestNamespaceSetup: the namespace and search attributes are prepared by
// `riposte setup` (which owns the attribute list: the worker's own, see
// internal/engine.Setup and test/cluster, which runs the script on a real
// cluster): the compose job runs it on the Riposte image with the
// namespace the riposte services use and 7 days of retention;
// create-namespace.sh runs it too and lists no attribute of its own.
func TestNamespaceSetup(t *testing.T) {
	script := string(readFile(t, "deploy/temporal/create-namespace.sh"))
	if !strings.Contains(script, `"$RIPOSTE" setup`) {
		t.Error("create-namespace.sh does not run riposte setup")
	}
	for name := range workflows.SearchAttributeTypes() {
		if strings.Contains(script, name) {
			t.Errorf("create-namespace.sh names search attribute %s: the list belongs to riposte setup", name)
		}
	}
	c := loadCompose(t)
	job, ok := c.Services["temporal-create-namespace"]
	if !ok {
		t.Fatal("no temporal-create-namespace service")
	}
	if strings.Join(job.Command, " ") != "setup" || job.Image != c.Services["riposte-worker"].Image {
		t.Errorf("temporal-create-namespace runs %s %v, want riposte setup on the worker's image", job.Image, job.Command)
	}
	if ns, ws := interpolate(job.Environment["TEMPORAL_NAMESPACE"]), interpolate(c.Services["riposte-worker"].Environment["TEMPORAL_NAMESPACE"]); ns == "" || ns != ws {
		t.Errorf("namespace job creates %q, workers use %q", ns, ws)
	}
	if r := interpolate(job.Environment["NAMESPACE_RETENTION"]); r != "168h" {
		t.Errorf("retention %q, want 168h (7 days)", r)
	}
}

var (
	secretName  = regexp.MustCompile(`(?i)(TOKEN|SECRET|PASSW|PWD|API_?KEY|PRIVATE|CREDENTIAL|CODEC_KEYS)`)
	secretValue = []*regexp.Regexp{
		regexp.MustCompile(`xox[abposr]-|xapp-`),                         // Slack tokens
		regexp.MustCompile(`rpt_[0-9a-f]{16,}`),                          // Riposte API tokens
		regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY`),              // PEM keys
		regexp.MustCompile(`"keys"\s*:`),                                 // inline codec key JSON
		regexp.MustCompile(`^[A-Za-z0-9+/_=-]{32,}$`),                    // long opaque strings
		regexp.MustCompile(`(?i)^(?:eyJ)[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`), // JWTs
	}
	pureRef = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-)?\}$`)
)

func TestNoInlineSecrets(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		for k, v := range s.Environment {
			for _, re := range secretValue {
				if re.MatchString(v) {
					t.Errorf("service %s: %s looks like an inline secret", name, k)
				}
			}
			if !secretName.MatchString(k) {
				continue
			}
			switch {
			case strings.HasSuffix(k, "_FILE"):
				if !strings.HasPrefix(v, "/run/secrets/") {
					t.Errorf("service %s: %s=%q should point into /run/secrets", name, k, v)
				}
			case pureRef.MatchString(v):
				// Taken from the operator's environment, without a default.
			default:
				t.Errorf("service %s: %s is set in the compose file; use a %s_FILE secret or ${%s}", name, k, k, k)
			}
		}
		for _, sec := range s.Secrets {
			if _, ok := c.Secrets[sec]; !ok {
				t.Errorf("service %s uses undeclared secret %s", name, sec)
			}
		}
	}
	for name, s := range c.Secrets {
		if s.File == "" && s.Environment == "" {
			t.Errorf("secret %s has neither file nor environment", name)
		}
		if f := interpolate(s.File); f != "" && !strings.HasPrefix(f, "./deploy/secrets/") {
			t.Errorf("secret %s reads %s; keep secret files under deploy/secrets (git- and docker-ignored)", name, f)
		}
	}
	if !bytes.Contains(readFile(t, "deploy/.gitignore"), []byte("secrets/")) {
		t.Error("deploy/.gitignore does not ignore secrets/")
	}
	if !regexp.MustCompile(`(?m)^deploy(/secrets)?$`).Match(readFile(t, ".dockerignore")) {
		t.Error(".dockerignore does not keep deploy/secrets out of the build context")
	}
}

// mounts returns a service's bind mounts by container path.
func mounts(s service) map[string]struct {
	source string
	ro     bool
} {
	out := map[string]struct {
		source string
		ro     bool
	}{}
	for _, v := range s.Volumes {
		parts := strings.Split(interpolate(v), ":")
		if len(parts) < 2 {
			continue
		}
		ro := len(parts) > 2 && strings.Contains(parts[len(parts)-1], "ro")
		target := parts[1]
		out[target] = struct {
			source string
			ro     bool
		}{parts[0], ro}
	}
	return out
}

func TestRiposteServices(t *testing.T) {
	c := loadCompose(t)
	worker, okw := c.Services["riposte-worker"]
	serve, oks := c.Services["riposte-serve"]
	if !okw || !oks {
		t.Fatal("riposte-worker and riposte-serve services are required")
	}
	if len(worker.Command) == 0 || worker.Command[0] != "worker" || len(serve.Command) == 0 || serve.Command[0] != "serve" {
		t.Errorf("commands: worker %v, serve %v", worker.Command, serve.Command)
	}
	if worker.Image != serve.Image || worker.Build == nil {
		t.Errorf("worker and serve should run the image built from the Dockerfile: %q %q", worker.Image, serve.Image)
	}
	// Scalable: no fixed name, no host port.
	if worker.ContainerName != "" || len(worker.Ports) > 0 {
		t.Errorf("riposte-worker has container_name %q / ports %v: --scale riposte-worker=3 would fail", worker.ContainerName, worker.Ports)
	}
	for name, s := range map[string]service{"riposte-worker": worker, "riposte-serve": serve} {
		m := mounts(s)
		cfg, ok := m["/etc/riposte/config"]
		if !ok || !cfg.ro {
			t.Errorf("%s: /etc/riposte/config (policy.yaml, riposte.yaml) must be mounted read-only: %v", name, s.Volumes)
		}
		for _, target := range []string{"RIPOSTE_CONFIG", "RIPOSTE_POLICY"} {
			if !strings.HasPrefix(s.Environment[target], "/etc/riposte/config/") {
				t.Errorf("%s: %s=%q is not in the mounted config dir", name, target, s.Environment[target])
			}
		}
		for target, mt := range m {
			if !mt.ro && target != s.Environment["RIPOSTE_PLAYBOOK_STORE"] {
				t.Errorf("%s: mount %s is writable", name, target)
			}
		}
		// Serve and every worker share the playbook store (a named volume),
		// so a run parked at a gate finds its playbook version after the
		// playbooks change and the containers restart.
		if st, ok := m[s.Environment["RIPOSTE_PLAYBOOK_STORE"]]; !ok || st.ro || st.source != "riposte-playbook-store" {
			t.Errorf("%s: RIPOSTE_PLAYBOOK_STORE=%q must be the riposte-playbook-store volume, mounted writable: %v", name, s.Environment["RIPOSTE_PLAYBOOK_STORE"], s.Volumes)
		}
		if s.Environment["RIPOSTE_CODEC_KEY_FILE"] != "/run/secrets/riposte_codec_keys" || !contains(s.Secrets, "riposte_codec_keys") {
			t.Errorf("%s: payload key must come from the riposte_codec_keys secret", name)
		}
		if s.Environment["RIPOSTE_NO_ENCRYPTION"] == "true" {
			t.Errorf("%s: encryption disabled", name)
		}
		if s.DependsOn["temporal-create-namespace"].Condition != "service_completed_successfully" {
			t.Errorf("%s must wait for the namespace and search attributes", name)
		}
	}
	// Workers load the same playbooks as serve: a run by reference names a
	// version the worker must find (README, "Playbook by reference").
	var pbSource string
	for name, s := range map[string]service{"riposte-worker": worker, "riposte-serve": serve} {
		pb, ok := mounts(s)["/etc/riposte/playbooks"]
		if !ok || !pb.ro || s.Environment["RIPOSTE_PLAYBOOKS"] != "/etc/riposte/playbooks" {
			t.Errorf("%s must mount the playbooks read-only at /etc/riposte/playbooks and name them in RIPOSTE_PLAYBOOKS: %v", name, s.Volumes)
			continue
		}
		if pbSource != "" && pb.source != pbSource {
			t.Errorf("serve and worker mount different playbooks: %q and %q", pbSource, pb.source)
		}
		pbSource = pb.source
	}
	if serve.Environment["RIPOSTE_API_TOKEN_FILE"] != "/run/secrets/riposte_api_token" || !contains(serve.Secrets, "riposte_api_token") {
		t.Error("riposte-serve: API token must come from the riposte_api_token secret")
	}
	if !containsSuffix(serve.Ports, ":8080:8080") && !contains(serve.Ports, "8080:8080") {
		t.Errorf("riposte-serve does not publish 8080: %v", serve.Ports)
	}
	ui := c.Services["temporal-ui"]
	if e := interpolate(ui.Environment["TEMPORAL_CODEC_ENDPOINT"]); !strings.HasSuffix(e, ":8080/codec") {
		t.Errorf("temporal-ui codec endpoint %q does not point at riposte serve's /codec", e)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func containsSuffix(list []string, suffix string) bool {
	for _, v := range list {
		if strings.HasSuffix(v, suffix) {
			return true
		}
	}
	return false
}

func TestTopologyOrder(t *testing.T) {
	c := loadCompose(t)
	want := map[string]map[string]string{
		"temporal-admin-tools":      {"postgresql": "service_healthy"},
		"temporal":                  {"temporal-admin-tools": "service_completed_successfully"},
		"temporal-create-namespace": {"temporal": "service_healthy"},
		"temporal-ui":               {"temporal": "service_healthy"},
	}
	for svc, deps := range want {
		for dep, cond := range deps {
			if got := c.Services[svc].DependsOn[dep].Condition; got != cond {
				t.Errorf("%s depends on %s with %q, want %q", svc, dep, got, cond)
			}
		}
	}
	// Every file a service mounts from the repository exists.
	for name, s := range c.Services {
		for target, m := range mounts(s) {
			if strings.HasPrefix(m.source, "./") {
				if _, err := os.Stat(filepath.Join(root, m.source)); err != nil {
					t.Errorf("service %s mounts %s at %s: %v", name, m.source, target, err)
				}
			}
		}
	}
}

func TestShippedConfigIsValid(t *testing.T) {
	if _, err := policy.Load(filepath.Join(root, "deploy/config/policy.yaml"), false); err != nil {
		t.Errorf("deploy/config/policy.yaml: %v", err)
	}
	l := dynamicconfig.LoadYamlFile(readFile(t, "deploy/temporal/dynamicconfig.yaml"))
	if err := l.Err(); err != nil {
		t.Errorf("dynamic config: %v", err)
	}
	for _, w := range l.Warnings {
		t.Errorf("dynamic config: %v", w)
	}
}

func TestDockerfile(t *testing.T) {
	df := string(readFile(t, "Dockerfile"))
	args := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^ARG\s+(\w+)=(\S+)`).FindAllStringSubmatch(df, -1) {
		args[m[1]] = m[2]
	}
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(df, -1)
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got %d FROM lines", len(froms))
	}
	for _, m := range froms {
		ref := m[1]
		if a := regexp.MustCompile(`^\$\{(\w+)\}$`).FindStringSubmatch(ref); a != nil {
			ref = args[a[1]]
		}
		_, tag, digest := splitImage(ref)
		if (tag == "" && digest == "") || tag == "latest" {
			t.Errorf("FROM %s (%s) is not pinned", m[1], ref)
		}
	}
	if goImg := args["GO_IMAGE"]; !strings.HasPrefix(goImg, "golang:"+goDirective(t)) {
		t.Errorf("builder %s does not match the go directive %s of go.mod", goImg, goDirective(t))
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags="-s -w"`, "/etc/riposte/playbooks", `ENTRYPOINT ["/usr/local/bin/riposte"]`} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	users := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindAllStringSubmatch(df, -1)
	if len(users) == 0 {
		t.Fatal("Dockerfile sets no USER")
	}
	if u := users[len(users)-1][1]; u == "root" || u == "0" || strings.HasPrefix(u, "0:") {
		t.Errorf("final USER %s is root", u)
	}
}

func goDirective(t *testing.T) string {
	m := regexp.MustCompile(`(?m)^go\s+(\S+)`).FindSubmatch(readFile(t, "go.mod"))
	if m == nil {
		t.Fatal("no go directive in go.mod")
	}
	return string(m[1])
}

func TestScriptsParse(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	scripts, _ := filepath.Glob(filepath.Join(root, "deploy", "*.sh"))
	more, _ := filepath.Glob(filepath.Join(root, "deploy", "*", "*.sh"))
	scripts = append(scripts, more...)
	sort.Strings(scripts)
	if len(scripts) < 4 {
		t.Fatalf("found only %v", scripts)
	}
	for _, s := range scripts {
		if out, err := exec.Command(sh, "-n", s).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", s, err, out)
		}
		fi, err := os.Stat(s)
		if err == nil && fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", s)
		}
	}
}

// TestInitSecrets runs deploy/init-secrets.sh in a temp dir: the files
// compose mounts appear, the key file is a valid keyring, nothing is
// overwritten on a second run.
func TestInitSecrets(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, tool := range []string{"od", "base64", "head", "tr", "date"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	dir := filepath.Join(t.TempDir(), "secrets")
	run := func() string {
		out, err := exec.Command(sh, filepath.Join(root, "deploy/init-secrets.sh"), dir).CombinedOutput()
		if err != nil {
			t.Fatalf("init-secrets: %v\n%s", err, out)
		}
		return string(out)
	}
	run()
	c := loadCompose(t)
	for name, s := range c.Secrets {
		f := filepath.Join(dir, filepath.Base(interpolate(s.File)))
		b, err := os.ReadFile(f)
		if err != nil || len(bytes.TrimSpace(b)) == 0 {
			t.Errorf("secret %s: %s missing or empty (%v)", name, f, err)
		}
	}
	keys, _ := os.ReadFile(filepath.Join(dir, "codec-keys.json"))
	t.Setenv(codec.EnvKeys, "")
	t.Setenv(codec.EnvKeyFile, filepath.Join(dir, "codec-keys.json"))
	if _, err := codec.KeyringFromEnv(); err != nil {
		t.Errorf("codec-keys.json %s: %v", keys, err)
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("secrets dir mode %v", fi.Mode().Perm())
	}
	// The secret-file convention: Riposte's files 0400, owned by the
	// container user (when the script can chown, i.e. as root); the
	// PostgreSQL password, read by two other images, 0444.
	for name, mode := range map[string]os.FileMode{"api-token": 0o400, "codec-keys.json": 0o400, "postgres-password": 0o444} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %04o, want %04o", name, fi.Mode().Perm(), mode)
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && mode == 0o400 && st.Uid != 65532 {
			t.Errorf("%s: owned by uid %d, want 65532 (the container user)", name, st.Uid)
		}
	}
	if out := run(); !strings.Contains(out, "kept") || strings.Contains(out, "created") {
		t.Errorf("second run rewrote secrets:\n%s", out)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "codec-keys.json"))
	if !bytes.Equal(keys, after) {
		t.Error("codec key changed on the second run")
	}
}

// TestComposeConfig validates the file with docker-compose (or docker
// compose) when one is installed; CI does not install it.
func TestComposeConfig(t *testing.T) {
	var cmd []string
	if p, err := exec.LookPath("docker-compose"); err == nil {
		cmd = []string{p}
	} else if p, err := exec.LookPath("docker"); err == nil && exec.Command(p, "compose", "version").Run() == nil {
		cmd = []string{p, "compose"}
	} else {
		t.Skip("neither docker-compose nor the docker compose plugin is installed")
	}
	// Secrets files must exist for compose to accept the file.
	dir := t.TempDir()
	for _, f := range []string{"api-token", "codec-keys.json", "postgres-password"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := append(cmd[1:], "--project-directory", root, "-f", filepath.Join(root, "docker-compose.yml"), "config", "--quiet")
	c := exec.Command(cmd[0], args...)
	c.Env = append(os.Environ(), "RIPOSTE_SECRETS_DIR="+dir)
	if out, err := c.CombinedOutput(); err != nil {
		t.Errorf("%s config: %v\n%s", strings.Join(cmd, " "), err, out)
	}
}
