package connector

import (
	"strings"
	"testing"
)

// A key that merely starts a sentence is not a key labelling a value, and
// an ARN that names a Secrets Manager secret is not the secret: both are
// what an analyst needs to read in the error.
//
// The Okta answer is E0000001 "Api validation failed" with errorCauses as
// Okta documents them (Okta API release notes 2018.09, "errorCauses"
// example, okta/okta-developer-docs
// packages/@okta/vuepress-site/docs/release-notes/2018/index.md; the error
// code list at https://developer.okta.com/docs/reference/error-codes/):
// each cause is "<field>: <sentence>". The AWS message is the shape of an
// AccessDeniedException of Secrets Manager (the ARN format
// arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random
// characters> is the one documented in "Secrets Manager ARNs").
func TestRedactShapesKeepsProseAndSecretNames(t *testing.T) {
	for _, tt := range []struct{ in, keep string }{
		{`{"errorCode":"E0000001","errorSummary":"Api validation failed: password","errorLink":"E0000001","errorId":"oaeGZUg95w6SK2GbA44cXgtvA","errorCauses":[{"errorSummary":"password: Password requirements were not met. Password requirements: at least 8 characters, a lowercase letter, an uppercase letter, a number, no parts of your username."}]}`,
			"password: Password requirements were not met."},
		{`{"errorCauses":[{"errorSummary":"password: Passwords must be at least 8 characters in length","reason":"LENGTH_MINIMUM","location":"credentials.password.value","locationType":"body","domain":"user"}]}`,
			"password: Passwords must be at least 8 characters in length"},
		{`User: arn:aws:sts::123456789012:assumed-role/riposte/i-0abc is not authorized to perform: secretsmanager:GetSecretValue on resource: arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf because no identity-based policy allows the secretsmanager:GetSecretValue action`,
			"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf because"},
		{`{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:tines/okta_api_token-Xy12Zq."}`,
			"arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:tines/okta_api_token-Xy12Zq."},
	} {
		if got := RedactShapes(tt.in); !strings.Contains(got, tt.keep) {
			t.Errorf("RedactShapes(%q)\n = %q\n lost %q", tt.in, got, tt.keep)
		}
	}
	// Values that keys label stay hidden, prose or not around them.
	for _, tt := range []struct{ in, gone string }{
		{`login failed: password: hunter2 rejected`, "hunter2"},
		{`password: Hunter2024 was rejected by policy`, "Hunter2024"},
		{`password: hunter`, "hunter"},
		{`password=Correct horse battery staple`, "Correct"},
		// A diceware passphrase reads like words, not like a sentence, and
		// is not shown as prose (all its words are redacted:
		// TestRedactShapesHidesAWholePassphrase).
		{`password: Correct horse battery staple`, "Correct"},
		{`client_secret: Purple Monkey Dishwasher Lamp`, "Purple"},
		{`{"password": "Password requirements were not met"}`, "requirements"},
		{`secret: prod/db-AbCdEf`, "prod/db-AbCdEf"},
		{`SecretString: {"password":"Tr0ub4dor&3"} for arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf`, "Tr0ub4dor"},
		{`arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf secret=Zq9TokenValue7788`, "Zq9TokenValue7788"},
	} {
		if got := RedactShapes(tt.in); strings.Contains(got, tt.gone) {
			t.Errorf("RedactShapes(%q) = %q: still holds %q", tt.in, got, tt.gone)
		}
	}
}

// An Authorization value is a credential even when it reads like words.
func TestRedactShapesAuthorizationNeverProse(t *testing.T) {
	for _, in := range []string{
		`request had Authorization: Bearer abcdefghijkl and then failed`,
		`authorization: Basic Zm9vYmFyYmF6 was refused by the server`,
	} {
		got := RedactShapes(in)
		for _, v := range []string{"abcdefghijkl", "Zm9vYmFyYmF6"} {
			if strings.Contains(got, v) {
				t.Errorf("RedactShapes(%q) = %q: still holds %q", in, got, v)
			}
		}
	}
}
