package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// The finding view keeps at most 64 entries per entity list, an entity
// value of at most 2048 bytes, and reads unmapped to a depth of 8
// (docs/detections.md, "The view"). What it leaves out is still in the
// detection, but a sender must be told: the answer to POST /v1/detections
// (and to ?explain=true) carries a warning naming the list, how many
// entries were found and how many the view keeps. Duplicates are not
// entries (lists are deduplicated), so 70 copies of one address are one.
func TestDetectionsAnswerWarnsOfWhatTheViewLeavesOut(t *testing.T) {
	srv := newTestServer(t, &fakeStarter{})
	srv.MaxBody = 1 << 20
	h := srv.Handler()

	observables := func(n, typeID int, value func(i int) string) string {
		var b strings.Builder
		b.WriteString(`,"observables":[`)
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, `{"type_id":%d,"value":%q}`, typeID, value(i))
		}
		b.WriteString("]")
		return b.String()
	}
	list := func(key string, n int, item func(i int) string) string {
		var b strings.Builder
		fmt.Fprintf(&b, `,%q:[`, key)
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(item(i))
		}
		b.WriteString("]")
		return b.String()
	}
	type warning struct{ Path, Message string }
	answer := func(t *testing.T, query, body string) (map[string]int, []warning) {
		t.Helper()
		got := serve(h, post("/v1/detections"+query, "Bearer "+testToken, body))
		var resp struct {
			Detections []struct {
				Entities map[string]int `json:"entities"`
				Warnings []warning      `json:"warnings"`
			} `json:"detections"`
		}
		if err := json.Unmarshal([]byte(got.body), &resp); err != nil || got.code >= 300 || len(resp.Detections) != 1 {
			t.Fatalf("%d %s", got.code, got.body)
		}
		return resp.Detections[0].Entities, resp.Detections[0].Warnings
	}
	about := func(ws []warning, prefix string) []string {
		var out []string
		for _, w := range ws {
			if strings.HasPrefix(w.Message, prefix) {
				out = append(out, w.Path+": "+w.Message)
			}
		}
		return out
	}

	for _, tc := range []struct {
		list, extra string
	}{
		// 70 distinct public addresses (the audit's detection).
		{"ips", observables(70, 2, func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) })},
		{"hosts", observables(69, 1, func(i int) string { return fmt.Sprintf("ws-%03d.corp.example", i) })}, // + device.hostname
		{"users", observables(70, 4, func(i int) string { return fmt.Sprintf("user%02d", i) })},
		{"hashes", observables(70, 8, func(i int) string { return fmt.Sprintf("%064x", i+1) })},
		{"urls", observables(70, 6, func(i int) string { return fmt.Sprintf("https://evil.example/p/%d", i) })},
		{"domains", list("evidences", 70, func(i int) string { return fmt.Sprintf(`{"query":{"hostname":"d%d.evil.example"}}`, i) })},
		{"cloud_resources", list("resources", 70, func(i int) string {
			return fmt.Sprintf(`{"uid":"arn:aws:s3:::bucket-%d","type":"AWS::S3::Bucket"}`, i)
		})},
	} {
		t.Run(tc.list, func(t *testing.T) {
			for _, query := range []string{"", "?explain=true"} {
				entities, ws := answer(t, query, det("cap-"+tc.list+query, 4, tc.extra))
				if query == "" && entities[tc.list] != 64 {
					t.Errorf("entities.%s = %d, want 64 (the view itself is unchanged)", tc.list, entities[tc.list])
				}
				want := tc.list + ": 70 entries, the view keeps the first 64"
				if got := about(ws, tc.list+":"); len(got) != 1 || !strings.HasPrefix(got[0], ": "+want) {
					t.Errorf("%q: warnings about %s: %q, want one %q (warnings: %+v)", query, tc.list, got, want, ws)
				}
			}
		})
	}

	t.Run("duplicates and exactly 64 are no loss", func(t *testing.T) {
		for _, extra := range []string{
			observables(70, 2, func(int) string { return "203.0.113.7" }),
			observables(64, 2, func(i int) string { return fmt.Sprintf("203.0.113.%d", i+1) }),
			observables(63, 1, func(i int) string { return fmt.Sprintf("ws-%03d", i) }), // + device.hostname = 64
		} {
			if _, ws := answer(t, "", det("cap-none", 4, extra)); len(ws) != 0 {
				t.Errorf("warnings %+v, want none", ws)
			}
		}
	})

	t.Run("a value too long for the view", func(t *testing.T) {
		// A phishing URL with a long encoded query string.
		long := "https://login.evil.example/oauth?state=" + strings.Repeat("A", 2100)
		extra := observables(1, 6, func(int) string { return long })
		_, ws := answer(t, "", det("cap-long", 4, extra))
		got := about(ws, "urls:")
		if len(got) != 1 || !strings.Contains(got[0], fmt.Sprintf("%d bytes", len(long))) ||
			!strings.Contains(got[0], "observables[0]") || !strings.Contains(got[0], "2048") {
			t.Errorf("warnings about urls: %q, want one naming observables[0], its %d bytes and the 2048 limit (warnings: %+v)", got, len(long), ws)
		}
	})

	t.Run("unmapped deeper than the view reads", func(t *testing.T) {
		nested := `"203.0.113.9"`
		nested = `{"src_ip":` + nested + `}`
		for i := range 9 {
			nested = fmt.Sprintf(`{"l%d":%s}`, 9-i, nested)
		}
		_, ws := answer(t, "", det("cap-deep", 4, `,"unmapped":`+nested))
		var got []string
		for _, w := range ws {
			if w.Path == "unmapped" {
				got = append(got, w.Message)
			}
		}
		if len(got) != 1 || !strings.Contains(got[0], "depth 8") || !strings.Contains(got[0], "unmapped.l1.l2.l3.l4.l5.l6.l7.l8.l9") {
			t.Errorf("warnings about unmapped: %q, want one saying it is read to depth 8 and naming unmapped.l1…l9 (warnings: %+v)", got, ws)
		}
	})
}
