package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/riposte-dev/riposte/internal/safefile"
)

// TokenEnv overrides the API token.
const TokenEnv = "RIPOSTE_API_TOKEN"

// TokenFile is the name of the dev API token file inside the data dir.
const TokenFile = "api-token"

// LoadOrCreateToken returns RIPOSTE_API_TOKEN when set; otherwise the token
// stored in dataDir, creating a random one on first use (mode 0600).
func LoadOrCreateToken(dataDir string) (token string, created bool, err error) {
	if t := strings.TrimSpace(os.Getenv(TokenEnv)); t != "" {
		return t, false, nil
	}
	path := filepath.Join(dataDir, TokenFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, false, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("reading API token: %w", err)
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", false, fmt.Errorf("generating API token: %w", err)
	}
	t := "rpt_" + hex.EncodeToString(raw)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", false, fmt.Errorf("creating data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return "", false, fmt.Errorf("writing API token: %w", err)
	}
	return t, true, nil
}

// ReadToken finds a token for CLI clients: the flag value, then
// RIPOSTE_API_TOKEN, then the dev token file in dataDir.
func ReadToken(flagValue, dataDir string) string {
	if flagValue != "" {
		return flagValue
	}
	if t := strings.TrimSpace(os.Getenv(TokenEnv)); t != "" {
		return t
	}
	b, err := os.ReadFile(filepath.Join(dataDir, TokenFile))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// ServeToken reads the production API token: from file when given, else
// RIPOSTE_API_TOKEN. There is no generated default outside dev mode.
func ServeToken(file string) (string, error) {
	if file != "" {
		b, err := safefile.ReadSecret(file, 64<<10)
		if err != nil {
			return "", fmt.Errorf("reading API token file: %w", err)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
		return "", fmt.Errorf("API token file %s is empty", file)
	}
	if t := strings.TrimSpace(os.Getenv(TokenEnv)); t != "" {
		return t, nil
	}
	return "", fmt.Errorf("no API token: set %s or --token-file", TokenEnv)
}
