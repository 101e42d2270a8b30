// C interface of frames.cc: dlib's detectors, landmarks and ResNet on raw
// BGR pixels (camera frames), without go-face's JPEG round trip.
#ifndef JOREN_FRAMES_H
#define JOREN_FRAMES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct joren_frames joren_frames;

// The models joren_frames_open can load, or'ed together. An entry point
// that needs a model not loaded fails with a message saying so.
enum joren_part {
	JOREN_PART_HOG = 1,    // frontal face detector (joren_frames_detect)
	JOREN_PART_MMOD = 2,   // CNN detector (joren_frames_detect with cnn)
	JOREN_PART_SHAPE = 4,  // shape predictor (describe, chip)
	JOREN_PART_RESNET = 8, // ResNet (describe with desc, describe_chips)
};

// joren_frames_open loads the parts (JOREN_PART_*) asked for from dir. On
// failure it returns NULL and sets *err (to be freed by the caller).
joren_frames* joren_frames_open(const char* dir, int parts, char** err);
void joren_frames_close(joren_frames* f);

// joren_frames_drop_resnet frees the ResNet (waiting for a description
// under way to end): descriptions fail afterwards.
void joren_frames_drop_resnet(joren_frames* f);

// joren_frames_detect finds faces in a BGR image of rows x cols pixels,
// step bytes per row. It writes up to max rectangles (left, top, right,
// bottom) and confidences and returns how many faces there are (which may
// exceed max), or -1 with *err set.
int joren_frames_detect(joren_frames* f, const uint8_t* bgr, int rows, int cols, int step, int cnn,
	long* rects, double* scores, int max, char** err);

// joren_frames_describe computes, for the face in rect, its landmarks
// (up to max_parts points as x, y pairs; returns the number of parts) and,
// if desc is not NULL, its 128 descriptor values. Returns -1 with *err set.
int joren_frames_describe(joren_frames* f, const uint8_t* bgr, int rows, int cols, int step,
	const long* rect, long* points, int max_parts, float* desc, char** err);

// JOREN_CHIP is the side of dlib's face chip (the ResNet's input).
#define JOREN_CHIP 150

// joren_frames_chip finds the landmarks of the face in rect (as
// joren_frames_describe) and cuts dlib's face chip from them into chip:
// JOREN_CHIP x JOREN_CHIP BGR pixels, rows packed. Returns the number of
// parts, or -1 with *err set.
int joren_frames_chip(joren_frames* f, const uint8_t* bgr, int rows, int cols, int step,
	const long* rect, long* points, int max_parts, uint8_t* chip, char** err);

// joren_frames_describe_chips computes the descriptors of n face chips
// (each JOREN_CHIP x JOREN_CHIP BGR pixels, packed, one after the other)
// into desc (128 floats each), in one batch. Returns 0, or -1 with *err set.
int joren_frames_describe_chips(joren_frames* f, const uint8_t* chips, int n, float* desc, char** err);

#ifdef __cplusplus
}
#endif

#endif
