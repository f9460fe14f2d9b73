package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/riposte-dev/riposte/internal/dispatch"
	"github.com/riposte-dev/riposte/internal/intake"
	"github.com/riposte-dev/riposte/internal/intake/convert"
	"github.com/riposte-dev/riposte/internal/problem"
)

// convertDetections applies ?format= (crowdstrike, graph, elastic,
// suricata, ocsf) or, without it, auto-detection of unmistakable vendor
// records, in place, and validates every detection that converted. It
// returns the format applied to each detection ("" = OCSF as sent), or the
// problem to answer: an unknown format, or the conversion and validation
// errors of all detections together, in index order (a record that did not
// convert must not hide what is wrong with the others). With partial, the
// errors are returned instead (invalid: those of each detection refused)
// and only an unknown format is a problem.
func convertDetections(r *http.Request, dets []intake.Detection, v *intake.Validator, partial bool) ([]string, map[int][]intake.FieldError, *problem.Problem) {
	format := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("format")))
	if !convert.Valid(format) {
		p := problem.Problem{Type: intake.ProblemTypeInvalid, Title: "Unknown detection format", Status: http.StatusBadRequest,
			Detail: fmt.Sprintf("query parameter format must be one of ocsf, %s; got %q", strings.Join(convert.Formats(), ", "), format)}
		return nil, nil, &p
	}
	applied := make([]string, len(dets))
	var errs []intake.FieldError
	for i, d := range dets {
		out, f, err := convert.One(i, map[string]any(d), format)
		if err != nil {
			var ce *convert.Error
			if errors.As(err, &ce) {
				errs = append(errs, intake.FieldError{Index: i, Path: ce.Path, Message: ce.Message + " (as " + f + ")"})
			} else {
				errs = append(errs, intake.FieldError{Index: i, Message: err.Error()})
			}
			continue
		}
		dets[i], applied[i] = intake.Detection(out), f
	}
	converted := len(errs) == 0
	for i, d := range dets {
		if slices.ContainsFunc(errs, func(e intake.FieldError) bool { return e.Index == i }) {
			continue
		}
		for _, e := range v.Validate([]intake.Detection{d}) {
			e.Index = i
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		if !converted {
			slices.SortStableFunc(errs, func(a, b intake.FieldError) int { return a.Index - b.Index })
		}
		if partial {
			invalid := map[int][]intake.FieldError{}
			for _, e := range errs {
				invalid[e.Index] = append(invalid[e.Index], e)
			}
			return applied, invalid, nil
		}
		p := intake.ValidationProblem(errs)
		return nil, nil, &p
	}
	return applied, nil, nil
}

// conversionWarning says, in the answer, that a detection was converted.
func conversionWarning(idx int, format string) intake.FieldError {
	a := "a "
	if strings.ContainsAny(format[:min(1, len(format))], "aeiou") {
		a = "an " // an elastic alert
	}
	return intake.FieldError{Index: idx, Path: "", Message: "converted from " + a + format + " alert to OCSF Detection Finding 2004; the original is in raw_data"}
}

// ExplainResponse is the body of POST /v1/detections?explain=true.
type ExplainResponse struct {
	Detections []dispatch.Explanation `json:"detections"`
}

// queryFlag reads a boolean query parameter: absent is false, present
// with no value (?explain) is true, otherwise strconv.ParseBool's forms
// (true, 1, TRUE, false, 0, ...). Anything else is an error, so a
// misspelt ?explain=yes is refused rather than taken for a live run.
func queryFlag(q url.Values, name string) (bool, error) {
	vs, ok := q[name]
	if !ok {
		return false, nil
	}
	v := ""
	if len(vs) > 0 {
		v = vs[0]
	}
	if v == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("query parameter %s must be true or false, got %q", name, v)
	}
	return b, nil
}

// explainDetections answers what each playbook's trigger made of each
// detection, starting nothing.
func (s *Server) explainDetections(w http.ResponseWriter, dets []intake.Detection, formats []string) {
	resp := ExplainResponse{Detections: make([]dispatch.Explanation, 0, len(dets))}
	for i, d := range dets {
		e := s.Dispatcher.Explain(i, d)
		if formats[i] != "" {
			e.Warnings = append([]intake.FieldError{conversionWarning(i, formats[i])}, e.Warnings...)
		}
		resp.Detections = append(resp.Detections, e)
	}
	writeJSON(w, http.StatusOK, resp)
}
