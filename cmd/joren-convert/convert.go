package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"joren/vision/models"
)

const usage = "usage: joren-convert DIR (a model directory whose MANIFEST lists " + models.ResNetFile + ")"

// run converts the ResNet of the one model directory args names. getenv
// reads SOURCE_DATE_EPOCH; progress and errors go to stderr.
func run(args []string, getenv func(string) string, stderr io.Writer) error {
	if len(args) != 1 || args[0] == "" || args[0][0] == '-' {
		return usagef("%s", usage)
	}
	dir := args[0]
	installed := time.Now()
	if s := getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil || sec < 0 {
			return usagef("SOURCE_DATE_EPOCH=%q is not a time in seconds since 1970", s)
		}
		installed = time.Unix(sec, 0)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return usagef("%s is not a directory (%s)", dir, usage)
	}
	// The converted file takes its licence and the check of its source
	// from the .dat file's entry: without one, `joren models verify`
	// would refuse the directory on the box, not here.
	man, err := models.ReadManifest(dir)
	if err != nil {
		return err
	}
	if _, ok := man.Lookup(models.ResNetFile); !ok {
		return fmt.Errorf("%s does not list %s: record the model files first (joren models fetch, or the joren-models package's manifest script)",
			filepath.Join(dir, models.ManifestFile), models.ResNetFile)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := models.ConvertResNetAt(dir, installed, log); err != nil {
		return err
	}
	return nil
}
