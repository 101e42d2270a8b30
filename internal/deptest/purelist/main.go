// Command purelist prints the module's packages that build and test with
// CGO_ENABLED=0, one per line, as "./dir": the Makefile's pure-Go list.
package main

import (
	"fmt"
	"os"
	"strings"

	"joren/internal/deptest"
)

func main() {
	pkgs, err := deptest.Graph(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "purelist:", err)
		os.Exit(1)
	}
	for _, p := range pkgs {
		if !p.NeedsCgo && p.Path != "joren/internal/deptest/purelist" {
			fmt.Println("." + strings.TrimPrefix(p.Path, "joren"))
		}
	}
}
