// Package figure draws the article's picture of a set of faces: their
// descriptors reduced to 50 dimensions by PCA, then to 2 by t-SNE, one
// colour per cluster, with a legend of cluster sizes.
//
// t-SNE is implemented here (exact gradients, early exaggeration, momentum
// and per-coordinate gains, after van der Maaten's reference code) rather
// than taken from a library: the Go package at hand has none of those, so
// its maps do not separate clusters, and it cannot be seeded.
package figure
