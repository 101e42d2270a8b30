package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"joren/internal/version"
)

// versionLine is what `joren version` and `joren --version` print: the
// stamped version first, then the toolchain and platform.
func versionLine() string {
	return fmt.Sprintf("joren %s (%s %s/%s)", version.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func newVersionCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print joren's version (also in the status event, /metrics and the box's page)",
		Long: `version prints the version joren was built as: ` + "`git describe --tags --always --dirty`" + `
of its source, stamped by make build, the image's build and the Jetson package.
A developer's build (go build, go run) says "devel", with its commit when Go
recorded one.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(g.stdout, versionLine())
			return err
		},
	}
}
