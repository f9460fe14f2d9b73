package config

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/riposte-dev/riposte/activities"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fakeFS is a stat function over a fixed set of files.
type fakeFile struct {
	name string
	size int64
	mode fs.FileMode
}

func (f fakeFile) Name() string       { return filepath.Base(f.name) }
func (f fakeFile) Size() int64        { return f.size }
func (f fakeFile) Mode() fs.FileMode  { return f.mode }
func (f fakeFile) ModTime() time.Time { return time.Time{} }
func (f fakeFile) IsDir() bool        { return f.mode.IsDir() }
func (f fakeFile) Sys() any           { return nil }

func testOptions(env map[string]string, files ...fakeFile) ConnectionsOptions {
	return ConnectionsOptions{
		LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Stat: func(p string) (fs.FileInfo, error) {
			for _, f := range files {
				if f.name == p {
					return f, nil
				}
			}
			return nil, &fs.PathError{Op: "stat", Path: p, Err: fs.ErrNotExist}
		},
	}
}

func TestConnectionsGolden(t *testing.T) {
	path := filepath.Join("testdata", "connections", "broken.yaml")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions(map[string]string{
		"CS_CLIENT_ID": "abc", "OKTA_TOKEN": "t", "PD_EMPTY": " ", "AZURE_TENANT_ID": "tenant",
	}, fakeFile{name: "/run/secrets/world_readable", size: 10, mode: 0o644})
	_, diags := ParseConnections(path, src, opts)
	got := diags.Error() + "\n"
	golden := strings.TrimSuffix(path, ".yaml") + ".golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("diagnostics differ from %s (go test -update rewrites it)\n--- got\n%s--- want\n%s", golden, got, want)
	}
	if diags.Err() == nil {
		t.Error("Err() = nil for a broken file")
	}
	if len(diags.Warnings()) == 0 {
		t.Error("expected warnings too")
	}
}

func TestConnectionsValid(t *testing.T) {
	path := filepath.Join("testdata", "connections", "valid.yaml")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions(map[string]string{"CS_CLIENT_ID": "cid-123", "CS_CLIENT_SECRET": "s3cret", "VT_API_KEY": "k"},
		fakeFile{name: "/run/secrets/jira_token", size: 24, mode: 0o600})
	conns, diags := ParseConnections(path, src, opts)
	if len(diags) != 0 {
		t.Fatalf("unexpected diagnostics:\n%v", diags)
	}
	want := map[string]activities.Connection{
		"cs-prod": {Type: "crowdstrike", BaseURL: "https://api.us-2.crowdstrike.com",
			Options: map[string]string{"client_id": "cid-123"},
			Secrets: map[string]activities.SecretRef{"client_secret": {Env: "CS_CLIENT_SECRET"}}},
		"jira": {Type: "jira", BaseURL: "https://example.atlassian.net",
			Options: map[string]string{"email": "soc+$riposte@example.com", "project": "SEC"},
			Secrets: map[string]activities.SecretRef{"api_token": {File: "/run/secrets/jira_token"}}},
		"lab-echo": {Type: "http", BaseURL: "http://127.0.0.1:8080/hooks", Options: map[string]string{}, Secrets: map[string]activities.SecretRef{}},
		"vt": {Type: "virustotal", Options: map[string]string{},
			Secrets: map[string]activities.SecretRef{"api_key": {Env: "VT_API_KEY"}}},
	}
	if !reflect.DeepEqual(conns, want) {
		t.Errorf("connections:\n got %#v\nwant %#v", conns, want)
	}
	// The secret value never enters the parsed config.
	for _, c := range conns {
		for k, v := range c.Options {
			if strings.Contains(v, "s3cret") {
				t.Errorf("option %s holds a secret value", k)
			}
		}
	}
}

// The shipped example documents every connection type and loads cleanly
// when its env vars and files exist.
func TestExampleConfig(t *testing.T) {
	path := filepath.Join("..", "..", "examples", "riposte.yaml")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, v := range []string{"CS_CLIENT_ID", "CS_CLIENT_SECRET", "AZURE_TENANT_ID", "DEFENDER_CLIENT_ID", "DEFENDER_CLIENT_SECRET",
		"S1_API_TOKEN", "ENTRA_CLIENT_ID", "ENTRA_CLIENT_SECRET", "TICKETS_TOKEN", "PD_ROUTING_KEY", "VT_API_KEY", "ABUSEIPDB_API_KEY"} {
		env[v] = "x"
	}
	var files []fakeFile
	for _, f := range []string{"okta_api_token", "panos_api_key", "jira_token"} {
		files = append(files, fakeFile{name: "/run/secrets/" + f, size: 10, mode: 0o600})
	}
	conns, diags := ParseConnections(path, src, testOptions(env, files...))
	if len(diags) != 0 {
		t.Fatalf("example has diagnostics:\n%v", diags)
	}
	types := map[string]bool{}
	for _, c := range conns {
		types[c.Type] = true
	}
	for _, ct := range activities.ConnectionTypes() {
		if !types[ct.Name] {
			t.Errorf("examples/riposte.yaml has no %s connection", ct.Name)
		}
	}
}

