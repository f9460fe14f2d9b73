package activities_test

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/riposte-dev/riposte/activities"
	"github.com/riposte-dev/riposte/internal/lab"
)

// fuzzParams are plausible params for every vendor action.
var fuzzParams = map[string]any{
	"hostname": "h1", "user": "alice@example.com", "ip": "203.0.113.7", "tag": "riposte-blocked",
	"hash": "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f", "domain": "example.com",
	"project": "SEC", "summary": "s", "description": "d", "issue_type": "Task", "labels": []any{"a"},
	"issue": "SEC-1", "body": "b", "source": "riposte", "severity": "critical", "dedup_key": "k",
	"details": map[string]any{"a": "b"}, "max_age_days": 30, "access_key_id": "AKIAIOSFODNN7EXAMPLE",
	"user_name": "bob", "role_name": "r", "instance_id": "i-0123456789abcdef0",
	"quarantine_security_group": "sg-0123456789abcdef0", "isolation_type": "Full", "comment": "c",
	"method": "GET", "path": "/x",
}

var fuzzStatuses = []int{200, 201, 202, 204, 400, 401, 403, 404, 409, 429, 500, 503}

// FuzzVendorAnswers: whatever a vendor (or whatever answers at its
// base_url) sends back, every vendor action ends with an output or an
// error that says something, never a panic or a hang.
func FuzzVendorAnswers(f *testing.F) {
	l, err := lab.Start(lab.Options{})
	if err != nil {
		f.Fatal(err)
	}
	conns := l.Connections()
	labURL := ""
	for _, c := range conns {
		if c.BaseURL != "" {
			labURL = c.BaseURL[:strings.Index(c.BaseURL[len("http://"):], "/")+len("http://")]
			break
		}
	}
	_ = l.Close()

	var answer atomic.Pointer[func(w http.ResponseWriter, r *http.Request)]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*answer.Load())(w, r)
	}))
	f.Cleanup(srv.Close)
	for n, c := range conns {
		c.BaseURL = strings.Replace(c.BaseURL, labURL, srv.URL, 1)
		c.Options = maps.Clone(c.Options)
		for k, v := range c.Options {
			c.Options[k] = strings.Replace(v, labURL, srv.URL, 1)
		}
		conns[n] = c
	}
	var defs []activities.Definition
	for _, d := range activities.Definitions() {
		if !strings.HasPrefix(d.Name, "core.") && !strings.HasPrefix(d.Name, "slack.") {
			defs = append(defs, d)
		}
	}

	for i := range defs {
		for _, body := range []string{`{}`, `{"resources":[{"device_id":"d1","hostname":"h1"}]}`, `{"data":[{"id":"1","computerName":"h1"}]}`,
			`{"value":[{"id":"m1","computerDnsName":"h1"}]}`, `<response status="success"><result/></response>`, `[]`, `null`, ``, `{"errors":[{"code":400,"message":"x"}]}`} {
			f.Add(uint8(i), uint8(0), []byte(body))
		}
	}
	f.Fuzz(func(t *testing.T, action, status uint8, body []byte) {
		d := defs[int(action)%len(defs)]
		code := fuzzStatuses[int(status)%len(fuzzStatuses)]
		h := func(w http.ResponseWriter, r *http.Request) {
			// Each input has its own Env and client: no idle connections
			// left behind.
			w.Header().Set("Connection", "close")
			if strings.Contains(r.URL.Path, "token") || strings.Contains(r.URL.Path, "/sts") {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"access_token":"at","token_type":"bearer","expires_in":3600}`))
				return
			}
			if len(body) > 0 && body[0] == '<' {
				w.Header().Set("Content-Type", "application/xml")
			} else {
				w.Header().Set("Content-Type", "application/json")
			}
			w.WriteHeader(code)
			_, _ = w.Write(body)
		}
		answer.Store(&h)
		env := activities.NewEnv(nil)
		env.Connections = maps.Clone(conns)
		env.CallTimeout = 5 * time.Second
		params := map[string]any{}
		for _, p := range d.Params {
			if v, ok := fuzzParams[p.Name]; ok {
				params[p.Name] = v
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := d.Run(ctx, env, activities.Call{Action: d.Name, Params: params, IdempotencyKey: "k", WorkflowID: "wf", RunID: "r", StepID: "s"})
		if ctx.Err() != nil {
			t.Fatalf("%s: still running after 10s on HTTP %d %q", d.Name, code, body)
		}
		if err != nil {
			if msg := err.Error(); strings.TrimSpace(msg) == "" || !utf8.ValidString(msg) {
				t.Fatalf("%s: error %q on HTTP %d %q", d.Name, msg, code, body)
			}
			return
		}
		if out == nil {
			t.Fatalf("%s: no output and no error on HTTP %d %q", d.Name, code, body)
		}
	})
}
