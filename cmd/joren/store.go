package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"joren/cluster/identity"
	"joren/cluster/store"
	"joren/vision/dlib"
	"joren/vision/models"
	"joren/vocab"
)

// storeFlags are the flags of every command that opens the identity store.
type storeFlags struct {
	withPolicy bool
	dir        string
	keyFile    string
	// mode is the mode a command expects ("": the store's); a new store
	// is made in it.
	mode        string
	tz          string
	regularDays int
	window      int
	merge       int
	retention   int
}

// register adds --store (defaulting to $JOREN_STORE), --key-file
// (defaulting to $JOREN_STORE_KEY_FILE) and, with policy, the regular
// policy's flags.
func (f *storeFlags) register(cmd *cobra.Command, policy bool) {
	cmd.Flags().StringVar(&f.dir, "store", os.Getenv("JOREN_STORE"), "identity store directory (env JOREN_STORE)")
	cmd.Flags().StringVar(&f.keyFile, "key-file", os.Getenv("JOREN_STORE_KEY_FILE"), "key file of an encrypted store (env JOREN_STORE_KEY_FILE; on the device /run/joren/store.key): a new store is encrypted with it, an unencrypted one when opened for writing; made (mode 0600) if missing and its directory exists")
	if !policy {
		return
	}
	f.withPolicy = true
	fl := cmd.Flags()
	fl.StringVar(&f.tz, "tz", "", "time zone whose local days count, as an IANA name like Asia/Tokyo (default: the store's; UTC for a new store)")
	fl.IntVar(&f.regularDays, "regular-days", identity.DefaultRegularDays, "a visitor is a regular once seen on this many distinct days within the window")
	fl.IntVar(&f.window, "window", identity.DefaultWindow, "the regular window, in days")
	fl.IntVar(&f.merge, "merge-minutes", int(identity.DefaultMergeWindow/time.Minute), "passages of one visitor less than this many minutes apart are one visit")
	fl.IntVar(&f.retention, "retention", identity.DefaultRetention, "visitors unseen for this many days are deleted")
}

// needDir returns the store directory or a usage error.
func (f *storeFlags) needDir() (string, error) {
	if f.dir == "" {
		return "", usagef("no identity store: give --store DIR (or set JOREN_STORE)")
	}
	return f.dir, nil
}

// policy is the regular policy of the flags (zone filled in from the store;
// the defaults for commands without policy flags).
func (f *storeFlags) policy() (identity.Policy, error) {
	if !f.withPolicy {
		return identity.Policy{}, nil
	}
	p := identity.Policy{RegularDays: f.regularDays, Window: f.window, MergeWindow: time.Duration(f.merge) * time.Minute, Retention: f.retention}
	p.Zone = time.UTC // only for validation here; the service uses the store's
	if err := p.Validate(); err != nil {
		return identity.Policy{}, usagef("%v", err)
	}
	p.Zone = nil
	return p, nil
}

// openStore opens the store in dir for model (the zero Model: whatever the
// store holds), creating it when create is set.
func (f *storeFlags) openStore(g *globals, dir string, model vocab.Model, create, readOnly bool) (*store.Store, error) {
	if f.tz != "" {
		if _, err := time.LoadLocation(f.tz); err != nil {
			return nil, usagef("--tz %q: not a time zone (want an IANA name like Europe/Paris): %v", f.tz, err)
		}
	}
	if f.mode != "" {
		if _, err := store.ParseMode(f.mode); err != nil {
			return nil, usagef("--mode: %v", err)
		}
	}
	st, err := store.Open(dir, store.Options{Model: model, Zone: f.tz, Create: create, ReadOnly: readOnly, KeyFile: f.keyFile, Mode: store.Mode(f.mode)})
	if errors.Is(err, store.ErrNoStore) {
		return nil, fmt.Errorf("%w (it is made by `joren replay --store DIR`, `joren staff add` or `joren customers add`)", err)
	}
	if err == nil && st.KeyCreated() {
		g.log.Warn("made a new store key: keep a copy of it apart from the device; without it the store cannot be read", "key_file", f.keyFile)
	}
	return st, err
}

