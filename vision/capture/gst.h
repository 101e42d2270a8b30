// A GStreamer pipeline ending in an appsink, read one frame at a time.
// Every call is made by the goroutine that owns the pipeline, except that
// GStreamer's own threads run the pipeline.
#ifndef JOREN_CAPTURE_GST_H
#define JOREN_CAPTURE_GST_H

#include <stdint.h>

typedef struct jg_pipe jg_pipe;

// Results of jg_pull.
enum { JG_TIMEOUT = 0, JG_SAMPLE = 1, JG_EOS = -1, JG_ERROR = -2 };

// jg_init starts GStreamer once per process (later calls return at once).
// Returns NULL, or an error message to free with jg_free.
char *jg_init(void);

// jg_open builds a pipeline from its text; its appsink must be named
// sink_name. On failure it returns NULL and sets *err, and *missing to the
// names of elements GStreamer does not have, one per line (either may be
// NULL; free with jg_free).
jg_pipe *jg_open(const char *desc, const char *sink_name, char **err, char **missing);

// jg_play starts the pipeline. Returns NULL or an error message.
char *jg_play(jg_pipe *p);

// jg_pull waits up to timeout_ms for the next frame and keeps it as the
// pending one (JG_SAMPLE), or says the pipeline ended (JG_EOS), failed
// (JG_ERROR, *err set), or that nothing came in time (JG_TIMEOUT).
int jg_pull(jg_pipe *p, int timeout_ms, char **err);

// jg_info describes the pending frame. Returns 0 if it is not BGR video.
int jg_info(jg_pipe *p, int *width, int *height, int *fps_n, int *fps_d);

// jg_copy copies the pending frame, rows packed, into dst (width*height*3
// bytes) and drops it. Returns 0 if the frame cannot be mapped.
int jg_copy(jg_pipe *p, uint8_t *dst, int width, int height);

// jg_drop drops the pending frame.
void jg_drop(jg_pipe *p);

// jg_close stops the pipeline and frees it.
void jg_close(jg_pipe *p);

// jg_libcamera_ids lists the IDs of the cameras libcamera finds, one per
// line, through libcamera's GStreamer device provider. Returns NULL if
// that provider is not installed.
char *jg_libcamera_ids(void);

// jg_has_property says whether elements of the factory have the property
// (1) or not (0); -1 if there is no such factory.
int jg_has_property(const char *factory, const char *property);

void jg_free(char *s);

#endif
