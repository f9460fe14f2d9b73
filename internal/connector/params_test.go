package connector

import (
	"errors"
	"testing"
)

func TestRequireIP(t *testing.T) {
	call := Call{Action: "vendor.check_ip", Params: map[string]any{"v4": " 203.0.113.9 ", "v6": "2001:DB8::1", "bad": "203.0.113", "num": 7, "zoned": "fe80::1%eth0"}}
	for name, want := range map[string]string{"v4": "203.0.113.9", "v6": "2001:db8::1"} {
		a, err := RequireIP(call, name)
		if err != nil || a.String() != want {
			t.Errorf("RequireIP(%s) = %v, %v; want %s", name, a, err, want)
		}
	}
	for name, msg := range map[string]string{
		"bad":     `vendor.check_ip: "203.0.113" is not an IP address`,
		"num":     "vendor.check_ip: num must be a string, got int",
		"missing": "vendor.check_ip needs the missing param",
		"zoned":   `vendor.check_ip: "fe80::1%eth0" has an IPv6 zone (%eth0); give the address without it`,
	} {
		_, err := RequireIP(call, name)
		var f *Failure
		if !errors.As(err, &f) || f.Kind() != KindInvalidParams || err.Error() != msg {
			t.Errorf("RequireIP(%s) error = %v; want InvalidParams %q", name, err, msg)
		}
	}
}
