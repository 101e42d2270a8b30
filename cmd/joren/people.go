package main

import (
	"github.com/spf13/cobra"

	"joren/appliance/control"
)

// personKind is what sets apart the people a shop enrols by face (staff,
// customers); the shape of their commands is shared: add NAME IMAGE...,
// list [--json], remove NAME, each on the identity store.
type personKind struct {
	cmd string // the parent command: staff, customers
	one string // one of them, for help and errors: "a staff member"
	// short help of add, list and remove
	addShort, listShort, removeShort string
	checkName                        func(string) error
	// add enrols the faces of an enrolment (the store is made if there
	// is none).
	add func(cmd *cobra.Command, s *storeSession, e control.Enrolment) error
	// list prints them, as JSON lines with asJSON.
	list func(cmd *cobra.Command, s *storeSession, asJSON bool) error
	// remove deletes name.
	remove func(cmd *cobra.Command, s *storeSession, name string) error
}

// addPersonCommands adds k's add, list and remove to parent, each with
// the store's flags (sf). It returns add, for the kind's own flags.
func addPersonCommands(g *globals, parent *cobra.Command, sf *storeFlags, k personKind) (add *cobra.Command) {
	var (
		ff     faceFlags
		asJSON bool
	)
	add = &cobra.Command{
		Use:   "add NAME IMAGE...",
		Short: k.addShort,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("%s add needs a name and at least one image", k.cmd)
			}
			if err := k.checkName(args[0]); err != nil {
				return usagef("%v", err)
			}
			// Before the faces are embedded, which takes a while.
			return sf.check(cmd, g)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := sf.resolve(cmd, g)
			if err != nil {
				return err
			}
			// Every image must give a face before anything is stored; the
			// descriptors, never the pictures, go to the store.
			faces, err := enrolFaces(g, &ff, p.faces(cmd, g, &ff), args[1:])
			if err != nil {
				return err
			}
			s, err := sf.session(cmd, g, storeRequest{access: create, model: faces.Model})
			if err != nil {
				return err
			}
			defer s.Close()
			return opError(k.add(cmd, s, control.Enrolment{Name: args[0], Faces: faces}))
		},
	}
	ff.register(add)
	list := &cobra.Command{
		Use:   "list",
		Short: k.listShort,
		Args:  exactArgs(0, "no arguments"),
		RunE: sf.run(g, storeRequest{access: change}, func(cmd *cobra.Command, args []string, s *storeSession) error {
			return k.list(cmd, s, asJSON)
		}),
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print one JSON object "+k.one)
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: k.removeShort,
		Args:  exactArgs(1, k.one+"'s name"),
		RunE: sf.run(g, storeRequest{access: change}, func(cmd *cobra.Command, args []string, s *storeSession) error {
			return k.remove(cmd, s, args[0])
		}),
	}
	for _, c := range []*cobra.Command{add, list, remove} {
		sf.register(c, false)
		sf.registerDevice(c)
		parent.AddCommand(c)
	}
	return add
}
