// Package defender is the Microsoft Defender for Endpoint connector: machine
// isolation (isolate_machine, undone by unisolate_machine) with an Entra
// app's client-credentials token, on the most recently seen machine of the
// name and never on a guess between machines of different names. Its README
// cites the vendor documentation the code and the fake (fake.go) follow.
package defender

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
)

// Microsoft Defender for Endpoint: isolate / release a machine found by
// its DNS name. Auth is an Entra client-credentials token for the Defender
// API scope.

// Type is the defender connection type: what a connection needs in riposte.yaml.
var Type = connector.EntraAppType("defender", "Microsoft Defender for Endpoint API (Entra app with Machine.Isolate and Machine.Read.All).",
	"https://api.securitycenter.microsoft.com", "https://api.securitycenter.microsoft.com/.default")

// docs is the connector's docs fragment (docs/actions.md is generated
// from it).
//
//go:embed README.md
var docs string

// Connector is this vendor's line in the registry (activities/connections.go).
func Connector() connector.Vendor {
	return connector.Vendor{Docs: docs, Type: Type, Definitions: Definitions, Check: check,
		Needs: "application permissions Machine.Read.All and Machine.Isolate (WindowsDefenderATP API)"}
}

func Definitions() []connector.Definition {
	params := []catalog.Param{
		{Name: "hostname", Type: catalog.TypeString, Required: true, Description: "Machine DNS name (computerDnsName), short or fully qualified. A short name matching machines in several DNS domains fails: give the FQDN."},
		{Name: "isolation_type", Type: catalog.TypeString, Description: "Full (default) or Selective (keeps Outlook, Teams and Skype working). Ignored when releasing. Full asked while a Selective isolation is in place or pending fails without sending anything (Defender isolates a machine once); Selective asked while Full is in place is already done.", Enum: []string{"Full", "Selective"}},
		{Name: "comment", Type: catalog.TypeString, Description: "Comment recorded on the machine action (default names the workflow and step); control, bidi and invisible characters are dropped."},
		connector.ConnectionParam("defender"),
	}
	outputs := []catalog.Field{
		{Name: "machine_id", Type: catalog.TypeString, Description: "Defender machine id."},
		{Name: "hostname", Type: catalog.TypeString, Description: "computerDnsName of the machine."},
		{Name: "action_id", Type: catalog.TypeString, Description: "Id of the machine action created (empty when already)."},
		{Name: "status", Type: catalog.TypeString, Description: "Status of the machine action: Pending, InProgress, Succeeded…"},
		{Name: "already", Type: catalog.TypeBool, Description: "True when the machine was already (being) isolated/released, so nothing new was sent."},
		connector.ConnectionOutput(),
	}
	return connector.Undoable{Type: Type, Label: "Defender for Endpoint", Params: params, Outputs: outputs,
		Do: connector.Half{Name: "defender.isolate_machine", Description: "Isolates a machine from the network with Microsoft Defender for Endpoint. A machine already isolated, or with an isolation in progress, is left as is.",
			Run: func(ctx context.Context, c *connector.Conn) (map[string]any, error) { return defenderAct(ctx, c, true) }},
		Undo: connector.Half{Name: "defender.unisolate_machine", Description: "Releases a machine from Microsoft Defender for Endpoint isolation. A machine that is not isolated is left as is.",
			Run: func(ctx context.Context, c *connector.Conn) (map[string]any, error) {
				return defenderAct(ctx, c, false)
			}},
	}.Definitions()
}

type defMachine struct {
	ID              string `json:"id"`
	ComputerDNSName string `json:"computerDnsName"`
	LastSeen        string `json:"lastSeen"`
}

type defAction struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Scope    string `json:"scope"` // Full or Selective, for an Isolate
	Status   string `json:"status"`
	Created  string `json:"creationDateTimeUtc"`
	MachineI string `json:"machineId"`
}

