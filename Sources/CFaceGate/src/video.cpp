#include "internal.hpp"
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#include <chrono>
#include <cstdlib>

struct fg_video {
    cv::VideoCapture cap;
    bool camera = false;
    std::chrono::steady_clock::time_point start;
    int index = 0;
    double fps = 0;
};

// FFmpeg reads only local files (#17): a "video" that is an HLS/concat playlist could otherwise make FFmpeg fetch
// http://, ftp:// or other URLs from the machine running facegate. OpenCV passes this variable to avformat_open_input
// (key;value pairs); set at load time unless the operator set it.
namespace {
struct FFmpegFileOnly {
    FFmpegFileOnly() { setenv("OPENCV_FFMPEG_CAPTURE_OPTIONS", "protocol_whitelist;file", 0); }
} ffmpegFileOnly;
}  // namespace

struct fg_writer {
    cv::VideoWriter writer;
    cv::Size size;
};

extern "C" {

fg_video *fg_video_open(const char *path, char *err, int errlen) {
    auto *v = new fg_video;
    try {
        if (!v->cap.open(path, cv::CAP_FFMPEG) || !v->cap.isOpened()) {
            fg_set_err(err, errlen, "not a readable video (unknown container/codec, truncated or corrupt)");
            delete v;
            return nullptr;
        }
    } catch (const std::exception &e) {
        fg_set_err(err, errlen, e.what());
        delete v;
        return nullptr;
    }
    v->fps = v->cap.get(cv::CAP_PROP_FPS);
    if (!(v->fps > 0 && v->fps < 1000)) v->fps = 30;
    return v;
}

fg_video *fg_camera_open(int index, const char *path, int width, int height, char *err, int errlen) {
    auto *v = new fg_video;
    v->camera = true;
    bool ok = false;
    try {
        ok = index >= 0 ? v->cap.open(index, cv::CAP_V4L2) : v->cap.open(path, cv::CAP_V4L2);
    } catch (...) { ok = false; }
    if (!ok || !v->cap.isOpened()) {
        fg_set_err(err, errlen, "V4L2 could not open the device");
        delete v;
        return nullptr;
    }
    if (width > 0) v->cap.set(cv::CAP_PROP_FRAME_WIDTH, width);
    if (height > 0) v->cap.set(cv::CAP_PROP_FRAME_HEIGHT, height);
    v->fps = v->cap.get(cv::CAP_PROP_FPS);
    if (!(v->fps > 0 && v->fps < 1000)) v->fps = 30;
    v->start = std::chrono::steady_clock::now();
    return v;
}

int fg_video_read(fg_video *v, fg_image **out, double *t) {
    *out = nullptr;
    if (!v) return -1;
    cv::Mat frame;
    try {
        if (!v->cap.read(frame)) return 0;
    } catch (...) { return -1; }
    if (frame.empty()) return 0;
    if (v->camera) {
        *t = std::chrono::duration<double>(std::chrono::steady_clock::now() - v->start).count();
    } else {
        double ms = v->cap.get(cv::CAP_PROP_POS_MSEC);
        // Some containers report 0 for every frame; fall back to index / fps.
        *t = (ms > 0 || v->index == 0) ? ms / 1000.0 : v->index / v->fps;
    }
    v->index++;
    if (frame.channels() == 1) cv::cvtColor(frame, frame, cv::COLOR_GRAY2BGR);
    *out = fg_wrap(frame);
    return *out ? 1 : -1;
}

double fg_video_sensor_ms(fg_video *v) {
    if (!v || !v->camera) return -1;
    double ms = -1;
    try { ms = v->cap.get(cv::CAP_PROP_POS_MSEC); } catch (...) { return -1; }
    return ms > 0 ? ms : -1;
}

double fg_video_fps(const fg_video *v) { return v ? v->fps : 0; }
int fg_video_frame_count(const fg_video *v) { return v ? (int)const_cast<fg_video *>(v)->cap.get(cv::CAP_PROP_FRAME_COUNT) : 0; }
int fg_video_width(const fg_video *v) { return v ? (int)const_cast<fg_video *>(v)->cap.get(cv::CAP_PROP_FRAME_WIDTH) : 0; }
int fg_video_height(const fg_video *v) { return v ? (int)const_cast<fg_video *>(v)->cap.get(cv::CAP_PROP_FRAME_HEIGHT) : 0; }
void fg_video_free(fg_video *v) {
    if (v) { v->cap.release(); delete v; }
}

fg_writer *fg_writer_open(const char *path, double fps, int width, int height, char *err, int errlen) {
    std::string p(path);
    std::string ext = p.size() > 4 ? p.substr(p.size() - 4) : "";
    int fourcc = cv::VideoWriter::fourcc('m', 'p', '4', 'v');
    if (ext == ".avi") fourcc = cv::VideoWriter::fourcc('M', 'J', 'P', 'G');
    if (ext == ".mkv") fourcc = cv::VideoWriter::fourcc('X', 'V', 'I', 'D');
    auto *w = new fg_writer;
    w->size = cv::Size(width, height);
    try {
        w->writer.open(p, cv::CAP_FFMPEG, fourcc, fps > 0 ? fps : 30, w->size, true);
    } catch (...) {}
    if (!w->writer.isOpened()) {
        fg_set_err(err, errlen, "cannot create video writer (use .mp4, .avi or .mkv in a writable folder)");
        delete w;
        return nullptr;
    }
    return w;
}

int fg_writer_write(fg_writer *w, const fg_image *img) {
    if (!w || !img) return -1;
    if (img->mat.size() == w->size) {
        w->writer.write(img->mat);
    } else {
        cv::Mat r;
        cv::resize(img->mat, r, w->size);
        w->writer.write(r);
    }
    return 0;
}

void fg_writer_free(fg_writer *w) {
    if (w) { w->writer.release(); delete w; }
}

}  // extern "C"
