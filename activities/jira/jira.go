// Package jira is the Jira Cloud connector: create_issue and add_comment on
// REST API v3, text sent as plain ADF paragraphs, and a retried
// create_issue that finds its own issue instead of creating a second one
// although Jira's search is eventually consistent. Its README cites the
// vendor documentation the code and the fake (fake.go) follow.
package jira

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/riposte-dev/riposte/internal/catalog"
	"github.com/riposte-dev/riposte/internal/connector"
)

// Jira Cloud REST API v3: create an issue, add a comment. Text goes in as
// Atlassian Document Format built from plain text only, so nothing in a
// detection can become markup. Both calls are idempotent through a marker
// derived from the step's idempotency key: a label on issues, an entity
// property on comments, searched before creating.

// Type is the jira connection type: what a connection needs in riposte.yaml.
var Type = connector.ConnectionType{
	Name: "jira", Description: "Jira Cloud REST API v3 (base_url is the site, e.g. https://example.atlassian.net).",
	Fields: []connector.ConnectionField{
		{Name: "email", Required: true, Description: "Atlassian account email the API token belongs to.", Example: "soc@example.com"},
		{Name: "api_token", Secret: true, Required: true, Description: "Atlassian API token.", Example: "{file: /run/secrets/jira_token}"},
		{Name: "project", Description: "Default project key for jira.create_issue.", Example: "SEC"},
	},
}

// docs is the connector's docs fragment (docs/actions.md is generated
// from it).
//
//go:embed README.md
var docs string

// Connector is this vendor's line in the registry (activities/connections.go).
func Connector() connector.Vendor {
	return connector.Vendor{Docs: docs, Type: Type, Definitions: Definitions, Check: check,
		Needs: "Browse projects and Create issues / Add comments in the project"}
}

func Definitions() []connector.Definition {
	return []connector.Definition{
		{
			Action: catalog.Action{
				Name: "jira.create_issue", Vendor: "jira", Risk: catalog.RiskNotify, Progress: true, ProgressOptional: true,
				Description: "Creates a Jira issue. The description is plain text (wrapped in ADF paragraphs, never parsed as markup). A retry of the same step returns the issue it already created (found by its riposte-<hash> label).",
				Params: []catalog.Param{
					{Name: "project", Type: catalog.TypeString, Description: "Project key; default: the connection's project."},
					{Name: "summary", Type: catalog.TypeString, Required: true, Description: "Issue summary (one line, at most 255 characters)."},
					{Name: "description", Type: catalog.TypeString, Description: "Plain-text description; blank lines separate paragraphs. Longer than Jira takes (32,767 characters), it is cut to fit, with a closing line saying so."},
					{Name: "issue_type", Type: catalog.TypeString, Description: "Issue type name (default Task)."},
					{Name: "labels", Type: catalog.TypeList, Description: "Labels (spaces become dashes)."},
					connector.ConnectionParam("jira"),
				},
				Outputs: []catalog.Field{
					{Name: "id", Type: catalog.TypeString, Description: "Issue id."},
					{Name: "key", Type: catalog.TypeString, Description: "Issue key, e.g. SEC-42."},
					{Name: "self", Type: catalog.TypeString, Description: "REST URL of the issue."},
					{Name: "url", Type: catalog.TypeString, Description: "Browser URL of the issue."},
					{Name: "label", Type: catalog.TypeString, Description: "The riposte-<hash> label that makes the call idempotent."},
					{Name: "already", Type: catalog.TypeBool, Description: "True when this step had already created the issue."},
					connector.ConnectionOutput(),
				},
			},
			Run: connector.Run(Type, "Jira", false, jiraCreateIssue),
		},
		{
			Action: catalog.Action{
				Name: "jira.add_comment", Vendor: "jira", Risk: catalog.RiskNotify,
				Description: "Adds a plain-text comment to a Jira issue. A retry of the same step does not add it twice.",
				Params: []catalog.Param{
					{Name: "issue", Type: catalog.TypeString, Required: true, Description: "Issue key (SEC-42) or id."},
					{Name: "body", Type: catalog.TypeString, Required: true, Description: "Plain-text comment; blank lines separate paragraphs. Longer than Jira takes (32,767 characters), it is cut to fit, with a closing line saying so."},
					connector.ConnectionParam("jira"),
				},
				Outputs: []catalog.Field{
					{Name: "id", Type: catalog.TypeString, Description: "Comment id."},
					{Name: "issue", Type: catalog.TypeString, Description: "The issue."},
					{Name: "self", Type: catalog.TypeString, Description: "REST URL of the comment."},
					{Name: "already", Type: catalog.TypeBool, Description: "True when this step had already added the comment."},
					connector.ConnectionOutput(),
				},
			},
			Run: connector.Run(Type, "Jira", false, jiraAddComment),
		},
	}
}

