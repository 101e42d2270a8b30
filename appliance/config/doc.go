// Package config is the appliance's configuration: one YAML file
// (/etc/joren/joren.yaml on the device) where every key is documented with
// its default, environment overrides (JOREN_<SECTION>_<KEY>) and
// command-line overrides (--set section.key=value).
//
// Errors name the file, the line and the key: an installer editing the
// file on a laptop must be told exactly what to fix. `joren config
// defaults` prints the whole file with every key's documentation, and
// docs/config.md is that output.
package config
