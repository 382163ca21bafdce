#ifndef FG_IMAGE_H
#define FG_IMAGE_H
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

/* Limits native worker threads (OpenCV and OpenBLAS) to n; n <= 0 restores the default. */
void fg_set_threads(int n);
/* Peak resident set size of this process in bytes. */
long fg_peak_rss(void);

/* An 8-bit BGR image (cv::Mat CV_8UC3), always continuous. */
typedef struct fg_image fg_image;

/* Largest image side accepted by the decoder before it refuses (bounds memory and time on huge inputs). */
#define FG_MAX_IMAGE_PIXELS (64 * 1024 * 1024)

fg_image *fg_image_read(const char *path, char *err, int errlen);
fg_image *fg_image_decode(const uint8_t *data, size_t len, char *err, int errlen);
/* Decodes untrusted JPEG or PNG bytes with bounds (0 = unbounded): refuses other formats, more than max_pixels,
   JPEGs with more than max_scans scans and JPEG decodes using more than max_cpu_ms of the calling thread's CPU time
   (checked while decoding, so a decompression bomb is stopped mid-way). CMYK JPEGs are refused. */
fg_image *fg_image_decode_bounded(const uint8_t *data, size_t len, double max_pixels, int max_scans, int max_cpu_ms,
                                  char *err, int errlen);
fg_image *fg_image_from_bgr(const uint8_t *bgr, int width, int height, int stride);
fg_image *fg_image_from_gray(const uint8_t *gray, int width, int height, int stride);
fg_image *fg_image_new(int width, int height, uint8_t b, uint8_t g, uint8_t r);
fg_image *fg_image_clone(const fg_image *img);
void fg_image_free(fg_image *img);

int fg_image_width(const fg_image *img);
int fg_image_height(const fg_image *img);
/* Pointer to BGR rows (stride = width*3). Valid while the image lives. */
uint8_t *fg_image_data(fg_image *img);

/* Writes by extension (.png, .jpg, .bmp, .webp). Returns 0 on success. */
int fg_image_write(const fg_image *img, const char *path, char *err, int errlen);
/* Encodes to memory; returns size and a malloc'd buffer in *out (free with fg_buffer_free). ext like ".jpg". */
size_t fg_image_encode(const fg_image *img, const char *ext, int quality, uint8_t **out);
void fg_buffer_free(void *p);

/* New image, resized to width x height (area interpolation when shrinking). */
fg_image *fg_image_resize(const fg_image *img, int width, int height);
/* New image cut out of img; the part outside is filled with black (x,y may be negative). */
fg_image *fg_image_crop(const fg_image *img, int x, int y, int w, int h);
/* New image: flipped horizontally (1), vertically (0) or both (-1). */
fg_image *fg_image_flip(const fg_image *img, int code);
/* New image: rotated by `degrees` about (cx, cy), same size, black border. */
fg_image *fg_image_rotate(const fg_image *img, double degrees, double cx, double cy);
/* New image warped by a 3x3 homography (row-major), output size w x h. border: 0 black, 1 replicate. */
fg_image *fg_image_warp_perspective(const fg_image *img, const double *H, int w, int h, int border);
/* Grayscale copy into a caller buffer of width*height bytes. */
void fg_image_gray(const fg_image *img, uint8_t *out);

/* Drawing, in place. Colours are r,g,b. */
void fg_draw_rect(fg_image *img, int x, int y, int w, int h, int r, int g, int b, int thickness);
void fg_draw_filled_rect(fg_image *img, int x, int y, int w, int h, int r, int g, int b, double alpha);
void fg_draw_line(fg_image *img, int x0, int y0, int x1, int y1, int r, int g, int b, int thickness);
void fg_draw_circle(fg_image *img, int x, int y, int radius, int r, int g, int b, int thickness);
void fg_draw_ellipse(fg_image *img, int cx, int cy, int ax, int ay, int r, int g, int b, int thickness);
/* Text with the Hershey simplex font; returns the text width in pixels. */
int fg_draw_text(fg_image *img, const char *text, int x, int y, double scale, int r, int g, int b, int thickness);
int fg_text_width(const char *text, double scale, int thickness);

#ifdef __cplusplus
}
#endif
#endif
