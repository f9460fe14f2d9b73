// Package intake decodes and validates the detections that arrive at
// Riposte over HTTP, before they start playbook workflows.
//
// # Input format
//
// The native format is the OCSF Detection Finding class (class_uid 2004).
// A request body may hold
//
//   - one JSON object (one detection),
//   - a JSON array of objects, or
//   - NDJSON: one object per line; blank lines and CRLF line endings are
//     allowed, and a single object may span several lines.
//
// [Decode] enforces size, nesting and count limits ([DecodeOptions]) before
// any value is built, rejects duplicate object keys, and returns each
// detection as a [Detection] (a plain map). Numbers become int when they
// are integral and fit, float64 otherwise, so the expression language used
// by playbooks compares them naturally.
//
// # Validation
//
// [Validator] checks detections against the small embedded JSON Schema in
// detection.schema.json (draft 2020-12). The schema only covers the fields
// playbooks rely on: class_uid, finding_info.uid/title, severity_id, time,
// confidence_score and metadata.product are required or bounded; the
// fields the finding view reads (the lifecycle ids activity_id, status_id,
// state_id, verdict_id, confidence_id; the entity objects and lists such
// as device, actor, evidences, observables, resources, unmapped, and
// their hostname, ip, user fields) must have their OCSF JSON type when
// present, so a value the view could not read is refused naming it rather
// than skipped (a Close whose activity_id is the text "3" would otherwise
// read as active). null is absent at every level. Any other field is
// allowed and carried through untouched.
//
// Validation reports every problem of every detection at once as
// [FieldError] values. A FieldError locates the field with the 0-based
// detection Index and a Path inside that detection:
//
//   - object members are joined with dots: finding_info.uid
//   - array items use brackets: attacks[0].technique.uid
//   - a key that is not made only of ASCII letters, digits, '_' and '-' is
//     written as a quoted bracket: unmapped["x.y"]
//   - the empty path means the detection itself.
//
// # Untrusted content
//
// Detections are frequently written by AI models. All text inside them is
// data: this package never evaluates, templates or interprets it. The
// accessors ([Detection.UID], [Detection.Product], ...) only read values, and
// [Detection.Key] turns attacker-controlled text into a bounded identifier
// made of [a-z0-9._-] that is safe inside a Temporal workflow id.
//
// # Errors over HTTP
//
// [DecodeProblem] and [ValidationProblem] build the RFC 9457 problem
// (internal/problem, which writes it as application/problem+json) for a
// [Decode] error (413 for [ErrTooLarge], 400 otherwise) and for validation
// errors (400).
package intake
