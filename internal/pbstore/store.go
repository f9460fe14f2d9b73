// Package pbstore keeps every playbook version a Riposte process has
// loaded, by digest, so that a run can carry a reference to its playbook
// (name, version, digest) instead of the playbook itself: the worker finds
// the exact version a run was started with, even after the file changed.
//
// Sources are kept in memory and, when the store has a directory, on disk
// as <digest>.yaml (riposte dev: the data dir; serve and worker:
// RIPOSTE_PLAYBOOK_STORE, a directory they share). A worker also adds
// every playbook of its playbooks directory when it starts. Compiled
// playbooks are cached in a bounded LRU.
package pbstore

import (
	"container/list"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/playbook"
	"github.com/riposte-dev/riposte/internal/safefile"
	"github.com/riposte-dev/riposte/internal/yamlx"
)

// DefaultCacheSize bounds the compiled playbooks kept in memory. A compiled
// ten-step playbook is about 140 KB; sites run tens of playbooks, each with
// a few versions in flight.
const DefaultCacheSize = 256

// ErrNotFound is returned (wrapped) for a digest the store does not hold.
var ErrNotFound = errors.New("playbook version not in the store")

var digestRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Store holds playbook sources by digest. It is safe for concurrent use.
type Store struct {
	dir   string
	paths []string
	cat   *catalog.Catalog
	// scanMu serializes scans of the playbook paths; lastScan is when the
	// last one started.
	scanMu   sync.Mutex
	lastScan time.Time
	mu       sync.Mutex
	src      map[string][]byte
	cache    *Cache[*playbook.Compiled]
}

// Options configure New.
type Options struct {
	// Dir persists sources as <digest>.yaml; "" keeps them in memory only.
	Dir string
	// CacheSize bounds the compiled playbooks kept (0 = DefaultCacheSize).
	CacheSize int
	// Paths are playbook files or directories (a worker's playbooks
	// directory, the same one serve loads): scanned at New, and again when
	// a run asks for a digest the store lacks, so a version serve loaded
	// after the worker started is found in the shared directory.
	Paths []string
}

