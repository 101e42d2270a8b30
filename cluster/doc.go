// Package cluster groups face descriptors into people when the number of
// people is unknown, and measures how well a grouping matches labels.
//
// Methods:
//   - DBSCAN, the article's method: density-connected points with eps and
//     min-samples. With min-samples 1 it is single linkage, which chains
//     different people together through look-alikes on hard data.
//   - Average-linkage agglomerative clustering cut at a distance threshold:
//     two groups merge only when their faces are close on average, so one
//     look-alike pair cannot merge two people. The default (see
//     docs/clustering.md for the measurements behind that choice).
//   - Chinese whispers on the graph of pairs closer than a threshold (dlib's
//     face clustering).
//
// Every method takes a distance Matrix, computed once; labels are cluster
// numbers from 0, ordered by decreasing size, with -1 for noise.
package cluster
