#include "internal.hpp"
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <dlfcn.h>
#include <jpeglib.h>
#include <sys/resource.h>
#include <fstream>
#include <vector>

namespace {
// Bound decoder work on huge inputs before OpenCV allocates (env read by imgcodecs at first use).
struct DecoderLimit {
    DecoderLimit() { setenv("OPENCV_IO_MAX_IMAGE_PIXELS", std::to_string(FG_MAX_IMAGE_PIXELS).c_str(), 0); }
} decoderLimit;

cv::Mat to_bgr(const cv::Mat &m) {
    cv::Mat out;
    if (m.empty()) return out;
    cv::Mat src = m;
    if (m.depth() != CV_8U) {
        double scale = m.depth() == CV_16U ? 1.0 / 256.0 : 1.0;
        m.convertTo(src, CV_8U, scale);
    }
    switch (src.channels()) {
        case 1: cv::cvtColor(src, out, cv::COLOR_GRAY2BGR); break;
        case 4: cv::cvtColor(src, out, cv::COLOR_BGRA2BGR); break;
        case 3: out = src; break;
        default: return cv::Mat();
    }
    return out;
}
// libjpeg errors jump back here instead of calling exit(); warnings (e.g. a truncated file) stay silent as in OpenCV.
struct JpegError {
    jpeg_error_mgr mgr;
    jmp_buf jump;
};
void jpeg_error_exit(j_common_ptr c) { longjmp(reinterpret_cast<JpegError *>(c->err)->jump, 1); }
void jpeg_no_message(j_common_ptr, int) {}

// Bounds on one JPEG decode (0 = unbounded). The progress monitor runs once per iMCU row while libjpeg absorbs the
// scans of a progressive file and once per output pass, so a file with thousands of scans (a decompression bomb: each
// scan re-walks every coefficient of the image) or a decode running past its CPU budget is stopped mid-way.
struct JpegBounds {
    jpeg_progress_mgr mgr;  // first member: libjpeg hands back a pointer to it
    double max_pixels = FG_MAX_IMAGE_PIXELS;
    int max_scans = 0;
    int max_cpu_ms = 0;
    double start_ms = 0;
    const char *refused = nullptr;  // set when a bound stopped the decode
};
double thread_cpu_ms() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}
void jpeg_bounds_monitor(j_common_ptr c) {
    auto *b = reinterpret_cast<JpegBounds *>(c->progress);
    auto *d = reinterpret_cast<j_decompress_ptr>(c);
    if (b->max_scans > 0 && d->input_scan_number > b->max_scans) b->refused = "too many progressive scans";
    else if (b->max_cpu_ms > 0 && thread_cpu_ms() - b->start_ms > b->max_cpu_ms) b->refused = "decoding took too long";
    if (b->refused) longjmp(reinterpret_cast<JpegError *>(c->err)->jump, 1);
}

enum class JpegResult { ok, fallback, refused };

// Decodes into `out` (allocated here). No C++ object lives in this frame across setjmp/longjmp.
// `fallback`: libjpeg cannot write BGR for this file (CMYK/YCCK, corrupt header): OpenCV may try, unless bounded.
JpegResult decode_jpeg_into(const uint8_t *data, size_t len, cv::Mat &out, JpegBounds *bounds) {
    jpeg_decompress_struct cinfo;
    JpegError err;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_error_exit;
    err.mgr.emit_message = jpeg_no_message;
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return bounds && bounds->refused ? JpegResult::refused : JpegResult::fallback;
    }
    jpeg_create_decompress(&cinfo);
    if (bounds) {
        bounds->mgr.progress_monitor = jpeg_bounds_monitor;
        bounds->start_ms = thread_cpu_ms();
        cinfo.progress = &bounds->mgr;
    }
    jpeg_mem_src(&cinfo, data, (unsigned long)len);
    double max_pixels = bounds ? bounds->max_pixels : FG_MAX_IMAGE_PIXELS;
    if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK || cinfo.jpeg_color_space == JCS_CMYK ||
        cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        return JpegResult::fallback;
    }
    if ((double)cinfo.image_width * cinfo.image_height > max_pixels) {
        if (bounds) bounds->refused = "image too large";
        jpeg_destroy_decompress(&cinfo);
        return bounds ? JpegResult::refused : JpegResult::fallback;
    }
    cinfo.out_color_space = JCS_EXT_BGR;
    jpeg_start_decompress(&cinfo);
    out.create((int)cinfo.output_height, (int)cinfo.output_width, CV_8UC3);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = out.ptr(cinfo.output_scanline);
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return JpegResult::ok;
}

