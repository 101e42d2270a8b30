// Package motion is the gate in front of face detection: it compares each
// frame, shrunk to about 160 pixels wide and turned gray, with a slowly
// learnt background, and says whether anything moved and where. An empty
// doorway then costs a few hundred microseconds a frame instead of a face
// detector's tens of milliseconds.
//
// The comparison is per cell (a square of the frame, 4x4 pixels at
// 640x480), sampled at four points, so sensor noise averages out; changed
// cells count only in blocks where many of them changed, so scattered noise
// or JPEG artefacts never open the gate while a person, who changes
// hundreds of cells together, always does. A change over most of the frame
// (lights switched on, auto exposure) is reported as global motion and the
// background is relearnt at once.
//
// Pure Go: it reads the frame's BGR bytes and allocates nothing per frame.
package motion
