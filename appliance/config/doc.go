// Package config is the appliance's configuration: one YAML file
// (/etc/joren/joren.yaml on the device) where every key is documented with
// its default, environment overrides (JOREN_<SECTION>_<KEY>) and
// command-line overrides (--set section.key=value).
//
// Load is the one check: `joren config check` and `joren run` both call
// it, so that nothing the check passes is refused by the appliance. It
// applies the rules of the code that uses each key (pin specs, light
// patterns, the event stack's, the identity policy's) and, with
// Options.Machine, checks the files, directories, GPIO lines and
// addresses the configuration names on this machine, without changing
// anything. Errors and warnings name the file, the line and the key: an
// installer editing the file on a laptop must be told exactly what to
// fix. `joren config defaults` prints the whole file with every key's
// documentation; docs/config.md describes the checks.
package config
