package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"joren/cluster"
	"joren/cluster/month"
	"joren/vocab"
)

type replayFlags struct {
	sf         storeFlags
	pf         publishFlags
	visits     string
	score      bool
	full       bool
	month      string
	seed       uint64
	writeMonth string
	sweep      string
	scorer     string
}

func newReplayCommand(g *globals) *cobra.Command {
	var f replayFlags
	cmd := &cobra.Command{
		Use:   "replay --visits FILE.jsonl [--store DIR] [--regular-days N] [--window DAYS]",
		Short: "Decide recorded visits with the device's identity store, one line per visit",
		Long: `replay feeds recorded visits through the identity store exactly as the device
does (same code: matching, the regular policy, nightly maintenance clocked by
the visits' own times) and prints one line per visit:

  {"visit": "v00001", "visitor": "p000001", "visits": 1, "days": 1, "regular": false}

"visits" counts the visitor's visits (passages within --merge-minutes count
once) and "days" their distinct local days within the window, this one
included, as in the device's decisions and head office's events. (Earlier
builds printed the days as "visits": a consumer of that line reads "days"
now.) Staff get "staff": NAME and no visitor. With --mode consent (docs/privacy.md)
only enrolled customers are recognised: anyone else gets no visitor and no
staff (with --full: "unknown": true) and leaves nothing in the store but an
anonymous passage. Input: one JSON object a line, in time order:

  {"visit": "v00001", "time": "2026-11-01T10:15:00Z", "descriptors": [[...], ...]}

Without --store, a fresh temporary store is used and deleted. With --store, the
store is kept, and visits it has already decided (by id) are not decided again:
their recorded decisions are printed as they were made. So a replay
interrupted by a crash resumes where it stopped, and prints, from the start,
exactly what an uninterrupted replay prints. A decision is printed only once it
is durable in the store.

The visits' times are the store's clock, and it is guarded as the device's
is (docs/identity.md): a visit dated far from the store's history (2035, or
before its first day) is decided, but counts no day, makes nobody a regular
and runs no retention; standard error says how many were.

Head office (docs/events.md):
  --publish mqtt://HOST --site SHOP
                          also publish each decision as a pseudonymous visit event
                          (QoS 1, through the outbox in --state DIR), to test a
                          head-office integration without a camera; a resumed
                          replay sends its repeated decisions again with the same
                          event ids, so head office counts them once

Measuring (docs/identity.md):
  --score                 with "person" labels in the visits, print the score: the
                          "regular" flag's precision, recall and F1, the BCubed F1 of
                          visitor ids against people, and their harmonic mean
  --month LABELLED.jsonl  generate a synthetic month from labelled descriptors
                          (seeded by --seed; --write-month saves it), replay it, score it
  --sweep LABELLED.jsonl  the tuning table: settings scored on tuning people and on
                          held-out people over several splits`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("replay takes no arguments (give --visits FILE)")
			}
			n := 0
			for _, s := range []string{f.visits, f.month, f.sweep} {
				if s != "" {
					n++
				}
			}
			if n != 1 {
				return usagef("give one of --visits FILE, --month LABELLED.jsonl or --sweep LABELLED.jsonl")
			}
			switch f.scorer {
			case "auto", "plda", "distance":
			default:
				return usagef("--scorer %q: want auto, plda or distance", f.scorer)
			}
			if f.sweep != "" && f.pf.enabled() {
				return usagef("--sweep publishes nothing: leave out --publish")
			}
			// --store is optional: a temporary store is made without it.
			if _, err := f.sf.settings(cmd, g); err != nil {
				return err
			}
			return f.pf.check()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.sweep != "" {
				return replaySweep(cmd, g, &f)
			}
			return replay(cmd, g, &f)
		},
	}
	f.sf.register(cmd, true)
	f.pf.register(cmd, "publish")
	fl := cmd.Flags()
	fl.Lookup("store").Usage = "identity store directory, kept and resumed (default: a temporary store, deleted at the end)"
	fl.Lookup("store").DefValue = ""
	fl.StringVar(&f.visits, "visits", "", "visits to replay, one JSON object a line (- for standard input)")
	fl.BoolVar(&f.score, "score", false, "score the decisions against the visits' \"person\" labels (on standard error)")
	fl.BoolVar(&f.full, "full", false, "print the whole decision (new, days, visits, became_regular, confidence...)")
	fl.StringVar(&f.month, "month", "", "generate a synthetic month from these labelled descriptors, replay and score it")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the synthetic month")
	fl.StringVar(&f.writeMonth, "write-month", "", "also write the synthetic month's visits (with their labels) to this file")
	fl.StringVar(&f.sweep, "sweep", "", "print the tuning table for these labelled descriptors")
	fl.StringVar(&f.sf.mode, "mode", "", "counting (everyone) or consent (only enrolled customers: joren customers add); default: the store's, counting for a new store; a store in the other mode is refused")
	fl.StringVar(&f.scorer, "scorer", "auto", "how evidence is weighed: plda (learnt space), distance, or auto (plda when the model has a learnt space)")
	return cmd
}

