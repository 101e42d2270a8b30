package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/internal/boltfile"
)

func newStoreCommand(g *globals) *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:   "store stats|export|check|maintain|salvage",
		Short: "Inspect, check and maintain the identity store",
		Long: `store works on the identity store: the device's (--config, by default
` + deviceConfig + ` when it exists), or --store DIR (or JOREN_STORE):

  joren store stats [--json]            what the store holds, its size and limits
  joren store export [--with-descriptors]
                                        every visitor and staff member, one JSON object a
                                        line; descriptors only with --with-descriptors
  joren store check                     integrity: bbolt's page checks, every record and index;
                                        exit status 1 and what is wrong if the store is damaged
  joren store maintain [--trust-clock]  run a maintenance pass now (retention, merges, splits),
                                        then compact the file: nothing deleted is left in it;
                                        --trust-clock takes today's date after a clock jump the
                                        store does not take on its own (docs/identity.md)
  joren store salvage --out NEWDIR      copy every record of a damaged store that still reads
                                        into a new store, and say what was kept and lost; the
                                        store itself is left as it is (also: repair)

While joren run runs on the store, these go through its control socket
(control.socket; root or the service's user); an export with descriptors then
needs the service stopped. An encrypted store needs its key file: store.key_file,
--key-file FILE or JOREN_STORE_KEY_FILE (docs/privacy.md).`,
	}
	var asJSON, withDescriptors bool
	stats := &cobra.Command{
		Use:   "stats",
		Short: "What the store holds, its size and limits",
		Args:  exactArgs(0, "no arguments"),
		RunE: f.run(g, storeRequest{access: inspect}, func(cmd *cobra.Command, args []string, st *storeSession) error {
			s, err := st.ops.Stats(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(s)
			}
			info, err := st.ops.Info(cmd.Context())
			if err != nil {
				return err
			}
			pol := info.Policy
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "store\t%s (schema %d, created %s)\n", s.Dir, s.Schema, s.Created.Format(time.RFC3339))
			fmt.Fprintf(tw, "model\t%s (%d values)\n", s.Model, s.Dim)
			fmt.Fprintf(tw, "time zone\t%s\n", s.Zone)
			fmt.Fprintf(tw, "mode\t%s\n", modeLine(s))
			fmt.Fprintf(tw, "encryption\t%s\n", cipherLine(s))
			fmt.Fprintf(tw, "visitors\t%d of at most %d (%d regulars now: %d days within %d; %d ever regular)\n", s.Identities, s.Limits.MaxIdentities, s.Regulars, pol.RegularDays, pol.Window, s.EverRegular)
			fmt.Fprintf(tw, "enrolled customers\t%d\n", s.Customers)
			fmt.Fprintf(tw, "staff\t%d\n", s.Staff)
			fmt.Fprintf(tw, "logged visits\t%d (%d anonymous passages)\n", s.LoggedVisits, s.Passages)
			fmt.Fprintf(tw, "records\t%.1f MB of at most %.0f MB (file %.1f MB)\n", float64(s.Bytes)/(1<<20), float64(s.Limits.MaxBytes)/(1<<20), float64(s.FileSize)/(1<<20))
			if !s.MostRecent.IsZero() {
				fmt.Fprintf(tw, "last seen\t%s to %s\n", s.LeastRecent.Format(time.DateTime), s.MostRecent.Format(time.DateTime))
			}
			last := s.LastMaintenance
			if last == "" {
				last = "never"
			}
			fmt.Fprintf(tw, "maintenance\tlast pass %s, %d visitors to re-check\n", last, s.ToCheck)
			return tw.Flush()
		}),
	}
	stats.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	export := &cobra.Command{
		Use:   "export",
		Short: "Every visitor and staff member, one JSON object a line",
		Args:  exactArgs(0, "no arguments"),
		RunE: f.run(g, storeRequest{access: inspect}, func(cmd *cobra.Command, args []string, st *storeSession) error {
			return st.ops.Export(cmd.Context(), g.stdout, withDescriptors)
		}),
	}
	export.Flags().BoolVar(&withDescriptors, "with-descriptors", false, "include the exemplar descriptors (biometric data: keep the file on the device)")
	check := &cobra.Command{
		Use:   "check",
		Short: "Check the store's integrity",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := f.run(g, storeRequest{access: inspect}, func(cmd *cobra.Command, args []string, st *storeSession) error {
				if err := st.ops.Check(cmd.Context()); err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "%s: ok\n", st.dir)
				return nil
			})(cmd, args)
			// A damaged file: what is wrong with it, one problem a line.
			return damageReport(g, f.dir, err)
		},
	}
	var trustClock bool
	maintain := &cobra.Command{
		Use:   "maintain [--trust-clock]",
		Short: "Run a maintenance pass now",
		Args:  exactArgs(0, "no arguments"),
		RunE: f.run(g, storeRequest{access: change}, func(cmd *cobra.Command, args []string, st *storeSession) error {
			r, err := st.ops.Maintain(cmd.Context(), trustClock)
			if err != nil {
				return err
			}
			if r.Held != "" {
				fmt.Fprintf(g.stderr, "retention held: %s\n", r.Held)
			}
			fmt.Fprintf(g.stdout, "expired %d visitors and %d logged visits; checked %d, merged %d, split %d; %d left to check; file compacted from %d to %d bytes (%s)\n",
				r.Expired, r.Pruned, r.Checked, r.Merged, r.Split, r.Remaining, r.FileBefore, r.FileAfter, (time.Duration(r.ElapsedMS) * time.Millisecond))
			return nil
		}),
	}
	maintain.Flags().BoolVar(&trustClock, "trust-clock", false, "the clock's date is right: take it even after a jump the store never takes on its own (docs/identity.md, the clock guard)")
	var out string
	salvage := &cobra.Command{
		Use:     "salvage --out NEWDIR",
		Aliases: []string{"repair"},
		Short:   "Copy every record of a damaged store that still reads into a new store",
		Long: `salvage reads the store in --store DIR as it is, damaged or not, and copies
every record that still reads, decodes and (in an encrypted store, with its
--key-file) authenticates into a new store in NEWDIR, rebuilding its indexes and
counters. It prints what it kept and what was lost. DIR is left as it is: to use
the new store, stop joren and move NEWDIR's identities.db into DIR's place.

A store whose own description was lost with the damage is given the installed
model and --tz.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := f.resolve(cmd, g)
			if err != nil {
				return err
			}
			if out == "" {
				return usagef("store salvage needs --out NEWDIR (a directory without a store)")
			}
			from := filepath.Join(p.dir, store.FileName)
			if _, err := os.Stat(from); err != nil {
				return fmt.Errorf("%w in %s: %v", store.ErrNoStore, p.dir, err)
			}
			rep, err := store.Salvage(from, out, store.Options{Model: installedModel(g, g.modelDir), Zone: p.zone, KeyFile: p.keyFile, Mode: p.mode})
			if err != nil {
				return err
			}
			if rep.Damage != nil {
				fmt.Fprintf(g.stdout, "%s: %v\n", from, rep.Damage)
			}
			fmt.Fprintf(g.stdout, "salvaged into %s: %s\n", out, rep)
			fmt.Fprintf(g.stdout, "%s is left as it is; to use the new store, stop joren and move %s into its place\n", p.dir, filepath.Join(out, store.FileName))
			return nil
		},
	}
	salvage.Flags().StringVar(&out, "out", "", "directory of the new store (it must hold none)")
	salvage.Flags().StringVar(&f.tz, "tz", "", "time zone of the new store, if the damaged store's own was lost (IANA name, default UTC)")
	for _, c := range []*cobra.Command{stats, export, check, maintain} {
		f.register(c, c == stats || c == export || c == maintain)
		f.registerDevice(c)
		cmd.AddCommand(c)
	}
	f.register(salvage, false)
	f.registerDevice(salvage)
	cmd.AddCommand(salvage)
	return cmd
}

// damageReport prints what is wrong with a damaged file, one problem a
// line, and returns the error to exit with; other errors it returns as
// they are, nil as nil.
func damageReport(g *globals, what string, err error) error {
	var de *boltfile.DamageError
	if !errors.As(err, &de) {
		return err
	}
	fmt.Fprintf(g.stdout, "%s is damaged:\n", de.Path)
	for _, p := range de.Problems {
		fmt.Fprintf(g.stdout, "  %s\n", p)
	}
	if de.More > 0 {
		fmt.Fprintf(g.stdout, "  (and %d more problems)\n", de.More)
	}
	return err
}

func modeLine(s identity.Stats) string {
	if s.Mode == string(store.Consent) {
		return "consent: only enrolled customers are recognised; nobody else is remembered"
	}
	return "counting: every visitor is remembered and may become a regular"
}

func cipherLine(s identity.Stats) string {
	if s.Cipher == "" {
		return "none (give --key-file to encrypt it)"
	}
	return s.Cipher + " (record values; docs/privacy.md)"
}
