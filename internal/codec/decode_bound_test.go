package codec

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// maxDecompressed bounds one payload, and the total a /decode request
// inflates to: one small compressed payload repeated in a body would
// otherwise inflate far beyond both the body limit and maxDecompressed.
func TestDecodeRequestInflationBounded(t *testing.T) {
	k := testKeyring(t, "k1")
	c := NewCodecWith(k, Options{Compress: true})
	big := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: make([]byte, 16<<20)}
	enc, err := c.Encode([]*commonpb.Payload{big})
	if err != nil {
		t.Fatal(err)
	}
	in := &commonpb.Payloads{}
	for range 5 {
		in.Payloads = append(in.Payloads, enc[0])
	}
	body, _ := protojson.Marshal(in)
	h := Handler(k, HandlerOptions{Prefix: "/codec", Authorize: BearerToken("t"), MaxBodyBytes: 1 << 20})
	r := httptest.NewRequest(http.MethodPost, "/codec/decode", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", "Bearer t")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "decode to more than the limit") {
		t.Errorf("a %d-byte request (limit 1 MiB) inflating to 80 MiB: status %d, %d bytes; want 413", len(body), w.Code, w.Body.Len())
	}
}
