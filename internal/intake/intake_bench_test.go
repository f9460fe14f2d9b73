package intake_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/riposte-dev/riposte/internal/intake"
)

// Detection schema validation, the check POST /v1/detections runs on every
// detection before dispatch (riposte bench reports it too).

func exampleBody(b *testing.B, name string) []byte {
	body, err := os.ReadFile("../../examples/" + name)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

func decode(b *testing.B, body []byte) []intake.Detection {
	dets, err := intake.Decode(bytes.NewReader(body), intake.DecodeOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return dets
}

// BenchmarkDetectionSchema validates one realistic detection
// (examples/c2-beaconing.json, about 4 KB) against the contract.
func BenchmarkDetectionSchema(b *testing.B) {
	v, err := intake.NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	dets := decode(b, exampleBody(b, "c2-beaconing.json"))
	b.ReportAllocs()
	for b.Loop() {
		if errs := v.Validate(dets); errs != nil {
			b.Fatal(errs)
		}
	}
}

// BenchmarkDetectionSchemaInvalid validates a detection with three bad
// fields: the error path builds the field messages.
func BenchmarkDetectionSchemaInvalid(b *testing.B) {
	v, err := intake.NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	body := strings.NewReplacer(`"severity_id": 4`, `"severity_id": 42`, `"confidence_score": 84`, `"confidence_score": 184`,
		`"uid": "twndr-5f1e0a77c2"`, `"uid": ""`).Replace(string(exampleBody(b, "c2-beaconing.json")))
	dets := decode(b, []byte(body))
	if errs := v.Validate(dets); len(errs) != 3 {
		b.Fatalf("want 3 field errors, got %v", errs)
	}
	b.ReportAllocs()
	for b.Loop() {
		if errs := v.Validate(dets); len(errs) != 3 {
			b.Fatal(errs)
		}
	}
}

// BenchmarkDetectionIntake decodes and validates one body, the whole
// intake check before dispatch.
func BenchmarkDetectionIntake(b *testing.B) {
	v, err := intake.NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	body := exampleBody(b, "c2-beaconing.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		dets, err := intake.Decode(bytes.NewReader(body), intake.DecodeOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if errs := v.Validate(dets); errs != nil {
			b.Fatal(errs)
		}
	}
}

// BenchmarkDetectionBatch decodes and validates an NDJSON body of 100
// detections (one request); reports the time per detection.
func BenchmarkDetectionBatch(b *testing.B) {
	v, err := intake.NewValidator()
	if err != nil {
		b.Fatal(err)
	}
	one := bytes.Join(bytes.Fields(exampleBody(b, "c2-beaconing.json")), []byte(" "))
	var body bytes.Buffer
	for i := range 100 {
		body.Write(bytes.Replace(one, []byte(`"twndr-5f1e0a77c2"`), fmt.Appendf(nil, `"twndr-%d"`, i), 1))
		body.WriteByte('\n')
	}
	b.SetBytes(int64(body.Len()))
	b.ReportAllocs()
	for b.Loop() {
		dets, err := intake.Decode(bytes.NewReader(body.Bytes()), intake.DecodeOptions{})
		if err != nil || len(dets) != 100 {
			b.Fatal(len(dets), err)
		}
		if errs := v.Validate(dets); errs != nil {
			b.Fatal(errs)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/detection")
}
