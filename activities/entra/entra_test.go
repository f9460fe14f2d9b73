package entra_test

import (
	"testing"

	"github.com/riposte-dev/riposte/internal/connectortest"
	"github.com/riposte-dev/riposte/internal/lab"
)

// A UPN may begin with "$"; Graph refuses /users/$x@y.com with 400 and
// wants /users('$x@y.com') (user-get.md). The lab's Graph does the same.
func TestUPNStartingWithDollar(t *testing.T) {
	tests := []struct {
		name, upn, get string
	}{
		{"dollar", "$svc-backup@corp.example.com", "/graph/v1.0/users('$svc-backup@corp.example.com')"},
		{"dollar and quote", "$o'hara@corp.example.com", "/graph/v1.0/users('$o''hara@corp.example.com')"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := connectortest.New(t)
			h.Lab.AddUser(tt.upn, "Svc", "Account")
			out := h.MustRun("entra.disable_user", map[string]any{"user": tt.upn}, "k1")
			id, _ := out["user_id"].(string)
			if id == "" || out["user_principal_name"] != tt.upn || out["already"] != false {
				t.Fatalf("output = %v", out)
			}
			var got, patched bool
			for _, r := range h.Lab.Requests(lab.Entra) {
				switch {
				case r.Method == "GET" && r.Path == tt.get && r.Status == 200:
					got = true
				case r.Method == "PATCH" && r.Path == "/graph/v1.0/users/"+id && r.Status == 204:
					patched = true
				}
			}
			if !got || !patched {
				t.Errorf("requests = %+v (want GET %s and PATCH of the user id %s)", h.Lab.Requests(lab.Entra), tt.get, id)
			}
			if n := h.Lab.Changes(lab.Entra, "disable", tt.upn); n != 1 {
				t.Errorf("disables = %d", n)
			}
		})
	}
}
