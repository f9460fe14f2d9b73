// Package safefile reads configuration and playbook files defensively: the
// size is checked before anything is read, and anything but a regular file
// (a symlink to /dev/zero, a FIFO, a device) is refused, so a hostile
// directory entry cannot exhaust memory or block the process. It also
// writes the files Riposte keeps (tokens, keys, stored playbooks) so that a
// crash leaves either the old or the new content, never half of it
// (WriteFile replaces a file, CreateFile makes one only if absent).
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"unicode"
)

// LooksLikeSecret reports whether a path Riposte is told to read a secret
// from reads like a secret rather than a path: operators paste the secret
// where its path belongs (client_secret: {file: sk_live_…} in riposte.yaml,
// RIPOSTE_API_TOKEN_FILE=rpt_…, RIPOSTE_CODEC_KEY_FILE=<the key>), and an
// error printing the "path" would print the secret. The rule, applied to
// the value as written and to the path it resolves to:
//
//   - a character that is not printable or one of {}" (JSON: a key file's
//     content), or a value without '/' holding whitespace (a passphrase),
//     is a secret;
//   - a component (between '/') of 16 or more characters that mixes upper
//     case, lower case and digits (sk_live_4eC39HqLyjWDarjtT1zdp7dc,
//     00QCjAl4MlV-WPXM-…, xoxb-…-AbCdEf…), or that holds a run of 16 or
//     more letters and digits switching between them at least 4 times (a
//     hex or base32 key), is a secret, unless it is a file name
//     (IsFileName: PlaybookV2Config.yaml, Report2024Q3.pdf);
//   - a relative value of 20 or more characters of the base64 alphabet,
//     mixing upper case, lower case and digits, is a secret even with '/'
//     in it (an AWS secret access key holds '/').
//
// Names people give files (/run/secrets/crowdstrike_client_secret,
// secrets/okta-api-token-2024, jira_token) are printed. A path that
// happens to look random is withheld too: the error still gives its
// file:line:col.
func LooksLikeSecret(v string) bool {
	if strings.ContainsFunc(v, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) || strings.ContainsAny(v, "{}\"") {
		return true
	}
	if !strings.Contains(v, "/") && strings.ContainsFunc(v, unicode.IsSpace) {
		return true
	}
	for _, c := range strings.Split(v, "/") {
		if (len(c) >= 16 && mixesCases(c) || alnumSwitches(c)) && !IsFileName(c) {
			return true
		}
	}
	return !strings.HasPrefix(v, "/") && len(v) >= 20 && base64Value.MatchString(v) && mixesCases(v)
}

// fileExt: a file name's extension, lower or upper case (.yaml, .PDF).
var fileExt = regexp.MustCompile(`\.(?:[a-z][a-z0-9]{0,4}|[A-Z][A-Z0-9]{0,4})$`)

// fileStem: the characters of a file name's stem; '~', '+' and '=' are
// keys' (an Azure client secret holds "8Q~", base64 '+' and '=').
var fileStem = regexp.MustCompile(`^[A-Za-z0-9 _.-]+$`)

// IsFileName reports whether a path component is a file name people write:
// an extension (fileExt) after a stem (fileStem) of words, CamelCase with
// numbers (PlaybookV2Config, Report2024Q3, MyFile1OfTheYear2024): at most one
// switch from lower case to upper case or between letters and digits per
// four characters, plus one. A random key switches at almost every other
// character (4eC39HqLyjWDarjtT1zdp7dc: 16 in 24) and has no extension;
// both are needed, so a key with an extension stays withheld.
func IsFileName(c string) bool {
	ext := fileExt.FindStringIndex(c)
	if ext == nil || ext[0] == 0 {
		return false
	}
	stem := c[:ext[0]]
	if !fileStem.MatchString(stem) {
		return false
	}
	n, switches := 0, 0
	var prev rune
	for _, r := range stem {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			prev = 0
			continue
		}
		n++
		if prev != 0 && (unicode.IsLower(prev) && unicode.IsUpper(r) || unicode.IsDigit(prev) != unicode.IsDigit(r)) {
			switches++
		}
		prev = r
	}
	return switches <= n/4+1
}

var base64Value = regexp.MustCompile(`^[A-Za-z0-9+/=_-]+$`)

// mixesCases: upper case, lower case and digits.
func mixesCases(v string) bool {
	var up, low, dig bool
	for _, r := range v {
		up = up || unicode.IsUpper(r)
		low = low || unicode.IsLower(r)
		dig = dig || unicode.IsDigit(r)
	}
	return up && low && dig
}

// alnumSwitches: a run of 16+ letters and digits with at least 4 switches
// between a letter and a digit.
func alnumSwitches(c string) bool {
	run, switches, prevDigit := 0, 0, false
	for _, r := range c {
		isL, isD := unicode.IsLetter(r), unicode.IsDigit(r)
		if !isL && !isD {
			run, switches = 0, 0
			continue
		}
		if run > 0 && isD != prevDigit {
			switches++
		}
		run++
		prevDigit = isD
		if run >= 16 && switches >= 4 {
			return true
		}
	}
	return false
}

// HiddenPath stands for a path that LooksLikeSecret in an error.
const HiddenPath = "(path not shown: it looks like a secret)"

// MaxSize is the default limit for YAML and JSON inputs.
const MaxSize = 4 << 20

// ReadFile is os.ReadFile with a size limit and a regular-file check made
// on the opened file (no race between the check and the read).
func ReadFile(path string, limit int64) ([]byte, error) {
	return read(path, limit, readPlain)
}

