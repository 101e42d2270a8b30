// C interface of decode.cc: OpenCV's picture decoding, scaling and JPEG
// encoding with every C++ exception caught. gocv's own wrappers catch
// none, so an exception there (a picture OpenCV refuses, memory that runs
// out) aborts the process. Each function returns NULL, or an error message
// the caller frees. Mats are cv::Mat pointers (gocv's C.Mat).
#ifndef JOREN_PICTURE_DECODE_H
#define JOREN_PICTURE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// joren_picture_decode decodes len bytes at data (read in place, not
// copied) with cv::imdecode's flags into dst.
char* joren_picture_decode(const uint8_t* data, size_t len, int flags, void* dst);

// joren_picture_resize scales src to width x height pixels into dst, by
// pixel area (the right filter for shrinking).
char* joren_picture_resize(void* src, void* dst, int width, int height);

// joren_picture_encode_jpeg encodes src as a JPEG of the given quality into
// a buffer (*out, *len) allocated with malloc, that the caller frees.
char* joren_picture_encode_jpeg(void* src, int quality, uint8_t** out, size_t* len);

#ifdef __cplusplus
}
#endif

#endif
