// Package boltfile opens bbolt files defensively and salvages damaged ones.
//
// bbolt trusts its file: it maps it into memory and follows page numbers
// without checking them, so a file that lost its tail (an SD card that
// lost power) or has a flipped bit makes it panic ("invalid freelist
// page"), touch memory past the end of the file (SIGBUS, which no recover
// catches) or recurse forever on a page that refers to itself. On a device
// each of those is a restart loop.
//
// Verify reads the file with plain reads, never through a memory map, and
// checks everything bbolt relies on before bbolt sees it: a valid meta
// page, a file long enough for every page the meta page counts, every page
// of the tree in range, of the right kind, referenced once, with its
// elements inside it, keys in order, and a free list that agrees. Open
// runs it, then bbolt's own Open and its consistency check (tx.Check),
// with bbolt's panics (and memory faults) turned into errors. Whatever is
// wrong comes back as a *DamageError naming the file and what is wrong.
//
// Salvage walks a damaged file's tree with the same reads and hands every
// record it can read to the caller, skipping what it cannot: the caller
// decides what a record is worth (the identity store authenticates every
// encrypted record again) and writes the survivors to a new file. It
// reads only pages reachable from the file's newest valid meta page, never
// free pages, so records deleted before the damage (a forgotten visitor)
// do not come back.
//
// The layout read here is bbolt's version 2 file format (go.etcd.io/bbolt
// v1.x), in the machine's byte order, as bbolt writes it.
package boltfile
