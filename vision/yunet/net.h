// C interface of net.cc: YuNet's network through OpenCV's DNN module, with
// every OpenCV exception caught and returned as a message (gocv lets them
// cross into Go, which aborts the process).
#ifndef JOREN_YUNET_NET_H
#define JOREN_YUNET_NET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct joren_yunet joren_yunet;

// joren_yunet_open parses an ONNX network from memory. On failure it
// returns NULL and sets *err (to be freed by the caller).
joren_yunet* joren_yunet_open(const void* onnx, size_t len, char** err);
void joren_yunet_close(joren_yunet* n);

// joren_yunet_forward shrinks or enlarges the BGR image of rows x cols
// pixels (step bytes per row) to w x h, pads it with black to pw x ph
// (multiples of 32), runs the network and writes its twelve outputs into
// out, stride 8, 16 then 32, each as cls (n floats), obj (n), bbox (4n)
// and kps (10n) with n = (pw/stride)*(ph/stride). out_len is out's length
// in floats. Returns 0, or -1 with *err set.
int joren_yunet_forward(joren_yunet* n, const uint8_t* bgr, int rows, int cols, int step,
	int w, int h, int pw, int ph, float* out, size_t out_len, char** err);

#ifdef __cplusplus
}
#endif

#endif
