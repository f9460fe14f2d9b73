package labkit

import (
	"strings"
	"time"
)

// Seed inventory: the hosts and users of the examples in examples/*.json
// plus a few classics. Every EDR fake knows every host; Okta and Entra
// know every user.
var seedHosts = []struct{ name, os, domain string }{
	{"fin-ws-042", "Windows", "corp.example.com"},
	{"web-prod-01", "Linux", ""},
	{"db-prod-02", "Linux", ""},
	{"eng-lt-117", "macOS", "corp.example.com"},
	{"hr-ws-007", "Windows", "corp.example.com"},
	{"ops-ws-011", "Windows", "corp.example.com"},
	{"sales-lt-023", "Windows", "corp.example.com"},
}

var seedUsers = []struct{ login, first, last, status string }{
	{"jdoe@example.com", "Jane", "Doe", "ACTIVE"},
	{"ceo@example.com", "Chris", "Exec", "ACTIVE"},
	{"j.moreau@corp.example.com", "Julie", "Moreau", "ACTIVE"},
	{"a.okafor@corp.example.com", "Ada", "Okafor", "ACTIVE"},
	{"l.nguyen@corp.example.com", "Linh", "Nguyen", "ACTIVE"},
	{"p.schmidt@corp.example.com", "Paul", "Schmidt", "ACTIVE"},
	{"contractor@example.com", "Casey", "Temp", "STAGED"},
	{"former@example.com", "Fran", "Left", "DEPROVISIONED"},
}

// Host is a machine every EDR fake knows; each fake keeps its own state
// of it (agent id, containment) keyed by the *Host.
type Host struct {
	Name, OS, FQDN string
	LastSeen       time.Time
	// Index is the host's position in Kit.Hosts (stable ids, snapshots).
	Index int
}

// User is a directory account every identity fake knows.
type User struct {
	Login, First, Last string
	// Status is the account's lifecycle status when seeded (ACTIVE,
	// STAGED, DEPROVISIONED): Okta's status, Entra's accountEnabled.
	Status string
	Index  int
}

func (k *Kit) seed() {
	now := time.Now().UTC().Truncate(time.Second)
	for i, s := range seedHosts {
		fqdn := s.name
		if s.domain != "" {
			fqdn = s.name + "." + s.domain
		}
		k.Hosts = append(k.Hosts, &Host{Name: s.name, OS: s.os, FQDN: fqdn, LastSeen: now.Add(-time.Duration(i+1) * time.Minute), Index: i})
	}
	for i, s := range seedUsers {
		k.Users = append(k.Users, &User{Login: s.login, First: s.first, Last: s.last, Status: s.status, Index: i})
	}
}

// AddHosts adds hosts every EDR fake knows (Windows, corp.example.com), for
// bursts of detections on distinct hosts; names already known are skipped.
func (k *Kit) AddHosts(names ...string) {
	k.Mu.Lock()
	defer k.Mu.Unlock()
	known := make(map[string]bool, len(k.Hosts))
	for _, h := range k.Hosts {
		known[strings.ToLower(h.Name)] = true
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, name := range names {
		if known[strings.ToLower(name)] {
			continue
		}
		known[strings.ToLower(name)] = true
		k.Hosts = append(k.Hosts, &Host{Name: name, OS: "Windows", FQDN: name + ".corp.example.com", LastSeen: now.Add(-time.Minute), Index: len(k.Hosts)})
	}
}

// AddUser adds an active account to the directory every identity fake
// knows (Okta and Entra ID), as a real site's directory holds the users its
// detections name. Tests replaying real producers' findings use it for the
// accounts those findings mention. Adding a login that exists is a no-op.
func (k *Kit) AddUser(login, first, last string) {
	k.Mu.Lock()
	defer k.Mu.Unlock()
	for _, u := range k.Users {
		if u.Login == login {
			return
		}
	}
	k.Users = append(k.Users, &User{Login: login, First: first, Last: last, Status: "ACTIVE", Index: len(k.Users)})
}

// HostByName finds a host by name, case-insensitively. Callers hold Mu.
func (k *Kit) HostByName(name string) *Host {
	for _, h := range k.Hosts {
		if strings.EqualFold(h.Name, name) {
			return h
		}
	}
	return nil
}

// States returns a fake's own state of each inventory item (a host, a
// user), made by mk the first time the fake sees the item: fakes keep
// their state beside the shared inventory, and items added later
// (AddHosts, AddUser) get theirs on first use. Callers hold Mu.
func States[I comparable, V any](items []I, own map[I]*V, mk func(I) *V) []*V {
	out := make([]*V, len(items))
	for i, it := range items {
		st, ok := own[it]
		if !ok {
			st = mk(it)
			own[it] = st
		}
		out[i] = st
	}
	return out
}
