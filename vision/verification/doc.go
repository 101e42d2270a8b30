// Package verification scores an embedder on labelled faces: how well its
// distances tell two photos of one person from photos of two people (ROC
// AUC, best balanced accuracy, equal-error threshold) and how often a
// photo's nearest other photo is the same person (rank-1 identification).
// These are the numbers that choose a model's same-person threshold.
package verification
