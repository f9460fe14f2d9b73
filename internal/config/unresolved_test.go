package config

import (
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/playbook"
)

// playbook.SiteKind knows riposte.yaml by its keys: these.
func TestSiteKindKnowsConfigKeys(t *testing.T) {
	for _, k := range topLevelKeys {
		if got := playbook.SiteKind("x.yaml", []byte(k+": {}\n")); got != playbook.SiteConfig {
			t.Errorf("SiteKind of a file with %s: = %q, want %q", k, got, playbook.SiteConfig)
		}
	}
}

// Unresolved (riposte validate) checks a secret reference's shape, not
// whether its env var is set or its file exists: examples/riposte.yaml
// passes where none of its secrets is, and a malformed reference is
// still refused.
func TestUnresolvedChecksShapeOnly(t *testing.T) {
	src, err := os.ReadFile("../../examples/riposte.yaml")
	if err != nil {
		t.Fatal(err)
	}
	nothing := ConnectionsOptions{
		LookupEnv: func(string) (string, bool) { return "", false },
		Stat:      func(string) (fs.FileInfo, error) { return nil, fs.ErrNotExist },
	}
	if _, diags := ParseConnections("riposte.yaml", src, nothing); len(diags.Errors()) == 0 {
		t.Fatal("examples/riposte.yaml without its secrets: no error (the test proves nothing)")
	}
	nothing.Unresolved = true
	if _, diags := ParseConnections("riposte.yaml", src, nothing); len(diags.Errors()) != 0 {
		t.Errorf("examples/riposte.yaml, Unresolved:\n%v", diags)
	}
	bad := []byte("connections:\n  edr:\n    type: crowdstrike\n    base_url: https://api.crowdstrike.com\n    client_id: ${CS_CLIENT_ID}\n    client_secret: {env: CS_CLIENT_SECRET, file: /run/secrets/cs}\n")
	_, diags := ParseConnections("riposte.yaml", bad, nothing)
	if errs := diags.Errors(); len(errs) != 1 || !strings.Contains(errs[0].Message, "give env or file, not both") {
		t.Errorf("a reference giving env and file, Unresolved:\n%v", diags)
	}
}
