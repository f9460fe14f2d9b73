package devserver

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
)

const (
	// DBFile is the SQLite file created inside Options.DataDir.
	DBFile = "temporal.db"
	// sqliteDriverName is the database/sql driver (modernc.org/sqlite) that the
	// Temporal SQLite plugin registers and uses.
	sqliteDriverName = "sqlite"
	// busyTimeoutMillis bounds how long a statement waits on a lock held by
	// another connection (e.g. an external sqlite3 shell reading the file).
	busyTimeoutMillis = "10000"
)

// sqliteConfig builds the persistence config for the SQLite plugin.
//
// The plugin turns every ConnectAttributes entry that is not an SQLite URI
// parameter (mode, cache, vfs, ...) into "_pragma=<key>=<value>", so pragmas
// are given by their plain names. The plugin shares one *sql.DB per DSN between
// all services of the process; MaxConns=1 serialises all access through a
// single connection, which is what SQLite wants for writes anyway and what
// in-memory databases require.
//
// dbPath == "" selects a private in-memory database.
func sqliteConfig(dbPath string) *config.SQL {
	cfg := &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		MaxConns:     1,
		MaxIdleConns: 1,
	}
	if dbPath == "" {
		// The plugin creates the schema itself for mode=memory. The name must be
		// unique: the plugin's connection pool is keyed by DSN and process-wide,
		// so two in-memory servers with the same name would share one database.
		cfg.DatabaseName = "riposte-devserver-" + rand.Text()
		cfg.ConnectAttributes = map[string]string{
			"mode":         "memory",
			"cache":        "shared",
			"busy_timeout": busyTimeoutMillis,
		}
		return cfg
	}
	cfg.DatabaseName = dbPath
	cfg.ConnectAttributes = map[string]string{
		"mode":         "rwc",
		"journal_mode": "wal",
		"synchronous":  "NORMAL",
		"busy_timeout": busyTimeoutMillis,
	}
	return cfg
}

// prepareDataDir creates dataDir if needed and returns the absolute path of
// the database file in it.
func prepareDataDir(dataDir string) (string, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return "", fmt.Errorf("resolving data dir %q: %w", dataDir, err)
	}
	// The plugin builds "file:<path>?<params>" without escaping, and SQLite
	// decodes %XX in URI file names: refuse paths that would be misread.
	if strings.ContainsAny(abs, "?#%") {
		return "", fmt.Errorf("data dir %q: path must not contain '?', '#' or '%%'", abs)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return "", fmt.Errorf("creating data dir: %w", err)
	}
	return filepath.Join(abs, DBFile), nil
}

// ensureSchema creates the Temporal schema (main + visibility) in the SQLite
// file described by cfg unless it is already there.
//
// The schema is applied in a single transaction on a private connection that
// is closed afterwards (the plugin's own pool never closes connections), so a
// crash during the first start leaves either a complete schema or none, and
// the next start simply retries.
func ensureSchema(ctx context.Context, cfg *config.SQL) error {
	dsn, err := sqliteDSN(cfg)
	if err != nil {
		return err
	}
	db, err := sql.Open(sqliteDriverName, dsn)
	if err != nil {
		return fmt.Errorf("opening %s: %w", cfg.DatabaseName, err)
	}
	defer func() { _ = db.Close() }()
	db.SetMaxOpenConns(1)

	var n int
	err = db.QueryRowContext(ctx,
		`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('namespaces', 'executions_visibility')`,
	).Scan(&n)
	if err != nil {
		return fmt.Errorf("reading schema of %s: %w", cfg.DatabaseName, err)
	}
	switch n {
	case 2:
		return leanVisibility(ctx, db) // already set up
	case 1:
		return fmt.Errorf("%s holds a partial Temporal schema; remove the file to start over", cfg.DatabaseName)
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning schema transaction: %w", err)
	}
	if err := sqliteschema.SetupSchemaOnDB(txAdminDB{ctx: ctx, tx: tx}); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("creating schema in %s: %w", cfg.DatabaseName, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing schema in %s: %w", cfg.DatabaseName, err)
	}
	return leanVisibility(ctx, db)
}

// unusedVisibilityIndexes are indexes of Temporal's SQLite visibility table
// that nothing in a Riposte dev server filters on: history and duration
// figures, parent and root links, batch, schedule, pause and worker
// deployment attributes, and the pre-allocated Bool, Datetime and Double
// columns (Riposte's own attributes are Keyword and Int). The table has 58
// indexes and every visibility write (a run's start, each search attribute
// upsert, its close) rewrites the row and so every index, which made these
// writes the largest single cost of a run. Queries on these columns still
// work, by scanning.
var unusedVisibilityIndexes = []string{
	"by_history_length", "by_history_size_bytes", "by_execution_duration", "by_state_transition_count",
	"by_parent_workflow_id", "by_parent_run_id", "by_root_workflow_id", "by_root_run_id",
	"by_batcher_user", "by_temporal_scheduled_start_time", "by_temporal_scheduled_by_id", "by_temporal_schedule_paused",
	"by_temporal_pause_info", "by_temporal_worker_deployment_version", "by_temporal_workflow_versioning_behavior",
	"by_temporal_worker_deployment",
	"by_bool_01", "by_bool_02", "by_bool_03", "by_datetime_01", "by_datetime_02", "by_datetime_03",
	"by_double_01", "by_double_02", "by_double_03",
	"by_temporal_bool_01", "by_temporal_bool_02", "by_temporal_datetime_01", "by_temporal_datetime_02",
	"by_temporal_double_01", "by_temporal_double_02", "by_temporal_int_01", "by_temporal_int_02",
	"by_temporal_keyword_01", "by_temporal_keyword_02", "by_temporal_keyword_03", "by_temporal_keyword_04",
	"by_temporal_low_cardinality_keyword_01",
}

// leanVisibility drops unusedVisibilityIndexes (idempotent: data dirs made
// before this existed get it on their next start).
func leanVisibility(ctx context.Context, db *sql.DB) error {
	for _, name := range unusedVisibilityIndexes {
		if _, err := db.ExecContext(ctx, "DROP INDEX IF EXISTS "+name); err != nil {
			return fmt.Errorf("dropping unused visibility index %s: %w", name, err)
		}
	}
	return nil
}

// sqliteDSN renders the same kind of DSN the plugin uses (without the
// plugin-only parameters) for the private setup connection.
func sqliteDSN(cfg *config.SQL) (string, error) {
	if strings.ContainsAny(cfg.DatabaseName, "?#%") {
		return "", fmt.Errorf("invalid database path %q", cfg.DatabaseName)
	}
	q := url.Values{}
	for k, v := range cfg.ConnectAttributes {
		switch k {
		case "mode", "cache", "vfs", "immutable", "nolock", "psow", "modeof":
			q.Set(k, v)
		case "setup":
		default:
			q.Add("_pragma", k+"="+v)
		}
	}
	return "file:" + cfg.DatabaseName + "?" + q.Encode(), nil
}

// txAdminDB lets sqliteschema.SetupSchemaOnDB, which only issues Exec calls,
// run inside a transaction. Any other AdminDB method panics (nil embedded
// interface); SetupSchemaOnDB in the pinned server version does not use them.
type txAdminDB struct {
	sqlplugin.AdminDB
	ctx context.Context
	tx  *sql.Tx
}

func (t txAdminDB) Exec(stmt string, args ...any) error {
	_, err := t.tx.ExecContext(t.ctx, stmt, args...)
	return err
}
