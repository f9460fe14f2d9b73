package connector

import (
	"strings"
	"testing"
)

// XML writes settings as name/value pairs too: AWS query APIs' tags
// (<Tags><member><Key>…</Key><Value>…</Value></member></Tags>, EC2's
// <tagSet><item><key>…</key><value>…</value></item></tagSet>),
// CloudFormation's <ParameterKey>/<ParameterValue>, Hadoop's
// <property><name>…</name><value>…</value></property>. Neither element is
// named as a secret key, so the JSON rule's XML twin was missing and a
// vendor quoting such a document kept DB_PASSWORD's value in clear. The
// table mirrors TestRedactShapesNameValuePairs: same names, same verdicts.
func TestRedactShapesXMLNameValuePairs(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`<env><name>API_KEY</name><value>abc123def456</value></env>`, `<env><name>API_KEY</name><value>[REDACTED]</value></env>`},
		{`<item><key>password</key><value>Tr0ub4dor&amp;3x</value></item>`, `<item><key>password</key><value>[REDACTED]</value></item>`},
		{`<environment><variable><name>LOG_LEVEL</name><value>debug</value></variable><variable><name>DB_PASSWORD</name><value>hunter2 hunter2</value></variable></environment>`,
			`<environment><variable><name>LOG_LEVEL</name><value>debug</value></variable><variable><name>DB_PASSWORD</name><value>[REDACTED]</value></variable></environment>`},
		// Value first, and an element that is neither.
		{`<NameValuePair><Value>Qp8~abc.DEF_ghi-123</Value><Name>OKTA_CLIENT_SECRET</Name><SlotSetting>false</SlotSetting></NameValuePair>`,
			`<NameValuePair><Value>[REDACTED]</Value><Name>OKTA_CLIENT_SECRET</Name><SlotSetting>false</SlotSetting></NameValuePair>`},
		{`<Parameters><member><ParameterKey>DbPassword</ParameterKey><ParameterValue>s3cr3t-P4ss</ParameterValue></member></Parameters>`,
			`<Parameters><member><ParameterKey>DbPassword</ParameterKey><ParameterValue>[REDACTED]</ParameterValue></member></Parameters>`},
		{`<member><Key>api-key</Key><Value>0123456789abcdef</Value></member>`, `<member><Key>api-key</Key><Value>[REDACTED]</Value></member>`},
		{`<member><Name>PIN_PASSWORD</Name><Value>482913</Value></member>`, `<member><Name>PIN_PASSWORD</Name><Value>[REDACTED]</Value></member>`},
		{`<item><ns:key xmlns:ns="urn:x">GITHUB_TOKEN</ns:key><ns:value>ghp_R4nd0m</ns:value></item>`, `<item><ns:key xmlns:ns="urn:x">GITHUB_TOKEN</ns:key><ns:value>[REDACTED]</ns:value></item>`},
		{"<item>\n  <key> SECRET_KEY </key>\n  <value><![CDATA[f00<b4r>&b4z]]></value>\n</item>", "<item>\n  <key> SECRET_KEY </key>\n  <value>[REDACTED]</value>\n</item>"},
		// XML quoted in a JSON string, as is and as Go's and .NET's
		// encoders write it, and escaped as text (a SOAP fault's detail,
		// an HTML error page).
		{`{"received":"<member>\n  <Key>DB_PASSWORD</Key>\n  <Value>hunter2 \"x\"</Value>\n</member>"}`, `{"received":"<member>\n  <Key>DB_PASSWORD</Key>\n  <Value>[REDACTED]</Value>\n</member>"}`},
		{`{"received":"\u003cKey\u003eDB_PASSWORD\u003c/Key\u003e\u003cValue\u003ehunter2\u003c/Value\u003e"}`, `{"received":"\u003cKey\u003eDB_PASSWORD\u003c/Key\u003e\u003cValue\u003e[REDACTED]\u003c/Value\u003e"}`},
		{`{"received":"\u003CKey\u003EDB_PASSWORD\u003C/Key\u003E\u003CValue\u003Ehunter2\u003C/Value\u003E"}`, `{"received":"\u003CKey\u003EDB_PASSWORD\u003C/Key\u003E\u003CValue\u003E[REDACTED]\u003C/Value\u003E"}`},
		{`<detail>&lt;Key&gt;DB_PASSWORD&lt;/Key&gt;&lt;Value&gt;hunter2&lt;/Value&gt;</detail>`, `<detail>&lt;Key&gt;DB_PASSWORD&lt;/Key&gt;&lt;Value&gt;[REDACTED]&lt;/Value&gt;</detail>`},
		// Cut inside the value (Snippet's cut): hidden to the end.
		{`<member><Key>API_KEY</Key><Value>correct horse`, `<member><Key>API_KEY</Key><Value>[REDACTED]`},
		{`<member><Key>API_KEY</Key><Value><![CDATA[correct horse`, `<member><Key>API_KEY</Key><Value>[REDACTED]`},
		{`<member><Key>API_KEY</Key><Value>correct horse</Val`, `<member><Key>API_KEY</Key><Value>[REDACTED]</Val`},
		// Not secret names: kept.
		{`<member><Name>PASSWORD_FILE</Name><Value>/run/secrets/db</Value></member>`, `<member><Name>PASSWORD_FILE</Name><Value>/run/secrets/db</Value></member>`},
		{`<member><Name>REGION</Name><Value>eu-west-1</Value></member>`, `<member><Name>REGION</Name><Value>eu-west-1</Value></member>`},
		{`<member><Key>Owner</Key><Value>soc-team</Value></member>`, `<member><Key>Owner</Key><Value>soc-team</Value></member>`},
		{`<member><Key>Name</Key><Value>web-01</Value></member>`, `<member><Key>Name</Key><Value>web-01</Value></member>`},
		{`<member><Name>TOKEN_URL</Name><Value>https://login.example.com/oauth2/token</Value></member>`, `<member><Name>TOKEN_URL</Name><Value>https://login.example.com/oauth2/token</Value></member>`},
		{`<member><Name>SECRET_KEY_FILE</Name><Value>/run/secrets/django</Value></member>`, `<member><Name>SECRET_KEY_FILE</Name><Value>/run/secrets/django</Value></member>`},
		// A secret name whose value is elsewhere (a reference), and a
		// name and value of two different members: kept.
		{`<env><name>API_KEY</name><valueFrom><secretKeyRef><name>vt</name><key>api_key</key></secretKeyRef></valueFrom></env>`,
			`<env><name>API_KEY</name><valueFrom><secretKeyRef><name>vt</name><key>api_key</key></secretKeyRef></valueFrom></env>`},
		{`<member><Key>DB_PASSWORD</Key></member><member><Value>web-01</Value></member>`, `<member><Key>DB_PASSWORD</Key></member><member><Value>web-01</Value></member>`},
		// The name in a key or name attribute (.NET appSettings and
		// applicationSettings, Spring beans, Java's Properties XML, HTML
		// forms), also in a JSON string and cut.
		{`<appSettings><add key="ApiKey" value="k-7f3a9c"/><add key="webpages:Version" value="3.0.0.0"/></appSettings>`,
			`<appSettings><add key="ApiKey" value="[REDACTED]"/><add key="webpages:Version" value="3.0.0.0"/></appSettings>`},
		{`<add value='k-7f3a9c' key='Stripe:SecretKey' />`, `<add value='[REDACTED]' key='Stripe:SecretKey' />`},
		{`<bean><property name="password" value="s3cr3t"/><property name="username" value="svc"/></bean>`, `<bean><property name="password" value="[REDACTED]"/><property name="username" value="svc"/></bean>`},
		{`<setting name="ApiKey" serializeAs="String"><value>k-7f3a9c</value></setting><setting name="TargetUri" serializeAs="String"><value>https://example.com/</value></setting>`,
			`<setting name="ApiKey" serializeAs="String"><value>[REDACTED]</value></setting><setting name="TargetUri" serializeAs="String"><value>https://example.com/</value></setting>`},
		{`<properties><entry key="db.password">s3cr3t</entry><entry key="db.user">svc</entry></properties>`, `<properties><entry key="db.password">[REDACTED]</entry><entry key="db.user">svc</entry></properties>`},
		{`<input type="hidden" name="csrf_token" value="Zq9Tok3n"><input name="q" value="abc">`, `<input type="hidden" name="csrf_token" value="[REDACTED]"><input name="q" value="abc">`},
		{`{"config":"<add key=\"ApiKey\" value=\"k-7f3a9c\" />"}`, `{"config":"<add key=\"ApiKey\" value=\"[REDACTED]\" />"}`},
		{`&lt;add key=&quot;ApiKey&quot; value=&quot;k-7f3a9c&quot; /&gt;`, `&lt;add key=&quot;ApiKey&quot; value=&quot;[REDACTED]&quot; /&gt;`},
		{`<add key="ApiKey" value="correct horse`, `<add key="ApiKey" value="[REDACTED]`},
		{`<add key="PASSWORD_FILE" value="/run/secrets/db"/>`, `<add key="PASSWORD_FILE" value="/run/secrets/db"/>`},
		// A quote that is never closed, after the pair's value: what
		// follows is still read (FuzzRedactShapes).
		{`<add value=0 name='token' a="x <member><Key>API_KEY</Key><Value>abc123</Value></member>`, `<add value=[REDACTED] name='token' a="x <member><Key>API_KEY</Key><Value>[REDACTED]</Value></member>`},
		{`<a name="api_key">API key</a>`, `<a name="api_key">API key</a>`},
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

