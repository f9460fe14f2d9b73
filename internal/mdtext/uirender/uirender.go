// Package uirender renders Markdown with the Temporal UI's own renderer
// (ui-server's /render route at the version go.mod pins: what riposte dev
// embeds and docker-compose's temporalio/ui image runs), so tests can
// check what an analyst reads in the UI. Tests only.
package uirender

import (
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/temporalio/ui-server/v2/server/route"
)

// HTML returns the HTML the UI renders md to, inside its <main>.
func HTML(md string) (string, error) {
	e := echo.New()
	route.SetRenderRoute(e, "/")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/render?content="+url.QueryEscape(md), nil))
	body := rec.Body.String()
	i, j := strings.Index(body, "<main>"), strings.Index(body, "</main>")
	if rec.Code != http.StatusOK || i < 0 || j < 0 {
		return "", fmt.Errorf("/render: %d %s", rec.Code, body)
	}
	return body[i+len("<main>") : j], nil
}

// Tag matches an HTML tag.
var Tag = regexp.MustCompile(`<[^>]*>`)

// Text returns what a person reads of md in the UI: its rendering without
// tags, entities decoded, whitespace collapsed.
func Text(md string) (string, error) {
	inner, err := HTML(md)
	if err != nil {
		return "", err
	}
	return strings.Join(strings.Fields(html.UnescapeString(Tag.ReplaceAllString(inner, ""))), " "), nil
}
