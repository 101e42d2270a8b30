// OpenCV's decoding, scaling and encoding of pictures, with every exception
// turned into an error message: a hostile file must never abort the
// process. The Go side checks each picture's header first (size, format),
// so these are the second line: OpenCV's own assertions (its size limits
// among them), a decoder's exceptions, and memory running out.
#include <climits>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include "decode.h"

namespace {

char* fail(const std::string& msg) { return strdup(msg.c_str()); }

// opencv_error keeps what an OpenCV exception says without its source
// file and line: "OpenCV: pixels <= CV_IO_MAX_IMAGE_PIXELS (validateInputImageSize)".
char* opencv_error(const cv::Exception& e) {
	std::string msg = "OpenCV: " + e.err;
	if (!e.func.empty()) {
		msg += " (" + e.func + ")";
	}
	return fail(msg);
}

} // namespace

extern "C" char* joren_picture_decode(const uint8_t* data, size_t len, int flags, void* dst) {
	try {
		if (len == 0 || len > (size_t)INT_MAX) {
			return fail("picture of " + std::to_string(len) + " bytes: not decodable");
		}
		const cv::Mat buf(1, (int)len, CV_8UC1, const_cast<uint8_t*>(data));
		*static_cast<cv::Mat*>(dst) = cv::imdecode(buf, flags);
		return nullptr;
	} catch (const cv::Exception& e) {
		return opencv_error(e);
	} catch (const std::bad_alloc&) {
		return fail("out of memory decoding the picture");
	} catch (const std::exception& e) {
		return fail(e.what());
	} catch (...) {
		return fail("unknown C++ exception decoding the picture");
	}
}

extern "C" char* joren_picture_resize(void* src, void* dst, int width, int height) {
	try {
		cv::resize(*static_cast<cv::Mat*>(src), *static_cast<cv::Mat*>(dst), cv::Size(width, height), 0, 0, cv::INTER_AREA);
		return nullptr;
	} catch (const cv::Exception& e) {
		return opencv_error(e);
	} catch (const std::bad_alloc&) {
		return fail("out of memory scaling the picture");
	} catch (const std::exception& e) {
		return fail(e.what());
	} catch (...) {
		return fail("unknown C++ exception scaling the picture");
	}
}

extern "C" char* joren_picture_encode_jpeg(void* src, int quality, uint8_t** out, size_t* len) {
	try {
		std::vector<uchar> buf;
		const std::vector<int> params{cv::IMWRITE_JPEG_QUALITY, quality};
		if (!cv::imencode(".jpg", *static_cast<cv::Mat*>(src), buf, params) || buf.empty()) {
			return fail("OpenCV could not encode the picture as JPEG");
		}
		*out = static_cast<uint8_t*>(malloc(buf.size()));
		if (*out == nullptr) {
			return fail("out of memory encoding the picture");
		}
		std::memcpy(*out, buf.data(), buf.size());
		*len = buf.size();
		return nullptr;
	} catch (const cv::Exception& e) {
		return opencv_error(e);
	} catch (const std::bad_alloc&) {
		return fail("out of memory encoding the picture");
	} catch (const std::exception& e) {
		return fail(e.what());
	} catch (...) {
		return fail("unknown C++ exception encoding the picture");
	}
}
