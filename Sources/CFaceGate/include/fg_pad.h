#ifndef FG_PAD_H
#define FG_PAD_H
/* Presentation-attack detection helpers (passive liveness). Owned by the passive-liveness work.
 * One source file per area: pad_texture.cpp, pad_screen.cpp, pad_geometry.cpp, pad_motion.cpp, pad_dnn.cpp,
 * pad_sim.cpp. Rectangles are x, y, w, h in full-frame pixels. */
#include "fg_image.h"
#ifdef __cplusplus
extern "C" {
#endif

/* ---- Texture: multi-scale uniform LBP colour histograms (pad_texture.cpp) ----
 * The crop (an aligned face chip) is resized to FG_PAD_LBP_SIDE^2, converted to YCbCr and HSV; for each of the six
 * channels and each radius in {1, 2, 3} an 8-neighbour uniform LBP histogram (59 bins, L1-normalised) is taken.
 * Layout: channel-major (Y, Cr, Cb, H, S, V), then radius, then bin. */
#define FG_PAD_LBP_SIDE 64
#define FG_PAD_LBP_BINS 59
#define FG_PAD_LBP_FEATURES (6 * 3 * FG_PAD_LBP_BINS)
/* Writes FG_PAD_LBP_FEATURES floats into out (max >= that). Returns the count, or -1 for a bad input. */
int fg_pad_lbp_features(const fg_image *crop, float *out, int max);

/* ---- Screen cues (pad_screen.cpp) ---- */
typedef struct {
    /* Strongest isolated spectral peak in the mid/high band over the local radial median (1 = no peak). */
    double peak_ratio;
    /* Share of spectral energy above half the Nyquist radius (DC excluded). */
    double high_freq_share;
    /* Number of peaks above the peak threshold passed in. */
    int peaks;
    /* Side of the analysed square in pixels (0: face too small, nothing measured). */
    int side;
} fg_pad_moire;
/* Periodic high-frequency energy in the central part of the face box. peak_threshold: ratio counted as a peak. */
int fg_pad_moire_measure(const fg_image *img, int x, int y, int w, int h, double peak_threshold, fg_pad_moire *out);

/* Row profile of the whole frame: mean luminance (0.299 R + 0.587 G + 0.114 B, 0..255) of each row, top to bottom
 * (refresh-banding cue). Writes min(height, max) values; returns the frame height, or -1 for a bad input. */
int fg_pad_row_profile(const fg_image *img, double *out, int max);

typedef struct {
    /* Largest near-white, low-saturation blob, as a fraction of the face box area. */
    double largest_area;
    /* Its solidity (area / convex hull area), 0..1: screen glare is one compact sheet. */
    double largest_solidity;
    /* Mean gradient magnitude inside the blob (0..255 scale): flat sheets are ~0, textured skin highlights are not. */
    double largest_texture;
    /* All specular pixels, as a fraction of the face box area, and the number of blobs. */
    double total_area;
    int blobs;
} fg_pad_glare;
/* Specular blobs in the face box grown by `grow` (0.25 = 25 % each side). */
int fg_pad_glare_measure(const fg_image *img, int x, int y, int w, int h, double grow, fg_pad_glare *out);

typedef struct {
    int found;
    /* Quadrilateral corners x0,y0,...,x3,y3 in full-frame pixels. */
    float corners[8];
    /* Quad area over face box area. */
    double area_ratio;
    /* Long side over short side of the quad's minimum-area rectangle. */
    double aspect;
    /* Mean Canny edge support along the quad's sides, 0..1. */
    double edge_support;
    /* How dark the band just inside the quad is relative to just outside (>0: dark bezel). 0..1 */
    double rim_contrast;
    /* Device sides cut by the frame border: two long, near-parallel straight edges flanking the face (a phone held
     * up close, its top and bottom outside the picture). 1 when found; their mean length over the face height. */
    int sides_found;
    double sides_length;
} fg_pad_bezel;
/* Looks for a device-shaped quadrilateral enclosing the face box. */
int fg_pad_bezel_find(const fg_image *img, int x, int y, int w, int h, fg_pad_bezel *out);
/* The same with the frame shrunk to `working_side` pixels (longer side; fg_pad_bezel_find uses 320) instead: a still
 * image is looked at at a few working sizes, as a video is over several frames (PassiveAnalyzer). */
int fg_pad_bezel_find_at(const fg_image *img, int x, int y, int w, int h, int working_side, fg_pad_bezel *out);
/* The same with OpenCV's own cv::HoughLinesP for the device sides (the product uses an equivalent, faster transform;
 * tests check both give identical measurements). */
int fg_pad_bezel_find_reference(const fg_image *img, int x, int y, int w, int h, fg_pad_bezel *out);
/* For tests: every segment of the bezel's side transform (cv::HoughLinesP when reference, else the shim's own) on the
 * cue's edge image inside the face's two side bands, no clutter/necessity gate; x0,y0,x1,y1 per segment in working
 * pixels, in the transform's order. Returns the number of segments (may exceed max) or -1. */
int fg_pad_bezel_side_segments(const fg_image *img, int x, int y, int w, int h, double min_length, int reference,
                               int *out, int max);

/* ---- Geometry (pad_geometry.cpp) ---- */
/* Least-squares homography src -> dst over n >= 5 point pairs (no RANSAC: every landmark counts). Writes H (row
 * major) if non-null, the RMS reprojection residual in *h_rms and the RMS residual of the best similarity
 * (rotation + uniform scale + translation) in *sim_rms. Returns 0, or -1 when degenerate. */
int fg_pad_homography_fit(const float *src, const float *dst, int n, double *H, double *h_rms, double *sim_rms);

/* A 16-bit depth frame (millimetres, 0 = no reading). */
typedef struct fg_depth fg_depth;
fg_depth *fg_depth_read(const char *path, char *err, int errlen);
fg_depth *fg_depth_from_u16(const uint16_t *mm, int width, int height);
int fg_depth_width(const fg_depth *d);
int fg_depth_height(const fg_depth *d);
void fg_depth_free(fg_depth *d);
/* Writes a depth frame as a 16-bit PNG. Returns 0 on success. */
int fg_depth_write(const fg_depth *d, const char *path, char *err, int errlen);

typedef struct {
    /* Fraction of the region with a depth reading. */
    double coverage;
    /* Median depth, mm. */
    double median_mm;
    /* RMS distance to the best plane, mm. */
    double plane_rms_mm;
    /* Spread of the plane residual (95th - 5th percentile), mm. */
    double relief_mm;
    /* How far the central part (nose) sits in front of the plane fitted to the rim of the region, mm (>0: convex). */
    double center_protrusion_mm;
    /* RMS of the residual after a quadratic surface fit, mm (measures roughness/noise, not shape). */
    double quad_rms_mm;
} fg_pad_depth_stats;
/* Plane and relief statistics of the depth frame inside a box. Returns 0, or -1 when too few readings. */
int fg_pad_depth_measure(const fg_depth *d, int x, int y, int w, int h, fg_pad_depth_stats *out);

/* ---- Motion (pad_motion.cpp) ---- */
typedef struct {
    /* Median image translation of tracked features (pixels, full frame), and rotation (radians) of a partial
     * affine fit. */
    double dx, dy, angle;
    /* Features tracked and RANSAC inliers. */
    int tracked, inliers;
} fg_pad_motion;
/* Sparse optical flow between two frames. region: 0 whole frame, 1 only inside the box, 2 outside the box (the
 * background). Returns 0, or -1 when too few features could be tracked. */
int fg_pad_motion_measure(const fg_image *prev, const fg_image *cur, int x, int y, int w, int h, int region,
                          fg_pad_motion *out);

/* ---- ONNX classifiers through OpenCV DNN (pad_dnn.cpp) ---- */
typedef struct fg_pad_net fg_pad_net;
fg_pad_net *fg_pad_net_load(const char *path, char *err, int errlen);
void fg_pad_net_free(fg_pad_net *n);
typedef struct {
    int input_w, input_h;
    /* Face box enlargement (Silent-Face CropImage: clamped to the frame, shifted inside); <= 0: whole frame. */
    double crop_scale;
    /* 1: feed RGB (swap from BGR), 0: BGR. */
    int swap_rb;
    /* value = (pixel * pixel_scale - mean[c]) / std[c], channels in feed order. */
    double pixel_scale;
    float mean[3];
    float std[3];
} fg_pad_net_input;
/* Crops the face box as configured, runs the network, writes up to max raw outputs. Returns the output count, or
 * -1 on failure (message in err). */
int fg_pad_net_run(fg_pad_net *n, const fg_image *img, float x, float y, float w, float h, const fg_pad_net_input *in,
                   float *out, int max, char *err, int errlen);
/* Reads a still image as cv2.imread(path) does (IMREAD_COLOR: EXIF orientation applied, alpha dropped, 16-bit
 * shifted to 8-bit): the input the reference anti-spoof pipeline sees. NULL on failure (message in err). */
fg_image *fg_pad_image_read_oriented(const char *path, char *err, int errlen);
/* The crop box (x0, y0, x1, y1 inclusive) Silent-Face's CropImage._get_new_box computes for a frame size. */
void fg_pad_crop_box(int src_w, int src_h, float x, float y, float w, float h, double scale, int *box4);

/* ---- Attack simulator (pad_sim.cpp) ---- */
typedef enum { FG_SIM_PRINT = 0, FG_SIM_SCREEN = 1, FG_SIM_REPLAY = 2 } fg_sim_kind;
typedef struct {
    fg_sim_kind kind;
    /* Maps medium pixels (the content plus its border) to output pixels, row-major 3x3. */
    double H[9];
    int out_w, out_h;
    /* Tone: out = brightness + contrast * in^gamma (0..1 scale), then multiplied by the tint. */
    double gamma, contrast, brightness, saturation;
    double tint_r, tint_g, tint_b;
    /* Screen: sub-pixel grid period in medium pixels (0: none), its angle (degrees) and modulation depth 0..1. */
    double grid_pitch, grid_angle, grid_depth;
    /* Border around the content: white paper margin (print) or black bezel (screen), in content pixels. */
    int border_px;
    /* Specular reflection: centre (0..1 of the medium), radius (fraction of medium width), strength 0..1. */
    double glare_x, glare_y, glare_radius, glare_strength;
    /* Print: paper grain sigma (0..255) and halftone cell (pixels, 0 none); bend: cylinder sag, fraction of width. */
    double grain, halftone, bend;
    /* Camera: Gaussian blur sigma (output pixels) and sensor noise sigma (0..255). */
    double blur, noise;
    unsigned int seed;
    /* Display (screen, replay): black level lifted to this (0..1) — an LCD's black glow and narrower gamut; the
     * content is mapped to black + (1 - black) * value. */
    double black_level;
    /* Refresh banding: a PWM backlight filmed by a rolling shutter darkens horizontal bands of the screen that roll
     * from frame to frame. Depth 0..1, period (fraction of output height) and this frame's phase (radians). */
    double banding_depth, banding_period, banding_phase;
} fg_sim_params;
/* Renders one attack frame: the content on its medium, placed by H over the background (or a plain wall when
 * background is null), re-captured by a simulated camera. */
fg_image *fg_pad_simulate(const fg_image *content, const fg_image *background, const fg_sim_params *p);

#ifdef __cplusplus
}
#endif
#endif
