package connector

import "testing"

// Java and Hadoop properties join a name's words with dots: Hadoop's S3A
// connector takes its AWS secret as fs.s3a.secret.key, written in
// core-site.xml as <property><name>fs.s3a.secret.key</name><value>…
// </value></property>, on a command line as -Dfs.s3a.secret.key=…; the
// secret key names knew '_' and '-' only, so neither form was redacted
// (the session token was, as a name ending in the word token). The
// access key is an id, not a secret: kept.
func TestRedactShapesDottedSecretNames(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		// "Using Configuration Properties to Authenticate", Cloudera's
		// HDP Cloud Data Access guide
		// (https://docs.cloudera.com/HDPDocuments/HDP3/HDP-3.1.0/bk_cloud-data-access/content/s3-config-props.html),
		// and Apache Hadoop's hadoop-aws module documentation,
		// "Authenticating with S3"
		// (https://hadoop.apache.org/docs/stable/hadoop-aws/tools/hadoop-aws/index.html).
		{"<property>\n  <name>fs.s3a.access.key</name>\n  <value>ACCESS-KEY</value>\n</property>\n\n<property>\n  <name>fs.s3a.secret.key</name>\n  <value>SECRET-KEY</value>\n</property>",
			"<property>\n  <name>fs.s3a.access.key</name>\n  <value>ACCESS-KEY</value>\n</property>\n\n<property>\n  <name>fs.s3a.secret.key</name>\n  <value>[REDACTED]</value>\n</property>"},
		{`<property><name>fs.s3a.session.token</name><value>SESSION-TOKEN</value></property>`, `<property><name>fs.s3a.session.token</name><value>[REDACTED]</value></property>`},
		{`hadoop fs -Dfs.s3a.access.key=AKIAIOSFODNN7EXAMPLE -Dfs.s3a.secret.key=wJalrXUtnFEMI/K7MDENG -ls s3a://bucket/`,
			`hadoop fs -Dfs.s3a.access.key=AKIAIOSFODNN7EXAMPLE -Dfs.s3a.secret.key=[REDACTED] -ls s3a://bucket/`},
		{`{"name":"fs.s3a.secret.key","value":"wJalrXUtnFEMI/K7MDENG"}`, `{"name":"fs.s3a.secret.key","value":"[REDACTED]"}`},
		{`{"okta.client.secret": "Qp8~abc.DEF_ghi-123"}`, `{"okta.client.secret": "[REDACTED]"}`},
		{`<add key="Stripe.Api.Key" value="k-7f3a9c"/>`, `<add key="Stripe.Api.Key" value="[REDACTED]"/>`},
		// Kept: names that are not a secret's.
		{`{"name":"fs.s3a.secret.key.provider","value":"env"}`, `{"name":"fs.s3a.secret.key.provider","value":"env"}`},
		{`<property><name>fs.s3a.endpoint</name><value>s3.eu-west-1.amazonaws.com</value></property>`, `<property><name>fs.s3a.endpoint</name><value>s3.eu-west-1.amazonaws.com</value></property>`},
	} {
		got := RedactShapes(tt.in)
		if got != tt.want {
			t.Errorf("RedactShapes(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
		if again := RedactShapes(got); again != got {
			t.Errorf("RedactShapes not idempotent: %q -> %q", got, again)
		}
	}
}
