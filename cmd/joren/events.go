package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"joren/sync/event"
	"joren/sync/outbox"
	"joren/sync/publish"
	"joren/vocab"
)

func newEventsCommand(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events publish|status|command",
		Short: "Publish pseudonymous visit events to head office over MQTT, and inspect the outbox",
		Long: `events is the head-office side of the device (docs/events.md):

  joren events publish --publish mqtt://HOST --site SHOP [FILE.jsonl]
        publishes identity-store decisions, one JSON object a line as
        "joren replay --full" prints them (standard input without FILE), as
        pseudonymous visit events on joren/SHOP/DEVICE/visit
  joren events status [--state DIR] [--json]
        what the outbox holds: events waiting, dropped, the visit counters
  joren events command --key-file FILE forget --visitor PSEUDONYM --period 2026-05
  joren events command --key-file FILE stats
        prints a signed command for the device's command topic (when the device
        has commands enabled), for example to pipe into mosquitto_pub -s

Every event is stored in the outbox (--state DIR/outbox.db) before it is sent,
and stays there until the broker acknowledges it: what the broker does not take
now is sent by the next run.`,
	}
	cmd.AddCommand(newEventsPublishCommand(g), newEventsStatusCommand(g), newEventsCommandCommand(g))
	return cmd
}

func newEventsPublishCommand(g *globals) *cobra.Command {
	var pf publishFlags
	cmd := &cobra.Command{
		Use:   "publish --publish mqtt://HOST --site SHOP [FILE.jsonl]",
		Short: "Publish decisions (as joren replay --full prints them) as visit events",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("events publish takes at most one file, got %d", len(args))
			}
			if !pf.enabled() {
				return usagef("events publish needs --publish mqtt://HOST[:PORT]")
			}
			return pf.check()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			r, name := io.Reader(os.Stdin), "standard input"
			if len(args) == 1 && args[0] != "-" {
				fh, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer fh.Close()
				r, name = fh, args[0]
			}
			pub, err := pf.start(cmd.Context(), g, nil, []string{installedModel(g, g.modelDir).ID()})
			if err != nil {
				return err
			}
			defer pub.Close()
			failed, total, err := publishDecisions(g, pub, r, name)
			// Close says what was published and what waits; when the
			// publisher stopped, its error is the one to tell.
			if cerr := pub.Close(); cerr != nil {
				return cerr
			}
			if err != nil {
				return err
			}
			if failed > 0 {
				return partialError{failed, total}
			}
			return nil
		},
	}
	pf.register(cmd, "publish")
	return cmd
}

// publishDecisions publishes every decision of r; a line that is not a
// decision is reported (file:line: what is wrong) and skipped.
func publishDecisions(g *globals, pub *publishing, r io.Reader, name string) (failed, total int, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		total++
		var d vocab.Decision
		dec := json.NewDecoder(strings.NewReader(line))
		if err := dec.Decode(&d); err != nil {
			failed++
			fmt.Fprintf(g.stderr, "%s:%d: not a decision: %v\n", name, n, err)
			continue
		}
		if d.Time.IsZero() || (d.Visitor == "" && d.Staff == "") {
			failed++
			fmt.Fprintf(g.stderr, "%s:%d: not a decision: needs \"time\" and \"visitor\" (print decisions with joren replay --full)\n", name, n)
			continue
		}
		if err := pub.Publish(d); err != nil {
			return failed, total, err
		}
	}
	if err := sc.Err(); err != nil {
		return failed, total, fmt.Errorf("reading %s: %w", name, err)
	}
	return failed, total, nil
}

// eventsStatus is what events status prints.
type eventsStatus struct {
	Outbox  string            `json:"outbox"`
	Pending int               `json:"pending"`
	Dropped uint64            `json:"dropped"`
	Damaged int               `json:"damaged"`
	Counts  publish.Counters  `json:"counts"`
	Oldest  *outboxRecordInfo `json:"oldest,omitempty"`
}

