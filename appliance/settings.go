package appliance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"joren/appliance/config"
	"joren/internal/atomicfile"
	"joren/vocab"
)

// RejectedSuffix names the file, beside the configuration file (links
// followed), where joren-provision writes why it did not install the
// card's joren/joren.yaml: /data/config/joren.yaml.rejected on the image.
// The box's health reports it until a configuration is installed.
const RejectedSuffix = ".rejected"

// configPath is the configuration file itself: links followed, so that
// the page writes the file /etc/joren/joren.yaml points to, not over the
// link.
func (a *Appliance) configPath() (string, error) {
	p, err := filepath.EvalSymlinks(a.o.ConfigFile)
	if err != nil {
		return "", fmt.Errorf("the configuration file: %w", err)
	}
	return p, nil
}

// RejectedFile is where joren-provision explains a rejected configuration
// ("" when joren runs without a configuration file).
func (a *Appliance) RejectedFile() string {
	if a.o.ConfigFile == "" {
		return ""
	}
	p, err := a.configPath()
	if err != nil {
		p = a.o.ConfigFile
	}
	return p + RejectedSuffix
}

// rejectedConfig adds the provisioning's rejection of a configuration to
// h, if there is one.
func (a *Appliance) rejectedConfig(h *vocab.Health) {
	path := a.RejectedFile()
	if path == "" {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		return // nothing was rejected
	}
	defer f.Close()
	st, _ := f.Stat()
	b := make([]byte, 4<<10) // the check's few lines; never a whole file
	n, _ := f.Read(b)
	reason := strings.TrimSpace(strings.ToValidUTF8(string(b[:n]), "?"))
	if reason == "" {
		reason = "a configuration was rejected"
	}
	p := vocab.Problem{Key: "config", Reason: reason + "\n(the box runs with its previous configuration; fix the file on the card's CONFIG partition and restart the box)"}
	if st != nil {
		p.Since = st.ModTime()
	}
	h.Add(p)
}

// configure applies the box's page's settings: the configuration file with
// the new values is checked as `joren config check` checks it (the
// environment's overrides included), written in place of the file
// atomically (its mode kept), and joren restarts to apply it.
func (a *Appliance) configure(changes []config.Override) error {
	path, err := a.configPath()
	if err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading the configuration: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	data, err := config.Edit(old, changes)
	if err != nil {
		return err
	}
	// Check the new text as a file beside the old one: Load reads files,
	// and its messages then name a line of it.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".joren-page-*.yaml")
	if err != nil {
		return fmt.Errorf("checking the new configuration: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("checking the new configuration: %w", werr)
	}
	// Not against the machine: the running joren holds the addresses the
	// configuration listens on.
	if _, _, err := config.Load(tmp.Name(), config.Options{Environ: os.Environ()}); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(path, data, st.Mode().Perm()); err != nil {
		return fmt.Errorf("writing the configuration: %w", err)
	}
	keys := make([]string, len(changes))
	for i, c := range changes {
		keys[i] = c.Key
	}
	a.log.Warn("configuration changed on the box's page; restarting to apply it", "file", path, "keys", strings.Join(keys, ","))
	// Let the page's answer go out first.
	time.AfterFunc(500*time.Millisecond, a.Restart)
	return nil
}

// Restart stops Run cleanly, as a signal would, so that the service
// manager starts joren again (init/joren.service: Restart=always) with
// the configuration as it is now. Outside a service manager joren just
// stops.
func (a *Appliance) Restart() {
	a.restartMu.Lock()
	defer a.restartMu.Unlock()
	if a.restart != nil {
		a.restart()
	}
}

// restartable derives Run's context, which Restart cancels.
func (a *Appliance) restartable(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	a.restartMu.Lock()
	a.restart = cancel
	a.restartMu.Unlock()
	return ctx, cancel
}
