package connector

import "testing"

// Environment variables and settings are written as name/value pairs:
// ECS task definitions and Kubernetes env ({"name":"API_KEY","value":
// "…"}), Azure app settings, CloudFormation parameters ({"ParameterKey":
// …,"ParameterValue":…}), AWS tags ({"Key":…,"Value":…}). The secret's
// name and its value are two keys, neither a secret key name, so a
// vendor echoing such a definition had the value in clear. The value is
// now hidden when the name is a secret key name (the rule of
// secretKeyValue: API_KEY, DB_PASSWORD, client_secret), in either order,
// also in JSON quoted in a JSON string; other settings are kept.
func TestRedactShapesNameValuePairs(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"name":"API_KEY","value":"abc123def456"}`, `{"name":"API_KEY","value":"[REDACTED]"}`},
		{`{"key":"password","value":"Tr0ub4dor&3x"}`, `{"key":"password","value":"[REDACTED]"}`},
		{`"environment":[{"name":"LOG_LEVEL","value":"debug"},{"name":"DB_PASSWORD","value":"hunter2 hunter2"}]`,
			`"environment":[{"name":"LOG_LEVEL","value":"debug"},{"name":"DB_PASSWORD","value":"[REDACTED]"}]`},
		{`{"value": "Qp8~abc.DEF_ghi-123", "name": "OKTA_CLIENT_SECRET", "slotSetting": false}`,
			`{"value": "[REDACTED]", "name": "OKTA_CLIENT_SECRET", "slotSetting": false}`},
		{`{"ParameterKey":"DbPassword","ParameterValue":"s3cr3t-P4ss"}`, `{"ParameterKey":"DbPassword","ParameterValue":"[REDACTED]"}`},
		{`{"Key":"api-key","Value":"0123456789abcdef"}`, `{"Key":"api-key","Value":"[REDACTED]"}`},
		{`{"name":"PIN_PASSWORD","value":482913}`, `{"name":"PIN_PASSWORD","value":[REDACTED]}`},
		{`{"received":"{\"name\":\"API_KEY\",\"value\":\"abc123def456\"}"}`, `{"received":"{\"name\":\"API_KEY\",\"value\":\"[REDACTED]\"}"}`},
		// Cut inside the value (Snippet's cut): still hidden.
		{`{"name":"API_KEY","value":"correct horse`, `{"name":"API_KEY","value":"[REDACTED]`},
		// Not secret names: kept.
		{`{"name":"PASSWORD_FILE","value":"/run/secrets/db"}`, `{"name":"PASSWORD_FILE","value":"/run/secrets/db"}`},
		{`{"name":"REGION","value":"eu-west-1"}`, `{"name":"REGION","value":"eu-west-1"}`},
		{`{"Key":"Owner","Value":"soc-team"}`, `{"Key":"Owner","Value":"soc-team"}`},
		{`{"name":"API_KEY","valueFrom":{"secretKeyRef":{"name":"vt","key":"api_key"}}}`, `{"name":"API_KEY","valueFrom":{"secretKeyRef":{"name":"vt","key":"api_key"}}}`},
	} {
		got := RedactShapes(tt.in)
		if got != tt.want {
			t.Errorf("RedactShapes(%s)\n got %s\nwant %s", tt.in, got, tt.want)
		}
		if again := RedactShapes(got); again != got {
			t.Errorf("RedactShapes not idempotent: %s -> %s", got, again)
		}
	}
}