// JPEG straight to BGR with libjpeg-turbo: the same IDCT (islow) and fancy upsampling as OpenCV's decoder, so the
// pixels are identical (checked on the fixture clips' frames), without OpenCV's separate RGB->BGR pass: ~30 % less
// decode time on 640 px frames (the server decodes every streamed frame). Empty when libjpeg cannot (CMYK, corrupt
// header, too large): the caller falls back to cv::imdecode, which reports the error. Orientation is ignored, as
// with IMREAD_IGNORE_ORIENTATION.
cv::Mat decode_jpeg_bgr(const uint8_t *data, size_t len) {
    cv::Mat out;
    if (len < 4 || data[0] != 0xFF || data[1] != 0xD8) return out;
    if (decode_jpeg_into(data, len, out, nullptr) != JpegResult::ok) return cv::Mat();
    return out;
}
}  // namespace

extern "C" {

void fg_set_threads(int n) {
    cv::setNumThreads(n > 0 ? n : -1);
    using setter = void (*)(int);
    if (auto f = (setter)dlsym(RTLD_DEFAULT, "openblas_set_num_threads")) f(n > 0 ? n : 0);
}

long fg_peak_rss(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss * 1024L;
}

fg_image *fg_image_decode(const uint8_t *data, size_t len, char *err, int errlen) {
    if (!data || len < 8) { fg_set_err(err, errlen, "not an image (too short)"); return nullptr; }
    try {
        cv::Mat fast = decode_jpeg_bgr(data, len);
        if (!fast.empty()) return fg_wrap(fast);
        cv::Mat buf(1, (int)len, CV_8U, const_cast<uint8_t *>(data));
        cv::Mat m = cv::imdecode(buf, cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
        if (m.empty()) { fg_set_err(err, errlen, "not a decodable image (unknown format, truncated or corrupt)"); return nullptr; }
        if ((double)m.cols * m.rows > FG_MAX_IMAGE_PIXELS) { fg_set_err(err, errlen, "image too large"); return nullptr; }
        cv::Mat bgr = to_bgr(m);
        if (bgr.empty()) { fg_set_err(err, errlen, "unsupported pixel format"); return nullptr; }
        return fg_wrap(bgr);
    } catch (const std::exception &e) {
        fg_set_err(err, errlen, std::string("decoder failed: ") + e.what());
        return nullptr;
    }
}

fg_image *fg_image_decode_bounded(const uint8_t *data, size_t len, double max_pixels, int max_scans, int max_cpu_ms,
                                  char *err, int errlen) {
    if (!data || len < 8) { fg_set_err(err, errlen, "not an image (too short)"); return nullptr; }
    try {
        if (data[0] == 0xFF && data[1] == 0xD8) {
            JpegBounds b;
            b.max_pixels = max_pixels;
            b.max_scans = max_scans;
            b.max_cpu_ms = max_cpu_ms;
            cv::Mat out;
            switch (decode_jpeg_into(data, len, out, &b)) {
                case JpegResult::ok: return fg_wrap(out);
                case JpegResult::refused: fg_set_err(err, errlen, b.refused); return nullptr;
                case JpegResult::fallback:
                    fg_set_err(err, errlen, "not a decodable JPEG (CMYK, truncated or corrupt) — send an RGB JPEG or a PNG");
                    return nullptr;
            }
        }
        static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
        if (memcmp(data, png_sig, 8) != 0) { fg_set_err(err, errlen, "only JPEG and PNG are accepted"); return nullptr; }
        // PNG: the caller checked IHDR's size; OpenCV's reader also refuses more than OPENCV_IO_MAX_IMAGE_PIXELS.
        double t0 = thread_cpu_ms();
        cv::Mat buf(1, (int)len, CV_8U, const_cast<uint8_t *>(data));
        cv::Mat m = cv::imdecode(buf, cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
        if (m.empty()) { fg_set_err(err, errlen, "not a decodable PNG (truncated or corrupt)"); return nullptr; }
        if ((double)m.cols * m.rows > max_pixels) { fg_set_err(err, errlen, "image too large"); return nullptr; }
        if (max_cpu_ms > 0 && thread_cpu_ms() - t0 > max_cpu_ms) { fg_set_err(err, errlen, "decoding took too long"); return nullptr; }
        cv::Mat bgr = to_bgr(m);
        if (bgr.empty()) { fg_set_err(err, errlen, "unsupported pixel format"); return nullptr; }
        return fg_wrap(bgr);
    } catch (const std::exception &e) {
        fg_set_err(err, errlen, std::string("decoder failed: ") + e.what());
        return nullptr;
    }
}

fg_image *fg_image_read(const char *path, char *err, int errlen) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) { fg_set_err(err, errlen, "cannot open file"); return nullptr; }
    std::streamsize size = f.tellg();
    if (size <= 0) { fg_set_err(err, errlen, "empty file"); return nullptr; }
    if (size > (std::streamsize)512 * 1024 * 1024) { fg_set_err(err, errlen, "file larger than 512 MiB"); return nullptr; }
    f.seekg(0);
    std::vector<uint8_t> bytes((size_t)size);
    if (!f.read(reinterpret_cast<char *>(bytes.data()), size)) { fg_set_err(err, errlen, "read failed"); return nullptr; }
    return fg_image_decode(bytes.data(), bytes.size(), err, errlen);
}

fg_image *fg_image_from_bgr(const uint8_t *bgr, int width, int height, int stride) {
    if (!bgr || width <= 0 || height <= 0) return nullptr;
    cv::Mat m(height, width, CV_8UC3, const_cast<uint8_t *>(bgr), (size_t)stride);
    return fg_wrap(m.clone());
}

fg_image *fg_image_from_gray(const uint8_t *gray, int width, int height, int stride) {
    if (!gray || width <= 0 || height <= 0) return nullptr;
    cv::Mat m(height, width, CV_8UC1, const_cast<uint8_t *>(gray), (size_t)stride);
    cv::Mat out;
    cv::cvtColor(m, out, cv::COLOR_GRAY2BGR);
    return fg_wrap(out);
}

fg_image *fg_image_new(int width, int height, uint8_t b, uint8_t g, uint8_t r) {
    if (width <= 0 || height <= 0) return nullptr;
    return fg_wrap(cv::Mat(height, width, CV_8UC3, cv::Scalar(b, g, r)));
}

fg_image *fg_image_clone(const fg_image *img) { return img ? fg_wrap(img->mat.clone()) : nullptr; }
void fg_image_free(fg_image *img) { delete img; }
int fg_image_width(const fg_image *img) { return img ? img->mat.cols : 0; }
int fg_image_height(const fg_image *img) { return img ? img->mat.rows : 0; }
uint8_t *fg_image_data(fg_image *img) { return img ? img->mat.data : nullptr; }

int fg_image_write(const fg_image *img, const char *path, char *err, int errlen) {
    if (!img) { fg_set_err(err, errlen, "no image"); return -1; }
    try {
        if (!cv::imwrite(path, img->mat)) { fg_set_err(err, errlen, "cannot write (unknown extension or unwritable path)"); return -1; }
    } catch (const std::exception &e) {
        fg_set_err(err, errlen, e.what());
        return -1;
    }
    return 0;
}

size_t fg_image_encode(const fg_image *img, const char *ext, int quality, uint8_t **out) {
    *out = nullptr;
    if (!img) return 0;
    std::vector<uint8_t> buf;
    std::vector<int> params;
    if (quality > 0) { params = {cv::IMWRITE_JPEG_QUALITY, quality}; }
    try {
        if (!cv::imencode(ext, img->mat, buf, params)) return 0;
    } catch (...) { return 0; }
    *out = (uint8_t *)std::malloc(buf.size());
    if (!*out) return 0;
    std::memcpy(*out, buf.data(), buf.size());
    return buf.size();
}
void fg_buffer_free(void *p) { std::free(p); }

fg_image *fg_image_resize(const fg_image *img, int width, int height) {
    if (!img || width <= 0 || height <= 0) return nullptr;
    cv::Mat out;
    int interp = (width < img->mat.cols) ? cv::INTER_AREA : cv::INTER_LINEAR;
    cv::resize(img->mat, out, cv::Size(width, height), 0, 0, interp);
    return fg_wrap(out);
}

fg_image *fg_image_crop(const fg_image *img, int x, int y, int w, int h) {
    if (!img || w <= 0 || h <= 0) return nullptr;
    cv::Mat out(h, w, CV_8UC3, cv::Scalar(0, 0, 0));
    cv::Rect src = fg_clip(x, y, w, h, img->mat);
    if (src.area() > 0) {
        img->mat(src).copyTo(out(cv::Rect(src.x - x, src.y - y, src.width, src.height)));
    }
    return fg_wrap(out);
}

fg_image *fg_image_flip(const fg_image *img, int code) {
    if (!img) return nullptr;
    cv::Mat out;
    cv::flip(img->mat, out, code);
    return fg_wrap(out);
}

fg_image *fg_image_rotate(const fg_image *img, double degrees, double cx, double cy) {
    if (!img) return nullptr;
    cv::Mat R = cv::getRotationMatrix2D(cv::Point2f((float)cx, (float)cy), degrees, 1.0);
    cv::Mat out;
    cv::warpAffine(img->mat, out, R, img->mat.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT);
    return fg_wrap(out);
}

fg_image *fg_image_warp_perspective(const fg_image *img, const double *H, int w, int h, int border) {
    if (!img || !H || w <= 0 || h <= 0) return nullptr;
    cv::Mat Hm(3, 3, CV_64F, const_cast<double *>(H));
    cv::Mat out;
    cv::warpPerspective(img->mat, out, Hm, cv::Size(w, h), cv::INTER_LINEAR,
                        border == 1 ? cv::BORDER_REPLICATE : cv::BORDER_CONSTANT);
    return fg_wrap(out);
}

void fg_image_gray(const fg_image *img, uint8_t *out) {
    if (!img || !out) return;
    cv::Mat g(img->mat.rows, img->mat.cols, CV_8UC1, out);
    cv::cvtColor(img->mat, g, cv::COLOR_BGR2GRAY);
}

void fg_draw_rect(fg_image *img, int x, int y, int w, int h, int r, int g, int b, int thickness) {
    if (img) cv::rectangle(img->mat, cv::Rect(x, y, w, h), cv::Scalar(b, g, r), thickness, cv::LINE_AA);
}
void fg_draw_filled_rect(fg_image *img, int x, int y, int w, int h, int r, int g, int b, double alpha) {
    if (!img) return;
    cv::Rect rc = fg_clip(x, y, w, h, img->mat);
    if (rc.area() <= 0) return;
    cv::Mat roi = img->mat(rc);
    cv::Mat fill(roi.size(), roi.type(), cv::Scalar(b, g, r));
    cv::addWeighted(fill, alpha, roi, 1.0 - alpha, 0, roi);
}
void fg_draw_line(fg_image *img, int x0, int y0, int x1, int y1, int r, int g, int b, int thickness) {
    if (img) cv::line(img->mat, cv::Point(x0, y0), cv::Point(x1, y1), cv::Scalar(b, g, r), thickness, cv::LINE_AA);
}
void fg_draw_circle(fg_image *img, int x, int y, int radius, int r, int g, int b, int thickness) {
    if (img) cv::circle(img->mat, cv::Point(x, y), radius, cv::Scalar(b, g, r), thickness, cv::LINE_AA);
}
void fg_draw_ellipse(fg_image *img, int cx, int cy, int ax, int ay, int r, int g, int b, int thickness) {
    if (img) cv::ellipse(img->mat, cv::Point(cx, cy), cv::Size(ax, ay), 0, 0, 360, cv::Scalar(b, g, r), thickness, cv::LINE_AA);
}
int fg_draw_text(fg_image *img, const char *text, int x, int y, double scale, int r, int g, int b, int thickness) {
    if (!img || !text) return 0;
    cv::putText(img->mat, text, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(b, g, r), thickness, cv::LINE_AA);
    return fg_text_width(text, scale, thickness);
}
int fg_text_width(const char *text, double scale, int thickness) {
    int base = 0;
    return cv::getTextSize(text ? text : "", cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &base).width;
}

double fg_sharpness(const fg_image *img, int x, int y, int w, int h) {
    if (!img) return 0;
    cv::Rect rc = fg_clip(x, y, w, h, img->mat);
    if (rc.area() <= 0) return 0;
    cv::Mat g, lap;
    cv::cvtColor(img->mat(rc), g, cv::COLOR_BGR2GRAY);
    cv::Laplacian(g, lap, CV_64F);
    cv::Scalar mu, sigma;
    cv::meanStdDev(lap, mu, sigma);
    return sigma[0] * sigma[0];
}
double fg_brightness(const fg_image *img, int x, int y, int w, int h) {
    if (!img) return 0;
    cv::Rect rc = fg_clip(x, y, w, h, img->mat);
    if (rc.area() <= 0) return 0;
    cv::Mat g;
    cv::cvtColor(img->mat(rc), g, cv::COLOR_BGR2GRAY);
    return cv::mean(g)[0];
}

}  // extern "C"