func defenderAct(ctx context.Context, c *connector.Conn, isolate bool) (map[string]any, error) {
	host, err := connector.RequireHostname(c.Call)
	if err != nil {
		return nil, err
	}
	isoType, err := connector.OptString(c.Call, "isolation_type", "Full")
	if err != nil {
		return nil, err
	}
	if isoType != "Full" && isoType != "Selective" {
		return nil, connector.InvalidParam("%s: isolation_type must be Full or Selective, got %q", c.Call.Action, isoType)
	}
	verb, kind := "isolating", "Isolate"
	if !isolate {
		verb, kind = "releasing", "Unisolate"
	}
	defComment := fmt.Sprintf("Riposte: %s by workflow %s step %s", strings.ToLower(kind), c.Call.WorkflowID, c.Call.StepID)
	comment, err := connector.OptString(c.Call, "comment", defComment)
	if err != nil {
		return nil, err
	}
	// Shown in the portal's action center; playbooks quote the detection
	// in it: no control, bidi or invisible characters (connector.ShownText),
	// and the default when nothing else is left (Defender requires one).
	if comment = connector.ShownText(comment); strings.TrimSpace(comment) == "" {
		comment = defComment
	}
	wrap := func(err error) error { return fmt.Errorf("%s machine %s: %w", verb, host, err) }
	if err := c.UseEntraApp(); err != nil {
		return nil, wrap(err)
	}
	m, err := defenderFind(ctx, c, host)
	if err != nil {
		return nil, wrap(err)
	}
	out := map[string]any{"machine_id": m.ID, "hostname": m.ComputerDNSName, "action_id": "", "status": "", "already": false}

	// Check the current state first. Defender sometimes accepts a duplicate
	// isolation and leaves it pending, to complete after a later release.
	last, err := defenderLastIsolation(ctx, c, m.ID)
	if err != nil {
		return nil, wrap(err)
	}
	// With no isolation history at all the release is still sent: the
	// machine may have been isolated before the history's retention.
	if last != nil && isolate && last.Type == "Isolate" && weakerScope(last.Scope, isoType) {
		return nil, wrap(selectiveInPlace(c, m.ID, last))
	}
	if last != nil && ((isolate && last.Type == "Isolate") || (!isolate && last.Type == "Unisolate")) {
		out["already"] = true
		out["action_id"], out["status"] = last.ID, last.Status
		c.LogAction("machine already in wanted state; nothing sent", "hostname", host, "machine_id", m.ID)
		return out, nil
	}

	body := map[string]any{"Comment": comment}
	path := "/api/machines/" + url.PathEscape(m.ID) + "/unisolate"
	if isolate {
		body["IsolationType"] = isoType
		path = "/api/machines/" + url.PathEscape(m.ID) + "/isolate"
	}
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodPost, Path: path, JSON: body})
	if err != nil {
		return nil, wrap(err)
	}
	if !resp.OK() {
		code, msg := connector.MSError(resp.Body)
		if resp.Status == http.StatusBadRequest && (code == "ActiveRequestAlreadyExists" || strings.Contains(strings.ToLower(msg), "already in progress")) {
			// Only an action of the same kind in progress means done; an
			// opposite one (an Unisolate pending while isolating) means the
			// machine is about to end up the other way.
			pending, err := defenderPendingIsolation(ctx, c, m.ID)
			if err != nil {
				return nil, wrap(err)
			}
			if pending != nil && isolate && pending.Type == kind && weakerScope(pending.Scope, isoType) {
				return nil, wrap(selectiveInPlace(c, m.ID, pending))
			}
			if pending != nil && pending.Type == kind {
				out["already"] = true
				out["action_id"], out["status"] = pending.ID, pending.Status
				c.LogAction("same action already in progress; treated as done", "hostname", host, "machine_id", m.ID, "action_id", pending.ID)
				return out, nil
			}
			other := "another action"
			if pending != nil {
				other = fmt.Sprintf("a %s action (%s, %s)", pending.Type, pending.ID, pending.Status)
			}
			f := connector.NewFailure(connector.KindUnavailable, fmt.Sprintf("%s refused the %s: %s is in progress on the machine; retrying once it completes", c.Where(), kind, other))
			f.Delay = defenderPendingRetry
			return nil, wrap(f)
		}
		return nil, wrap(c.StatusError(resp, msg, "machine "+host+" ("+m.ID+") not found"))
	}
	var a defAction
	if err := c.DecodeJSON(resp, &a); err != nil {
		return nil, wrap(err)
	}
	if strings.TrimSpace(a.ID) == "" {
		// Defender answers 201 with the MachineAction created, id included
		// ("Isolate machine", "Release device from isolation"): without it
		// the answer is someone else's, and no action is known to follow.
		return nil, wrap(connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s answered HTTP %d without a machine action id (%s); check base_url and any proxy", c.Where(), resp.Status, connector.Snippet(resp.Body))))
	}
	out["action_id"], out["status"] = a.ID, a.Status
	c.LogAction("sent machine action", "hostname", host, "machine_id", m.ID, "type", kind, "action_id", a.ID)
	return out, nil
}

