package connector

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A vendor answer is read up to 4 MiB (maxResponseBytes) and the rest is
// left unread. A well-formed answer larger than that (an agent list with
// every field, a proxy's dump) was cut silently, and the cut JSON failed
// as "returned an unreadable answer", quoting its harmless first bytes:
// a message that blames the vendor's format and says nothing of the
// limit. The error must say the answer was larger than Riposte reads.
func TestAnswerOverTheReadLimitSaysSo(t *testing.T) {
	big := `{"data":[` + strings.Repeat(`{"id":"1","computerName":"fin-ws-042","padding":"`+strings.Repeat("x", 1000)+`"},`, 5000) + `{"id":"2"}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(big))
	}))
	defer srv.Close()
	c := &Conn{Env: &Env{}, Name: "s1", Label: "SentinelOne", Cfg: Connection{BaseURL: srv.URL}}
	resp, err := c.Do(context.Background(), Request{Method: http.MethodGet, Path: "/web/api/v2.1/agents"})
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	err = c.DecodeJSON(resp, &v)
	if err == nil {
		t.Fatal("a cut answer decoded")
	}
	if !strings.Contains(err.Error(), "MiB") {
		t.Errorf("err = %.200s…; want it to say the answer is larger than the 4 MiB read", err)
	}
}
