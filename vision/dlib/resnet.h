// C interface of the ResNet writer in resnet.cc: Go passes the network's
// parameters in input-to-output order and gets back NULL or an error message
// that the caller frees.
#ifndef JOREN_RESNET_H
#define JOREN_RESNET_H

#ifdef __cplusplus
extern "C" {
#endif

enum joren_layer_kind {
	JOREN_LAYER_CONV = 0,
	JOREN_LAYER_AFFINE = 1,
	JOREN_LAYER_FC = 2,
};

// joren_write_resnet builds dlib's face recognition ResNet, fills its n
// computational layers from data (sizes[i] floats for layer i, of kind
// kinds[i], one after the other) and serialises it to path.
char* joren_write_resnet(const char* path, int n, const int* kinds, const long* sizes, const float* data);

#ifdef __cplusplus
}
#endif

#endif