type outboxRecordInfo struct {
	ID    string `json:"id"`
	Topic string `json:"topic"`
}

func newEventsStatusCommand(g *globals) *cobra.Command {
	var (
		state  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status [--state DIR] [--json]",
		Short: "Show the event outbox: events waiting, dropped, visit counters",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := filepath.Join(state, publish.OutboxFile)
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("no outbox at %s (events were never published with --state %s): %w", path, state, err)
			}
			box, err := outbox.Open(path, outbox.Options{LockTimeout: time.Second})
			if err != nil {
				return err
			}
			defer box.Close()
			c, err := publish.ReadCounters(box)
			if err != nil {
				return err
			}
			st := eventsStatus{Outbox: path, Pending: box.Len(), Dropped: box.Dropped(), Damaged: box.Damaged(), Counts: c}
			if recs, err := box.Peek(1); err == nil && len(recs) == 1 {
				st.Oldest = &outboxRecordInfo{ID: recs[0].ID, Topic: recs[0].Topic}
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(st)
			}
			fmt.Fprintf(g.stdout, "outbox %s: %d event(s) waiting, %d dropped when full, %d damaged\n", path, st.Pending, st.Dropped, st.Damaged)
			if st.Oldest != nil {
				fmt.Fprintf(g.stdout, "oldest waiting: %s on %s\n", st.Oldest.ID, st.Oldest.Topic)
			}
			// Counted once per decided visit, however often published.
			fmt.Fprintf(g.stdout, "visits published: %d (new %d, returning %d, regular %d); on %s: %d\n",
				c.Total.Visits, c.Total.New, c.Total.Returning, c.Total.Regulars, orDash(c.Day), c.Today.Visits)
			return nil
		},
	}
	cmd.Flags().StringVar(&state, "state", envOr("JOREN_STATE", "state"), "directory of the event outbox (env JOREN_STATE)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newEventsCommandCommand(g *globals) *cobra.Command {
	var (
		keyFile, visitor, period, id string
	)
	cmd := &cobra.Command{
		Use:   "command --key-file FILE forget --visitor PSEUDONYM --period PERIOD | stats | page",
		Short: "Print a signed command for a device's command topic",
		Long: `command prints a command for joren/SITE/DEVICE/command, signed with the
command key shared with the device (at least 16 bytes; the file's text, without
surrounding white space, as the device reads it). Send it within 5 minutes:

  joren events command --key-file key forget --visitor 3f2a... --period 2026-05 |
      mosquitto_pub -h BROKER -t joren/SHOP/DEVICE/command -q 1 -s

stats asks for a stats message now; page turns the box's page on again after it
turned itself off. The device answers on joren/SHOP/DEVICE/reply.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || (args[0] != event.Forget && args[0] != event.PublishStats && args[0] != event.Page) {
				return usagef("command needs forget, stats or page")
			}
			if keyFile == "" {
				return usagef("command needs --key-file FILE")
			}
			if args[0] == event.Forget && (visitor == "" || period == "") {
				return usagef("forget needs --visitor PSEUDONYM and --period PERIOD (both as in the visit event)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			key, err := publish.ReadCommandKey(keyFile)
			if err != nil {
				return err
			}
			now := time.Now().UTC()
			if id == "" {
				id = event.NewID(now)
			}
			c := event.Command{Schema: event.CommandSchema, ID: id, Time: now.Format(time.RFC3339), Name: args[0]}
			if args[0] == event.Forget {
				c.Visitor, c.Period = visitor, period
			}
			c.Sign(key)
			return json.NewEncoder(g.stdout).Encode(c)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&keyFile, "key-file", "", "file holding the command key shared with the device")
	fl.StringVar(&visitor, "visitor", "", "forget: the visitor's pseudonym, as in a visit event")
	fl.StringVar(&period, "period", "", "forget: the pseudonym's period, as in the visit event")
	fl.StringVar(&id, "id", "", "the command's id (default: a new ULID)")
	return cmd
}
