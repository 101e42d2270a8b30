// Package password reads the installer page's password file. The page
// (appliance/installer) and the configuration's check (appliance/config)
// both read it here, so that `joren config check` refuses exactly the
// files the page would.
package password
