package labkit

import (
	"sort"
	"time"
)

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

// Snapshot builds the State of the kit and of fakes. Callers hold Mu.
func (k *Kit) Snapshot(fakes []Fake) State {
	st := State{URL: k.URL, ContainedHosts: []ContainedHost{}, SuspendedUsers: []UserState{}, DisabledUsers: []UserState{},
		RevokedSessions: []UserState{}, BlockedIPs: []BlockedIP{}, Tickets: []Ticket{}, Pages: []Page{}, Calls: k.CallsLocked()}
	for _, h := range k.Hosts {
		st.Hosts = append(st.Hosts, HostState{Hostname: h.Name, OS: h.OS, CrowdStrike: "normal", Defender: "not isolated", SentinelOne: "connected"})
	}
	for _, u := range k.Users {
		st.Users = append(st.Users, UserSummary{Login: u.Login, Okta: u.Status, EntraEnabled: u.Status != "DEPROVISIONED"})
	}
	for _, f := range fakes {
		f.Snapshot(&st)
	}
	sort.SliceStable(st.ContainedHosts, func(i, j int) bool { return st.ContainedHosts[i].Since.Before(st.ContainedHosts[j].Since) })
	// Revoked sessions in directory order, then by vendor.
	idx := map[string]int{}
	for _, u := range k.Users {
		idx[u.Login] = u.Index
	}
	sort.SliceStable(st.RevokedSessions, func(i, j int) bool {
		a, b := st.RevokedSessions[i], st.RevokedSessions[j]
		return idx[a.User] < idx[b.User] || (a.User == b.User && a.Vendor < b.Vendor)
	})
	return st
}
