package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"joren/appliance"
	"joren/appliance/config"
	"joren/cluster/month"
	"joren/device/indicator"
	"joren/internal/version"
	"joren/vision/camera"
	"joren/vision/camera/cv"
	"joren/vision/doorsim"
	"joren/vision/doorsim/truth"
	"joren/vocab"
)

func newDemoCommand(g *globals) *cobra.Command {
	var (
		out, images string
		o           doorsim.Options
		fresh       bool
		embedder    string
		detector    string
		broker      string
	)
	defImages := filepath.Join("..", "shared", "faces", "images")
	if d := os.Getenv("JOREN_SHARED"); d != "" {
		defImages = filepath.Join(d, "faces", "images")
	}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "See the appliance at work: several simulated days at a shop's door, in a few minutes",
		Long: `demo runs the appliance (the same code as joren run) on a synthesised door
video: the people of the shared photos pass through a doorway over --days
simulated days, some of them every day. You see each visit decided, regulars
recognised from their third day on, the staff indicator's pattern, and the
pseudonymous events head office receives from an MQTT broker started inside
this process. At the end, a table compares the decisions with what the video
really showed.

Everything goes to --out: the video and its ground truth (made once, reused;
--fresh makes them again), the configuration used (joren.yaml: run it
yourself with joren run --config), and the data (store, outbox), started
afresh every time.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), g, out, images, o, fresh, embedder, detector, broker)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&out, "out", filepath.Join("out", "demo"), "folder for the video, the configuration and the data")
	fl.StringVar(&images, "images", defImages, "photos to make people from (one face each, named after the person)")
	fl.IntVar(&o.Days, "days", 4, "simulated days")
	fl.IntVar(&o.Regulars, "regulars", 4, "people who come every day")
	fl.Uint64Var(&o.Seed, "seed", 1, "the same seed gives the same video")
	fl.BoolVar(&fresh, "fresh", false, "make the video again even if it exists")
	fl.StringVar(&embedder, "embedder", embedderDlib, "face descriptors: dlib or onnx (a registered network)")
	fl.StringVar(&detector, "detector", string(camera.Auto), "face detector: auto (yunet where the model directory has it), yunet, hog or mmod (as vision.detector)")
	fl.StringVar(&broker, "broker", "", "publish the events to this MQTT broker (mqtt://HOST:PORT) instead of one inside the demo, e.g. for joren-office's dashboard (make office-demo)")
	return cmd
}

func runDemo(ctx context.Context, g *globals, out, images string, o doorsim.Options, fresh bool, embedder, detector, external string) error {
	w := g.stdout
	video := filepath.Join(out, "door.avi")
	truthPath := truth.Path(video)
	// Pairs of people passing together cannot be told apart by time in
	// the final table; the pipeline's own tests cover them.
	o.Together = -1
	tr, err := truth.Read(truthPath)
	if err != nil || fresh {
		fmt.Fprintf(w, "Making a door video of %d simulated days from %s (once; about a minute)...\n", o.Days, images)
		if tr, err = makeDoorVideo(ctx, g, images, video, o); err != nil {
			return err
		}
	}
	people := map[string]bool{}
	for _, p := range tr.Passages {
		people[p.Person] = true
	}

	// Head office: a broker inside this process that collects the
	// events, or (--broker) the one joren-office listens to.
	addr, events := external, &demoEvents{}
	if external == "" {
		broker, a, ev, err := startDemoBroker()
		if err != nil {
			return err
		}
		defer broker.Close()
		addr, events = "mqtt://"+a, ev
	}

	cfg := config.Default()
	cfg.Device = config.Device{ID: "demo-door", Site: "demo-shop", Timezone: "UTC", DataDir: filepath.Join(out, "data"), Models: g.modelDir}
	cfg.Camera.Source, cfg.Camera.Clock = video, truthPath
	cfg.Vision.Embedder, cfg.Vision.Detector = embedder, detector
	// Encrypted as on a device, with the key beside the data, not in it.
	cfg.Store.KeyFile = filepath.Join(out, "store.key")
	cfg.Indicator = config.Indicator{Kind: "log"}
	cfg.Events.Broker = addr
	cfg.HTTP.Listen = "127.0.0.1:0"
	// Its own control socket, not the device's: while the demo plays,
	// `joren store stats --config OUT/joren.yaml` reaches it.
	sock, err := filepath.Abs(filepath.Join(out, "control.sock"))
	if err != nil {
		return err
	}
	cfg.Control.Socket = sock
	// A fresh store every time: the demo starts from an empty shop.
	if err := os.RemoveAll(cfg.Device.DataDir); err != nil {
		return err
	}
	if err := os.Remove(cfg.Store.KeyFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := writeDemoConfig(filepath.Join(out, "joren.yaml"), cfg); err != nil {
		return err
	}

	fmt.Fprintf(w, "\nJoren at the door of a demo shop: %d passages of %d people over %d days (%s).\n", len(tr.Passages), len(people), o.Days, video)
	fmt.Fprintf(w, "Head office listens on an MQTT broker at %s. A visitor becomes a regular on their %d%s distinct day within %d days.\n\n",
		addr, cfg.Regular.Days, ordinal(cfg.Regular.Days), cfg.Regular.WindowDays)

	level := slog.LevelWarn
	if g.logLevelSet {
		level.UnmarshalText([]byte(g.logLevel))
	}
	log := slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
	var (
		mu        sync.Mutex
		decisions []vocab.Decision
		day       = -1
	)
	show := &demoIndicator{w: w}
	a, err := appliance.Open(cfg, appliance.Options{
		Log: log, Version: version.String(), IndicatorOutput: show, Camera: cv.Driver{},
		OnDecision: func(d vocab.Decision, _ vocab.Visit) {
			mu.Lock()
			defer mu.Unlock()
			decisions = append(decisions, d)
			p, ok := tr.PassageAt(d.Time)
			if ok && p.Day != day {
				day = p.Day
				fmt.Fprintf(w, "-- day %d (%s)\n", day+1, d.Time.Format("Mon 2 Jan"))
			}
			who := "?"
			if ok {
				who = p.Person
			}
			fmt.Fprintf(w, "%s  %-16s %s  (really: %s)\n", d.Time.Format("15:04:05"), describeDecision(d), visitLabel(d), who)
		},
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.Run(ctx); err != nil {
		return err
	}
	// Give the broker's subscriber the last events.
	time.Sleep(300 * time.Millisecond)

	outcomes := appliance.Match(tr, decisions, cfg.Regular.Days)
	score, err := month.Measure(outcomes)
	if err != nil {
		return err
	}
	if external != "" {
		fmt.Fprintf(w, "\nThe events of %d decisions went to %s; none carries a face, a descriptor or an internal id.\n", len(decisions), external)
	} else {
		got := events.all()
		fmt.Fprintf(w, "\nHead office received %d visit events for %d decisions; none carries a face, a descriptor or an internal id. One of them:\n", len(got), len(decisions))
		if len(got) > 0 {
			fmt.Fprintf(w, "  %s\n", got[len(got)-1])
		}
	}
	fmt.Fprintf(w, "\nWhat the video showed, and what Joren decided (N new, R returning, B became a regular, * regular, - no decision):\n")
	printDemoTable(w, tr, outcomes)
	fmt.Fprintf(w, "\n%d passages: %d decided, %d with the right regular status.\n", score.Visits, score.Decided, score.Right)
	fmt.Fprintf(w, "The configuration used is %s; the store (encrypted with %s) and the outbox are in %s.\n", filepath.Join(out, "joren.yaml"), cfg.Store.KeyFile, cfg.Device.DataDir)
	return nil
}

func describeDecision(d vocab.Decision) string {
	switch {
	case d.Staff != "":
		return "staff " + d.Staff
	case d.BecameRegular:
		return "BECAME REGULAR"
	case d.Regular:
		return "REGULAR"
	case d.New:
		return "new visitor"
	}
	return "returning"
}

func visitLabel(d vocab.Decision) string {
	if d.Staff != "" {
		return ""
	}
	id := d.Visitor
	if len(id) > 8 {
		id = id[len(id)-8:]
	}
	return fmt.Sprintf("visitor …%s, visit %d, day %d", id, d.Visits, d.Days)
}

func ordinal(n int) string {
	switch {
	case n%100 >= 11 && n%100 <= 13:
		return "th"
	case n%10 == 1:
		return "st"
	case n%10 == 2:
		return "nd"
	case n%10 == 3:
		return "rd"
	}
	return "th"
}

func printDemoTable(w io.Writer, tr truth.Truth, outcomes []month.Outcome) {
	byPerson := map[string][]month.Outcome{}
	for _, o := range outcomes {
		byPerson[o.Person] = append(byPerson[o.Person], o)
	}
	names := make([]string, 0, len(byPerson))
	for n := range byPerson {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if len(byPerson[names[i]]) != len(byPerson[names[j]]) {
			return len(byPerson[names[i]]) > len(byPerson[names[j]])
		}
		return names[i] < names[j]
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PERSON\tPASSAGES (day: decision)\tSHOULD BE A REGULAR FROM")
	for _, n := range names {
		var cells []string
		want := "-"
		for _, o := range byPerson[n] {
			mark := "-"
			if !o.Missed {
				switch {
				case o.BecameRegular:
					mark = "B"
				case o.Regular:
					mark = "*"
				case o.New:
					mark = "N"
				default:
					mark = "R"
				}
			}
			if !o.Right() {
				mark += "!"
			}
			// The day of the video, counted from 1 (the outcome's Day is
			// the person's distinct day).
			day := 0
			if p, ok := tr.PassageAt(o.Time); ok {
				day = p.Day + 1
			}
			cells = append(cells, fmt.Sprintf("%d:%s", day, mark))
			if o.WantRegular && want == "-" {
				want = fmt.Sprintf("day %d", day)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", n, strings.Join(cells, " "), want)
	}
	tw.Flush()
	fmt.Fprintln(w, "(! marks a regular status the policy did not expect: a face taken for someone else, or missed)")
}

// demoIndicator shows the staff indicator's patterns in the terminal.
type demoIndicator struct{ w io.Writer }

func (d *demoIndicator) Play(_ context.Context, k indicator.Kind, p indicator.Pattern) error {
	fmt.Fprintf(d.w, "          >> staff indicator (%s): %s\n", k, p)
	return nil
}

func (d *demoIndicator) Off() error { return nil }

// demoEvents collects what head office receives.
type demoEvents struct {
	mu   sync.Mutex
	list []string
}

func (e *demoEvents) add(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, s)
}

func (e *demoEvents) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.list...)
}

// startDemoBroker starts an MQTT broker in this process on a free
// loopback port, with head office subscribed to the visit events.
func startDemoBroker() (*mochi.Server, string, *demoEvents, error) {
	s := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, "", nil, err
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "demo", Address: "127.0.0.1:0"})
	if err := s.AddListener(tcp); err != nil {
		return nil, "", nil, fmt.Errorf("starting the demo MQTT broker: %w", err)
	}
	go s.Serve()
	ev := &demoEvents{}
	err := s.Subscribe("joren/+/+/visit", 1, func(_ *mochi.Client, _ packets.Subscription, pk packets.Packet) {
		var v map[string]any
		if json.Unmarshal(pk.Payload, &v) == nil {
			ev.add(string(pk.Payload))
		}
	})
	if err != nil {
		s.Close()
		return nil, "", nil, err
	}
	return s, tcp.Address(), ev, nil
}

func writeDemoConfig(path string, cfg config.Config) error {
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	head := "# The configuration `joren demo` ran with. Run it yourself with\n#   joren run --config " + path + "\n# (the demo's MQTT broker lived inside the demo: set events.broker to yours).\n"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(head), b...), 0o644)
}