func TestLoadConnectionsFromDisk(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "token")
	if err := os.WriteFile(secret, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "riposte.yaml")
	src := "connections:\n  okta:\n    type: okta\n    base_url: https://example.okta.com\n    api_token: {file: token}\n"
	if err := os.WriteFile(cfg, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	conns, diags, err := LoadConnections(cfg)
	if err != nil || len(diags) != 0 {
		t.Fatalf("LoadConnections: %v %v", err, diags)
	}
	ref := conns["okta"].Secrets["api_token"]
	if ref.File != secret {
		t.Fatalf("relative secret file resolved to %q, want %q", ref.File, secret)
	}
	if v, err := ref.Resolve(); err != nil || v != "tok" {
		t.Fatalf("Resolve = %q, %v", v, err)
	}

	if _, _, err := LoadConnections(filepath.Join(dir, "nope.yaml")); err == nil {
		t.Fatal("missing file: no error")
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("connections:\n  x:\n    type: nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, diags, err = LoadConnections(bad)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:3:11: connection x: unknown type \"nope\"") {
		t.Fatalf("err = %v", err)
	}
	if len(diags) != 1 {
		t.Fatalf("diags = %v", diags)
	}
}

func TestConnectionsEdgeCases(t *testing.T) {
	for _, tt := range []struct{ name, src, want string }{
		{"empty", "", ""},
		{"null", "~\n", ""},
		{"no connections", "connections:\n", ""},
		{"scalar root", "hello\n", "f.yaml:1:1: riposte.yaml must be a mapping with a connections: key, got a string"},
		{"syntax", "connections:\n  a: [\n", "f.yaml:2:1: YAML syntax: did not find expected node content"},
		{"two docs", "connections: {}\n---\nx: 1\n", "f.yaml:2:1: riposte.yaml holds one YAML document; found a second"},
		{"list", "connections: [a]\n", "f.yaml:1:14: connections must be a mapping of connection names to settings, got a list"},
		{"duplicate key", "connections:\n  a:\n    type: okta\n    type: okta\n    base_url: https://o.example.com\n    api_token: {env: T}\n", "f.yaml:4:5: connection a: duplicate key \"type\" (first on line 3)"},
		{"alias", "x: &o {type: okta, base_url: 'https://o.example.com', api_token: {env: T}}\nconnections:\n  okta: *o\n", "f.yaml:1:1: warning: unknown top-level key \"x\""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := ParseConnections("f.yaml", []byte(tt.src), testOptions(map[string]string{"T": "v"}))
			if got := diags.Error(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func FuzzParseConnections(f *testing.F) {
	for _, name := range []string{"broken.yaml", "valid.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "connections", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if b, err := os.ReadFile(filepath.Join("..", "..", "examples", "riposte.yaml")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("connections:\n  a: {type: http, base_url: 'http://x/${A}$${B}', token: {env: A}}\n"))
	f.Add([]byte("connections: {a: &x {type: okta}, b: *x}\n"))
	opts := testOptions(map[string]string{"A": "1", "CS_CLIENT_ID": "c"})
	f.Fuzz(func(t *testing.T, src []byte) {
		conns, diags := ParseConnections("f.yaml", src, opts)
		for _, d := range diags {
			if d.Line < 1 || d.Col < 1 || d.Message == "" {
				t.Fatalf("bad diagnostic %+v", d)
			}
			if d.Severity != SeverityError && d.Severity != SeverityWarning {
				t.Fatalf("bad severity %+v", d)
			}
		}
		for name, c := range conns {
			if _, ok := activities.LookupConnectionType(c.Type); !ok {
				t.Fatalf("connection %s has unknown type %q", name, c.Type)
			}
		}
		// Deterministic.
		_, again := ParseConnections("f.yaml", src, opts)
		if again.Error() != diags.Error() {
			t.Fatalf("not deterministic:\n%s\n---\n%s", diags.Error(), again.Error())
		}
	})
}