// What read checks beyond a regular file within the limit.
type readKind int

const (
	readPlain   readKind = iota
	readSecret           // not readable by every user
	readTrusted          // not writable by every user
)

// read opens path, checks the opened file (regular, within limit, and
// for kind not readable or not writable by every user) and reads it.
func read(path string, limit int64, kind readKind) ([]byte, error) {
	f, err := os.OpenFile(path, openFlags, 0)
	if err != nil {
		// The path may be the secret itself, pasted where its file's
		// path belongs: the error names the file without printing it.
		var pe *fs.PathError
		if errors.As(err, &pe) && LooksLikeSecret(pe.Path) {
			return nil, &fs.PathError{Op: pe.Op, Path: HiddenPath, Err: pe.Err}
		}
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%s); refusing to read it", path, st.Mode().Type())
	}
	if err := CheckTrusted(path, st); kind == readTrusted && err != nil {
		return nil, err
	}
	if perm := st.Mode().Perm(); kind == readSecret && perm&0o004 != 0 {
		return nil, fmt.Errorf("%s holds a secret and is readable by every user of this machine (mode %04o); refusing to use it: make it mode 0400, owned by the user Riposte runs as (uid 65532 in the container image), e.g. chmod 0400 %s (deploy/README.md, Secret files)", path, perm, path)
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes; the limit is %d", path, st.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s grew past the limit of %d bytes while being read", path, limit)
	}
	return b, nil
}

// WriteFile replaces path with data, created with mode perm: written to a
// temporary file in the same directory, synced, renamed over path, and the
// directory synced, so that readers see the old or the new file and, once
// it returns, a power loss cannot bring back the old one (a revoked token,
// a playbook version a run was just started with).
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := write(tmp, data, perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// CreateFile writes data to path, created with mode perm, only when path
// does not exist yet (an error wrapping fs.ErrExist otherwise, path left
// alone); readers never see it half written, and it is synced, directory
// included, before CreateFile returns. Two processes creating the same
// file (two first starts sharing a data dir): one wins, the other learns.
func CreateFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // the link, once made, keeps the content
	if err := write(tmp, data, perm); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	err = os.Link(tmp.Name(), path)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w", path, fs.ErrExist)
	}
	if err != nil {
		// No hard links on this file system: fall back to O_EXCL.
		return createExclusive(path, data, perm)
	}
	return SyncDir(dir)
}

// createExclusive is CreateFile written in place (O_EXCL): removed again
// when the write fails, so no half file stays behind.
func createExclusive(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if err := write(f, data, perm); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// write fills a new temporary file and closes it.
func write(f *os.File, data []byte, perm os.FileMode) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// SyncDir makes the creation, rename or removal of an entry of dir durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, err)
	}
	return nil
}

// ReadSecret is ReadFile for a file holding a secret (a key file, a
// token): it also refuses one that every user of the machine may read
// (mode o+r), checked on the opened file. Group-readable files are read:
// Kubernetes mounts Secret volumes 0440 with the pod's fsGroup.
func ReadSecret(path string, limit int64) ([]byte, error) {
	return read(path, limit, readSecret)
}

// ReadTrusted is ReadFile for a file that says who is who (the token
// file, the OIDC mapping): whoever may write it may make themselves anyone,
// so one that every user of the machine may write (mode o+w) is refused,
// checked on the opened file, as sshd refuses such an authorized_keys.
// Group-writable files are read: Kubernetes volumes with an fsGroup are.
func ReadTrusted(path string, limit int64) ([]byte, error) {
	return read(path, limit, readTrusted)
}

// CheckTrusted refuses st, the file at path, when every user of the
// machine may write it (see ReadTrusted).
// Windows reports every writable file as mode 0666: its permissions are
// ACLs this does not read, so nothing is refused there.
func CheckTrusted(path string, st fs.FileInfo) error {
	if perm := st.Mode().Perm(); perm&0o002 != 0 && runtime.GOOS != "windows" {
		return fmt.Errorf("%s says who API callers are and is writable by every user of this machine (mode %04o), who could make themselves anyone; refusing to use it: chmod o-w %s (0600 for the token file)", path, perm, path)
	}
	return nil
}

// Same reports whether paths a and b name one file: the same absolute,
// cleaned path, or the same file on disk (another spelling, a link).
func Same(a, b string) bool {
	var d Distinct
	d.Add(a)
	return !d.Add(b)
}

// Distinct keeps one path per file, by Same's rule: the same absolute,
// cleaned path, or the same file on disk (os.SameFile: a symlink, a hard
// link, a symlinked directory, a case variant on a case-insensitive file
// system). The zero value is empty.
type Distinct struct {
	paths map[string]bool
	files []fs.FileInfo
}

// Add reports whether path names a file no path added before names, and
// adds it. A path that cannot be stat'ed is told apart by its spelling
// only (reading it reports why).
func (d *Distinct) Add(path string) bool {
	key := filepath.Clean(path)
	if abs, err := filepath.Abs(path); err == nil {
		key = abs
	}
	if d.paths[key] {
		return false
	}
	st, err := os.Stat(path)
	if err == nil {
		for _, f := range d.files {
			if os.SameFile(f, st) {
				return false
			}
		}
		d.files = append(d.files, st)
	}
	if d.paths == nil {
		d.paths = map[string]bool{}
	}
	d.paths[key] = true
	return true
}