const jiraCommentProperty = "riposte"

func jiraError(body []byte) string {
	var e struct {
		Messages []string          `json:"errorMessages"`
		Errors   map[string]string `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	msgs := append([]string(nil), e.Messages...)
	keys := make([]string, 0, len(e.Errors))
	for k := range e.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		msgs = append(msgs, k+": "+e.Errors[k])
	}
	return strings.Join(msgs, "; ")
}

func jiraAuth(c *connector.Conn) error {
	email, err := c.RequireOption("email")
	if err != nil {
		return err
	}
	token, err := c.Secret("api_token")
	if err != nil {
		return err
	}
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(email+":"+token))
	c.AddSecret(basic[len("Basic "):])
	c.UseHeader("Authorization", basic)
	return nil
}

var adfParagraphRe = regexp.MustCompile(`\n[ \t]*\n`)

// adfDoc wraps plain text in an ADF document: paragraphs split on blank
// lines, lines joined by hard breaks, text nodes without marks; control,
// bidi and invisible characters dropped (connector.ShownText).
func adfDoc(text string) map[string]any {
	text = connector.ShownText(text)
	var paras []any
	for _, block := range adfParagraphRe.Split(text, -1) {
		var content []any
		for _, line := range strings.Split(block, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			if len(content) > 0 {
				content = append(content, map[string]any{"type": "hardBreak"})
			}
			content = append(content, map[string]any{"type": "text", "text": line})
		}
		if len(content) > 0 {
			paras = append(paras, map[string]any{"type": "paragraph", "content": content})
		}
	}
	if len(paras) == 0 {
		paras = []any{map[string]any{"type": "paragraph", "content": []any{}}}
	}
	return map[string]any{"type": "doc", "version": 1, "content": paras}
}

// jiraTextMax is Jira Cloud's limit on a description or a comment: over
// it Jira answers 400 "The entered text is too long. It exceeds the
// allowed limit of 32,767 characters." and creates nothing (JRACLOUD-68949,
// JRACLOUD-59124).
const jiraTextMax = 32767

// jiraFits reports whether Jira takes text as a description or comment:
// counted as Java counts (UTF-16 units), both as plain text and as the
// ADF document sent, whichever Jira measures.
func jiraFits(text string) bool {
	if len(utf16.Encode([]rune(text))) > jiraTextMax {
		return false
	}
	b, err := json.Marshal(adfDoc(text))
	return err == nil && len(utf16.Encode([]rune(string(b)))) <= jiraTextMax
}

// jiraDoc is adfDoc for a description or comment: a text longer than Jira
// takes (detection text quoting a process list, a log) is cut to fit, with
// a closing line saying how much was left out, instead of the issue or the
// comment not being created at all.
func jiraDoc(text string) map[string]any {
	text = connector.ShownText(text)
	if jiraFits(text) {
		return adfDoc(text)
	}
	runes := []rune(text)
	cut := func(n int) string {
		return string(runes[:n]) + fmt.Sprintf("…\n\n[Riposte: text cut to fit Jira's limit of %d characters; %d of its %d characters left out.]", jiraTextMax, len(runes)-n, len(runes))
	}
	lo, hi := 0, len(runes)
	for lo < hi { // the longest prefix that fits
		mid := (lo + hi + 1) / 2
		if jiraFits(cut(mid)) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return adfDoc(cut(lo))
}

var jiraProjectRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,49}$`)

func jiraCreateIssue(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	project, err := connector.OptString(c.Call, "project", c.Option("project"))
	if err != nil {
		return nil, err
	}
	if project == "" {
		return nil, connector.InvalidParam("jira.create_issue needs a project: set the project param or the project of connection %q", c.Name)
	}
	if !jiraProjectRe.MatchString(project) {
		return nil, connector.InvalidParam("jira.create_issue: %q is not a project key", project)
	}
	summary, err := connector.RequireString(c.Call, "summary")
	if err != nil {
		return nil, err
	}
	summary = jiraSummary(summary)
	description, err := connector.OptString(c.Call, "description", "")
	if err != nil {
		return nil, err
	}
	issueType, err := connector.OptString(c.Call, "issue_type", "Task")
	if err != nil {
		return nil, err
	}
	labels, err := connector.OptStringList(c.Call, "labels")
	if err != nil {
		return nil, err
	}
	for i, l := range labels {
		labels[i] = strings.Join(strings.Fields(l), "-")
	}
	wrap := func(err error) error { return fmt.Errorf("creating Jira issue in %s: %w", project, err) }
	if err := jiraAuth(c); err != nil {
		return nil, wrap(err)
	}
	out := map[string]any{"already": false, "label": ""}
	marker := ""
	if key := connector.IdemKey(c.Call); key != "" {
		marker = "riposte-" + connector.ShortHash(key, 12)
		out["label"] = marker
		labels = append(labels, marker)
		is, err := jiraFindCreated(ctx, c, project, marker)
		if err != nil {
			return nil, wrap(err)
		}
		if is != nil && strings.TrimSpace(is.Key) == "" {
			// Jira lists every issue it finds with its id, key and self
			// (search/jql, bulkfetch): one without a key is someone else's
			// answer, and no ticket is known.
			return nil, wrap(connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s found an issue labelled %s without an issue key (id %q); check base_url and any proxy", c.Where(), marker, is.ID)))
		}
		if is != nil {
			out["id"], out["key"], out["self"], out["url"], out["already"] = is.ID, is.Key, is.Self, c.BaseURL()+"/browse/"+is.Key, true
			c.LogAction("issue already created by this step", "key", is.Key)
			return out, nil
		}
	}
	fields := map[string]any{
		"project":   map[string]any{"key": project},
		"summary":   summary,
		"issuetype": map[string]any{"name": issueType},
	}
	if strings.TrimSpace(description) != "" {
		fields["description"] = jiraDoc(description)
	}
	if len(labels) > 0 {
		fields["labels"] = labels
	}
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodPost, Path: "/rest/api/3/issue", JSON: map[string]any{"fields": fields}})
	if err != nil {
		return nil, wrap(err)
	}
	if !resp.OK() {
		return nil, wrap(c.StatusError(resp, jiraError(resp.Body), "project "+project+" not found"))
	}
	var created struct {
		ID   string `json:"id"`
		Key  string `json:"key"`
		Self string `json:"self"`
	}
	if err := c.DecodeJSON(resp, &created); err != nil {
		return nil, wrap(err)
	}
	if strings.TrimSpace(created.Key) == "" {
		// Jira answers 201 {"id","key","self"} ("Create issue"): without a
		// key the answer is someone else's, and no ticket is known.
		return nil, wrap(connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s answered HTTP %d without an issue key (%s); check base_url and any proxy", c.Where(), resp.Status, connector.Snippet(resp.Body))))
	}
	out["id"], out["key"], out["self"], out["url"] = created.ID, created.Key, created.Self, c.BaseURL()+"/browse/"+created.Key
	c.LogAction("created issue", "key", created.Key)
	return out, nil
}

var jiraIssueRe = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_]*-[0-9]+|[0-9]+)$`)

func jiraAddComment(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	issue, err := connector.RequireString(c.Call, "issue")
	if err != nil {
		return nil, err
	}
	if !jiraIssueRe.MatchString(issue) {
		return nil, connector.InvalidParam("jira.add_comment: %q is not an issue key or id", issue)
	}
	body, err := connector.RequireString(c.Call, "body")
	if err != nil {
		return nil, err
	}
	wrap := func(err error) error { return fmt.Errorf("commenting on Jira issue %s: %w", issue, err) }
	if err := jiraAuth(c); err != nil {
		return nil, wrap(err)
	}
	notFound := "issue " + issue + " not found"
	out := map[string]any{"issue": issue, "already": false}
	marker := ""
	if key := connector.IdemKey(c.Call); key != "" {
		marker = connector.ShortHash(key, 16)
		id, self, err := jiraFindComment(ctx, c, issue, marker)
		if err != nil {
			return nil, wrap(err)
		}
		if id != "" {
			out["id"], out["self"], out["already"] = id, self, true
			c.LogAction("comment already added by this step", "issue", issue, "comment_id", id)
			return out, nil
		}
	}
	payload := map[string]any{"body": jiraDoc(body)}
	if marker != "" {
		payload["properties"] = []any{map[string]any{"key": jiraCommentProperty, "value": map[string]any{"idempotency_key": marker}}}
	}
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodPost, Path: "/rest/api/3/issue/" + url.PathEscape(issue) + "/comment", JSON: payload})
	if err != nil {
		return nil, wrap(err)
	}
	if !resp.OK() {
		return nil, wrap(c.StatusError(resp, jiraError(resp.Body), notFound))
	}
	var created struct {
		ID   string `json:"id"`
		Self string `json:"self"`
	}
	if err := c.DecodeJSON(resp, &created); err != nil {
		return nil, wrap(err)
	}
	if strings.TrimSpace(created.ID) == "" {
		// Jira answers 201 with the comment and its id ("Add comment").
		return nil, wrap(connector.NewFailure(connector.KindVendorError, fmt.Sprintf("%s answered HTTP %d without a comment id (%s); check base_url and any proxy", c.Where(), resp.Status, connector.Snippet(resp.Body))))
	}
	out["id"], out["self"] = created.ID, created.Self
	c.LogAction("added comment", "issue", issue, "comment_id", created.ID)
	return out, nil
}

// jiraFindComment looks among the issue's latest comments for one carrying
// this step's marker property.
func jiraFindComment(ctx context.Context, c *connector.Conn, issue, marker string) (id, self string, err error) {
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodGet, Path: "/rest/api/3/issue/" + url.PathEscape(issue) + "/comment",
		Query: url.Values{"orderBy": {"-created"}, "maxResults": {"100"}}})
	if err != nil {
		return "", "", err
	}
	if !resp.OK() {
		return "", "", c.StatusError(resp, jiraError(resp.Body), "issue "+issue+" not found")
	}
	var page struct {
		Comments []struct {
			ID string `json:"id"`
		} `json:"comments"`
	}
	if err := c.DecodeJSON(resp, &page); err != nil {
		return "", "", err
	}
	if len(page.Comments) == 0 {
		return "", "", nil
	}
	ids := make([]int64, 0, len(page.Comments))
	for _, cm := range page.Comments {
		n, err := strconv.ParseInt(cm.ID, 10, 64)
		if err != nil {
			// Jira lists every comment with its numeric id ("Get
			// comments"). Skipping one whose id is missing would miss the
			// comment an earlier attempt posted, and post it twice.
			return "", "", connector.NewFailure(connector.KindVendorError, fmt.Sprintf(
				"%s listed a comment without a comment id (%q); check base_url and any proxy: it may be the one this step added, so it is not added again", c.Where(), cm.ID))
		}
		ids = append(ids, n)
	}
	resp, err = c.Do(ctx, connector.Request{Method: http.MethodPost, Path: "/rest/api/3/comment/list", Query: url.Values{"expand": {"properties"}}, JSON: map[string]any{"ids": ids}})
	if err != nil {
		return "", "", err
	}
	if !resp.OK() {
		return "", "", c.StatusError(resp, jiraError(resp.Body), "")
	}
	var list struct {
		Values []struct {
			ID         string `json:"id"`
			Self       string `json:"self"`
			Properties []struct {
				Key   string         `json:"key"`
				Value map[string]any `json:"value"`
			} `json:"properties"`
		} `json:"values"`
	}
	if err := c.DecodeJSON(resp, &list); err != nil {
		return "", "", err
	}
	for _, v := range list.Values {
		for _, p := range v.Properties {
			if p.Key == jiraCommentProperty && p.Value["idempotency_key"] == marker {
				if strings.TrimSpace(v.ID) == "" {
					// This step's comment, answered without the id Jira
					// always sends ("Get comments by IDs"): someone else's
					// answer. Not "none found": that would post it again.
					return "", "", connector.NewFailure(connector.KindVendorError, fmt.Sprintf(
						"%s answered HTTP %d with this step's comment but without a comment id (%s); check base_url and any proxy: the comment is not added again",
						c.Where(), resp.Status, connector.Snippet(resp.Body)))
				}
				return v.ID, v.Self, nil
			}
		}
	}
	return "", "", nil
}

// Idempotent creation under eventual consistency.
//
// Every issue this step creates carries the label riposte-<hash of the
// step's idempotency key>. Search (/rest/api/3/search/jql) has no
// read-after-write consistency (Atlassian, "Search After Write with Search
// And Reconcile": stale for seconds to minutes), so an empty search after
// a lost 201 proves nothing. Reads by key are consistent, and keys of a
// project are handed out in increasing order, so:
//
//  1. Before creating, the step records a watermark: the highest key
//     number search shows for the project (a stale index only lowers it),
//     in the activity's heartbeat details, which the next attempt reads.
//  2. Before creating (on every attempt: a reset workflow runs the step
//     again with the same key), it reads every key above the watermark with POST /rest/api/3/issue/bulkfetch (100 keys a
//     call, consistent) until a page holds no issue, and takes the one
//     carrying its label.
//
// Without a recorded watermark (the first attempt died before its first
// heartbeat, or the step runs as a local activity, which cannot
// heartbeat), the watermark is read again, before the label search: a
// lower one only makes the scan longer. Limit: a gap of 100 or more deleted issues right above the
// watermark ends the scan early.

// jiraWatermark is the progress a create attempt saves before POSTing.
type jiraWatermark struct {
	Project   string `json:"project"`
	Watermark int    `json:"watermark"`
}

type jiraIssueRef struct {
	ID   string `json:"id"`
	Key  string `json:"key"`
	Self string `json:"self"`
}

// jiraScanPages bounds the consistent scan (100 keys a page).
const jiraScanPages = 50

// jiraFindCreated returns the issue an earlier attempt of this step created,
// or nil when none did; before returning nil on a first attempt it saves
// the watermark.
func jiraFindCreated(ctx context.Context, c *connector.Conn, project, marker string) (*jiraIssueRef, error) {
	var saved jiraWatermark
	haveSaved := connector.LoadProgress(ctx, &saved) && strings.EqualFold(saved.Project, project)
	wm := saved.Watermark
	if !haveSaved {
		// Read before the label search, not after: an index that shows an
		// issue an earlier attempt created shows it to the later label
		// search too, and one that does not yet keeps the watermark below
		// it, so the scan reaches it. (Read after, the issue could get
		// indexed in between: missed by the search, below the watermark.)
		// A local activity (workflows.RevLocalRecoverable) never has saved
		// progress and relies on this.
		var err error
		if wm, err = jiraHighestKey(ctx, c, project); err != nil {
			return nil, err
		}
	}
	// The label search is cheap and usually enough once the index caught up.
	var found struct {
		Issues []jiraIssueRef `json:"issues"`
	}
	if err := jiraSearch(ctx, c, fmt.Sprintf("labels = %q ORDER BY created ASC", marker), 1, &found); err != nil {
		return nil, err
	}
	if len(found.Issues) > 0 {
		return &found.Issues[0], nil
	}
	// Scanned on first attempts too: a reset workflow runs the step again
	// with the same idempotency key.
	is, err := jiraScanAbove(ctx, c, project, wm, marker)
	if err != nil || is != nil {
		return is, err
	}
	connector.SaveProgress(ctx, jiraWatermark{Project: project, Watermark: wm})
	return nil, nil
}

func jiraSearch(ctx context.Context, c *connector.Conn, jql string, max int, v any) error {
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodGet, Path: "/rest/api/3/search/jql", Query: url.Values{
		"jql": {jql}, "fields": {"summary"}, "maxResults": {strconv.Itoa(max)},
	}})
	if err != nil {
		return err
	}
	if !resp.OK() {
		return c.StatusError(resp, jiraError(resp.Body), "")
	}
	return c.DecodeJSON(resp, v)
}

// jiraHighestKey is the highest key number search shows for the project
// (0 when it shows none).
func jiraHighestKey(ctx context.Context, c *connector.Conn, project string) (int, error) {
	var res struct {
		Issues []jiraIssueRef `json:"issues"`
	}
	if err := jiraSearch(ctx, c, fmt.Sprintf("project = %q ORDER BY key DESC", project), 1, &res); err != nil {
		return 0, err
	}
	if len(res.Issues) == 0 {
		return 0, nil
	}
	_, num, _ := strings.Cut(res.Issues[0].Key, "-")
	n, _ := strconv.Atoi(num)
	return n, nil
}

// jiraScanAbove reads the project's issues with keys above watermark,
// 100 at a time, until a page holds none, looking for the marker label.
func jiraScanAbove(ctx context.Context, c *connector.Conn, project string, watermark int, marker string) (*jiraIssueRef, error) {
	for page := 0; page < jiraScanPages; page++ {
		keys := make([]string, 100)
		for i := range keys {
			keys[i] = fmt.Sprintf("%s-%d", strings.ToUpper(project), watermark+page*100+i+1)
		}
		resp, err := c.Do(ctx, connector.Request{Method: http.MethodPost, Path: "/rest/api/3/issue/bulkfetch",
			JSON: map[string]any{"issueIdsOrKeys": keys, "fields": []string{"labels"}}})
		if err != nil {
			return nil, err
		}
		if !resp.OK() {
			return nil, c.StatusError(resp, jiraError(resp.Body), "")
		}
		var res jiraBulkPage
		n := 0 // issues on the page
		if !bytes.Contains(resp.Body, []byte(strconv.Quote(marker))) {
			// No issue of this page carries the label (a label is a JSON
			// string of letters, digits and dashes, never escaped): count
			// the issues and read the errors without decoding each issue,
			// which is most of a ticket's cost when many are created.
			var light struct {
				Issues      []struct{}         `json:"issues"`
				IssueErrors []jiraBulkErrorRef `json:"issueErrors"`
			}
			if err := c.DecodeJSON(resp, &light); err != nil {
				return nil, err
			}
			n, res.IssueErrors = len(light.Issues), light.IssueErrors
		} else {
			if err := c.DecodeJSON(resp, &res); err != nil {
				return nil, err
			}
			n = len(res.Issues)
		}
		for _, is := range res.Issues {
			if slices.Contains(is.Fields.Labels, marker) {
				ref := is.jiraIssueRef
				return &ref, nil
			}
		}
		if len(res.IssueErrors) > 0 {
			// One of them may be this step's issue: creating another could
			// duplicate it.
			e := res.IssueErrors[0]
			return nil, connector.NewFailure(connector.KindUnavailable, fmt.Sprintf("%s could not load %d issue(s) above %s-%d (first: %s: %s); cannot yet confirm whether this step already created its issue", c.Where(), len(res.IssueErrors), project, watermark, e.ID, e.Message))
		}
		if n == 0 {
			return nil, nil
		}
	}
	return nil, connector.NewFailure(connector.KindUnavailable, fmt.Sprintf("%s: more than %d issues above %s-%d; cannot yet confirm whether this step already created its issue", c.Where(), jiraScanPages*100, project, watermark))
}

// jiraBulkPage is the part of a bulk fetch answer the scan reads.
type jiraBulkPage struct {
	Issues []jiraBulkIssue `json:"issues"`
	// Issues Jira could not load this time ("a retriable error or payload
	// constraint"); unknown keys are left out, not listed.
	IssueErrors []jiraBulkErrorRef `json:"issueErrors"`
}

type jiraBulkIssue struct {
	jiraIssueRef
	Fields struct {
		Labels []string `json:"labels"`
	} `json:"fields"`
}

type jiraBulkErrorRef struct {
	ID      string `json:"id"`
	Message string `json:"message"`
}

// check reads the API token's account and the default project.
func check(ctx context.Context, c *connector.Conn) (map[string]any, error) {
	if err := jiraAuth(c); err != nil {
		return nil, err
	}
	resp, err := c.Do(ctx, connector.Request{Method: http.MethodGet, Path: "/rest/api/3/myself"})
	if err != nil {
		return nil, err
	}
	if !resp.OK() {
		return nil, c.StatusError(resp, jiraError(resp.Body), "")
	}
	detail := "API token ok"
	if p := c.Option("project"); p != "" {
		var res struct {
			Issues []jiraIssueRef `json:"issues"`
		}
		if err := jiraSearch(ctx, c, fmt.Sprintf("project = %q ORDER BY key DESC", p), 1, &res); err != nil {
			return nil, fmt.Errorf("project %s: %w", p, err)
		}
		detail += "; project " + p + " searchable"
	}
	return map[string]any{"detail": detail}, nil
}

// jiraSummaryMax is Jira's summary limit, which it counts as Java does
// (String.length: UTF-16 code units), so an emoji counts twice.
const jiraSummaryMax = 255

// jiraSummary makes a summary Jira takes: one line, control and format
// characters (ESC, bidi overrides) dropped, never empty, cut to
// jiraSummaryMax UTF-16 units with "…".
func jiraSummary(s string) string {
	s = connector.ShownLine(s)
	if s == "" {
		// Jira refuses an empty summary (400, no issue): text made only of
		// invisible characters must not lose the incident's ticket.
		s = "Riposte incident (its summary held only control or invisible characters)"
	}
	if len(utf16.Encode([]rune(s))) <= jiraSummaryMax {
		return s
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n+utf16.RuneLen(r) > jiraSummaryMax-1 { // room for "…"
			break
		}
		b.WriteRune(r)
		n += utf16.RuneLen(r)
	}
	return b.String() + "…"
}
