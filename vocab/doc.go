// Package vocab is the vocabulary every part of Joren shares: the model
// that computed a descriptor, a visit (one passage of one person through
// the door) and the decision the identity store took about it.
//
// It is a leaf: it imports only the standard library, and nothing here
// does any work beyond naming and checking values. The camera side
// (vision/...) produces Visits, the identity side (cluster/...) turns them
// into Decisions, and the device and head-office sides (device/...,
// sync/...) act on Decisions; each of them depends on this package, not on
// the others. internal/deptest fails when that stops being true.
//
// A descriptor is a []float32 whose length is its Model's Dim; it always
// travels with its Model, and two descriptors are compared only when their
// models are the same.
package vocab