// Documented answers and configuration files, as their vendors publish
// them, with a secret-named pair added where the sample has none; what
// the sample holds is kept.
func TestRedactShapesXMLNameValueSamples(t *testing.T) {
	for _, tt := range []struct{ name, in, gone, keep string }{
		// IAM API Reference, ListMFADeviceTags, "Examples"
		// (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListMFADeviceTags.html).
		{"iam-tags", `<ListMFADeviceTagsResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <ListMFADeviceTagsResult>
    <IsTruncated>false</IsTruncated>
    <Tags>
      <member>
        <Key>Dept</Key>
        <Value>Accounting</Value>
      </member>
      <member>
        <Key>DB_PASSWORD</Key>
        <Value>hunter2secret</Value>
      </member>
      <member>
        <Key>Cost Center</Key>
        <Value>12345</Value>
      </member>
    </Tags>
  </ListMFADeviceTagsResult>
</ListMFADeviceTagsResponse>`, "hunter2secret", "<Value>Accounting</Value>"},
		// EC2 API Reference, DescribeTags, "Examples"
		// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeTags.html):
		// an empty <value/>, then stack=Production.
		{"ec2-tagset", `<DescribeTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
   <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>
   <tagSet>
      <item>
         <resourceId>ami-1a2b3c4d</resourceId>
         <resourceType>image</resourceType>
         <key>webserver</key>
         <value/>
      </item>
      <item>
         <resourceId>ami-1a2b3c4d</resourceId>
         <resourceType>image</resourceType>
         <key>API_KEY</key>
         <value>vt-4f2c9e1b7a</value>
      </item>
      <item>
         <resourceId>ami-1a2b3c4d</resourceId>
         <resourceType>image</resourceType>
         <key>stack</key>
         <value>Production</value>
      </item>
   </tagSet>
</DescribeTagsResponse>`, "vt-4f2c9e1b7a", "<value>Production</value>"},
		// CloudFormation DescribeStacks as boto's parser test has it, the
		// tag's <Value> before its <Key> (boto/boto
		// tests/unit/cloudformation/test_stack.py, SAMPLE_XML), with
		// Parameters (API Reference, Parameter data type:
		// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_Parameter.html).
		{"cfn-stack", `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">
  <DescribeStacksResult>
    <Stacks>
      <member>
        <Tags>
          <member>
            <Value>value0</Value>
            <Key>key0</Key>
          </member>
          <member>
            <Value>Qp8~abc.DEF_ghi-123</Value>
            <Key>OKTA_CLIENT_SECRET</Key>
          </member>
        </Tags>
        <Parameters>
          <member>
            <ParameterKey>DbPassword</ParameterKey>
            <ParameterValue>s3cr3t-P4ss</ParameterValue>
          </member>
          <member>
            <ParameterKey>KeyName</ParameterKey>
            <ParameterValue>MyKey</ParameterValue>
          </member>
        </Parameters>
        <StackStatus>CREATE_COMPLETE</StackStatus>
      </member>
    </Stacks>
  </DescribeStacksResult>
</DescribeStacksResponse>`, "Qp8~abc|s3cr3t-P4ss", "<Value>value0</Value>|<ParameterValue>MyKey</ParameterValue>"},
		// NuGet, nuget.config reference, packageSourceCredentials, "When
		// using unencrypted passwords"
		// (https://learn.microsoft.com/nuget/reference/nuget-config-file#packagesourcecredentials).
		{"nuget-config", `<packageSourceCredentials>
    <Contoso>
        <add key="Username" value="user@contoso.com" />
        <add key="ClearTextPassword" value="33f!!lloppa" />
    </Contoso>
    <Test_x0020_Source>
        <add key="Username" value="user" />
        <add key="ClearTextPassword" value="hal+9ooo_da!sY" />
    </Test_x0020_Source>
</packageSourceCredentials>`, "33f!!lloppa|hal+9ooo_da!sY", `value="user@contoso.com"`},
	} {
		got := RedactShapes(tt.in)
		for _, g := range strings.Split(tt.gone, "|") {
			if strings.Contains(got, g) {
				t.Errorf("%s: still holds %q:\n%s", tt.name, g, got)
			}
		}
		for _, k := range strings.Split(tt.keep, "|") {
			if !strings.Contains(got, k) {
				t.Errorf("%s: lost %q:\n%s", tt.name, k, got)
			}
		}
		if again := RedactShapes(got); again != got {
			t.Errorf("%s: not idempotent:\n%s\n%s", tt.name, got, again)
		}
	}
}

