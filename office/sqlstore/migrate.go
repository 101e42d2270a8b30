package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrations embed.FS

// migrate brings the schema to the newest version. PostgreSQL instances
// starting together serialise on goose's advisory lock; SQLite ones on
// the caller's file lock.
func migrate(ctx context.Context, db *sql.DB, d dialect, log *slog.Logger) error {
	sub, err := fs.Sub(migrations, "migrations/"+d.name)
	if err != nil {
		return err
	}
	opts := []goose.ProviderOption{goose.WithSlog(log), goose.WithDisableGlobalRegistry(true)}
	if d.postgres {
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(d.goose, db, sub, opts...)
	if err != nil {
		return fmt.Errorf("preparing the migrations: %w", err)
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if current > target {
		return fmt.Errorf("the database's schema is version %d, newer than this joren-office knows (%d): use a newer joren-office", current, target)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrating the schema from version %d to %d: %w", current, target, err)
	}
	for _, r := range res {
		log.Info("schema migrated", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}