// weakerScope reports whether an isolation of scope in place (a
// MachineAction's scope) is weaker than the one asked: Selective lets
// Outlook, Teams and Skype through, so it does not stand for Full.
func weakerScope(inPlace, asked string) bool {
	return asked == "Full" && strings.EqualFold(inPlace, "Selective")
}

// selectiveInPlace is the failure of a Full isolation asked while a
// Selective one is in place or pending: not done, and not to be sent,
// since Defender isolates a machine once ("already in progress").
func selectiveInPlace(c *connector.Conn, machineID string, a *defAction) error {
	return connector.NewFailure(connector.KindRejected, fmt.Sprintf(
		"machine %s is under Selective isolation in %s (action %s, %s), which lets Outlook, Teams and Skype through; Full isolation was asked and Defender isolates a machine only once: nothing was sent. Release it (defender.unisolate_machine) and isolate it again, or ask for Selective",
		machineID, c.Where(), a.ID, a.Status))
}

// defenderFind looks a machine up by DNS name: exact first, then a short
// name against fully qualified names. Records of one name (a machine
// re-onboarded keeps its old record) resolve to the one seen last; a short
// name matching machines of different names (web01.corp… and web01.dmz…)
// fails: the detection does not say which machine it means.
func defenderFind(ctx context.Context, c *connector.Conn, host string) (defMachine, error) {
	filters := []string{fmt.Sprintf("computerDnsName eq '%s'", strings.ToLower(host))}
	if !strings.Contains(host, ".") {
		filters = append(filters, fmt.Sprintf("startswith(computerDnsName,'%s.')", strings.ToLower(host)))
	}
	for _, f := range filters {
		resp, err := c.Do(ctx, connector.Request{Method: http.MethodGet, Path: "/api/machines", Query: url.Values{"$filter": {f}}})
		if err != nil {
			return defMachine{}, err
		}
		if resp.Status == http.StatusNotFound {
			// "If there are no recent machines, you see 404 Not Found"
			// (List machines API): no match for this filter, try the next.
			continue
		}
		if !resp.OK() {
			return defMachine{}, c.MSStatusError(resp, "host "+host+" not found")
		}
		var list struct {
			Value []defMachine `json:"value"`
		}
		if err := c.DecodeJSON(resp, &list); err != nil {
			return defMachine{}, err
		}
		// The latest record of each distinct (lower-case) name.
		latest := map[string]*defMachine{}
		for i := range list.Value {
			m := &list.Value[i]
			name := strings.ToLower(m.ComputerDNSName)
			if name != strings.ToLower(host) && !strings.HasPrefix(name, strings.ToLower(host)+".") {
				continue
			}
			if strings.TrimSpace(m.ID) == "" {
				// Every machine of "List machines API" has its id, which
				// every action is sent to: an entry without one is not a
				// machine to act on (/api/machines//isolate).
				return defMachine{}, connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s answered HTTP %d with machine %s without an id (%s); check base_url and any proxy", c.Where(), resp.Status, m.ComputerDNSName, connector.Snippet(resp.Body)))
			}
			if best := latest[name]; best == nil || parseMSTime(m.LastSeen).After(parseMSTime(best.LastSeen)) {
				latest[name] = m
			}
		}
		switch len(latest) {
		case 0:
			continue
		case 1:
			for _, m := range latest {
				return *m, nil
			}
		}
		names := make([]string, 0, len(latest))
		for name := range latest {
			names = append(names, name)
		}
		sort.Strings(names)
		return defMachine{}, connector.NewFailure(connector.KindInvalidParams, fmt.Sprintf(
			"host name %s is ambiguous in %s: it matches %d machines (%s); nothing was sent, give the machine's FQDN (computerDnsName)",
			host, c.Where(), len(names), strings.Join(names, ", ")))
	}
	return defMachine{}, connector.NewFailure(connector.KindNotFound, fmt.Sprintf("host %s not found in %s", host, c.Where()))
}

