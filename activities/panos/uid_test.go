package panos

import "testing"

func TestUIDMessage(t *testing.T) {
	m, err := uidMessage(true, "203.0.113.77", `a"<&tag`)
	if err != nil {
		t.Fatal(err)
	}
	want := `<uid-message><version>2.0</version><type>update</type><payload><register><entry ip="203.0.113.77" persistent="1"><tag><member>a&#34;&lt;&amp;tag</member></tag></entry></register></payload></uid-message>`
	if m != want {
		t.Errorf("got  %s\nwant %s", m, want)
	}
}
