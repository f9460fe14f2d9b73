package lab

import (
	"fmt"
	"sort"
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

type host struct {
	name, os, fqdn string
	lastSeen       time.Time

	csID       string
	csStatus   string // normal, contained
	csSince    time.Time
	defID      string
	defActions []*defAction
	defSince   time.Time
	s1ID       string
	s1Network  string // connected, disconnected
	s1Since    time.Time
}

// defIsolated reports whether the latest isolation action is an Isolate.
func (h *host) defIsolated() bool {
	for i := len(h.defActions) - 1; i >= 0; i-- {
		switch h.defActions[i].Type {
		case "Isolate":
			return true
		case "Unisolate":
			return false
		}
	}
	return false
}

type user struct {
	login, first, last string

	oktaID        string
	oktaStatus    string
	oktaSessions  int
	oktaChangedAt time.Time
	entraID       string
	entraEnabled  bool
	entraSince    time.Time
	entraValid    time.Time // signInSessionsValidFromDateTime
	entraSessions int
	revokedAt     map[string]time.Time // vendor -> sessions revoked at
}

func (l *Lab) seed() {
	now := time.Now().UTC().Truncate(time.Second)
	for i, s := range seedHosts {
		fqdn := s.name
		if s.domain != "" {
			fqdn = s.name + "." + s.domain
		}
		l.hosts = append(l.hosts, &host{
			name: s.name, os: s.os, fqdn: fqdn, lastSeen: now.Add(-time.Duration(i+1) * time.Minute),
			csID: stableID("cs:"+s.name, 32), csStatus: "normal",
			defID: stableID("def:"+s.name, 40),
			s1ID:  fmt.Sprint(1700000000000000000 + int64(i)*7919), s1Network: "connected",
		})
	}
	for _, s := range seedUsers {
		l.users = append(l.users, &user{
			login: s.login, first: s.first, last: s.last,
			oktaID: "00u" + stableID("okta:"+s.login, 17), oktaStatus: s.status, oktaSessions: 2,
			entraID:      guid("entra:" + s.login),
			entraEnabled: s.status != "DEPROVISIONED", entraValid: now.Add(-72 * time.Hour), entraSessions: 2,
			revokedAt: map[string]time.Time{},
		})
	}
	l.panos = map[string]*registration{}
	l.panoramaOwn = map[string]*registration{}
	l.panoramaFW = map[string]map[string]*registration{}
	l.jira = newJiraState()
	l.aws = newAWSState()
	l.pd = map[string]*Page{}
}

// AddHosts adds hosts every EDR fake knows (Windows, corp.example.com), for
// bursts of detections on distinct hosts; names already known are skipped.
func (l *Lab) AddHosts(names ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	known := make(map[string]bool, len(l.hosts))
	for _, h := range l.hosts {
		known[strings.ToLower(h.name)] = true
	}
	now := time.Now().UTC().Truncate(time.Second)
	for _, name := range names {
		if known[strings.ToLower(name)] {
			continue
		}
		known[strings.ToLower(name)] = true
		i := len(l.hosts)
		l.hosts = append(l.hosts, &host{
			name: name, os: "Windows", fqdn: name + ".corp.example.com", lastSeen: now.Add(-time.Minute),
			csID: stableID("cs:"+name, 32), csStatus: "normal",
			defID: stableID("def:"+name, 40),
			s1ID:  fmt.Sprint(1700000000000000000 + int64(i)*7919), s1Network: "connected",
		})
	}
}

func guid(seed string) string {
	h := stableID(seed, 32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (l *Lab) hostByName(name string) *host {
	for _, h := range l.hosts {
		if strings.EqualFold(h.name, name) {
			return h
		}
	}
	return nil
}

// State is a JSON-able snapshot of what the fakes hold.
type State struct {
	URL             string          `json:"url"`
	ContainedHosts  []ContainedHost `json:"contained_hosts"`
	SuspendedUsers  []UserState     `json:"suspended_users"`
	DisabledUsers   []UserState     `json:"disabled_users"`
	RevokedSessions []UserState     `json:"revoked_sessions"`
	BlockedIPs      []BlockedIP     `json:"blocked_ips"`
	Tickets         []Ticket        `json:"tickets"`
	Pages           []Page          `json:"pages"`
	Calls           []Call          `json:"calls"`
	Hosts           []HostState     `json:"hosts"`
	Users           []UserSummary   `json:"users"`
}

// ContainedHost is a host one EDR holds contained/isolated/disconnected.
type ContainedHost struct {
	Vendor   string    `json:"vendor"`
	Hostname string    `json:"hostname"`
	ID       string    `json:"id"`
	Since    time.Time `json:"since"`
}

// UserState is a user in a notable state at one identity provider.
type UserState struct {
	Vendor string    `json:"vendor"`
	User   string    `json:"user"`
	ID     string    `json:"id"`
	Since  time.Time `json:"since"`
}

// BlockedIP is an IP registered with tags on the PAN-OS fake.
type BlockedIP struct {
	IP    string    `json:"ip"`
	Tags  []string  `json:"tags"`
	Since time.Time `json:"since"`
}

// Ticket is a Jira issue with its comments.
type Ticket struct {
	ID          string    `json:"id"`
	Key         string    `json:"key"`
	Project     string    `json:"project"`
	Type        string    `json:"type"`
	Summary     string    `json:"summary"`
	Description string    `json:"description"`
	Labels      []string  `json:"labels"`
	Comments    []Comment `json:"comments"`
	Created     time.Time `json:"created"`
}

// Comment is a Jira comment (ADF flattened to text).
type Comment struct {
	ID         string         `json:"id"`
	Body       string         `json:"body"`
	Properties map[string]any `json:"properties,omitempty"`
	Created    time.Time      `json:"created"`
}

// Page is a PagerDuty alert (events with one dedup key).
type Page struct {
	DedupKey string         `json:"dedup_key"`
	Summary  string         `json:"summary"`
	Source   string         `json:"source"`
	Severity string         `json:"severity"`
	Status   string         `json:"status"` // triggered, acknowledged, resolved
	Events   int            `json:"events"`
	Details  map[string]any `json:"details,omitempty"`
	Created  time.Time      `json:"created"`
}

// HostState is one seeded host as each EDR fake sees it.
type HostState struct {
	Hostname    string `json:"hostname"`
	OS          string `json:"os"`
	CrowdStrike string `json:"crowdstrike"` // normal / contained
	Defender    string `json:"defender"`    // isolated / not isolated
	SentinelOne string `json:"sentinelone"` // connected / disconnected
}

// UserSummary is one seeded user as each identity fake sees it.
type UserSummary struct {
	Login        string `json:"login"`
	Okta         string `json:"okta"`
	OktaSessions int    `json:"okta_sessions"`
	EntraEnabled bool   `json:"entra_enabled"`
}

// State returns a snapshot of every fake's state and the recorded calls.
func (l *Lab) State() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := State{URL: l.url, ContainedHosts: []ContainedHost{}, SuspendedUsers: []UserState{}, DisabledUsers: []UserState{},
		RevokedSessions: []UserState{}, BlockedIPs: []BlockedIP{}, Tickets: []Ticket{}, Pages: []Page{}, Calls: append([]Call{}, l.calls...)}
	for _, h := range l.hosts {
		hs := HostState{Hostname: h.name, OS: h.os, CrowdStrike: h.csStatus, Defender: "not isolated", SentinelOne: h.s1Network}
		if h.csStatus == "contained" {
			st.ContainedHosts = append(st.ContainedHosts, ContainedHost{Vendor: CrowdStrike, Hostname: h.name, ID: h.csID, Since: h.csSince})
		}
		if h.defIsolated() {
			hs.Defender = "isolated"
			st.ContainedHosts = append(st.ContainedHosts, ContainedHost{Vendor: Defender, Hostname: h.fqdn, ID: h.defID, Since: h.defSince})
		}
		if h.s1Network == "disconnected" {
			st.ContainedHosts = append(st.ContainedHosts, ContainedHost{Vendor: SentinelOne, Hostname: h.name, ID: h.s1ID, Since: h.s1Since})
		}
		st.Hosts = append(st.Hosts, hs)
	}
	for _, u := range l.users {
		if u.oktaStatus == "SUSPENDED" {
			st.SuspendedUsers = append(st.SuspendedUsers, UserState{Vendor: Okta, User: u.login, ID: u.oktaID, Since: u.oktaChangedAt})
		}
		if !u.entraEnabled {
			st.DisabledUsers = append(st.DisabledUsers, UserState{Vendor: Entra, User: u.login, ID: u.entraID, Since: u.entraSince})
		}
		for _, v := range sortedKeys(u.revokedAt) {
			st.RevokedSessions = append(st.RevokedSessions, UserState{Vendor: v, User: u.login, ID: map[string]string{Okta: u.oktaID, Entra: u.entraID}[v], Since: u.revokedAt[v]})
		}
		st.Users = append(st.Users, UserSummary{Login: u.login, Okta: u.oktaStatus, OktaSessions: u.oktaSessions, EntraEnabled: u.entraEnabled})
	}
	for _, ip := range sortedKeys(l.panos) {
		reg := l.panos[ip]
		if len(reg.tags) == 0 {
			continue
		}
		st.BlockedIPs = append(st.BlockedIPs, BlockedIP{IP: ip, Tags: sortedKeys(reg.tags), Since: reg.since})
	}
	for _, is := range l.jira.issues {
		t := Ticket{ID: is.id, Key: is.key, Project: is.project, Type: is.issueType, Summary: is.summary,
			Description: adfText(is.description), Labels: append([]string{}, is.labels...), Comments: []Comment{}, Created: is.created}
		for _, c := range is.comments {
			t.Comments = append(t.Comments, Comment{ID: c.id, Body: adfText(c.body), Properties: c.props, Created: c.created})
		}
		st.Tickets = append(st.Tickets, t)
	}
	for _, k := range l.pdOrder {
		st.Pages = append(st.Pages, *l.pd[k])
	}
	sort.SliceStable(st.ContainedHosts, func(i, j int) bool { return st.ContainedHosts[i].Since.Before(st.ContainedHosts[j].Since) })
	return st
}
