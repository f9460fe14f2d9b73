package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A file name of CamelCase words with a digit (PlaybookV2Config.yaml,
// Report2024Q3.pdf) mixes upper case, lower case and digits, as a pasted
// secret does, and was withheld from the error as "(path not shown: it
// looks like a secret)": the analyst lost the one name that said which
// playbook or which report. A file name (words and an extension) is
// named; a secret, with or without an extension, is still withheld.
func TestLooksLikeSecretKeepsFileNames(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want bool
	}{
		{"PlaybookV2Config.yaml", false},
		{"Report2024Q3.pdf", false},
		{"/etc/riposte/playbooks/PlaybookV2Config.yaml", false},
		{"playbooks/IncidentReport2024Q3Final.docx", false},
		{"MyFile1OfTheYear2024.txt", false},
		{"ContainmentPlanV12.YAML", false},
		{"/run/secrets/crowdstrike_client_secret", false},
		{"secrets/okta-api-token-2024", false},
		// Secrets, as before.
		{"sk_live_4eC39HqLyjWDarjtT1zdp7dc", true},
		{"xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy", true},
		{"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", true},
		{"Xk3Jq9LmN2pR5sT8vW1yZ4bC7dF0gH6jK2mP9qR5", true},
		{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true},
		// A random name with an extension is not made of words.
		{"4eC39HqLyjWDarjtT1zdp7dc.pem", true},
		{"/run/secrets/Xk3Jq9LmN2pR5sT8vW1yZ4bC7dF0.key", true},
		{"Qp8~abc.DEF_ghi-123xYz9Wq.abc", true},
	} {
		if got := LooksLikeSecret(tt.v); got != tt.want {
			t.Errorf("LooksLikeSecret(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
	// Not t.TempDir: its test-name-and-digits folder has no extension
	// and reads like a secret.
	dir, err := os.MkdirTemp("", "riposte-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	missing := filepath.Join(dir, "PlaybookV2Config.yaml")
	_, err = ReadFile(missing, MaxSize)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "PlaybookV2Config.yaml") {
		t.Errorf("ReadFile(%s): %v: the file is not named", missing, err)
	}
}
