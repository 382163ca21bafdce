#ifndef FG_VIDEO_H
#define FG_VIDEO_H
#include "fg_image.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct fg_video fg_video;

/* Opens a video file (FFmpeg backend). */
fg_video *fg_video_open(const char *path, char *err, int errlen);
/* Opens a V4L2 camera by index (device < 0: use path, e.g. "/dev/video2"). */
fg_video *fg_camera_open(int index, const char *path, int width, int height, char *err, int errlen);
/* Reads the next frame: 1 frame, 0 end of stream, -1 error. *t = seconds (PTS for files, capture clock for cameras). */
int fg_video_read(fg_video *v, fg_image **out, double *t);
/* The V4L2 buffer timestamp of the last frame read from a camera (CLOCK_MONOTONIC at capture, ms, µs resolution;
   OpenCV's CAP_PROP_POS_MSEC), or -1 for files and when the driver gave none. For timing checks, not for pacing. */
double fg_video_sensor_ms(fg_video *v);
double fg_video_fps(const fg_video *v);
int fg_video_frame_count(const fg_video *v);
int fg_video_width(const fg_video *v);
int fg_video_height(const fg_video *v);
void fg_video_free(fg_video *v);

typedef struct fg_writer fg_writer;
/* Writes mp4 (mp4v), avi (MJPG) or mkv by extension. */
fg_writer *fg_writer_open(const char *path, double fps, int width, int height, char *err, int errlen);
/* Frames of another size are resized. Returns 0 on success. */
int fg_writer_write(fg_writer *w, const fg_image *img);
void fg_writer_free(fg_writer *w);

#ifdef __cplusplus
}
#endif
#endif
