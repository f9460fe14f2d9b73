package httpreq

import "testing"

func TestSafeRelativePath(t *testing.T) {
	for _, ok := range []string{"/api/v1/x", "api/v1/x", "/a/b%20c", "/a/..b/c", "/"} {
		if _, err := safeRelativePath(ok); err != nil {
			t.Errorf("%q rejected: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://x", "HTTPS://x/y", "//x/y", "/a/../b", "..", "/a/%2e%2e/b", "/a/%2E./b", "/a?b", "/a#b", `/a\b`, "/a b", "/a\x00"} {
		if _, err := safeRelativePath(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
