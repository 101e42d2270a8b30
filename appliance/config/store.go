package config

import (
	"path/filepath"
	"time"

	"joren/cluster/store"
)

// What the store section says, in the terms of the store's packages (and
// Policy, in validate.go): the one mapping, shared by `joren run` and the commands
// that open the device's store (--config), so that they cannot differ.

// StoreDir is where the identity store lives: store.dir, or store/ in
// device.data_dir.
func (c Config) StoreDir() string {
	if c.Store.Dir != "" {
		return c.Store.Dir
	}
	return filepath.Join(c.Device.DataDir, "store")
}

// Limits are the store's bounds.
func (c Config) Limits() store.Limits {
	lim := store.DefaultLimits()
	lim.MaxIdentities = c.Store.MaxIdentities
	if c.Store.MaxBytes > 0 {
		lim.MaxBytes = c.Store.MaxBytes
	}
	return lim
}

// Zone is the name of the shop's time zone, as a new store records it:
// device.timezone, or the system's.
func (c Config) Zone() string {
	if c.Device.Timezone != "" {
		return c.Device.Timezone
	}
	return time.Local.String()
}
