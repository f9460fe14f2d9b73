package config

import "testing"

// A secret reference written in block style (client_secret: then env: X
// on the next line, as valid as {env: X}) followed by a tab-indented key:
// yaml.v3 refuses the tab on that key's line, which holds no secret. The
// tab rule of 8d23a75 took every tab-indented line after a secret field
// whose value is not a flow collection for the secret's, so the error was
// moved to the client_secret line, where nothing is wrong, with the tab
// line not shown at all.
func TestTabIndentedKeyAfterABlockStyleSecretReferenceStaysOnItsLine(t *testing.T) {
	const head = "connections:\n  cs:\n    type: crowdstrike\n    base_url: https://api.crowdstrike.com\n    client_id: abc\n"
	for name, ref := range map[string]string{
		"env":  "    client_secret:\n      env: X\n",
		"file": "    client_secret:\n      file: /run/secrets/x\n",
	} {
		_, diags := ParseConnections("riposte.yaml", []byte(head+ref+"\tproject: x\n"), testOptions(map[string]string{"X": "y"}))
		errs := diags.Errors()
		if len(errs) == 0 {
			t.Errorf("%s: no error", name)
			continue
		}
		if errs[0].Line != 8 || errs[0].Col != 1 {
			t.Errorf("%s: got\n%s\nwant the error on line 8 (the tab-indented key), column 1", name, errs[0].Pretty())
		}
	}
}
