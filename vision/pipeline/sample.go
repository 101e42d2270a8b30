package pipeline

import (
	"image"
	"time"

	"joren/vision/quality"
)

// Sampler receives descriptors of the face in front of the camera, and
// only while it asks for them: the box's page enrols a member of staff or
// a consenting customer from the live camera, and finds out whom the
// person at the counter is when they ask to be forgotten. Wants is asked
// for every frame the track stage handles and is all a frame costs while
// it says no.
type Sampler interface {
	// Wants tells whether to sample the frame being tracked. It must be
	// cheap (an atomic load) and decide how often to say yes: each
	// sample may cost a description (22 ms with dlib on a desktop core).
	Wants() bool
	// Sample receives what the frame shows. It is called from the track
	// stage, so it must return quickly; it may keep the descriptor.
	Sample(s Sample)
}

// Sample is one sampled frame: the largest face good enough for a
// descriptor, described, and how many faces the frame had.
type Sample struct {
	// Time is the frame's time.
	Time time.Time
	// Faces counts the faces found in the frame; Good those good enough
	// for a descriptor (quality gate).
	Faces, Good int
	// Track, Box and Quality are the sampled face's: the largest good
	// face, or the largest face when none is good (then Descriptor is nil
	// and Quality says why: small, blurred, turned, cut).
	Track   string
	Box     image.Rectangle
	Quality quality.Assessment
	// Descriptor is the largest good face's descriptor (nil when there is
	// no good face, or it could not be described).
	Descriptor []float32
}

// sample hands the sampler what obs shows, describing its largest good
// face unless the tracker described it already (described[i]).
func (t *trackStage) sample(obs observation, ids []string, described map[int][]float32) {
	sp := t.p.cfg.Sampler
	if sp == nil || !sp.Wants() {
		return
	}
	s := Sample{Time: obs.time, Faces: len(obs.faces)}
	best, bestGood := -1, false
	for i, f := range obs.faces {
		good := f.crop != nil
		if good {
			s.Good++
		}
		// A good face beats any that is not; among equals, the widest
		// (the person nearest the camera, at the counter).
		if best < 0 || (good && !bestGood) || (good == bestGood && f.box.Dx() > obs.faces[best].box.Dx()) {
			best, bestGood = i, good
		}
	}
	if best >= 0 {
		f := obs.faces[best]
		s.Box, s.Quality = f.box, f.q
		if best < len(ids) {
			s.Track = ids[best]
		}
		if bestGood {
			if d, ok := described[best]; ok {
				s.Descriptor = d
			} else if face, err := t.describe(f); err != nil {
				t.p.log.Warn("describing a sampled face failed", "frame", obs.seq, "err", err)
			} else {
				t.p.n.described.Add(1)
				s.Descriptor = face.Descriptor
			}
		}
	}
	sp.Sample(s)
}
