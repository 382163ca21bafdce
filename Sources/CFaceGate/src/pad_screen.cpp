// Passive liveness: screen cues — moiré (periodic spectral peaks), glare sheets, device bezel quadrilaterals.
#include "internal.hpp"
#include <opencv2/imgproc.hpp>
#include <algorithm>
#include <cmath>
#include <vector>

namespace {

cv::Mat grayOf(const cv::Mat &bgr) {
    cv::Mat g;
    cv::cvtColor(bgr, g, cv::COLOR_BGR2GRAY);
    return g;
}

double median(std::vector<float> v) {
    if (v.empty()) return 0;
    size_t m = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + m, v.end());
    return v[m];
}

}  // namespace

extern "C" {

int fg_pad_moire_measure(const fg_image *img, int x, int y, int w, int h, double peak_threshold, fg_pad_moire *out) {
    if (!img || !out) return -1;
    *out = fg_pad_moire{1.0, 0.0, 0, 0};
    // Central part of the face (cheeks, nose, forehead), at native resolution: resampling would erase the very
    // frequencies a re-captured screen adds.
    int side = (int)(std::min(w, h) * 0.6);
    side = std::min(side, 128);
    side &= ~1;
    if (side < 32) return 0;
    int cx = x + w / 2, cy = y + (int)(h * 0.45);
    cv::Rect r = fg_clip(cx - side / 2, cy - side / 2, side, side, img->mat);
    if (r.width < side || r.height < side) return 0;
    cv::Mat g;
    grayOf(img->mat(r)).convertTo(g, CV_32F);
    // Remove the smooth shading (large-scale illumination) and window to avoid edge leakage.
    cv::Mat blur;
    cv::GaussianBlur(g, blur, cv::Size(0, 0), side / 16.0);
    g -= blur;
    cv::Mat win;
    cv::createHanningWindow(win, g.size(), CV_32F);
    g = g.mul(win);
    cv::Mat planes[] = {g, cv::Mat::zeros(g.size(), CV_32F)};
    cv::Mat complexI;
    cv::merge(planes, 2, complexI);
    cv::dft(complexI, complexI);
    cv::split(complexI, planes);
    cv::Mat mag;
    cv::magnitude(planes[0], planes[1], mag);
    int n = side;
    // Radial bins of the centred spectrum.
    int maxR = n / 2;
    std::vector<std::vector<float>> rings(maxR + 1);
    auto at = [&](int u, int v) -> float {  // u, v centred frequencies
        int uu = (u + n) % n, vv = (v + n) % n;
        return mag.at<float>(vv, uu);
    };
    double total = 0, high = 0;
    for (int v = -n / 2; v < n / 2; v++) {
        for (int u = -n / 2; u < n / 2; u++) {
            int rr = (int)std::lround(std::sqrt((double)u * u + (double)v * v));
            if (rr == 0 || rr > maxR) continue;
            float m = at(u, v);
            rings[rr].push_back(m);
            double e = (double)m * m;
            total += e;
            if (rr > maxR / 2) high += e;
        }
    }
    std::vector<double> ringMedian(maxR + 1, 0);
    for (int rr = 1; rr <= maxR; rr++) ringMedian[rr] = median(rings[rr]);
    // Peaks: local maxima in the band [n/8, n/2) standing out from their ring's median. Natural skin has a smooth
    // 1/f spectrum; a display grid beating against the sensor grid gives sharp isolated peaks.
    double best = 1.0;
    int peaks = 0;
    int lo = std::max(4, n / 8);
    for (int v = -n / 2 + 1; v < n / 2 - 1; v++) {
        for (int u = 0; u < n / 2 - 1; u++) {  // half plane (spectrum is symmetric)
            if (u == 0 && v <= 0) continue;
            int rr = (int)std::lround(std::sqrt((double)u * u + (double)v * v));
            if (rr < lo || rr >= maxR) continue;
            float m = at(u, v);
            bool isMax = true;
            for (int dv = -1; dv <= 1 && isMax; dv++)
                for (int du = -1; du <= 1; du++)
                    if ((du || dv) && at(u + du, v + dv) > m) { isMax = false; break; }
            if (!isMax) continue;
            double ratio = m / std::max(ringMedian[rr], 1e-6);
            if (ratio > best) best = ratio;
            if (ratio >= peak_threshold) peaks++;
        }
    }
    out->peak_ratio = best;
    out->high_freq_share = total > 0 ? high / total : 0;
    out->peaks = peaks;
    out->side = side;
    return 0;
}

int fg_pad_glare_measure(const fg_image *img, int x, int y, int w, int h, double grow, fg_pad_glare *out) {
    if (!img || !out) return -1;
    *out = fg_pad_glare{0, 0, 0, 0, 0};
    int gx = (int)(w * grow), gy = (int)(h * grow);
    cv::Rect r = fg_clip(x - gx, y - gy, w + 2 * gx, h + 2 * gy, img->mat);
    if (r.width < 16 || r.height < 16 || w <= 0 || h <= 0) return -1;
    cv::Mat roi = img->mat(r);
    // Work on at most ~160 px: glare sheets are large, and this bounds the time.
    double s = std::min(1.0, 160.0 / std::max(r.width, r.height));
    cv::Mat small;
    if (s < 1) cv::resize(roi, small, cv::Size(), s, s, cv::INTER_AREA); else small = roi;
    cv::Mat hsv;
    cv::cvtColor(small, hsv, cv::COLOR_BGR2HSV);
    cv::Mat mask;
    // Near-white and unsaturated: a specular reflection of a (white) light source.
    cv::inRange(hsv, cv::Scalar(0, 0, 235), cv::Scalar(180, 50, 255), mask);
    cv::Mat gray = grayOf(small), gxm, gym, grad;
    cv::Sobel(gray, gxm, CV_32F, 1, 0);
    cv::Sobel(gray, gym, CV_32F, 0, 1);
    cv::magnitude(gxm, gym, grad);
    cv::Mat labels, stats, centroids;
    int nl = cv::connectedComponentsWithStats(mask, labels, stats, centroids, 8, CV_32S);
    double faceArea = (double)w * h * s * s;
    int bestLabel = -1, bestArea = 0, total = 0, blobs = 0;
    for (int i = 1; i < nl; i++) {
        int a = stats.at<int>(i, cv::CC_STAT_AREA);
        if (a < 3) continue;
        blobs++;
        total += a;
        if (a > bestArea) { bestArea = a; bestLabel = i; }
    }
    out->blobs = blobs;
    out->total_area = total / faceArea;
    if (bestLabel < 0) return 0;
    out->largest_area = bestArea / faceArea;
    cv::Mat blob = labels == bestLabel;
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(blob, contours, cv::RETR_EXTERNAL, cv::CHAIN_APPROX_SIMPLE);
    if (!contours.empty()) {
        std::vector<cv::Point> all;
        for (auto &c : contours) all.insert(all.end(), c.begin(), c.end());
        std::vector<cv::Point> hull;
        cv::convexHull(all, hull);
        double ha = cv::contourArea(hull);
        out->largest_solidity = ha > 0 ? std::min(1.0, bestArea / ha) : 1.0;
    }
    // Texture inside the blob, away from its rim (eroded), in grey levels per pixel.
    cv::Mat inner;
    cv::erode(blob, inner, cv::Mat(), cv::Point(-1, -1), 1);
    if (cv::countNonZero(inner) < 3) inner = blob;
    out->largest_texture = cv::mean(grad, inner)[0] / 4.0;  // Sobel 3x3 gain is 4
    return 0;
}

int fg_pad_bezel_find(const fg_image *img, int x, int y, int w, int h, fg_pad_bezel *out) {
    if (!img || !out) return -1;
    *out = fg_pad_bezel{};
    const cv::Mat &m = img->mat;
    double s = std::min(1.0, 320.0 / std::max(m.cols, m.rows));
    cv::Mat small;
    if (s < 1) cv::resize(m, small, cv::Size(), s, s, cv::INTER_AREA); else small = m;
    cv::Mat gray = grayOf(small);
    cv::GaussianBlur(gray, gray, cv::Size(3, 3), 0);
    cv::Mat edges;
    cv::Canny(gray, edges, 40, 120);
    cv::Mat closed;
    cv::dilate(edges, closed, cv::Mat(), cv::Point(-1, -1), 1);
    std::vector<std::vector<cv::Point>> contours;
    cv::findContours(closed, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
    cv::Rect2d face(x * s, y * s, w * s, h * s);
    double faceArea = face.area();
    if (faceArea < 16) return -1;
    // Long straight sides flanking the face (HoughLinesP): a device whose top and bottom are outside the frame.
    {
        std::vector<cv::Vec4i> lines;
        cv::HoughLinesP(edges, lines, 1, CV_PI / 180, 40, face.height * 1.0, 10);
        double fl = face.x, fr = face.x + face.width, fcy = face.y + face.height / 2;
        double bestL = 0, bestR = 0, angL = 0, angR = 0;
        for (auto &l : lines) {
            double dx = l[2] - l[0], dy = l[3] - l[1];
            double len = std::hypot(dx, dy);
            double ang = std::atan2(std::fabs(dx), std::fabs(dy));  // 0 = vertical
            if (ang > 0.26) continue;                                 // within 15 degrees of vertical
            double xm = (l[0] + l[2]) / 2.0;
            double y0 = std::min(l[1], l[3]), y1 = std::max(l[1], l[3]);
            if (y0 > fcy || y1 < fcy) continue;                       // must pass the face's height
            double signedAng = std::atan2(dx * (dy >= 0 ? 1 : -1), std::fabs(dy));
            // Within 1.2 face widths of the face box on each side (a phone screen, not a doorway).
            if (xm < fl && xm > fl - 1.2 * face.width && len > bestL) { bestL = len; angL = signedAng; }
            if (xm > fr && xm < fr + 1.2 * face.width && len > bestR) { bestR = len; angR = signedAng; }
        }
        if (bestL > 0 && bestR > 0 && std::fabs(angL - angR) < 0.14) {
            out->sides_found = 1;
            out->sides_length = (bestL + bestR) / 2 / face.height;
        }
    }
    double bestScore = 0;
    for (auto &c : contours) {
        double area = std::fabs(cv::contourArea(c));
        if (area < faceArea * 1.3 || area > faceArea * 30) continue;
        std::vector<cv::Point> poly;
        cv::approxPolyDP(c, poly, 0.03 * cv::arcLength(c, true), true);
        if (poly.size() != 4 || !cv::isContourConvex(poly)) continue;
        // The face must be inside the quad (device held up with the face on its screen).
        bool inside = true;
        cv::Point2f corners[4] = {{(float)face.x, (float)face.y}, {(float)(face.x + face.width), (float)face.y},
                                  {(float)face.x, (float)(face.y + face.height)},
                                  {(float)(face.x + face.width), (float)(face.y + face.height)}};
        int cornersInside = 0;
        for (auto &p : corners) cornersInside += cv::pointPolygonTest(poly, p, false) >= 0;
        cv::Point2f fc((float)(face.x + face.width / 2), (float)(face.y + face.height / 2));
        inside = cv::pointPolygonTest(poly, fc, false) > 0 && cornersInside >= 3;
        if (!inside) continue;
        // Not the image border itself.
        int onBorder = 0;
        for (auto &p : poly) onBorder += p.x <= 2 || p.y <= 2 || p.x >= small.cols - 3 || p.y >= small.rows - 3;
        if (onBorder >= 2) continue;
        cv::RotatedRect rr = cv::minAreaRect(poly);
        double lw = std::max(rr.size.width, rr.size.height), sw = std::min(rr.size.width, rr.size.height);
        if (sw < 8) continue;
        double aspect = lw / sw;
        if (aspect > 2.6) continue;
        // Corners close to right angles (a rectangle seen with moderate perspective).
        double worst = 0;
        for (int i = 0; i < 4; i++) {
            cv::Point2f a = poly[(i + 3) % 4], b = poly[i], cc = poly[(i + 1) % 4];
            cv::Point2f u = a - b, v = cc - b;
            double cosang = (u.x * v.x + u.y * v.y) / (std::hypot(u.x, u.y) * std::hypot(v.x, v.y) + 1e-9);
            worst = std::max(worst, std::fabs(cosang));
        }
        if (worst > 0.5) continue;  // beyond 60..120 degrees
        // Edge support: fraction of points along the sides lying on Canny edges.
        int on = 0, samples = 0;
        for (int i = 0; i < 4; i++) {
            cv::Point2f a = poly[i], b = poly[(i + 1) % 4];
            int steps = (int)std::max(8.0, (double)cv::norm(b - a));
            for (int k = 0; k <= steps; k++) {
                cv::Point2f p = a + (b - a) * ((float)k / steps);
                int px = (int)std::lround(p.x), py = (int)std::lround(p.y);
                bool hit = false;
                for (int dy = -1; dy <= 1 && !hit; dy++)
                    for (int dx = -1; dx <= 1 && !hit; dx++) {
                        int qx = px + dx, qy = py + dy;
                        if (qx >= 0 && qy >= 0 && qx < edges.cols && qy < edges.rows && edges.at<uint8_t>(qy, qx)) hit = true;
                    }
                on += hit;
                samples++;
            }
        }
        double support = samples ? (double)on / samples : 0;
        // Rim contrast: a bezel is a dark band just inside the quad against a brighter surround (or the reverse for a
        // white print margin); measured as the absolute difference of mean grey in thin bands.
        cv::Mat maskIn = cv::Mat::zeros(small.size(), CV_8U), maskOut = cv::Mat::zeros(small.size(), CV_8U);
        std::vector<std::vector<cv::Point>> pp{poly};
        int band = std::max(2, (int)(sw * 0.06));
        cv::drawContours(maskIn, pp, 0, cv::Scalar(255), band);
        cv::Mat filled = cv::Mat::zeros(small.size(), CV_8U);
        cv::fillPoly(filled, pp, cv::Scalar(255));
        maskOut = maskIn.clone();
        maskIn &= filled;
        maskOut &= ~filled;
        double inMean = cv::mean(gray, maskIn)[0], outMean = cv::mean(gray, maskOut)[0];
        double rim = std::fabs(inMean - outMean) / 255.0;
        double score = support * (0.5 + rim);
        if (score > bestScore) {
            bestScore = score;
            out->found = 1;
            for (int i = 0; i < 4; i++) {
                out->corners[2 * i] = (float)(poly[i].x / s);
                out->corners[2 * i + 1] = (float)(poly[i].y / s);
            }
            out->area_ratio = area / faceArea;
            out->aspect = aspect;
            out->edge_support = support;
            out->rim_contrast = rim;
        }
    }
    return 0;
}

}  // extern "C"