// defenderActionsPage is the page size asked of List MachineActions (at
// most 10,000: "Limitations"); 1,000 entities stay far below the 4 MiB an
// answer is read to. defenderActionPages bounds the pages read (50,000
// actions on one machine): past it the step fails rather than decide on
// part of the history.
var defenderActionsPage = 1000 // a test pages by 2 (SetActionsPage)

const (
	defenderActionPages  = 50
	defenderActionsRoute = "/api/machineactions"
)

// defenderMachineActions lists the machine's actions (GET
// /api/machineactions filtered by machineId), every page: it follows
// @odata.nextLink (OData V4 server paging), else asks the next $skip while
// pages come back full. A 404 to any page fails as an answer that is not
// the API's (VendorError): List MachineActions answers 200 with a
// collection, empty when the filter matches no action. An
// Isolate or Unisolate without its id or its machineId, or an action of another machine, is not Defender's
// answer for this machine: it fails (rule 4), never "already" with an
// empty action_id, or on an action of another machine or of none.
func defenderMachineActions(ctx context.Context, c *connector.Conn, machineID string) ([]defAction, error) {
	filter := fmt.Sprintf("machineId eq '%s'", strings.ReplaceAll(machineID, "'", "''"))
	query := url.Values{"$filter": {filter}, "$top": {fmt.Sprint(defenderActionsPage)}}
	skip := 0
	var all []defAction
	for page := 0; ; page++ {
		if page == defenderActionPages {
			return nil, connector.NewFailure(connector.KindVendorError, fmt.Sprintf(
				"%s: the action history of machine %s has more than %d pages (%d actions read); this step created no action: check base_url and any proxy, or the machine's actions in the action center",
				c.Where(), machineID, defenderActionPages, len(all)))
		}
		resp, err := c.Do(ctx, connector.Request{Method: http.MethodGet, Path: defenderActionsRoute, Query: query})
		if err != nil {
			return nil, err
		}
		if resp.Status == http.StatusNotFound {
			// List MachineActions answers 200 with a collection, empty
			// when the filter matches no action, and ends it with a page
			// without @odata.nextLink (or short of $top): it documents no
			// 404 (only Get machineAction, by id, does). A 404 is neither
			// "no action" (a pending one would go unread), nor the end of
			// the history (the latest Isolate may be on a later page), nor
			// the machine missing (it was just found): the answer is not
			// the API's.
			asked, _ := url.QueryUnescape(query.Encode())
			return nil, connector.NewFailure(connector.KindVendorError, fmt.Sprintf(
				"%s answered HTTP 404 to page %d of the action history of machine %s (GET %s?%s; %d actions read; %s): List MachineActions answers 200 with a collection, empty when no action matches, and ends it with a page without @odata.nextLink, never a 404; check base_url and any proxy: this step created no action",
				c.Where(), page+1, machineID, defenderActionsRoute, asked, len(all), connector.Snippet(resp.Body)))
		}
		if !resp.OK() {
			return nil, c.MSStatusError(resp, "")
		}
		var list struct {
			Value    []defAction `json:"value"`
			NextLink string      `json:"@odata.nextLink"`
		}
		if err := c.DecodeJSON(resp, &list); err != nil {
			return nil, err
		}
		for _, a := range list.Value {
			// Every MachineAction names its machine; one of another
			// machine (a next page whose link dropped the filter) is not
			// this machine's history: its Isolate would read as this
			// machine already isolated.
			if a.MachineI != "" && !strings.EqualFold(a.MachineI, machineID) {
				return nil, connector.NewFailure(connector.KindVendorError, fmt.Sprintf(
					"%s answered the action history of machine %s with an action of another machine (%s %s of %s); check base_url and any proxy: this step created no action",
					c.Where(), machineID, a.Type, a.ID, a.MachineI))
			}
			if (a.Type == "Isolate" || a.Type == "Unisolate") && strings.TrimSpace(a.ID) == "" {
				return nil, connector.NewFailure(connector.KindVendorError, fmt.Sprintf(
					"%s answered HTTP %d with an %s action of machine %s without an id (%s); check base_url and any proxy: this step created no action",
					c.Where(), resp.Status, a.Type, machineID, connector.Snippet(resp.Body)))
			}
			if (a.Type == "Isolate" || a.Type == "Unisolate") && strings.TrimSpace(a.MachineI) == "" {
				// "ID of the machine on which the action was executed"
				// (MachineAction): one naming no machine is not known to
				// be this machine's, and would read as already done.
				return nil, connector.NewFailure(connector.KindVendorError, fmt.Sprintf(
					"%s answered the action history of machine %s with an %s action %s without a machineId (%s); check base_url and any proxy: this step created no action",
					c.Where(), machineID, a.Type, a.ID, connector.Snippet(resp.Body)))
			}
		}
		all = append(all, list.Value...)
		skip += len(list.Value)
		switch {
		case list.NextLink != "":
			// The next page, asked below the connection's base URL (the
			// token goes nowhere else): only the link's query is taken.
			next, err := url.Parse(list.NextLink)
			if err != nil || !strings.HasSuffix(strings.TrimRight(next.Path, "/"), defenderActionsRoute) {
				return nil, connector.NewFailure(connector.KindVendorError, fmt.Sprintf(
					"%s answered an @odata.nextLink that is not a next page of %s (%q); check base_url and any proxy: this step created no action",
					c.Where(), defenderActionsRoute, list.NextLink))
			}
			query = next.Query()
		case len(list.Value) >= defenderActionsPage:
			query = url.Values{"$filter": {filter}, "$top": {fmt.Sprint(defenderActionsPage)}, "$skip": {fmt.Sprint(skip)}}
		default:
			return all, nil
		}
	}
}

