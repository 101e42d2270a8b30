#include "gst.h"

#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

struct jg_pipe {
	GstElement *pipeline;
	GstAppSink *sink;
	GstBus *bus;
	GstSample *pending;
};

char *jg_init(void) {
	// GStreamer's segfault trap would install a SIGSEGV handler while it
	// loads plugins in-process; Go owns the signal handlers.
	gst_segtrap_set_enabled(FALSE);
	GError *err = NULL;
	if (!gst_init_check(NULL, NULL, &err)) {
		char *msg = g_strdup(err != NULL ? err->message : "gst_init_check failed");
		g_clear_error(&err);
		return msg;
	}
	return NULL;
}

void jg_free(char *s) { g_free(s); }

jg_pipe *jg_open(const char *desc, const char *sink_name, char **err, char **missing) {
	*err = NULL;
	*missing = NULL;
	GstParseContext *ctx = gst_parse_context_new();
	GError *e = NULL;
	GstElement *el = gst_parse_launch_full(desc, ctx, GST_PARSE_FLAG_FATAL_ERRORS, &e);
	if (e != NULL || el == NULL) {
		*err = g_strdup(e != NULL ? e->message : "the pipeline could not be built");
		gchar **names = g_error_matches(e, GST_PARSE_ERROR, GST_PARSE_ERROR_NO_SUCH_ELEMENT)
		                        ? gst_parse_context_get_missing_elements(ctx)
		                        : NULL;
		if (names != NULL) {
			*missing = g_strjoinv("\n", names);
			g_strfreev(names);
		}
		g_clear_error(&e);
		if (el != NULL)
			gst_object_unref(el);
		gst_parse_context_free(ctx);
		return NULL;
	}
	gst_parse_context_free(ctx);
	// gst_parse_launch returns a floating reference.
	gst_object_ref_sink(el);
	GstElement *sink = GST_IS_BIN(el) ? gst_bin_get_by_name(GST_BIN(el), sink_name) : NULL;
	if (sink == NULL || !GST_IS_APP_SINK(sink)) {
		*err = g_strdup_printf("the pipeline has no appsink named %s", sink_name);
		if (sink != NULL)
			gst_object_unref(sink);
		gst_object_unref(el);
		return NULL;
	}
	jg_pipe *p = g_new0(jg_pipe, 1);
	p->pipeline = el;
	p->sink = GST_APP_SINK(sink);
	p->bus = gst_element_get_bus(el);
	return p;
}

// bus_error pops the pipeline's first error and describes it as "element:
// message" (the element's factory name, such as libcamerasrc). Returns
// NULL if there is none.
static char *bus_error(jg_pipe *p) {
	GstMessage *m = gst_bus_pop_filtered(p->bus, GST_MESSAGE_ERROR);
	if (m == NULL)
		return NULL;
	GError *e = NULL;
	gst_message_parse_error(m, &e, NULL);
	const char *who = GST_MESSAGE_SRC_NAME(m);
	if (GST_IS_ELEMENT(GST_MESSAGE_SRC(m))) {
		GstElementFactory *f = gst_element_get_factory(GST_ELEMENT(GST_MESSAGE_SRC(m)));
		if (f != NULL)
			who = gst_plugin_feature_get_name(GST_PLUGIN_FEATURE(f));
	}
	char *msg = g_strdup_printf("%s: %s", who != NULL ? who : "pipeline", e != NULL ? e->message : "unknown error");
	g_clear_error(&e);
	gst_message_unref(m);
	return msg;
}

