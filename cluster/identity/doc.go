// Package identity recognises returning visitors: it decides, for every
// visit at the door, whether it is staff, someone the store knows, or
// someone new; keeps each visitor's recent history; says when a visitor
// becomes a regular (seen on N distinct local days within W days); and
// maintains the store (retention, re-clustering to merge and split
// identities). The device and `joren replay` call the same Service.
//
// # Evidence, not one threshold
//
// A visit brings 1..k descriptors of one face; an identity holds a few
// exemplars (the mean descriptor of each recent visit, with its count).
// Both sides are summarised by a mean and a count, and compared with a
// log-likelihood ratio (LLR) that grows with the number of descriptors on
// each side: the two-covariance model of probabilistic LDA, in a space
// learnt from the shared labelled descriptors (shipped with the binary,
// tied to dlib's network), or, for a model without one, an isotropic model
// of the difference of the two means calibrated by the model's measured
// threshold. A visit joins its best identity when
//
//	LLR + ReturnLogOdds - ln(number of identities) > 0
//
// (a prior that spreads the chance of a return evenly over the known
// identities, so that false matches do not grow with the store); people
// seen together (Visit.Together) are never the same identity; a close
// second-best puts both identities on maintenance's list. All of it was
// measured on synthetic months of people held out of the tuning
// (docs/identity.md).
//
// # Bounded
//
// Everything an identity keeps is bounded: its exemplars by a cap, its
// days by the regular window, its counters are counters. Memory holds one
// mean feature per identity (the index), bounded by the identity cap; the
// store on disk is bounded by caps, retention and eviction (package
// store).
//
// # Consent mode
//
// A store in consent mode (store.Consent) recognises only enrolled
// customers (AddCustomer): a visit that matches none of them creates no
// identity, keeps nothing of the face, and is decided as Unknown, an
// anonymous passage. Its prior is ConsentLogOdds, stricter than counting
// mode's. SetMode switches modes; switching to consent forgets everyone
// who did not enrol. docs/privacy.md.
//
// # Concurrency
//
// A Service's methods are safe for concurrent use and serialised: each is
// one short bbolt transaction (a maintenance pass is many, one per
// identity checked), so a pass in one goroutine lets Observe in another
// proceed between its steps. One process at a time may own a store.
package identity
