package pgtest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A cluster starts, takes two separate databases, and stops.
func TestStart(t *testing.T) {
	s := Start(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 2 {
		c, err := pgx.Connect(ctx, s.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, "CREATE TABLE t (x int)"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 't'").Scan(&n); err != nil || n != 1 {
			t.Fatalf("tables named t: %d, %v (databases are not separate)", n, err)
		}
		c.Close(ctx)
	}
	s.Stop()
	if _, err := pgx.Connect(ctx, s.DSN("postgres")); err == nil {
		t.Error("connected to a stopped server")
	}
}