// Snippet's 64 KiB cut backs off to a space; inside a secret pair's value
// (a passphrase) the value has no end tag: the words before the cut are
// hidden all the same.
func TestSnippetCutInsideXMLNameValueRedactsIt(t *testing.T) {
	head := `<r><IdToken>eyJhbGciOiJSUzI1NiJ9.`
	for name, mid := range map[string]string{
		"element":   `.c2lnbmF0dXJl</IdToken><member><Key>user</Key><Value>svc-riposte</Value></member><member><Key>DB_PASSWORD</Key><Value>correct horse `,
		"attribute": `.c2lnbmF0dXJl</IdToken><add key="user" value="svc-riposte"/><add key="DbPassword" value="correct horse `,
	} {
		n := snippetScan - len(head) - len(mid) - 3
		body := head + strings.Repeat("A", n) + mid + `battery staple"/></Value></member></r>`
		if !strings.Contains(body[:snippetScan], "correct horse bat") {
			t.Fatalf("%s: test set-up: the cut is not inside the password", name)
		}
		got := Snippet([]byte(body))
		if strings.Contains(got, "correct") || strings.Contains(got, "horse") || !strings.Contains(got, "svc-riposte") || !strings.Contains(got, "[REDACTED]") {
			t.Errorf("%s: Snippet = %q: the password's words before the 64 KiB cut are quoted", name, got)
		}
	}
}
