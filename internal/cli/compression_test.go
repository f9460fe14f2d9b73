package cli

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	taskqueuepb "go.temporal.io/api/taskqueue/v1"

	"github.com/riposte-dev/riposte/internal/engine"
	"github.com/riposte-dev/riposte/internal/telemetry"
)

// worker and serve compress payloads only when told: releases before
// 2026-12-05 in the same deployment cannot read compressed payloads.
func TestPayloadCompressionFlag(t *testing.T) {
	keys := `{"active":"k1","keys":{"k1":"` + base64.StdEncoding.EncodeToString(make([]byte, 32)) + `"}}`
	for _, tt := range []struct {
		name, env string
		args      []string
		want      bool
		wantErr   string
	}{
		{name: "off by default"},
		{name: "flag", args: []string{"--payload-compression"}, want: true},
		{name: "env", env: "true", want: true},
		{name: "env off, flag on", env: "false", args: []string{"--payload-compression"}, want: true},
		{name: "env on, flag off", env: "1", args: []string{"--payload-compression=false"}},
		{name: "bad env", env: "yes", wantErr: "RIPOSTE_PAYLOAD_COMPRESSION"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("RIPOSTE_CODEC_KEYS", keys)
			t.Setenv("RIPOSTE_CODEC_KEY_FILE", "")
			t.Setenv("RIPOSTE_NO_ENCRYPTION", "")
			t.Setenv("RIPOSTE_PAYLOAD_COMPRESSION", tt.env)
			s := Streams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}
			var f clusterFlags
			fs := newFlagSet("worker", "", s)
			f.register(fs)
			if err := fs.Parse(append([]string{"--temporal-address", "127.0.0.1:7233"}, tt.args...)); err != nil {
				t.Fatal(err)
			}
			o, err := f.options(telemetry.ProcessWorker, s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.PayloadCompression != tt.want {
				t.Errorf("PayloadCompression = %v, want %v", o.PayloadCompression, tt.want)
			}
		})
	}
}

// riposte doctor fails when compression is on while a worker of an
// earlier release polls, and says when it could be turned on.
func TestDoctorCompressionCheck(t *testing.T) {
	now := "14@host@riposte " + engine.CompressedMarker + " riposte:rev/5 riposte:playbook-ref/1"
	before := "13@host@riposte riposte:rev/5 riposte:playbook-ref/1"
	for _, tt := range []struct {
		name    string
		flags   encryptionFlags
		pollers []string
		want    string
	}{
		{"on, all read", encryptionFlags{Compression: true}, []string{now, now}, "ok    compression  on: payloads compressed"},
		{"on, an older worker", encryptionFlags{Compression: true}, []string{now, before}, "FAIL  compression  RIPOSTE_PAYLOAD_COMPRESSION is on but a worker polling is of a release before 2026-12-05"},
		{"off, all read", encryptionFlags{}, []string{now}, "ok    compression  off; every worker polling reads compressed payloads"},
		{"off, an older worker", encryptionFlags{}, []string{before}, "ok    compression  off (RIPOSTE_PAYLOAD_COMPRESSION)"},
		{"no encryption", encryptionFlags{Disabled: true, Compression: true}, []string{before}, "skip  compression  --no-encryption"},
		{"bad env", encryptionFlags{envErr: errors.New(`RIPOSTE_PAYLOAD_COMPRESSION="yes": not a boolean`)}, []string{now}, `FAIL  compression  RIPOSTE_PAYLOAD_COMPRESSION="yes": not a boolean`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			r := &doctorReport{out: &out}
			var ps []*taskqueuepb.PollerInfo
			for _, id := range tt.pollers {
				ps = append(ps, &taskqueuepb.PollerInfo{Identity: id})
			}
			compressionCheck(r, tt.flags, ps)
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("got %q, want %q", out.String(), tt.want)
			}
		})
	}
}

// A bad RIPOSTE_PAYLOAD_COMPRESSION stops worker and serve: doctor says so
// even when Temporal cannot be reached, and riposte dev refuses it too.
func TestBadCompressionEnv(t *testing.T) {
	t.Setenv("RIPOSTE_PAYLOAD_COMPRESSION", "yes")
	t.Setenv("RIPOSTE_NO_ENCRYPTION", "true")
	var out, errOut strings.Builder
	code := Main(context.Background(), []string{"doctor", "--temporal-address", "127.0.0.1:1", "--timeout", "1s"},
		Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	if code != 1 || !strings.Contains(out.String(), `FAIL  compression  RIPOSTE_PAYLOAD_COMPRESSION="yes"`) {
		t.Errorf("doctor: exit %d, output:\n%s", code, out.String())
	}
	out.Reset()
	errOut.Reset()
	code = Main(context.Background(), []string{"dev", "--data-dir", t.TempDir()}, Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
	if code != 2 || !strings.Contains(errOut.String(), "RIPOSTE_PAYLOAD_COMPRESSION") {
		t.Errorf("dev: exit %d, stderr %q", code, errOut.String())
	}
}
