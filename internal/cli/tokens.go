package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/riposte-dev/riposte/internal/auth"
	"github.com/riposte-dev/riposte/internal/config"
)

const tokensUsage = `Usage: riposte tokens create --user U… --scope SCOPES [--note TEXT]
       riposte tokens list [--json]
       riposte tokens revoke ID

Personal API tokens, each bound to one Slack user id: every decision made
with a token is recorded under that id, whatever a request body says.
Scopes: intake (post detections only), read, approve (approve/deny gates),
operate (rollback, extend, safe mode), vouch (name the requester of a
detection with X-Riposte-Requester), admin (everything). The token is
printed once; only its SHA-256 is stored, in --tokens-file (default
<data-dir>/tokens.json, which riposte dev reads; riposte serve reads
--tokens-file / RIPOSTE_TOKENS_FILE). Revocation takes effect on the next
request. Commands changing one file at once wait for each other (a lock,
FILE.lock, beside it): each keeps its change.`

func tokensCommand() command {
	return command{name: "tokens", summary: "Create, list and revoke personal API tokens", usage: tokensUsage,
		run: func(ctx context.Context, args []string, s Streams) int {
			fs := newFlagSet("tokens", tokensUsage, s)
			dataDir := fs.String("data-dir", config.Env("RIPOSTE_DATA_DIR", ".riposte"), "riposte dev data dir (its tokens.json)")
			file := fs.String("tokens-file", config.Env("RIPOSTE_TOKENS_FILE", ""), "token file (default <data-dir>/tokens.json; env RIPOSTE_TOKENS_FILE)")
			user := fs.String("user", "", "create: the Slack user id the token acts as")
			scope := fs.String("scope", "", "create: comma-separated scopes ("+strings.Join(auth.AllScopes, ", ")+")")
			note := fs.String("note", "", "create: what the token is for")
			asJSON := fs.Bool("json", false, "list: JSON output")
			if len(args) == 0 {
				fmt.Fprint(s.Err, tokensUsage+"\n")
				return 2
			}
			if wantsHelp(args) {
				fs.Usage()
				return 0
			}
			sub := args[0]
			pos, code, ok := parseArgs(fs, args[1:])
			if !ok {
				return code
			}
			path := *file
			if path == "" {
				path = filepath.Join(*dataDir, auth.TokensFile)
			}
			store := auth.NewStore(path)
			switch {
			case sub == "create" && len(pos) == 0:
				scopes, err := auth.ParseScopes(*scope)
				if err != nil {
					fmt.Fprintf(s.Err, "riposte tokens create: --scope: %v\n", err)
					return 2
				}
				tok, rec, err := store.Create(*user, scopes, *note, time.Now())
				if err != nil {
					fmt.Fprintf(s.Err, "riposte tokens create: %v\n", err)
					return 2
				}
				fmt.Fprintf(s.Err, "Token %s for %s, scopes %s (stored hashed in %s). It is shown only now:\n", rec.ID, printable(rec.User), strings.Join(rec.Scopes, ","), path)
				fmt.Fprintln(s.Out, tok)
				return 0
			case sub == "list" && len(pos) == 0:
				recs, err := store.List()
				if err != nil {
					return fail(s, err)
				}
				if *asJSON {
					if recs == nil {
						recs = []auth.Record{} // a list, also before the first token
					}
					for i := range recs {
						recs[i].Hash = "" // no need to print even the hash
					}
					enc := json.NewEncoder(s.Out)
					enc.SetIndent("", "  ")
					_ = enc.Encode(map[string]any{"tokens": recs})
					return 0
				}
				tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tUSER\tSCOPES\tCREATED\tSTATUS\tNOTE")
				for _, r := range recs {
					st := "active"
					if r.RevokedAt != nil {
						st = "revoked " + r.RevokedAt.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, printable(r.User), strings.Join(r.Scopes, ","), r.CreatedAt.UTC().Format(time.RFC3339), st, printable(r.Note))
				}
				_ = tw.Flush()
				return 0
			case sub == "revoke" && len(pos) == 1:
				rec, err := store.Revoke(pos[0], time.Now())
				if err != nil {
					fmt.Fprintf(s.Err, "riposte tokens revoke: %v\n", err)
					return 1
				}
				fmt.Fprintf(s.Out, "revoked %s (%s)\n", rec.ID, printable(rec.User))
				return 0
			}
			fmt.Fprint(s.Err, tokensUsage+"\n")
			return 2
		}}
}
