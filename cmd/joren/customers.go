package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"joren/appliance/control"
	"joren/cluster/identity"
	"joren/cluster/store"
)

func newCustomersCommand(g *globals) *cobra.Command {
	var (
		sf           storeFlags
		note         string
		forgetOthers bool
	)
	cmd := &cobra.Command{
		Use:   "customers add|list|remove|mode",
		Short: "Enrol customers who consent to be recognised; consent mode",
		Long: `customers manages the enrolled customers of the identity store: the
device's (--config, by default ` + deviceConfig + ` when it exists), or --store DIR
(or JOREN_STORE; --key-file FILE or JOREN_STORE_KEY_FILE if it is encrypted).

In counting mode (the default) everyone who passes is remembered and may
become a regular. In consent mode only enrolled customers are recognised:
anyone else leaves no identity and nothing of their face, and counts only as
an anonymous passage. Enrolled customers follow the same regular policy and
the same retention as everyone (docs/privacy.md).

  joren customers add NAME IMAGE... [--note TEXT]
        enrol the face in each image (the largest face of an image with
        several) and record today as the consent date; adds to NAME's faces if
        NAME is enrolled; in counting mode, a visitor the store already knows
        by these faces becomes NAME, with their history; makes the store if
        there is none
  joren customers list [--json]   the enrolled customers and their visits
  joren customers remove NAME     delete everything about a customer (consent
                                  withdrawn), then compact the store's file
  joren customers mode            the store's mode
  joren customers mode consent --forget-others
        switch to consent mode: forgets every visitor who did not enrol
  joren customers mode counting   switch back (enrolled customers are kept)

While joren run runs on the store, these go through its control socket (root or
the service's user); only face descriptors are sent, never the images. No image
is stored: only each face's descriptor and the file's name. A switch of mode
must be matched by store.mode in the device's configuration: joren run refuses
to start while they differ.`,
	}
	add := addPersonCommands(g, cmd, &sf, personKind{
		cmd: "customers", one: "a customer",
		addShort: "Enrol a customer's face from images, recording their consent", listShort: "The enrolled customers",
		removeShort: "Delete everything about a customer",
		checkName:   identity.CheckCustomerName,
		add: func(cmd *cobra.Command, s *storeSession, e control.Enrolment) error {
			e.Note = note
			a, err := s.ops.AddCustomer(cmd.Context(), e)
			if err != nil {
				return err
			}
			if a.New {
				fmt.Fprintf(g.stdout, "customer %s enrolled: %d face(s), consent recorded %s\n", a.Name, a.Added, a.Consented.Local().Format(time.DateOnly))
			} else {
				fmt.Fprintf(g.stdout, "customer %s: %d face(s) added, %d in all (consent recorded %s)\n", a.Name, a.Added, a.Faces, a.Consented.Local().Format(time.DateOnly))
			}
			if a.Adopted != "" {
				fmt.Fprintf(g.stdout, "%s was already known as visitor %s (%d visits on %d days): that history is now theirs\n", a.Name, a.Adopted, a.Visits, a.Days)
			}
			if a.Mode == string(store.Counting) {
				fmt.Fprintln(g.stdout, "the store is in counting mode: everyone is remembered; `joren customers mode consent --forget-others` recognises only enrolled customers")
			}
			return nil
		},
		list: func(cmd *cobra.Command, s *storeSession, asJSON bool) error {
			cs, err := s.ops.Customers(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				for _, c := range cs {
					if err := enc.Encode(c); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tCONSENTED\tFACES\tVISITS\tLAST VISIT\tREGULAR\tNOTE")
			for _, c := range cs {
				last := "-"
				if !c.LastVisit.IsZero() {
					last = c.LastVisit.Local().Format(time.DateOnly)
				}
				reg := "no"
				if c.Regular {
					reg = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", c.Name, c.Consented.Local().Format(time.DateOnly), c.Faces, c.Visits, last, reg, c.Note)
			}
			return tw.Flush()
		},
		remove: func(cmd *cobra.Command, s *storeSession, name string) error {
			r, err := s.ops.RemoveCustomer(cmd.Context(), name)
			if err != nil {
				return err
			}
			// Gone from the file too, not only from its live records.
			fmt.Fprintf(g.stdout, "customer %s removed: enrolment, %d visits on %d days and %d logged decisions deleted; store file compacted (%d to %d bytes)\n",
				name, r.Visits, r.Days, r.Logged, r.FileBefore, r.FileAfter)
			return nil
		},
	})
	add.Flags().StringVar(&note, "note", "", "a note kept with the enrolment, e.g. how consent was given (encrypted with the store)")
	mode := &cobra.Command{
		Use:   "mode [counting|consent]",
		Short: "Show or switch the store's mode",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("customers mode takes at most one argument: counting or consent")
			}
			if len(args) == 1 {
				if _, err := store.ParseMode(args[0]); err != nil {
					return usagef("%v", err)
				}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			req := storeRequest{access: change, setsMode: true}
			var want store.Mode
			if len(args) == 1 {
				// A store made here starts in the mode asked for: there
				// is nobody to forget.
				want = store.Mode(args[0])
				req = storeRequest{access: create, newMode: want, setsMode: true}
			}
			s, err := sf.session(cmd, g, req)
			if err != nil {
				return err
			}
			defer s.Close()
			if want == "" || s.made {
				m, err := s.ops.Mode(cmd.Context())
				switch {
				case err != nil:
					return err
				case s.made:
					fmt.Fprintf(g.stdout, "identity store %s made in %s mode\n", m.Store, m.Mode)
				default:
					fmt.Fprintf(g.stdout, "identity store %s is in %s mode (%d enrolled customers)\n", m.Store, m.Mode, m.Customers)
				}
				return nil
			}
			ch, err := s.ops.SetMode(cmd.Context(), control.ModeRequest{Mode: string(want), ForgetOthers: forgetOthers})
			if err != nil {
				return opError(err)
			}
			switch {
			case !ch.Changed():
				fmt.Fprintf(g.stdout, "identity store %s is in %s mode already (%d enrolled customers)\n", ch.Store, ch.Mode, ch.Customers)
				return nil
			case want == store.Consent:
				fmt.Fprintf(g.stdout, "identity store %s is now in consent mode: %d visitor(s) who did not enrol forgotten, %d enrolled customer(s) kept; store file compacted (%d to %d bytes)\n",
					ch.Store, ch.Forgotten, ch.Customers, ch.FileBefore, ch.FileAfter)
			default:
				fmt.Fprintf(g.stdout, "identity store %s is now in counting mode: every visitor is remembered again; %d enrolled customer(s) kept\n", ch.Store, ch.Customers)
			}
			switch {
			case s.cfg == nil:
				fmt.Fprintf(g.stdout, "set store.mode: %s in the device's configuration to match\n", want)
			case s.newMode != want:
				fmt.Fprintf(g.stdout, "set store.mode: %s in %s to match: joren run refuses to start while they differ\n", want, s.file)
			}
			return nil
		},
	}
	mode.Flags().BoolVar(&forgetOthers, "forget-others", false, "confirm that switching to consent mode forgets every visitor who did not enrol")
	sf.register(mode, false)
	sf.registerDevice(mode)
	cmd.AddCommand(mode)
	return cmd
}
