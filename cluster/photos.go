package cluster

import "joren/vocab"

// A PhotoFace is a face found in a photo: its descriptor, and the photo it
// is in (any name that tells photos apart, such as the file's path).
type PhotoFace struct {
	Photo      string
	Descriptor []float32
}

// ClusterPhotos groups the faces of a set of photos into people. Two faces
// of one photo are two people: Adaptive and AverageLink never put them
// together (see Params.Apart for the other methods); p.Apart is replaced.
func ClusterPhotos(faces []PhotoFace, model vocab.Model, p Params) (Labels, error) {
	points := make([][]float32, len(faces))
	photos := make([]string, len(faces))
	for i, f := range faces {
		points[i], photos[i] = f.Descriptor, f.Photo
	}
	p.Apart = ApartBy(photos)
	return Cluster(points, model, p)
}

// ApartBy returns Params.Apart for points whose groups are group[i]: the
// points of one group (the faces of one photo, the tracks of one moment)
// are different people.
func ApartBy[K comparable](group []K) []int {
	ids := map[K]int{}
	apart := make([]int, len(group))
	for i, g := range group {
		id, ok := ids[g]
		if !ok {
			id = len(ids)
			ids[g] = id
		}
		apart[i] = id
	}
	return apart
}
