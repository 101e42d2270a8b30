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

func newCustomersCommand(g *globals) *cobra.Command {
	var (
		sf           storeFlags
		note         string
		forgetOthers bool
	)
	cmd := &cobra.Command{
		Use:   "customers add|list|remove|mode",
		Short: "Enrol customers who consent to be recognised; consent mode",
		Long: `customers manages the enrolled customers of the identity store (--store DIR or
JOREN_STORE; --key-file FILE or JOREN_STORE_KEY_FILE if it is encrypted).

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

No image is stored: only each face's descriptor and the file's name. The
device must be stopped while these run (one process owns the store); set
store.mode in the device's configuration to match the store's mode.`,
	}
	add := addPersonCommands(g, cmd, &sf, personKind{
		cmd: "customers", one: "a customer",
		addShort: "Enrol a customer's face from images, recording their consent", listShort: "The enrolled customers",
		removeShort: "Delete everything about a customer",
		checkName:   identity.CheckCustomerName,
		add: func(s *openedStore, name string, faces enrolment) error {
			e, err := s.svc.AddCustomer(name, note, faces.sources, faces.descs, time.Now())
			if err != nil {
				return err
			}
			c, n := e.Customer, len(faces.descs)
			if e.New {
				fmt.Fprintf(g.stdout, "customer %s enrolled: %d face(s), consent recorded %s\n", name, n, c.Consented.Local().Format(time.DateOnly))
			} else {
				fmt.Fprintf(g.stdout, "customer %s: %d face(s) added, %d in all (consent recorded %s)\n", name, n, len(c.Exemplars), c.Consented.Local().Format(time.DateOnly))
			}
			if e.Adopted != "" {
				fmt.Fprintf(g.stdout, "%s was already known as visitor %s (%d visits on %d days): that history is now theirs\n", name, e.Adopted, e.Visits, e.Days)
			}
			if s.svc.Mode() == store.Counting {
				fmt.Fprintln(g.stdout, "the store is in counting mode: everyone is remembered; `joren customers mode consent --forget-others` recognises only enrolled customers")
			}
			return nil
		},
		list: func(s *openedStore, asJSON bool) error {
			cs, err := s.svc.Customers(time.Now())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				for _, c := range cs {
					if err := enc.Encode(customerLine{
						Name: c.Name, Consented: c.Consented, Note: c.Note, Faces: len(c.Exemplars), Sources: c.Sources,
						Visitor: c.Identity, Visits: c.Visits, Days: c.Days, LastVisit: c.LastVisit, Regular: c.Regular,
					}); err != nil {
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
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", c.Name, c.Consented.Local().Format(time.DateOnly), len(c.Exemplars), c.Visits, last, reg, c.Note)
			}
			return tw.Flush()
		},
		remove: func(s *openedStore, name string) error {
			f, ok, err := s.svc.RemoveCustomer(name)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("no customer named %q (see `joren customers list`); nothing deleted", name)
			}
			// Gone from the file too, not only from its live records.
			before, after, err := s.svc.Compact()
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "customer %s removed: enrolment, %d visits on %d days and %d logged decisions deleted; store file compacted (%d to %d bytes)\n",
				name, f.Visits, f.Days, f.Logged, before, after)
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
			req := storeRequest{access: change}
			var want store.Mode
			if len(args) == 1 {
				// A store made here starts in the mode asked for: there
				// is nobody to forget.
				want = store.Mode(args[0])
				req = storeRequest{access: create, newMode: want}
			}
			s, err := sf.open(g, req)
			if err != nil {
				return err
			}
			defer s.Close()
			svc, dir := s.svc, s.dir
			cur := svc.Mode()
			forget, keep := svc.Pending(store.Consent)
			switch {
			case s.made:
				fmt.Fprintf(g.stdout, "identity store %s made in %s mode\n", dir, cur)
				return nil
			case want == "":
				fmt.Fprintf(g.stdout, "identity store %s is in %s mode (%d enrolled customers)\n", dir, cur, keep)
				return nil
			case want == cur:
				fmt.Fprintf(g.stdout, "identity store %s is in %s mode already (%d enrolled customers)\n", dir, cur, keep)
				return nil
			case want == store.Consent && !forgetOthers:
				return usagef("switching identity store %s to consent mode forgets %d visitor(s) who did not enrol, with all their data (%d enrolled customer(s) and the staff are kept); run again with --forget-others to confirm", dir, forget, keep)
			}
			ch, err := svc.SetMode(cmd.Context(), want)
			if err != nil {
				return err
			}
			if want == store.Consent {
				fmt.Fprintf(g.stdout, "identity store %s is now in consent mode: %d visitor(s) who did not enrol forgotten, %d enrolled customer(s) kept; store file compacted (%d to %d bytes)\n",
					dir, ch.Forgotten, ch.Customers, ch.FileBefore, ch.FileAfter)
			} else {
				fmt.Fprintf(g.stdout, "identity store %s is now in counting mode: every visitor is remembered again; %d enrolled customer(s) kept\n", dir, ch.Customers)
			}
			fmt.Fprintf(g.stdout, "set store.mode: %s in the device's configuration to match\n", want)
			return nil
		},
	}
	mode.Flags().BoolVar(&forgetOthers, "forget-others", false, "confirm that switching to consent mode forgets every visitor who did not enrol")
	sf.register(mode, false)
	cmd.AddCommand(mode)
	return cmd
}

// customerLine is one line of `customers list --json`.
type customerLine struct {
	Name      string    `json:"name"`
	Consented time.Time `json:"consented"`
	Note      string    `json:"note,omitempty"`
	Faces     int       `json:"faces"`
	Sources   []string  `json:"sources"`
	Visitor   string    `json:"visitor"`
	Visits    int       `json:"visits"`
	Days      int       `json:"days"`
	LastVisit time.Time `json:"last_visit,omitzero"`
	Regular   bool      `json:"regular"`
}
