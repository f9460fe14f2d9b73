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

// Unresolved (riposte validate, in CI) still refuses a secret pasted where
// its reference's env var name or file path belongs: the worker refuses it
// (no env var and no file of that name), and validate passing it let a
// live secret be committed with the check green. It is said without
// printing the value, as the worker's error does; a name or path that
// reads like one still passes (TestUnresolvedChecksShapeOnly).
func TestUnresolvedRefusesAPastedSecret(t *testing.T) {
	opts := testOptions(nil)
	opts.Unresolved = true
	for _, tt := range []struct{ ref, secret string }{
		{"env", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"}, // Stripe's documented test-key shape: a valid env var name
		{"env", "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY"},
		{"file", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"},
		{"file", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, // AWS's documented example secret access key
		{"file", "xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"},
	} {
		src := "connections:\n  crowdstrike:\n    type: crowdstrike\n    base_url: https://api.crowdstrike.com\n    client_id: abc\n    client_secret: {" + tt.ref + ": " + tt.secret + "}\n"
		_, diags := ParseConnections("/etc/riposte/riposte.yaml", []byte(src), opts)
		errs := diags.Errors()
		if len(errs) != 1 {
			t.Errorf("{%s: %s}, Unresolved: want one error, got:\n%v", tt.ref, tt.secret, diags)
			continue
		}
		if d := errs[0]; d.Line != 6 || !strings.Contains(d.Message, "looks like a secret") || !strings.Contains(d.Message, "if that is the secret itself") {
			t.Errorf("{%s: %s}, Unresolved: the error does not say what is wrong: %s", tt.ref, tt.secret, d.Pretty())
		}
		for _, part := range strings.Split(tt.secret, "/") {
			if strings.Contains(diags.Error()+errs[0].Pretty(), part) {
				t.Errorf("the diagnostic prints the pasted secret %q:\n%s", part, errs[0].Pretty())
			}
		}
	}
}

// Unresolved refuses what is written in the reference, not the directory
// the file sits in: a relative {file:} (resolved against the config
// file's directory) under a directory whose name mixes cases and digits
// (a project checked out as SecOpsPlaybooks2024, a CI workspace) is a
// path, not a secret. The worker reads that file; riposte validate
// refused it as "looks like a secret" when given the project by its path
// (riposte validate ~/src/SecOpsPlaybooks2024) and passed it as
// riposte validate . in the same directory.
func TestUnresolvedJudgesTheWrittenPathOnly(t *testing.T) {
	opts := testOptions(nil)
	opts.Unresolved = true
	src := []byte("connections:\n  crowdstrike:\n    type: crowdstrike\n    base_url: https://api.crowdstrike.com\n    client_id: abc\n    client_secret: {file: secrets/cs_client_secret}\n")
	for _, file := range []string{
		"riposte.yaml",
		"SecOpsPlaybooks2024/riposte.yaml",
		"/home/ci/src/SecOpsPlaybooks2024/riposte.yaml",
	} {
		if _, diags := ParseConnections(file, src, opts); len(diags.Errors()) != 0 {
			t.Errorf("{file: secrets/cs_client_secret} in %s, Unresolved:\n%v", file, diags)
		}
	}
}

// A name or path that reads like a secret but is set (an env var of that
// name) or exists (a file there) where riposte validate runs is what the
// worker accepts there: validate accepts it too, so an unusual real name
// (AzureAD_ClientSecret_V2) has a way through CI (set it there), while a
// pasted secret, which names nothing, is still refused.
func TestUnresolvedAcceptsASecretLookingNameThatExists(t *testing.T) {
	const name = "AzureAD_ClientSecret_V2x9"
	src := func(ref, v string) []byte {
		return []byte("connections:\n  crowdstrike:\n    type: crowdstrike\n    base_url: https://api.crowdstrike.com\n    client_id: abc\n    client_secret: {" + ref + ": " + v + "}\n")
	}
	opts := testOptions(map[string]string{name: "s3cret"}, fakeFile{name: "/etc/riposte/" + name, mode: 0o400})
	opts.Unresolved = true
	for _, ref := range []string{"env", "file"} {
		if _, diags := ParseConnections("/etc/riposte/riposte.yaml", src(ref, name), opts); len(diags.Errors()) != 0 {
			t.Errorf("{%s: %s}, set/present where validate runs, Unresolved:\n%v", ref, name, diags)
		}
		none := testOptions(nil)
		none.Unresolved = true
		if _, diags := ParseConnections("/etc/riposte/riposte.yaml", src(ref, name), none); len(diags.Errors()) != 1 {
			t.Errorf("{%s: %s}, neither set nor present, Unresolved: want it refused, got:\n%v", ref, name, diags)
		} else if !strings.Contains(diags.Errors()[0].Message, "set it where riposte validate runs") && ref == "env" {
			t.Errorf("the refusal does not say how a real name gets through: %s", diags.Errors()[0].Message)
		}
	}
}
