package httpreq_test

import (
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// query values are "strings, numbers, bools or lists of them" and headers
// are scalars (the action's catalog entry). An object, or a list in a
// header, is a playbook mistake (often a template that rendered a whole
// detection field): it must fail the step naming the param, not be sent as
// Go's rendering of it ("map[a:1]", "[a b]") for the API to act on.
func TestNonScalarQueryOrHeaderIsRefused(t *testing.T) {
	for name, p := range map[string]map[string]any{
		"query object":          {"query": map[string]any{"filter": map[string]any{"ip": "203.0.113.7"}}},
		"query list of objects": {"query": map[string]any{"ids": []any{map[string]any{"id": 1}}}},
		"header list":           {"headers": map[string]any{"X-Tags": []any{"a", "b"}}},
		"header object":         {"headers": map[string]any{"X-Meta": map[string]any{"a": 1}}},
	} {
		h := connectortest.New(t)
		p["connection"], p["path"] = lab.EchoConnection, "/items"
		out, err := h.Run("http.request", p, "k")
		if err == nil {
			j, _ := out["json"].(map[string]any)
			t.Errorf("%s: sent as %v %v; want InvalidParams", name, j["query"], j["headers"])
			continue
		}
		if ae := connectortest.AppError(t, err); ae.Type() != "InvalidParams" || !strings.Contains(err.Error(), "http.request") {
			t.Errorf("%s: err = %v", name, err)
		}
		if n := len(h.Lab.Requests(lab.HTTPEcho)); n != 0 {
			t.Errorf("%s: %d requests reached the API", name, n)
		}
	}
}