// openService opens the store and its service.
func (f *storeFlags) openService(g *globals, dir string, model vocab.Model, create bool) (*store.Store, *identity.Service, error) {
	pol, err := f.policy()
	if err != nil {
		return nil, nil, err
	}
	st, err := f.openStore(g, dir, model, create, false)
	if err != nil {
		return nil, nil, err
	}
	svc, err := identity.New(st, identity.Options{Policy: pol, Log: g.log, Mode: store.Mode(f.mode)})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, svc, nil
}

// installedModel describes the descriptors of the dlib model installed in
// dir without loading it: its digest is the one `joren models` recorded,
// the same one the recognizer reports, so stores made by replay and by
// staff enrolment agree.
func installedModel(g *globals, dir string) vocab.Model {
	m := dlib.Describe()
	man, err := models.ReadManifest(dir)
	if e, ok := man.Lookup(models.ResNetFile); err == nil && ok {
		m.Digest = e.SHA256
		return m
	}
	g.log.Warn("no model manifest: the store records the model without its digest", "models", dir)
	return m
}

func newStoreCommand(g *globals) *cobra.Command {
	var f storeFlags
	cmd := &cobra.Command{
		Use:   "store stats|export|check|maintain",
		Short: "Inspect, check and maintain the identity store",
		Long: `store works on the identity store (--store DIR or JOREN_STORE):

  joren store stats [--json]            what the store holds, its size and limits
  joren store export [--with-descriptors]
                                        every visitor and staff member, one JSON object a
                                        line; descriptors only with --with-descriptors
  joren store check                     integrity: bbolt's page checks, every record and index
  joren store maintain                  run a maintenance pass now (retention, merges, splits),
                                        then compact the file: nothing deleted is left in it

An encrypted store needs its key file: --key-file FILE or JOREN_STORE_KEY_FILE
(docs/privacy.md).`,
	}
	var asJSON, withDescriptors bool
	stats := &cobra.Command{
		Use:   "stats",
		Short: "What the store holds, its size and limits",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := f.needDir()
			if err != nil {
				return err
			}
			pol, err := f.policy()
			if err != nil {
				return err
			}
			st, err := f.openStore(g, dir, vocab.Model{}, false, true)
			if err != nil {
				return err
			}
			defer st.Close()
			s, err := identity.Summarise(st, pol, time.Now())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(g.stdout).Encode(s)
			}
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
		},
	}
	stats.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	export := &cobra.Command{
		Use:   "export",
		Short: "Every visitor and staff member, one JSON object a line",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := f.needDir()
			if err != nil {
				return err
			}
			pol, err := f.policy()
			if err != nil {
				return err
			}
			st, err := f.openStore(g, dir, vocab.Model{}, false, true)
			if err != nil {
				return err
			}
			defer st.Close()
			return identity.Export(st, pol, time.Now(), g.stdout, withDescriptors)
		},
	}
	export.Flags().BoolVar(&withDescriptors, "with-descriptors", false, "include the exemplar descriptors (biometric data: keep the file on the device)")
	check := &cobra.Command{
		Use:   "check",
		Short: "Check the store's integrity",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := f.needDir()
			if err != nil {
				return err
			}
			st, err := f.openStore(g, dir, vocab.Model{}, false, true)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Check(); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s: ok\n", dir)
			return nil
		},
	}
	maintain := &cobra.Command{
		Use:   "maintain",
		Short: "Run a maintenance pass now",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := f.needDir()
			if err != nil {
				return err
			}
			st, svc, err := f.openService(g, dir, vocab.Model{}, false)
			if err != nil {
				return err
			}
			defer st.Close()
			r, err := svc.Maintain(cmd.Context(), time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "expired %d visitors and %d logged visits; checked %d, merged %d, split %d; %d left to check; file compacted from %d to %d bytes (%s)\n",
				r.Expired, r.Pruned, r.Checked, r.Merged, r.Split, r.Remaining, r.FileBefore, r.FileAfter, r.Elapsed.Round(time.Millisecond))
			return nil
		},
	}
	for _, c := range []*cobra.Command{stats, export, check, maintain} {
		f.register(c, c == stats || c == export || c == maintain)
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