// New returns a store that compiles against the catalog. The directory is
// created when missing.
func New(cat *catalog.Catalog, o Options) (*Store, error) {
	if o.Dir != "" {
		if _, err := CheckDir(o.Dir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(o.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("playbook store: %w", err)
		}
	}
	n := o.CacheSize
	if n <= 0 {
		n = DefaultCacheSize
	}
	s := &Store{dir: o.Dir, paths: o.Paths, cat: cat, src: map[string][]byte{}, cache: NewCache[*playbook.Compiled](n)}
	if len(o.Paths) > 0 {
		if err := s.Scan(); err != nil {
			return s, err
		}
	}
	return s, nil
}

// Dir is the store's directory ("" = memory only).
func (s *Store) Dir() string { return s.dir }

// Scan adds every valid playbook under the store's paths. Invalid files
// are reported, and skipped unless an earlier release validated them
// (playbook.LoadStored: runs in flight may refer to them; serve refuses
// them, so no new run does).
func (s *Store) Scan() error {
	s.scanMu.Lock()
	defer s.scanMu.Unlock()
	s.lastScan = time.Now()
	files, err := playbook.Files(s.paths)
	if err != nil {
		return fmt.Errorf("playbook store: %w", err)
	}
	var errs []error
	for _, f := range files {
		src, err := safefile.ReadFile(f, safefile.MaxSize)
		if err != nil {
			errs = append(errs, playbook.Diagnostics{{File: f, Line: 1, Col: 1, Severity: yamlx.SeverityError, Message: fmt.Sprintf("cannot read file: %v", err)}})
			continue
		}
		c, diags := playbook.LoadBytes(f, src, s.cat)
		if diags != nil {
			if k, _ := playbook.Classify(f, src); k != "" {
				// policy.yaml, riposte.yaml, other tools' YAML beside the
				// playbooks (playbook.Load skips them too); asked only of
				// a file that is not a valid playbook, which decodes once.
				continue
			}
			errs = append(errs, diags)
			// A file an earlier release validated (runs in flight may
			// refer to it) is still kept by digest for them (LoadStored);
			// serve refuses it, so no new run starts with it.
			if old, odiags := playbook.LoadStored(f, src, s.cat); odiags == nil {
				_ = s.Add(old)
			}
			continue
		}
		if err := s.Add(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// rescan scans the paths again; a rescan that started after the caller
// missed is as good as its own, so concurrent misses share one.
func (s *Store) rescan() {
	if len(s.paths) == 0 {
		return
	}
	asked := time.Now()
	s.scanMu.Lock()
	done := s.lastScan.After(asked)
	s.scanMu.Unlock()
	if !done {
		_ = s.Scan()
	}
}

// Add keeps a loaded playbook (its Source) under its digest, on disk too.
// Adding a digest twice is a no-op.
func (s *Store) Add(c *playbook.Compiled) error {
	if c == nil || len(c.Source) == 0 {
		return fmt.Errorf("playbook store: %s has no source to keep", name(c))
	}
	if playbook.Digest(c.Source) != c.Digest {
		return fmt.Errorf("playbook store: %s: source does not match its digest %s", name(c), c.Digest)
	}
	s.mu.Lock()
	_, had := s.src[c.Digest]
	if !had {
		s.src[c.Digest] = c.Source
	}
	s.mu.Unlock()
	s.cache.Add(c.Digest, c)
	if had || s.dir == "" {
		return nil
	}
	path := s.path(c.Digest)
	if src, err := safefile.ReadFile(path, safefile.MaxSize); err == nil && playbook.Digest(src) == c.Digest {
		return nil
	}
	// Missing, or not this source (a write a crash cut short, a hand
	// edit): replace it. WriteFile syncs before it returns, so a run
	// started once Add returned finds its version after a power loss.
	if err := safefile.WriteFile(path, c.Source, 0o644); err != nil {
		return fmt.Errorf("playbook store: %s: %w", name(c), err)
	}
	return nil
}

// AddSet keeps every playbook of a set.
func (s *Store) AddSet(set *playbook.Set) error {
	if set == nil {
		return nil
	}
	var errs []error
	for _, c := range set.Playbooks {
		if err := s.Add(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Get returns the compiled playbook with the digest, checking that it is
// the named version. A digest the store does not hold is ErrNotFound.
func (s *Store) Get(name string, version int, digest string) (*playbook.Compiled, error) {
	if !digestRE.MatchString(digest) {
		return nil, fmt.Errorf("playbook %s v%d: %q is not a playbook digest (sha256, 64 hex digits)", name, version, digest)
	}
	c, ok := s.cache.Get(digest)
	if !ok {
		src, err := s.source(digest)
		if err != nil {
			return nil, fmt.Errorf("playbook %s v%d (digest %s): %w", name, version, digest, err)
		}
		var diags playbook.Diagnostics
		// Stored: a version an earlier release validated (and may have
		// started runs with) is not refused by a check added since.
		c, diags = playbook.LoadStored(name+".yaml", src, s.cat)
		if diags != nil {
			// The catalog of this worker lacks an action, or the parser
			// changed: the version cannot run here.
			return nil, fmt.Errorf("playbook %s v%d (digest %s) no longer compiles on this worker: %w", name, version, digest, diags)
		}
		s.cache.Add(digest, c)
	}
	if c.Playbook.Name != name || c.Playbook.Version != version {
		return nil, fmt.Errorf("digest %s is playbook %s v%d, not %s v%d", digest, c.Playbook.Name, c.Playbook.Version, name, version)
	}
	return c, nil
}

// source returns the source with the digest: from memory, else from the
// directory (verified against the digest).
func (s *Store) source(digest string) ([]byte, error) {
	lookup := func() ([]byte, bool) {
		s.mu.Lock()
		src, ok := s.src[digest]
		s.mu.Unlock()
		if ok {
			return src, true
		}
		return s.fromDir(digest)
	}
	if src, ok := lookup(); ok {
		return src, nil
	}
	// A version loaded elsewhere after this process started.
	s.rescan()
	if src, ok := lookup(); ok {
		return src, nil
	}
	if s.dir == "" && len(s.paths) == 0 {
		return nil, fmt.Errorf("%w (this process keeps playbooks in memory only)", ErrNotFound)
	}
	where := []string{}
	if s.dir != "" {
		where = append(where, "store "+s.dir)
	}
	if len(s.paths) > 0 {
		where = append(where, "playbooks "+strings.Join(s.paths, ","))
	}
	return nil, fmt.Errorf("%w (looked in %s)", ErrNotFound, strings.Join(where, "; "))
}

// fromDir reads a source from the store's directory, verified against its
// digest.
func (s *Store) fromDir(digest string) ([]byte, bool) {
	if s.dir == "" {
		return nil, false
	}
	src, err := safefile.ReadFile(s.path(digest), safefile.MaxSize)
	if err != nil || playbook.Digest(src) != digest {
		// Missing, unreadable, or edited by hand: not this version.
		return nil, false
	}
	s.mu.Lock()
	s.src[digest] = src
	s.mu.Unlock()
	return src, true
}

func (s *Store) path(digest string) string { return filepath.Join(s.dir, digest+".yaml") }

func name(c *playbook.Compiled) string {
	if c == nil || c.Playbook == nil {
		return "playbook"
	}
	return fmt.Sprintf("playbook %s v%d", c.Playbook.Name, c.Playbook.Version)
}

// Cache is a bounded least-recently-used map, safe for concurrent use.
type Cache[V any] struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[string]*list.Element
}

type entry[V any] struct {
	key string
	val V
}

// NewCache returns a cache of at most size entries (at least 1).
func NewCache[V any](size int) *Cache[V] {
	return &Cache[V]{max: max(size, 1), ll: list.New(), items: map[string]*list.Element{}}
}

// Get returns the value under key and marks it used.
func (c *Cache[V]) Get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.MoveToFront(e)
		return e.Value.(*entry[V]).val, true
	}
	var zero V
	return zero, false
}

// Add stores the value, evicting the least recently used beyond the bound.
func (c *Cache[V]) Add(key string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		e.Value.(*entry[V]).val = v
		c.ll.MoveToFront(e)
		return
	}
	c.items[key] = c.ll.PushFront(&entry[V]{key: key, val: v})
	for c.ll.Len() > c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.items, old.Value.(*entry[V]).key)
	}
}

// Len is the number of entries.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
