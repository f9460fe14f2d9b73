package cli

import (
	"context"
	"log/slog"

	"github.com/riposte-dev/riposte/internal/codec"
	"github.com/riposte-dev/riposte/internal/lab"
)

// TestDev is a running riposte dev for other packages' tests (the security
// suite in internal/security): the same startDev as the command, with the
// command's defaults for everything the tests do not choose (free ports,
// the Temporal frontend's HTTP API off, the Slack fake on, everything on
// loopback).
type TestDev struct{ d *DevSystem }

// StartTestDev starts riposte dev on free ports with dataDir and playbooks.
func StartTestDev(ctx context.Context, dataDir, playbooks string, logger *slog.Logger) (*TestDev, error) {
	o := DevOptions{DataDir: dataDir, Playbooks: playbooks, TemporalPort: 0, TemporalHTTPPort: -1, UIPort: 0, HTTP: "0", MaxBody: 1 << 20, LogLevel: "info", SlackFake: true}
	o.Runtime.Config = dataDir + "/no-riposte.yaml" // no file: the vendor lab
	o.Runtime.Policy = dataDir + "/no-policy.yaml"
	o.Runtime.StickyCache = 100
	d, err := StartDev(ctx, o, logger)
	if err != nil {
		return nil, err
	}
	return &TestDev{d: d}, nil
}

// APIURL is the HTTP API's base URL. It, Token, Lab, FrontendAddress,
// Namespace, UIURL, Keys and SlackSigningSecret (the Slack fake's) describe
// the running system.
func (t *TestDev) APIURL() string             { return t.d.API.URL }
func (t *TestDev) Token() string              { return t.d.Token }
func (t *TestDev) Lab() *lab.Lab              { return t.d.Lab }
func (t *TestDev) FrontendAddress() string    { return t.d.Server.FrontendAddress() }
func (t *TestDev) Namespace() string          { return t.d.Server.Namespace() }
func (t *TestDev) UIURL() string              { return t.d.Server.UIURL() }
func (t *TestDev) Keys() *codec.Keyring       { return t.d.Keys }
func (t *TestDev) SlackSigningSecret() string { return t.d.SlackFakeSigningSecret() }
func (t *TestDev) Close()                     { t.d.Close() }