char *jg_play(jg_pipe *p) {
	if (gst_element_set_state(p->pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE)
		return NULL;
	char *msg = bus_error(p);
	return msg != NULL ? msg : g_strdup("the pipeline refused to start");
}

int jg_pull(jg_pipe *p, int timeout_ms, char **err) {
	*err = NULL;
	if (p->pending != NULL)
		return JG_SAMPLE;
	GstSample *s = gst_app_sink_try_pull_sample(p->sink, (GstClockTime)timeout_ms * GST_MSECOND);
	if (s != NULL) {
		p->pending = s;
		return JG_SAMPLE;
	}
	// An element's failure does not reach the appsink: it is on the bus.
	*err = bus_error(p);
	if (*err != NULL)
		return JG_ERROR;
	if (gst_app_sink_is_eos(p->sink))
		return JG_EOS;
	return JG_TIMEOUT;
}

int jg_info(jg_pipe *p, int *width, int *height, int *fps_n, int *fps_d) {
	GstCaps *caps = p->pending != NULL ? gst_sample_get_caps(p->pending) : NULL;
	GstVideoInfo info;
	gst_video_info_init(&info);
	if (caps == NULL || !gst_video_info_from_caps(&info, caps) || GST_VIDEO_INFO_FORMAT(&info) != GST_VIDEO_FORMAT_BGR)
		return 0;
	*width = GST_VIDEO_INFO_WIDTH(&info);
	*height = GST_VIDEO_INFO_HEIGHT(&info);
	*fps_n = GST_VIDEO_INFO_FPS_N(&info);
	*fps_d = GST_VIDEO_INFO_FPS_D(&info);
	return 1;
}

int jg_copy(jg_pipe *p, uint8_t *dst, int width, int height) {
	GstCaps *caps = p->pending != NULL ? gst_sample_get_caps(p->pending) : NULL;
	GstBuffer *buf = p->pending != NULL ? gst_sample_get_buffer(p->pending) : NULL;
	GstVideoInfo info;
	gst_video_info_init(&info);
	int ok = 0;
	GstVideoFrame f;
	if (caps != NULL && buf != NULL && gst_video_info_from_caps(&info, caps) &&
	    GST_VIDEO_INFO_WIDTH(&info) == width && GST_VIDEO_INFO_HEIGHT(&info) == height &&
	    gst_video_frame_map(&f, &info, buf, GST_MAP_READ)) {
		// Rows of a BGR frame are padded to 4 bytes (and may have a
		// stride of the producer's choosing): copy row by row.
		const uint8_t *src = GST_VIDEO_FRAME_PLANE_DATA(&f, 0);
		int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&f, 0);
		for (int y = 0; y < height; y++)
			memcpy(dst + (size_t)y * width * 3, src + (size_t)y * stride, (size_t)width * 3);
		gst_video_frame_unmap(&f);
		ok = 1;
	}
	jg_drop(p);
	return ok;
}

void jg_drop(jg_pipe *p) {
	if (p->pending != NULL) {
		gst_sample_unref(p->pending);
		p->pending = NULL;
	}
}

void jg_close(jg_pipe *p) {
	if (p == NULL)
		return;
	jg_drop(p);
	gst_element_set_state(p->pipeline, GST_STATE_NULL);
	gst_object_unref(p->bus);
	gst_object_unref(p->sink);
	gst_object_unref(p->pipeline);
	g_free(p);
}

char *jg_libcamera_ids(void) {
	GstDeviceProvider *pr = gst_device_provider_factory_get_by_name("libcameraprovider");
	if (pr == NULL)
		return NULL;
	GString *ids = g_string_new(NULL);
	// Probes the cameras (the provider is not started).
	GList *devices = gst_device_provider_get_devices(pr);
	for (GList *l = devices; l != NULL; l = l->next) {
		// A libcamera device makes a libcamerasrc with its camera-name set.
		GstElement *el = gst_device_create_element(GST_DEVICE(l->data), NULL);
		if (el == NULL)
			continue;
		gst_object_ref_sink(el);
		gchar *name = NULL;
		if (g_object_class_find_property(G_OBJECT_GET_CLASS(el), "camera-name") != NULL)
			g_object_get(el, "camera-name", &name, NULL);
		if (name != NULL) {
			g_string_append(ids, name);
			g_string_append_c(ids, '\n');
			g_free(name);
		}
		gst_object_unref(el);
	}
	g_list_free_full(devices, gst_object_unref);
	gst_object_unref(pr);
	return g_string_free(ids, FALSE);
}

int jg_has_property(const char *factory, const char *property) {
	GstElement *el = gst_element_factory_make(factory, NULL);
	if (el == NULL)
		return -1;
	gst_object_ref_sink(el);
	int has = g_object_class_find_property(G_OBJECT_GET_CLASS(el), property) != NULL;
	gst_object_unref(el);
	return has;
}
