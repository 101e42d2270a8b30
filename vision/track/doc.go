// Package track links face detections across frames into tracks, one per
// person per passage, and turns each finished track into a visit: its time
// span, how many frames showed the face, and the best k descriptors.
//
// Detections are linked by box overlap (the box predicted from the track's
// last position and speed against the new box), with a centre-distance
// fallback for a face that moved more than its width between two frames
// because frames were dropped. Descriptors, computed for a few faces per
// track only, correct what boxes get wrong:
//
//   - a track whose new descriptor is far from its earlier ones (two
//     people crossed and the boxes swapped) is split in two;
//   - a new track whose first descriptor is close to one of a track that
//     ended moments ago (a face turned away or hidden for a second)
//     continues that track instead of making a second visit.
//
// A track ends when its face has not been seen for Gap; it waits Linger
// for such a continuation, then becomes a visit. Gap and Linger count the
// time spent looking: a step between two frames counts at most MaxStep,
// so a pipeline that stalls under load and drops frames does not end the
// tracks of the faces still in front of it. Tracks with fewer than
// MinFaces faces are detector noise and are dropped. Tracks that overlap
// in time name each other in Visit.Together: two people passing together
// are two visits that the identity store must not merge.
//
// The tracker is pure Go and works on any timeline (the wall clock of a
// camera or the timestamps of a video file); it never reads a clock.
package track
