// Passive liveness: 3-D structure from landmarks (homography vs similarity residuals) and depth-map plane fits.
#include "internal.hpp"
#include <opencv2/calib3d.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <algorithm>
#include <cmath>
#include <vector>

struct fg_depth {
    cv::Mat mat;  // CV_16U, millimetres
};

namespace {

double percentile(std::vector<double> &v, double p) {
    if (v.empty()) return 0;
    size_t k = (size_t)std::clamp(p * (v.size() - 1), 0.0, (double)(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + k, v.end());
    return v[k];
}

// Least-squares z = a x + b y + c (with optional quadratic terms) over samples; returns coefficients.
cv::Mat fitSurface(const std::vector<cv::Point3d> &pts, bool quadratic) {
    int k = quadratic ? 6 : 3;
    cv::Mat A((int)pts.size(), k, CV_64F), z((int)pts.size(), 1, CV_64F);
    for (int i = 0; i < (int)pts.size(); i++) {
        double x = pts[i].x, y = pts[i].y;
        double *r = A.ptr<double>(i);
        r[0] = x; r[1] = y; r[2] = 1;
        if (quadratic) { r[3] = x * x; r[4] = y * y; r[5] = x * y; }
        z.at<double>(i) = pts[i].z;
    }
    cv::Mat coef;
    cv::solve(A, z, coef, cv::DECOMP_SVD);
    return coef;
}

double evalSurface(const cv::Mat &c, double x, double y) {
    double v = c.at<double>(0) * x + c.at<double>(1) * y + c.at<double>(2);
    if (c.rows == 6) v += c.at<double>(3) * x * x + c.at<double>(4) * y * y + c.at<double>(5) * x * y;
    return v;
}

}  // namespace

extern "C" {

int fg_pad_homography_fit(const float *src, const float *dst, int n, double *H, double *h_rms, double *sim_rms) {
    if (!src || !dst || n < 5) return -1;
    std::vector<cv::Point2f> a(n), b(n);
    for (int i = 0; i < n; i++) { a[i] = {src[2 * i], src[2 * i + 1]}; b[i] = {dst[2 * i], dst[2 * i + 1]}; }
    cv::Mat Hm = cv::findHomography(a, b, 0);
    if (Hm.empty()) return -1;
    std::vector<cv::Point2f> proj;
    cv::perspectiveTransform(a, proj, Hm);
    double e = 0;
    for (int i = 0; i < n; i++) { cv::Point2f d = proj[i] - b[i]; e += d.x * d.x + d.y * d.y; }
    if (h_rms) *h_rms = std::sqrt(e / n);
    if (H) for (int i = 0; i < 9; i++) H[i] = Hm.at<double>(i / 3, i % 3);
    // Closed-form least-squares similarity (Umeyama without reflection): dst ~ s R src + t.
    if (sim_rms) {
        cv::Point2d ma(0, 0), mb(0, 0);
        for (int i = 0; i < n; i++) { ma += cv::Point2d(a[i]); mb += cv::Point2d(b[i]); }
        ma *= 1.0 / n; mb *= 1.0 / n;
        double sxx = 0, sxy = 0, var = 0;
        for (int i = 0; i < n; i++) {
            cv::Point2d p = cv::Point2d(a[i]) - ma, q = cv::Point2d(b[i]) - mb;
            sxx += p.x * q.x + p.y * q.y;   // dot
            sxy += p.x * q.y - p.y * q.x;   // cross
            var += p.x * p.x + p.y * p.y;
        }
        if (var <= 1e-12) return -1;
        double ca = sxx / var, sa = sxy / var;  // s cos, s sin
        double es = 0;
        for (int i = 0; i < n; i++) {
            cv::Point2d p = cv::Point2d(a[i]) - ma;
            cv::Point2d q(ca * p.x - sa * p.y + mb.x, sa * p.x + ca * p.y + mb.y);
            cv::Point2d d = q - cv::Point2d(b[i]);
            es += d.x * d.x + d.y * d.y;
        }
        *sim_rms = std::sqrt(es / n);
    }
    return 0;
}

fg_depth *fg_depth_read(const char *path, char *err, int errlen) {
    cv::Mat m;
    try {
        m = cv::imread(path, cv::IMREAD_ANYDEPTH | cv::IMREAD_GRAYSCALE);
    } catch (const cv::Exception &e) {
        fg_set_err(err, errlen, e.what());
        return nullptr;
    }
    if (m.empty()) { fg_set_err(err, errlen, "not a readable image"); return nullptr; }
    if (m.depth() != CV_16U) {
        fg_set_err(err, errlen, "depth frames must be 16-bit single-channel PNG (millimetres)");
        return nullptr;
    }
    auto *d = new (std::nothrow) fg_depth;
    if (!d) return nullptr;
    d->mat = m;
    return d;
}

fg_depth *fg_depth_from_u16(const uint16_t *mm, int width, int height) {
    if (!mm || width <= 0 || height <= 0) return nullptr;
    auto *d = new (std::nothrow) fg_depth;
    if (!d) return nullptr;
    d->mat = cv::Mat(height, width, CV_16U, (void *)mm).clone();
    return d;
}

int fg_depth_width(const fg_depth *d) { return d ? d->mat.cols : 0; }
int fg_depth_height(const fg_depth *d) { return d ? d->mat.rows : 0; }
void fg_depth_free(fg_depth *d) { delete d; }

int fg_depth_write(const fg_depth *d, const char *path, char *err, int errlen) {
    if (!d) return -1;
    try {
        if (!cv::imwrite(path, d->mat)) { fg_set_err(err, errlen, "write failed"); return -1; }
    } catch (const cv::Exception &e) {
        fg_set_err(err, errlen, e.what());
        return -1;
    }
    return 0;
}

int fg_pad_depth_measure(const fg_depth *d, int x, int y, int w, int h, fg_pad_depth_stats *out) {
    if (!d || !out) return -1;
    *out = fg_pad_depth_stats{};
    cv::Rect r = fg_clip(x, y, w, h, d->mat);
    if (r.width < 8 || r.height < 8) return -1;
    // Sample on a grid of at most ~48x48 points: enough for a plane and a quadratic, cheap.
    int step = std::max(1, std::max(r.width, r.height) / 48);
    std::vector<cv::Point3d> pts, rim, center;
    std::vector<double> depths;
    int totalSamples = 0;
    double cx = r.x + r.width / 2.0, cy = r.y + r.height / 2.0;
    for (int yy = r.y; yy < r.y + r.height; yy += step) {
        const uint16_t *row = d->mat.ptr<uint16_t>(yy);
        for (int xx = r.x; xx < r.x + r.width; xx += step) {
            totalSamples++;
            uint16_t z = row[xx];
            if (z == 0) continue;
            // Coordinates normalised to the box so coefficients are well conditioned.
            double nx = (xx - cx) / (r.width / 2.0), ny = (yy - cy) / (r.height / 2.0);
            cv::Point3d p(nx, ny, z);
            pts.push_back(p);
            depths.push_back(z);
            double rad = std::max(std::fabs(nx), std::fabs(ny));
            if (rad >= 0.7) rim.push_back(p);
            if (std::fabs(nx) <= 0.25 && ny >= -0.2 && ny <= 0.35) center.push_back(p);
        }
    }
    out->coverage = totalSamples ? (double)pts.size() / totalSamples : 0;
    if (pts.size() < 30) return -1;
    out->median_mm = percentile(depths, 0.5);
    // Drop far outliers (background seen through the box edges): keep within 250 mm of the median.
    std::vector<cv::Point3d> near;
    for (auto &p : pts) if (std::fabs(p.z - out->median_mm) < 250) near.push_back(p);
    if (near.size() < 30) return -1;
    cv::Mat plane = fitSurface(near, false);
    std::vector<double> res;
    double e = 0;
    for (auto &p : near) { double v = p.z - evalSurface(plane, p.x, p.y); res.push_back(v); e += v * v; }
    out->plane_rms_mm = std::sqrt(e / near.size());
    out->relief_mm = percentile(res, 0.95) - percentile(res, 0.05);
    cv::Mat quad = fitSurface(near, true);
    double eq = 0;
    for (auto &p : near) { double v = p.z - evalSurface(quad, p.x, p.y); eq += v * v; }
    out->quad_rms_mm = std::sqrt(eq / near.size());
    std::vector<cv::Point3d> rimNear, centerNear;
    for (auto &p : rim) if (std::fabs(p.z - out->median_mm) < 250) rimNear.push_back(p);
    for (auto &p : center) if (std::fabs(p.z - out->median_mm) < 250) centerNear.push_back(p);
    if (rimNear.size() >= 10 && centerNear.size() >= 5) {
        cv::Mat rimPlane = fitSurface(rimNear, false);
        std::vector<double> prot;
        for (auto &p : centerNear) prot.push_back(evalSurface(rimPlane, p.x, p.y) - p.z);  // >0: closer than rim plane
        out->center_protrusion_mm = percentile(prot, 0.5);
    }
    return 0;
}

}  // extern "C"
