#ifndef FG_FACE_H
#define FG_FACE_H
#include "fg_image.h"
#ifdef __cplusplus
extern "C" {
#endif

typedef struct { float x, y, w, h, score; } fg_detection;

typedef enum { FG_DET_HOG = 0, FG_DET_MMOD = 1, FG_DET_HAAR = 2, FG_DET_DNN_SSD = 3, FG_DET_YUNET = 4 } fg_detector_kind;

typedef struct fg_detector fg_detector;
/* model: MMOD .dat, Haar .xml, YuNet .onnx, or SSD "deploy.prototxt|weights.caffemodel"; ignored for HOG. */
fg_detector *fg_detector_create(fg_detector_kind kind, const char *model, char *err, int errlen);
/* dlib's HOG detector run by dlib's own object_detector call (slower). The default FG_DET_HOG detector gives the same
 * boxes and scores; this one is for the equality test (HOGDetectorTests). */
fg_detector *fg_detector_create_hog_reference(char *err, int errlen);
/* Detects faces. The image is downscaled so its longer side is at most max_side (0 = as is); boxes come back in
 * full-frame pixels. upsample: dlib pyramid up-sampling count (HOG/MMOD). Returns the number written (<= max). */
int fg_detect(fg_detector *d, const fg_image *img, int max_side, int upsample, fg_detection *out, int max);
/* Same, limited to a region of interest (x,y,w,h in full-frame pixels). */
int fg_detect_roi(fg_detector *d, const fg_image *img, int rx, int ry, int rw, int rh, int max_side,
                  fg_detection *out, int max);
/* HOG only (0 for other kinds): fg_detect_roi with dlib's adjust_threshold, so windows scoring down to
 * adjust_threshold (< 0: below the detection threshold) come back; score = margin over the detection threshold. */
int fg_detect_roi_hog_adjusted(fg_detector *d, const fg_image *img, int rx, int ry, int rw, int rh, int max_side,
                               double adjust_threshold, fg_detection *out, int max);
void fg_detector_free(fg_detector *d);

typedef struct fg_shape_model fg_shape_model;
fg_shape_model *fg_shape_model_load(const char *path, char *err, int errlen);
/* Same model evaluated by dlib's own shape_predictor (slower: serial cache misses). For tests and benchmarks that
 * check the default evaluator gives identical landmarks. */
fg_shape_model *fg_shape_model_load_reference(const char *path, char *err, int errlen);
/* Number of parts (68 or 5). */
int fg_shape_model_parts(const fg_shape_model *m);
/* Predicts landmarks inside box; writes 2*parts floats (x0,y0,x1,y1,...). Returns parts. */
int fg_shape_predict(const fg_shape_model *m, const fg_image *img, float x, float y, float w, float h, float *out);
void fg_shape_model_free(fg_shape_model *m);

/* Head pose from 68 landmarks via solvePnP against a generic 3-D face (focal length = image width).
 * Writes yaw, pitch, roll in degrees (see HeadPose conventions) and, if non-null, rvec[3], tvec[3]. */
int fg_head_pose(const float *pts68, int width, int height, double *yaw, double *pitch, double *roll,
                 double *rvec, double *tvec);
/* Projects n 3-D points (model coordinates, mm) with rvec/tvec and focal = width; writes 2n floats. */
void fg_project_points(const double *pts3, int n, const double *rvec, const double *tvec, int width, int height,
                       float *out);

typedef struct fg_embedder fg_embedder;
/* ResNet descriptor evaluated by the shim's own forward pass (embed_fast.cpp: same weights, ~1e-6 from dlib's). */
fg_embedder *fg_embedder_load(const char *path, char *err, int errlen);
/* Same model evaluated by dlib's own forward pass (slower), for the equivalence test and benchmarks. */
fg_embedder *fg_embedder_load_reference(const char *path, char *err, int errlen);
/* 128-d descriptor from an aligned 150x150 chip (dlib get_face_chip_details, padding 0.25) built from the given
 * landmarks (5 or 68 points). jitter > 0 averages that many jittered chips. Returns 0 on success. */
int fg_embed(fg_embedder *e, const fg_image *img, const float *pts, int npts, int jitter, float *out128);
/* The aligned chip itself (size x size, padding), e.g. for crops and thumbnails. */
fg_image *fg_face_chip(const fg_image *img, const float *pts, int npts, int size, double padding);
/* Same chip; reference != 0 samples it with dlib's own extract_image_chip (slower). The default sampler
 * (fast_chip.hpp) gives byte-identical chips (FaceChipEquivalenceTests). NULL for non-BGR images or bad points. */
fg_image *fg_face_chip_ex(const fg_image *img, const float *pts, int npts, int size, double padding, int reference);
/* 1 when this build's fast chip sampler passed its one-time byte-equality self-test against dlib (needs AVX2 and
 * the compiler's FMA contraction the sampler reproduces); 0 means every chip is dlib's own call. */
int fg_chip_fast_enabled(void);
/* reference != 0: fg_embed samples its 150x150 chip with dlib's extract_image_chip instead of the fast sampler. */
void fg_embedder_set_reference_chip(fg_embedder *e, int reference);
void fg_embedder_free(fg_embedder *e);

/* Sharpness (variance of the Laplacian) and mean brightness (0..255) of a region. */
double fg_sharpness(const fg_image *img, int x, int y, int w, int h);
double fg_brightness(const fg_image *img, int x, int y, int w, int h);

#ifdef __cplusplus
}
#endif
#endif