func replay(cmd *cobra.Command, g *globals, f *replayFlags) error {
	// Without --store (JOREN_STORE does not count here), a temporary
	// store, deleted at the end.
	if !cmd.Flags().Changed("store") {
		tmp, err := os.MkdirTemp("", "joren-replay-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		f.sf.dir = tmp
	}
	// A visits file's descriptors name their model: a new store records
	// it, an existing store of another model is refused. Otherwise a new
	// store records the installed model; an existing one keeps its own.
	var (
		model      vocab.Model
		visits     io.Reader = os.Stdin
		visitsName           = "standard input"
	)
	if f.visits != "" {
		if f.visits != "-" {
			fh, err := os.Open(f.visits)
			if err != nil {
				return err
			}
			defer fh.Close()
			visits, visitsName = fh, f.visits
		}
		var err error
		if model, visits, err = visitsModel(g, visits); err != nil {
			return fmt.Errorf("%s: %w", visitsName, err)
		}
	}
	st, err := f.sf.open(cmd, g, storeRequest{access: create, model: model, noSpace: f.scorer == "distance"})
	if err != nil {
		return err
	}
	defer st.Close()
	svc := st.svc
	if f.scorer == "plda" && svc.Scorer() != "plda" {
		return usagef("--scorer plda: model %s has no learnt space", svc.Model().ID())
	}

	// The input: a visits file, or a generated month.
	var (
		next    func() (month.Visit, error)
		labels  []month.Visit // kept only when scoring
		scoring = f.score || f.month != ""
	)
	if f.month != "" {
		visits, err := generateMonth(f.month, svc.Model().Dim, f.seed)
		if err != nil {
			return err
		}
		if f.writeMonth != "" {
			if err := writeMonthFile(f.writeMonth, visits); err != nil {
				return err
			}
		}
		i := 0
		next = func() (month.Visit, error) {
			if i == len(visits) {
				return month.Visit{}, io.EOF
			}
			i++
			return visits[i-1], nil
		}
	} else {
		rd := month.NewReader(visits, visitsName, svc.Model().Dim)
		next = rd.Next
	}
	if scoring {
		inner := next
		next = func() (month.Visit, error) {
			v, err := inner()
			if err == nil {
				labels = append(labels, month.Visit{ID: v.ID, Time: v.Time, Person: v.Person})
			}
			return v, err
		}
	}

	// --publish: each durable decision also goes to head office as an
	// pseudonymous event (docs/events.md).
	pub, err := f.pf.start(cmd.Context(), g, svc.Policy().Zone, []string{svc.Model().ID()})
	if err != nil {
		return err
	}
	defer pub.Close()
	enc := json.NewEncoder(g.stdout)
	var outcomes []month.Outcome
	stats, err := month.Stream(cmd.Context(), svc, next, func(d vocab.Decision) error {
		// An unknown visitor (consent mode) has no pseudonym to publish:
		// events carry visitors, and the passage has none.
		if !d.Unknown {
			if err := pub.Publish(d); err != nil {
				return err
			}
		}
		o := month.OutcomeOf(d)
		if scoring {
			outcomes = append(outcomes, o)
		}
		if f.full {
			return enc.Encode(d)
		}
		return enc.Encode(o)
	})
	if err != nil {
		return err
	}
	if err := pub.Close(); err != nil {
		return err
	}
	g.log.Info("replay done", "decided", stats.Decided, "repeated", stats.Repeated, "held by the clock", stats.Held, "maintenance passes", stats.Passes, "scorer", svc.Scorer())
	if stats.Repeated > 0 {
		fmt.Fprintf(g.stderr, "resumed: %d visits were decided before; their recorded decisions were printed again\n", stats.Repeated)
	}
	if stats.Held > 0 {
		fmt.Fprintf(g.stderr, "clock: %d visits were dated by a time the store does not trust (a jump from its history): they were decided, but counted no day, made nobody a regular and ran no retention (docs/identity.md)\n", stats.Held)
	}
	if !scoring {
		return nil
	}
	s, err := month.Evaluate(labels, outcomes, svc.Policy())
	if err != nil {
		return err
	}
	fmt.Fprintf(g.stderr, "%s\n", s)
	return nil
}

// generateMonth reads labelled descriptors and makes a synthetic month.
func generateMonth(path string, dim int, seed uint64) ([]month.Visit, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	es, err := cluster.ReadEmbeddings(fh, path, dim)
	if err != nil {
		return nil, err
	}
	names, by, err := people(path, es)
	if err != nil {
		return nil, err
	}
	return month.Generate(names, by, month.DefaultConfig(seed))
}

// people groups labelled descriptors read from path; an unlabelled one is
// named by FILE:LINE.
func people(path string, es []cluster.Embedding) ([]string, map[string][][]float32, error) {
	names, by, err := month.People(es)
	var u *month.UnlabelledError
	if errors.As(err, &u) {
		return nil, nil, fmt.Errorf("%s:%d: no \"person\" label: a month needs labelled descriptors", path, u.Line)
	}
	return names, by, err
}

func writeMonthFile(path string, visits []month.Visit) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := month.Write(fh, visits); err != nil {
		fh.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return fh.Close()
}

// replaySweep prints the tuning table of docs/identity.md.
func replaySweep(cmd *cobra.Command, g *globals, f *replayFlags) error {
	fh, err := os.Open(f.sweep)
	if err != nil {
		return err
	}
	defer fh.Close()
	model := installedModel(g, g.modelDir)
	es, err := cluster.ReadEmbeddings(fh, f.sweep, model.Dim)
	if err != nil {
		return err
	}
	names, by, err := people(f.sweep, es)
	if err != nil {
		return err
	}
	o := month.DefaultSweep()
	o.Progress = func(done, total int) { fmt.Fprintf(g.stderr, "\rsweep: %d/%d months", done, total) }
	table, err := month.Sweep(cmd.Context(), names, by, model, o)
	fmt.Fprintln(g.stderr)
	if err != nil {
		return err
	}
	_, err = io.WriteString(g.stdout, strings.TrimLeft(table.Markdown(), "\n"))
	return err
}