// defenderLastIsolation returns the latest Isolate/Unisolate action of the
// machine that did not fail, if any.
func defenderLastIsolation(ctx context.Context, c *connector.Conn, machineID string) (*defAction, error) {
	all, err := defenderMachineActions(ctx, c, machineID)
	if err != nil {
		return nil, err
	}
	var acts []defAction
	for _, a := range all {
		if a.Type != "Isolate" && a.Type != "Unisolate" {
			continue
		}
		switch a.Status {
		case "Failed", "Cancelled", "TimeOut":
			continue
		}
		acts = append(acts, a)
	}
	if len(acts) == 0 {
		return nil, nil
	}
	sort.SliceStable(acts, func(i, j int) bool { return parseMSTime(acts[i].Created).Before(parseMSTime(acts[j].Created)) })
	last := acts[len(acts)-1]
	return &last, nil
}

func parseMSTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// defenderPendingRetry is how long to wait before retrying an isolation
// refused because another one is in progress: devices pick actions up
// within minutes.
const defenderPendingRetry = 30 * time.Second

// defenderPendingIsolation returns the machine's Isolate or Unisolate
// action still Pending or InProgress, if any (MachineAction status enum:
// Pending, InProgress, Succeeded, Failed, TimeOut, Cancelled).
func defenderPendingIsolation(ctx context.Context, c *connector.Conn, machineID string) (*defAction, error) {
	list, err := defenderMachineActions(ctx, c, machineID)
	if err != nil {
		return nil, err
	}
	var latest *defAction
	for i := range list {
		a := &list[i]
		if (a.Type == "Isolate" || a.Type == "Unisolate") && (a.Status == "Pending" || a.Status == "InProgress") {
			if latest == nil || parseMSTime(a.Created).After(parseMSTime(latest.Created)) {
				latest = a
			}
		}
	}
	return latest, nil
}

// check fetches a token and lists one machine (404: none yet, still ok).
func check(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	if err := c.UseEntraApp(); err != nil {
		return nil, err
	}
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodGet, Path: "/api/machines", Query: url.Values{"$top": {"1"}}})
	if err != nil {
		return nil, err
	}
	if !resp.OK() && resp.Status != http.StatusNotFound {
		return nil, c.MSStatusError(resp, "")
	}
	return map[string]any{"detail": "token and Machine.Read.All ok (Machine.Isolate is only checked by isolating)"}, nil
}
