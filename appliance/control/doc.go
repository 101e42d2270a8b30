// Package control is what people ask of a door camera's identity store
// (list, enrol and remove staff and customers, forget a visitor, switch
// modes, read its statistics), as one small API, Ops, and the local socket
// that carries it to `joren run` from the commands (`joren staff`,
// `customers`, `forget`, `store`).
//
// The store has one writer: while `joren run` runs it owns the store, and
// the commands would otherwise fail with "in use by another process". So
// the appliance serves its Ops on a unix socket (control.socket,
// /run/joren/control.sock by default: mode 0600 in a directory of mode
// 0700, and every peer's credentials checked with SO_PEERCRED: root or the
// service's own user), and a command that finds the service running sends
// it its request instead of opening the store. Without a running service,
// the command opens the store and calls the same Ops itself: one
// implementation, so both paths answer alike.
//
// The protocol is HTTP/1.1 over the unix socket (net/http), JSON bodies, one
// route per operation (routes.go); refusals carry a Kind so that a command
// exits with the same status either way. Faces cross the socket as
// descriptors computed by the command, never as pictures. Operations run
// through the identity service, whose methods are serialised with the
// decisions of the running pipeline.
package control
