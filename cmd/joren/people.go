package main

import (
	"github.com/spf13/cobra"

	"joren/vocab"
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
	// add enrols faces as name in the store (made if there is none).
	add func(s *openedStore, name string, faces enrolment) error
	// list prints them, as JSON lines with asJSON.
	list func(s *openedStore, asJSON bool) error
	// remove deletes name.
	remove func(s *openedStore, name string) error
}

// enrolment is the faces of the images given to add.
type enrolment struct {
	descs   [][]float32
	sources []string
	model   vocab.Model
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
			return sf.check()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// Every image must give a face before anything is stored.
			descs, sources, model, err := enrolFaces(g, &ff, args[1:])
			if err != nil {
				return err
			}
			s, err := sf.open(g, storeRequest{access: create, model: model})
			if err != nil {
				return err
			}
			defer s.Close()
			return k.add(s, args[0], enrolment{descs, sources, model})
		},
	}
	ff.register(add)
	list := &cobra.Command{
		Use:   "list",
		Short: k.listShort,
		Args:  exactArgs(0, "no arguments"),
		RunE: sf.run(g, storeRequest{access: change}, func(cmd *cobra.Command, args []string, s *openedStore) error {
			return k.list(s, asJSON)
		}),
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print one JSON object "+k.one)
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: k.removeShort,
		Args:  exactArgs(1, k.one+"'s name"),
		RunE: sf.run(g, storeRequest{access: change}, func(cmd *cobra.Command, args []string, s *openedStore) error {
			return k.remove(s, args[0])
		}),
	}
	for _, c := range []*cobra.Command{add, list, remove} {
		sf.register(c, false)
		parent.AddCommand(c)
	}
	return add
}
