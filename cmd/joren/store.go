package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"joren/cluster/identity"
	"joren/cluster/store"
)

func newStoreCommand(g *globals) *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:   "store stats|export|check|maintain",
		Short: "Inspect, check and maintain the identity store",
		Long: `store works on the identity store: the device's (--config, by default
` + deviceConfig + ` when it exists), or --store DIR (or JOREN_STORE):

  joren store stats [--json]            what the store holds, its size and limits
  joren store export [--with-descriptors]
                                        every visitor and staff member, one JSON object a
                                        line; descriptors only with --with-descriptors
  joren store check                     integrity: bbolt's page checks, every record and index
  joren store maintain [--trust-clock]  run a maintenance pass now (retention, merges, splits),
                                        then compact the file: nothing deleted is left in it;
                                        --trust-clock takes today's date after a clock jump the
                                        store does not take on its own (docs/identity.md)

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
		RunE: f.run(g, storeRequest{access: inspect}, func(cmd *cobra.Command, args []string, st *storeSession) error {
			if err := st.ops.Check(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s: ok\n", st.dir)
			return nil
		}),
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
	for _, c := range []*cobra.Command{stats, export, check, maintain} {
		f.register(c, c == stats || c == export || c == maintain)
		f.registerDevice(c)
		cmd.AddCommand(c)
	}
	return cmd
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
