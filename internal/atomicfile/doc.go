// Package atomicfile writes small files that must survive a power cut
// whole: the device secret, the store key, the models' manifest and the
// model files themselves. After a crash the file is either absent (or the
// previous one) or complete, never truncated.
//
// The write itself is github.com/google/renameio/v2's (a temporary file
// beside the target, fsync, rename). renameio stops at the rename; this
// package adds the fsync of the directory, without which the rename may
// not be on the card after a power cut (ext4 on an SD card keeps it in
// the journal for seconds), and a create-only variant that never replaces
// a file another process wrote meanwhile.
package atomicfile
