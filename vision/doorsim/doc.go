// Package doorsim synthesises door-camera videos from still photos, with
// the ground truth to score the live pipeline against: there is no camera
// on a build machine, and a recorded video of real customers could never
// be kept in a repository.
//
// Each person is cut out of a photo (head and shoulders around the face a
// face finder locates, with a soft elliptical edge) and walks through a
// drawn doorway: entering from one side small and fast (motion-blurred),
// growing as they approach the camera, leaving on the other side. Passages
// are separated by empty stretches; some people pass twice a day (in and
// out of the shop), some pass together, and over several simulated days
// regulars come back. Frames carry mild sensor noise, as a real camera's
// do, so that the motion gate is tested against noise, not a still
// picture.
//
// The video is an MJPG AVI (what USB door cameras send); beside it a JSON
// file records every passage (person, photo, the frames in which the face
// is entirely in view, and their times), the empty stretches, and a
// timeline that maps frames to simulated wall-clock times: passages of one
// day are minutes apart, days are days apart, although the video shows
// them seconds apart. Package truth reads it without cgo: `joren watch
// --clock`, the appliance's camera.clock and the demo's score use it.
//
// Same seed, same photos: same video and same truth.
//
// This is a cgo leaf (gocv). Every Mat it makes is closed.
package doorsim
