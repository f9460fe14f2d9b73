package api

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/intake"
)

// A request holds at most intake.DefaultMaxDetections detections, whatever
// the body limit: a batch of 1,001 small detections well under 1 MiB is
// refused whole with 413. README named only the body limit for a 413 ("over
// the body limit: 413"), so a shipper sized by it (batch max bytes = the
// body limit) had batches refused whole, and log shippers drop a 413
// (not retried). The limit must be documented where the 413 is, and the
// answer must name it and say to split the request.
func TestAPIDetectionCountLimitIsNamedAndDocumented(t *testing.T) {
	s := newTestServer(t, &fakeStarter{})
	s.MaxBody = 1 << 20
	var body strings.Builder
	for i := range intake.DefaultMaxDetections + 1 {
		body.WriteString(det(fmt.Sprintf("n-%d", i), 1, "") + "\n")
	}
	if body.Len() >= 1<<20 {
		t.Fatalf("premise: %d bytes, over the body limit", body.Len())
	}
	got := serve(s.Handler(), post("/v1/detections", "Bearer "+testToken, body.String()))
	if got.code != http.StatusRequestEntityTooLarge || !strings.Contains(got.body, "more than 1000 detections") || !strings.Contains(got.body, "split") {
		t.Errorf("%d %.400s; want 413 naming the limit of 1000 detections and saying to split the request", got.code, got.body)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`at most 1,000 detections`).Match(readme) {
		t.Errorf("README does not say a request holds at most 1,000 detections (413 beyond, whatever the body limit)")
	}
}
