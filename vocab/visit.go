package vocab

import "time"

// Visit is one passage of one person through the door, as the live
// pipeline reports it when the person's track ends: the best few
// descriptors of their face, never an image.
type Visit struct {
	// ID is unique per device and sortable by time (a ULID in the live
	// pipeline; the input's own id in replays).
	ID string `json:"visit"`
	// Start and End bound the passage (first and last frame with the face).
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Model computed every descriptor.
	Model Model `json:"model"`
	// Descriptors are the best k descriptors of the face (1..k), best
	// first.
	Descriptors [][]float32 `json:"descriptors"`
	// Quality is the best descriptor's quality in [0, 1] (size, sharpness,
	// frontalness).
	Quality float64 `json:"quality"`
	// Faces is how many frames showed the face.
	Faces int `json:"faces"`
	// Together lists the IDs of visits whose tracks overlapped this one in
	// time: people seen together are different people.
	Together []string `json:"together,omitempty"`
}
