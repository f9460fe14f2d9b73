package pbstore_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/pbstore"
	"github.com/riposte-dev/riposte/internal/playbook"
)

func version(n int) []byte {
	return fmt.Appendf(nil, `apiVersion: riposte/v1
name: store-test
version: %d
trigger:
  when: detection.severity_id >= 4
steps:
  - id: a
    action: core.noop
    with: {n: %d}
`, n, n)
}

func load(t *testing.T, src []byte) *playbook.Compiled {
	t.Helper()
	c, diags := playbook.LoadBytes("store-test.yaml", src, activities.Catalog())
	if diags != nil {
		t.Fatal(diags)
	}
	return c
}

// Every version added is found by digest, by this process and by a new
// one on the same directory (a worker restart), and checked against the
// name and version the run asks for.
func TestStoreKeepsEveryVersion(t *testing.T) {
	dir := t.TempDir()
	s, err := pbstore.New(activities.Catalog(), pbstore.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := load(t, version(1)), load(t, version(2))
	for _, c := range []*playbook.Compiled{v1, v2, v1} {
		if err := s.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	restarted, err := pbstore.New(activities.Catalog(), pbstore.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []*pbstore.Store{s, restarted} {
		for n, c := range map[int]*playbook.Compiled{1: v1, 2: v2} {
			got, err := st.Get("store-test", n, c.Digest)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != c.Digest || got.Playbook.Version != n {
				t.Errorf("v%d: got %s v%d", n, got.Digest, got.Playbook.Version)
			}
		}
	}
	if _, err := restarted.Get("store-test", 2, v1.Digest); err == nil || !strings.Contains(err.Error(), "is playbook store-test v1, not store-test v2") {
		t.Errorf("a digest of another version: %v", err)
	}
}

// A digest the store lacks, an edited file and a malformed digest are
// refused clearly.
func TestStoreMissing(t *testing.T) {
	dir := t.TempDir()
	s, err := pbstore.New(activities.Catalog(), pbstore.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	v1 := load(t, version(1))
	_, err = s.Get("store-test", 1, v1.Digest)
	if !errors.Is(err, pbstore.ErrNotFound) || !strings.Contains(err.Error(), "playbook store-test v1 (digest "+v1.Digest+")") || !strings.Contains(err.Error(), dir) {
		t.Errorf("missing: %v", err)
	}
	// A file under the digest whose content is another version.
	if err := os.WriteFile(filepath.Join(dir, v1.Digest+".yaml"), version(9), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("store-test", 1, v1.Digest); !errors.Is(err, pbstore.ErrNotFound) {
		t.Errorf("edited file: %v", err)
	}
	if _, err := s.Get("store-test", 1, "../../etc/passwd"); err == nil || !strings.Contains(err.Error(), "is not a playbook digest") {
		t.Errorf("bad digest: %v", err)
	}
	mem, _ := pbstore.New(activities.Catalog(), pbstore.Options{})
	if _, err := mem.Get("store-test", 1, v1.Digest); err == nil || !strings.Contains(err.Error(), "memory only") {
		t.Errorf("memory store: %v", err)
	}
}

// A file under a digest that does not hold that source (a write cut short
// by a crash leaves it empty, or someone edited it) is rewritten when the
// version is added again, so the store heals instead of keeping the bad
// file forever; no temporary file is left behind.
func TestStoreRewritesABadFile(t *testing.T) {
	dir := t.TempDir()
	v1 := load(t, version(1))
	path := filepath.Join(dir, v1.Digest+".yaml")
	for _, bad := range [][]byte{nil, version(1)[:20], version(9)} {
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := pbstore.New(activities.Catalog(), pbstore.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Add(v1); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != string(v1.Source) {
			t.Fatalf("after Add over %q: %q, %v", bad, got, err)
		}
		restarted, err := pbstore.New(activities.Catalog(), pbstore.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := restarted.Get("store-test", 1, v1.Digest); err != nil {
			t.Fatalf("after Add over %q: %v", bad, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
}

// A worker's playbooks directory is scanned at start and again when a run
// asks for a version loaded after (serve reloaded the shared directory).
func TestStoreScansPlaybooksOnMiss(t *testing.T) {
	pbDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(pbDir, "p.yaml"), version(1), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := pbstore.New(activities.Catalog(), pbstore.Options{Paths: []string{pbDir}})
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := load(t, version(1)), load(t, version(2))
	if _, err := s.Get("store-test", 1, v1.Digest); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pbDir, "p.yaml"), version(2), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get("store-test", 2, v2.Digest); err != nil {
		t.Fatalf("the edited directory's new version: %v", err)
	}
	if _, err := s.Get("store-test", 1, v1.Digest); err != nil {
		t.Errorf("the version before the edit is kept: %v", err)
	}
}

// The compiled cache is bounded: the least recently used entry goes.
func TestCacheBounded(t *testing.T) {
	c := pbstore.NewCache[int](2)
	c.Add("a", 1)
	c.Add("b", 2)
	c.Get("a")
	c.Add("c", 3)
	if c.Len() != 2 {
		t.Fatalf("len %d, want 2", c.Len())
	}
	if _, ok := c.Get("b"); ok {
		t.Error("b, the least recently used, is still cached")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.Get(k); !ok {
			t.Errorf("%s evicted", k)
		}
	}
}

// A store with a small cache still returns every version: evicted ones are
// compiled again from their source.
func TestStoreEvictsAndRecompiles(t *testing.T) {
	s, err := pbstore.New(activities.Catalog(), pbstore.Options{Dir: t.TempDir(), CacheSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	var all []*playbook.Compiled
	for n := 1; n <= 5; n++ {
		c := load(t, version(n))
		all = append(all, c)
		if err := s.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range all {
		if _, err := s.Get("store-test", i+1, c.Digest); err != nil {
			t.Errorf("v%d: %v", i+1, err)
		}
	}
}
