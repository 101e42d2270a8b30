// Writes dlib's face recognition ResNet (the anet_type of dlib's
// dnn_face_recognition_ex.cpp and of go-face) from parameters computed
// elsewhere, with dlib's own serialiser so that the file is byte for byte
// what dlib and go-face expect.
#include <cstring>
#include <string>
#include <vector>
#include <dlib/dnn.h>
#include "resnet.h"
#include "nets.h"

using namespace dlib;
using joren::anet_type;

namespace {

// One parameter block of a computational layer, as dlib stores it.
struct slot {
	int kind;
	float* dst;
	size_t size;
};

// collector records where each computational layer keeps its parameters.
// dlib visits layers from the output towards the input; the caller reverses.
// The visitor is copied by dlib, so it writes through a pointer.
struct collector {
	std::vector<slot>* out;

	template <long nf, long nr, long nc, int sy, int sx, int py, int px>
	void operator()(con_<nf, nr, nc, sy, sx, py, px>& l) {
		tensor& p = l.get_layer_params();
		out->push_back(slot{JOREN_LAYER_CONV, p.host(), p.size()});
	}
	void operator()(affine_& l) {
		// affine_ keeps gamma and beta outside get_layer_params(), which is empty.
		auto g = l.get_gamma();
		auto b = l.get_beta();
		// gamma and beta are adjacent in one tensor: gamma first.
		out->push_back(slot{JOREN_LAYER_AFFINE, g.host(), g.size() + b.size()});
	}
	template <unsigned long n, fc_bias_mode mode>
	void operator()(fc_<n, mode>& l) {
		tensor& p = l.get_layer_params();
		out->push_back(slot{JOREN_LAYER_FC, p.host(), p.size()});
	}
	template <typename T>
	void operator()(T&) {}
};

// conv_mode puts every affine_ layer in per-channel mode. A default
// constructed affine_ is in FC_MODE and would size gamma to a whole feature
// map on setup.
struct conv_mode {
	void operator()(affine_& l) { l = affine_(CONV_MODE); }
	template <typename T>
	void operator()(T&) {}
};

char* fail(const std::string& msg) { return strdup(msg.c_str()); }

} // namespace

extern "C" char* joren_write_resnet(const char* path, int n, const int* kinds, const long* sizes, const float* data) {
	try {
		anet_type net;
		visit_computational_layers(net, conv_mode{});
		// A forward pass sets every layer up: it allocates the parameters and
		// marks them set up, so that they are not randomised again on first use.
		matrix<rgb_pixel> blank(150, 150);
		assign_all_pixels(blank, rgb_pixel(0, 0, 0));
		net(blank);

		std::vector<slot> slots;
		visit_computational_layers(net, collector{&slots});
		std::reverse(slots.begin(), slots.end());
		if ((int)slots.size() != n) {
			return fail("network has " + std::to_string(slots.size()) + " layers with parameters, got " + std::to_string(n));
		}
		const float* src = data;
		for (int i = 0; i < n; i++) {
			if (slots[i].kind != kinds[i]) {
				return fail("layer " + std::to_string(i) + ": kind " + std::to_string(kinds[i]) + " given where the network has kind " + std::to_string(slots[i].kind));
			}
			if ((long)slots[i].size != sizes[i]) {
				return fail("layer " + std::to_string(i) + ": " + std::to_string(sizes[i]) + " values given where the network has " + std::to_string(slots[i].size));
			}
			std::memcpy(slots[i].dst, src, slots[i].size * sizeof(float));
			src += slots[i].size;
		}
		net.clean();
		serialize(std::string(path)) << net;
	} catch (std::exception& e) {
		return fail(e.what());
	} catch (...) {
		return fail("unknown C++ exception");
	}
	return nullptr;
}
