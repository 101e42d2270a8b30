package identity

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"joren/vocab"
)

// The learnt space shipped for dlib's ResNet (model family
// dlib_resnet_v1): fitted on the 675 labelled descriptors of 70 people of
// ../shared/faces/descriptors-dev.jsonl, the only data the project tunes
// on. Its provenance (source checksum, options, the command that
// regenerates it) is inside the file; TestLearntSpaceArtefact refits it
// and fails if the file differs from what its provenance produces.
//
//go:embed dlib_resnet_v1.space.json
var dlibSpace []byte

// DefaultFit is how shipped spaces are fitted: every discriminant
// direction the people allow, and half the within-person covariance
// shrunk toward its average. Both were chosen in early exploration on
// splits of the shared people (more directions and more shrinkage did
// better on held-out halves); the sweep of docs/identity.md does not
// re-choose them.
func DefaultFit(people, dim int) FitOptions {
	return FitOptions{Dims: min(people-1, dim), Shrink: 0.5}
}

// ParseSpace reads a space from its JSON form (the shipped file's).
func ParseSpace(b []byte) (*Space, error) {
	var s Space
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("learnt space: %w", err)
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// LearntSpace returns the space shipped for model's family, or nil: a
// model without one (another network, such as a 512-value ONNX embedder)
// is matched with the distance model, calibrated by its threshold alone.
// A space is tied to the network family and descriptor length, not to
// one copy of the weights: converted or re-quantised copies of dlib's
// network move descriptors far less than people differ.
func LearntSpace(model vocab.Model) *Space {
	s, err := ParseSpace(dlibSpace)
	if err != nil {
		// The file is checked by tests; a build with a broken one must
		// not start matching with garbage.
		panic(fmt.Sprintf("identity: shipped learnt space: %v", err))
	}
	if s.Model != model.Name || s.In != model.Dim {
		return nil
	}
	return s
}
