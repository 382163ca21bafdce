// Passive liveness: screen cues — moiré (periodic spectral peaks), glare sheets, device bezel quadrilaterals.
#include "internal.hpp"
#include <opencv2/imgproc.hpp>
#include <algorithm>
#include <climits>
#include <cmath>
#include <vector>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace {

// Working size of the glare cue's region (pixels, longer side), see fg_pad_glare_measure.
constexpr double kGlareWorkingSide = 160.0;

cv::Mat grayOf(const cv::Mat &bgr) {
    cv::Mat g;
    cv::cvtColor(bgr, g, cv::COLOR_BGR2GRAY);
    return g;
}

// Median by partial sort, in place (the caller's buffer is scratch).
double median(std::vector<float> &v) {
    if (v.empty()) return 0;
    size_t m = v.size() / 2;
    std::nth_element(v.begin(), v.begin() + m, v.end());
    return v[m];
}

// Per-thread buffers of the moiré spectrum for one square side: the Hann window, each centred frequency's ring
// (lround of its radius) and the ring lists are computed once per side instead of on every call, and the images are
// reused rather than reallocated.
struct MoireScratch {
    int side = 0;
    cv::Mat window, gray8, g, blur, spectrum, planes[2], mag;
    std::vector<float> centred;
    std::vector<int16_t> ringOf;            // index (v + n/2) * n + (u + n/2)
    std::vector<std::vector<float>> rings;  // values of one call, by ring
    std::vector<double> ringMedian;
};

MoireScratch &moireScratch(int side) {
    thread_local MoireScratch sc;
    if (sc.side != side) {
        sc.side = side;
        cv::createHanningWindow(sc.window, cv::Size(side, side), CV_32F);
        const int n = side;
        sc.ringOf.assign((size_t)n * n, 0);
        std::vector<size_t> count(n / 2 + 1, 0);
        for (int v = -n / 2, k = 0; v < n / 2; v++)
            for (int u = -n / 2; u < n / 2; u++, k++) {
                int rr = (int)std::lround(std::sqrt((double)u * u + (double)v * v));
                sc.ringOf[k] = (int16_t)rr;
                if (rr <= n / 2) count[rr]++;
            }
        sc.rings.assign(n / 2 + 1, {});
        for (int rr = 0; rr <= n / 2; rr++) sc.rings[rr].reserve(count[rr]);
        sc.ringMedian.assign(n / 2 + 1, 0);
    }
    return sc;
}

// Edge pixels per pixel of a side band above which the sides search does not look: the densest band of the fixture
// clips and simulator attacks (every 3rd of 60 frames, 320-px working frame) is 0.143 (Manikantha-M phone replay,
// checked shirt); genuine clips <= 0.117. A band this full of edges is clutter (shelves, books, patterned walls), not a
// device side standing out; the cap bounds HoughLinesP's cost, which grows with every edge pixel x 180 angles.
constexpr double kSideMaxBandDensity = 0.25;

// Edge pixels of the band where a qualifying side's pixels can lie (mid-x in (xLo, xHi), within 15 degrees of
// vertical: every pixel within `reach` of that range).
int sideBandPixels(const cv::Mat &edges, double xLo, double xHi, cv::Rect &band) {
    const double reach = 0.2661 * (edges.rows - 1) / 2 + 1;
    const int x0 = std::max(0, (int)std::floor(xLo - reach)), x1 = std::min(edges.cols - 1, (int)std::ceil(xHi + reach));
    band = x0 <= x1 ? cv::Rect(x0, 0, x1 - x0 + 1, edges.rows) : cv::Rect();
    return band.area() > 0 ? cv::countNonZero(edges(band)) : 0;
}

// Could HoughLinesP (rho 1, theta 1 degree, max gap 10) on `edges` return a segment within 15 degrees (0.26 rad) of
// vertical, at least `minLength` long, spanning row `fcy` and with its mid-x in (xLo, xHi)? Answers false only when
// no such segment can exist, so skipping the Hough transform then changes nothing. Why it is a necessary condition:
// HoughLinesP's segments are runs along a digital line whose successive edge pixels are at most maxGap + 1 rows apart
// (it walks a near-vertical line row by row and stops after more than maxGap empty steps); within 15 degrees of
// vertical the segment's x-extent is at most 0.266 of its rows, so every pixel of it lies within that reach of
// (xLo, xHi); and the walked line's slope s is within half a step of one of the slopes tried here, so after the shear
// u = x - s_k (y - fcy) all its pixels fall into 4 adjacent integer columns. The test then asks whether, in some
// window of 5 sheared columns, the rows holding edge pixels form a chain (gaps <= 12 rows) through fcy at least
// minLength long. Cost: ~0.1 ms at 320 px, against ~2.5 ms for the transform it can skip.
bool nearVerticalSegmentPossible(const cv::Mat &edges, double xLo, double xHi, double fcy, double minLength) {
    const int rows = edges.rows, cols = edges.cols;
    // Conservative length: HoughLinesP rounds its minimum length and tests the row extent; allow for a Euclidean
    // length test too (a 15-degree segment is 1.035x its row extent).
    const int minRows = (int)std::floor(minLength / 1.04) - 1;
    if (minRows < 8 || rows > 320) return true;  // not worth (or not built for) the test: run the transform
    if (fcy < 0 || fcy > rows - 1) return false;  // no segment can span a row outside the image
    const int r = (int)std::floor(fcy);
    const double reach = 0.2661 * (rows - 1) / 2 + 1;  // half the x-extent of the longest 15-degree segment, + 1
    const int x0 = std::max(0, (int)std::floor(xLo - reach)), x1 = std::min(cols - 1, (int)std::ceil(xHi + reach));
    if (x0 > x1) return false;
    thread_local std::vector<cv::Point> pts;
    pts.clear();
    for (int y = 0; y < rows; y++) {
        const uint8_t *e = edges.ptr<uint8_t>(y);
        for (int x = x0; x <= x1; x++)
            if (e[x]) pts.push_back({x, y});
    }
    const int words = (rows + 63) / 64;
    const int gapFill = 12;  // rows a pixel's presence is smeared downwards (max gap 10 + 1, + 1 spare)
    const int minHits = minRows / (gapFill + 1) + 1;
    // Chain test on one row set: is the run of the smeared set through row r at least minRows long?
    auto chainThroughR = [&](const uint64_t *bits) {
        uint64_t d[5] = {0, 0, 0, 0, 0};
        for (int w = 0; w < words; w++) d[w] = bits[w];
        for (int sh = 1; sh <= gapFill; sh <<= 1) {  // smear by 1, 2, 4, 8 (covers 0..15 >= gapFill)
            for (int w = words - 1; w >= 0; w--) d[w] |= (d[w] << sh) | (w > 0 ? d[w - 1] >> (64 - sh) : 0);
        }
        if (!((d[r >> 6] >> (r & 63)) & 1)) return false;
        // The run through r: nearest empty row above (a - 1) and below (b + 1), a word at a time.
        int a = 0, b = rows - 1;
        for (int w = r >> 6; w >= 0; w--) {
            uint64_t z = ~d[w];
            if (w == (r >> 6)) z &= (r & 63) ? (~0ull >> (64 - (r & 63))) : 0;  // rows below r only
            if (z) { a = w * 64 + 63 - __builtin_clzll(z) + 1; break; }
        }
        for (int w = r >> 6; w < words; w++) {
            uint64_t z = ~d[w];
            if (w == (r >> 6)) z &= (r & 63) == 63 ? 0 : (~0ull << ((r & 63) + 1));  // rows above r only
            if (z) { b = std::min(rows - 1, w * 64 + __builtin_ctzll(z) - 1); break; }
        }
        return b - a >= minRows;
    };
    {  // 1. all rows of the band: no chain at all means no segment at any slope
        uint64_t all[5] = {0, 0, 0, 0, 0};
        for (auto &p : pts) all[p.y >> 6] |= 1ull << (p.y & 63);
        int hits = 0;
        for (int w = 0; w < words; w++) hits += __builtin_popcountll(all[w]);
        if (hits < minHits || !chainThroughR(all)) return false;
    }
    // 2. per slope: sheared columns, windows of 5.
    const int R = std::max(r, rows - 1 - r);
    const double step = 2.0 / std::max(R, 1);
    const double smax = 0.2661 + 1.0 / minRows + 1e-3;
    const int K = (int)std::ceil(2 * smax / step);
    const int b0 = (int)std::floor(x0 - smax * R) - 2, b1 = (int)std::ceil(x1 + smax * R) + 2;
    const int nb = b1 - b0 + 1;
    thread_local std::vector<uint64_t> cols64;
    thread_local std::vector<int> count, shift;
    cols64.assign((size_t)nb * words, 0);
    count.assign((size_t)nb + 1, 0);
    shift.resize((size_t)rows);
    for (int k = 0; k < K; k++) {
        const double sk = -smax + (k + 0.5) * step;
        // floor(x - sk (y - r)) = x + floor(-sk (y - r)) for integer x: one shift per row.
        for (int y = 0; y < rows; y++) shift[y] = (int)std::floor(-sk * (y - r)) - b0;
        std::fill(cols64.begin(), cols64.end(), 0);
        std::fill(count.begin(), count.end(), 0);
        int lo = nb, hi = -1;
        for (auto &p : pts) {
            int b = p.x + shift[p.y];
            cols64[(size_t)b * words + (p.y >> 6)] |= 1ull << (p.y & 63);
            count[b + 1]++;
            lo = std::min(lo, b); hi = std::max(hi, b);
        }
        for (int b = 1; b <= nb; b++) count[b] += count[b - 1];  // prefix sums: pixels in bins [0, b)
        for (int b = lo; b <= hi; b++) {
            const int e = std::min(b + 5, nb);
            if (count[e] - count[b] < minHits) continue;  // fewer pixels than rows the chain needs
            uint64_t win[5] = {0, 0, 0, 0, 0};
            int hits = 0;
            for (int w = 0; w < words; w++) {
                for (int j = b; j < e; j++) win[w] |= cols64[(size_t)j * words + w];
                hits += __builtin_popcountll(win[w]);
            }
            if (hits >= minHits && chainThroughR(win)) return true;
        }
    }
    return false;
}


// The progressive probabilistic Hough transform (Matas, Galambos & Kittler 2000) exactly as cv::HoughLinesP runs it
// (rho 1 px, theta 1 degree; same point order from the same RNG seed, same float trigonometry and rounding, same
// walks and un-votes), returning the same segments in the same order — checked against cv::HoughLinesP on every band
// image of the fixture clips and simulator attacks (notes h4/s9/ab). Faster because: the 180 rho indices of a point are
// computed 8 at a time (the same float products and sums, rounded half-to-even as cvRound does); the accumulator is
// int16 when fewer than 32000 edge points can vote (half the memory traffic), and only the columns of the two side
// bands are scanned; buffers are reused per thread. `img` is CV_8UC1; non-zero pixels of `bands` only are used.
#pragma clang fp contract(off)
struct HoughScratch {
    int cols = 0, rows = 0, numangle = 0;
    std::vector<float> cosT, sinT;  // (float)(cos(n theta) / rho), padded to a multiple of 8
    std::vector<uint8_t> mask;
    std::vector<cv::Point> nz;
    int xMin = 0, xMax = 0, yMin = 0, yMax = 0;  // bounding box of nz
    std::vector<int16_t> acc16;
    std::vector<int32_t> acc32;
};

template <typename Acc>
void houghRun(HoughScratch &sc, std::vector<Acc> &accum, int threshold, int lineLength, int lineGap,
              std::vector<cv::Vec4i> &lines) {
    const int width = sc.cols, height = sc.rows, numangle = sc.numangle;
    uint8_t *mdata0 = sc.mask.data();
    const float *ct = sc.cosT.data(), *st = sc.sinT.data();
    // Accumulator rows only as long as the rho range of the points' bounding box at each angle (the same cells as
    // cv::HoughLinesP's full-range rows, which are mostly never touched): a row n starts at rowBase[n] - its lowest rho.
    alignas(32) int32_t rowBase[192];
    int span = 1;
    {
        const double xs[2] = {(double)sc.xMin, (double)sc.xMax}, ys[2] = {(double)sc.yMin, (double)sc.yMax};
        int lo[192];
        for (int n = 0; n < numangle; n++) {
            double mn = 1e9, mx = -1e9;
            for (double xx : xs) for (double yy : ys) { double r = xx * ct[n] + yy * st[n]; mn = std::min(mn, r); mx = std::max(mx, r); }
            lo[n] = (int)std::floor(mn) - 2;
            span = std::max(span, (int)std::ceil(mx) + 2 - lo[n] + 1);
        }
        for (int n = 0; n < numangle; n++) rowBase[n] = n * span - lo[n];
        for (int n = numangle; n < 192; n++) rowBase[n] = 0;
    }
    accum.assign((size_t)numangle * span, 0);
    alignas(32) int32_t rix[192], vals[192];
    for (int n = numangle; n < 192; n++) vals[n] = INT_MIN;
    auto maxOf = [&](const int32_t *v) {
#if defined(__AVX2__)
        __m256i m = _mm256_load_si256((const __m256i *)v);
        for (int n = 8; n < numangle; n += 8) m = _mm256_max_epi32(m, _mm256_load_si256((const __m256i *)(v + n)));
        __m128i h = _mm_max_epi32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
        h = _mm_max_epi32(h, _mm_shuffle_epi32(h, 0x4E));
        h = _mm_max_epi32(h, _mm_shuffle_epi32(h, 0xB1));
        return _mm_cvtsi128_si32(h);
#else
        int m = INT_MIN;
        for (int n = 0; n < numangle; n++) m = std::max(m, v[n]);
        return m;
#endif
    };
    auto rhoIndices = [&](int j, int i) {
#if defined(__AVX2__)
        const __m256 jf = _mm256_set1_ps((float)j), iff = _mm256_set1_ps((float)i);
        for (int n = 0; n < numangle; n += 8) {
            __m256 v = _mm256_add_ps(_mm256_mul_ps(jf, _mm256_loadu_ps(ct + n)), _mm256_mul_ps(iff, _mm256_loadu_ps(st + n)));
            _mm256_store_si256((__m256i *)(rix + n), _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_load_si256((const __m256i *)(rowBase + n))));
        }
#else
        for (int n = 0; n < numangle; n++) {
            float jc = (float)j * ct[n], is = (float)i * st[n];
            rix[n] = cvRound(jc + is) + rowBase[n];
        }
#endif
    };
    cv::RNG rng((uint64)-1);
    const int shift = 16;
    for (int count = (int)sc.nz.size(); count > 0; count--) {
        int idx = rng.uniform(0, count);
        cv::Point pt = sc.nz[idx];
        sc.nz[idx] = sc.nz[count - 1];
        const int i = pt.y, j = pt.x;
        if (!mdata0[i * width + j]) continue;  // already taken by a segment
        rhoIndices(j, i);
        // Votes first (independent increments), then the strongest angle: the first n holding the largest count,
        // as cv::HoughLinesP's running `if (max_val < val)` picks it.
        Acc *a = accum.data();
        for (int n = 0; n < numangle; n++) vals[n] = ++a[rix[n]];
        int maxVal = maxOf(vals);
        if (maxVal < threshold) continue;
        int maxN = 0;
        while (vals[maxN] != maxVal) maxN++;
        // Walk both ways along the strongest line through the point (fixed point, 16 fractional bits).
        const float la = -st[maxN], lb = ct[maxN];
        int x0 = j, y0 = i, dx0, dy0;
        const bool xflag = std::fabs(la) > std::fabs(lb);
        if (xflag) {
            dx0 = la > 0 ? 1 : -1;
            dy0 = cvRound(lb * (1 << shift) / std::fabs(la));
            y0 = (y0 << shift) + (1 << (shift - 1));
        } else {
            dy0 = lb > 0 ? 1 : -1;
            dx0 = cvRound(la * (1 << shift) / std::fabs(lb));
            x0 = (x0 << shift) + (1 << (shift - 1));
        }
        cv::Point end[2];
        for (int k = 0; k < 2; k++) {
            int gap = 0, x = x0, y = y0, dx = k ? -dx0 : dx0, dy = k ? -dy0 : dy0;
            for (;; x += dx, y += dy) {
                const int j1 = xflag ? x : x >> shift, i1 = xflag ? y >> shift : y;
                if (j1 < 0 || j1 >= width || i1 < 0 || i1 >= height) break;
                if (mdata0[i1 * width + j1]) { gap = 0; end[k] = {j1, i1}; }
                else if (++gap > lineGap) break;
            }
        }
        const bool good = std::abs(end[1].x - end[0].x) >= lineLength || std::abs(end[1].y - end[0].y) >= lineLength;
        for (int k = 0; k < 2; k++) {
            int x = x0, y = y0, dx = k ? -dx0 : dx0, dy = k ? -dy0 : dy0;
            for (;; x += dx, y += dy) {
                const int j1 = xflag ? x : x >> shift, i1 = xflag ? y >> shift : y;
                uint8_t *m = mdata0 + i1 * width + j1;
                if (*m) {
                    if (good) {  // its votes are withdrawn (also from points not drawn yet, as OpenCV does)
                        rhoIndices(j1, i1);
                        Acc *b = accum.data();
                        for (int n = 0; n < numangle; n++) b[rix[n]]--;
                    }
                    *m = 0;
                }
                if (i1 == end[k].y && j1 == end[k].x) break;
            }
        }
        if (good) lines.emplace_back(end[0].x, end[0].y, end[1].x, end[1].y);
    }
}

// Same result as cv::HoughLinesP(image, lines, 1, CV_PI / 180, threshold, minLineLength, maxLineGap) on an image of
// edges.size() holding edges only inside bandA and bandB (zero elsewhere).
void houghBands(const cv::Mat &edges, const cv::Rect &bandA, const cv::Rect &bandB, int threshold, double minLineLength,
                double maxLineGap, std::vector<cv::Vec4i> &lines) {
    thread_local HoughScratch sc;
    lines.clear();
    if (sc.numangle == 0) {
        const float theta = (float)(CV_PI / 180);
        int numangle = cvFloor((CV_PI - 0.0) / theta) + 1;  // as cv::HoughLinesP counts its angles over [0, pi)
        if (numangle > 1 && std::fabs(CV_PI - (numangle - 1) * theta) < theta / 2) --numangle;
        sc.numangle = numangle;
        const int padded = (numangle + 7) / 8 * 8;
        CV_Assert(padded <= 192);
        sc.cosT.assign(padded, 0.f);
        sc.sinT.assign(padded, 0.f);
        for (int n = 0; n < numangle; n++) {
            sc.cosT[n] = (float)(std::cos((double)n * theta) * 1.0f);
            sc.sinT[n] = (float)(std::sin((double)n * theta) * 1.0f);
        }
    }
    sc.cols = edges.cols; sc.rows = edges.rows;
    sc.mask.assign((size_t)edges.cols * edges.rows, 0);
    sc.nz.clear();
    const cv::Rect a = bandA & cv::Rect(0, 0, edges.cols, edges.rows), b = bandB & cv::Rect(0, 0, edges.cols, edges.rows);
    if (a.area() == 0 && b.area() == 0) return;
    const int x0 = std::min(a.area() ? a.x : INT_MAX, b.area() ? b.x : INT_MAX);
    const int x1 = std::max(a.area() ? a.x + a.width : 0, b.area() ? b.x + b.width : 0);
    for (int y = 0; y < edges.rows; y++) {  // row by row, left to right: cv::HoughLinesP's point order
        const uint8_t *e = edges.ptr<uint8_t>(y);
        uint8_t *m = sc.mask.data() + (size_t)y * edges.cols;
        const bool inA = y >= a.y && y < a.y + a.height, inB = y >= b.y && y < b.y + b.height;
        for (int x = x0; x < x1; x++) {
            if (!e[x]) continue;
            if (!((inA && x >= a.x && x < a.x + a.width) || (inB && x >= b.x && x < b.x + b.width))) continue;
            m[x] = 1;
            sc.nz.emplace_back(x, y);
        }
    }
    sc.xMin = x0; sc.xMax = x1 - 1; sc.yMin = 0; sc.yMax = edges.rows - 1;
    const int len = cvRound(minLineLength), gap = cvRound(maxLineGap);
    if (sc.nz.size() < 32000) houghRun(sc, sc.acc16, threshold, len, gap, lines);
    else houghRun(sc, sc.acc32, threshold, len, gap, lines);
}
#pragma clang fp contract(on)

}  // namespace

extern "C" {

int fg_pad_row_profile(const fg_image *img, double *out, int max) {
    if (!img || img->mat.empty() || img->mat.type() != CV_8UC3 || (!out && max > 0)) return -1;
    const cv::Mat &m = img->mat;
    const int rows = std::min(m.rows, max), cols = m.cols;
    for (int yy = 0; yy < rows; yy++) {
        const uint8_t *p = m.ptr<uint8_t>(yy);
        uint64_t b = 0, g = 0, r = 0;  // integer sums: exact, and the weights apply once per row
        for (int xx = 0; xx < cols; xx++) { b += p[3 * xx]; g += p[3 * xx + 1]; r += p[3 * xx + 2]; }
        out[yy] = (0.114 * (double)b + 0.587 * (double)g + 0.299 * (double)r) / (double)cols;
    }
    return m.rows;
}

int fg_pad_moire_measure(const fg_image *img, int x, int y, int w, int h, double peak_threshold, fg_pad_moire *out) {
    if (!img || !out) return -1;
    *out = fg_pad_moire{1.0, 0.0, 0, 0};
    // Central part of the face (cheeks, nose, forehead), at native resolution up to faces of ~426 px: resampling would
    // erase the very frequencies a re-captured screen adds. Larger faces (phone photos and 4K video: 500-2000 px) are
    // box-shrunk by the whole factor that brings the 0.6-face square to <= 128 px, so the spectrum covers the same part
    // of the face as on a webcam (not a 128-px patch of the nose, where sharpening halos and codec blocks dominate: a
    // genuine 4K clip reached 8.2 against the threshold 9, session 10); a box average is what a coarser sensor does, so
    // a display grid still aliases into moire as a webcam sees it.
    const int want = (int)(std::min(w, h) * 0.6);
    const int factor = std::max(1, want / 128);
    int side = std::min(want / factor, 128);
    side &= ~1;
    if (side < 32) return 0;
    const int span = side * factor;
    int cx = x + w / 2, cy = y + (int)(h * 0.45);
    cv::Rect r = fg_clip(cx - span / 2, cy - span / 2, span, span, img->mat);
    if (r.width < span || r.height < span) return 0;
    MoireScratch &sc = moireScratch(side);
    if (factor > 1) {
        thread_local cv::Mat shrunk;
        cv::resize(img->mat(r), shrunk, cv::Size(side, side), 0, 0, cv::INTER_AREA);  // integer factor: exact box mean
        cv::cvtColor(shrunk, sc.gray8, cv::COLOR_BGR2GRAY);
    } else {
        cv::cvtColor(img->mat(r), sc.gray8, cv::COLOR_BGR2GRAY);
    }
    sc.gray8.convertTo(sc.g, CV_32F);
    // Remove the smooth shading (large-scale illumination) and window to avoid edge leakage.
    cv::GaussianBlur(sc.g, sc.blur, cv::Size(0, 0), side / 16.0);
    sc.g -= sc.blur;
    cv::multiply(sc.g, sc.window, sc.g);
    // Real-input DFT: the full complex spectrum, its conjugate-symmetric half filled in by OpenCV (a mirrored bin has
    // exactly the same magnitude; the complex DFT of a zero imaginary plane it replaces agreed to ~1e-6 relative).
    cv::dft(sc.g, sc.spectrum, cv::DFT_COMPLEX_OUTPUT);
    cv::split(sc.spectrum, sc.planes);
    cv::magnitude(sc.planes[0], sc.planes[1], sc.mag);
    const int n = side, h2 = n / 2, maxR = n / 2;
    // Centred copy of the magnitude (quadrants swapped: index (v + n/2) * n + (u + n/2)), so neighbours need no
    // wrap-around arithmetic. Same values as indexing the spectrum modulo n.
    sc.centred.resize((size_t)n * n);
    float *C = sc.centred.data();
    for (int vv = 0; vv < n; vv++) {
        const float *m = sc.mag.ptr<float>(vv);
        float *row = C + (size_t)((vv + h2) % n) * n;
        std::copy(m, m + h2, row + h2);
        std::copy(m + h2, m + n, row);
    }
    auto at = [&](int u, int v) -> float { return C[(v + h2) * n + (u + h2)]; };  // u, v centred frequencies
    // Radial bins of the centred spectrum (ring of each bin precomputed per side, in the same scan order as before).
    for (auto &ring : sc.rings) ring.clear();
    double total = 0, high = 0;
    const int16_t *ringOf = sc.ringOf.data();
    for (int k = 0; k < n * n; k++) {
        int rr = ringOf[k];
        if (rr == 0 || rr > maxR) continue;
        float m = C[k];
        sc.rings[rr].push_back(m);
        double e = (double)m * m;
        total += e;
        if (rr > maxR / 2) high += e;
    }
    for (int rr = 1; rr <= maxR; rr++) sc.ringMedian[rr] = median(sc.rings[rr]);
    // Peaks: local maxima in the band [n/8, n/2) standing out from their ring's median. Natural skin has a smooth
    // 1/f spectrum; a display grid beating against the sensor grid gives sharp isolated peaks.
    double best = 1.0;
    int peaks = 0;
    int lo = std::max(4, n / 8);
    for (int v = -n / 2 + 1; v < n / 2 - 1; v++) {
        for (int u = 0; u < n / 2 - 1; u++) {  // half plane (spectrum is symmetric)
            if (u == 0 && v <= 0) continue;
            int rr = ringOf[(v + h2) * n + (u + h2)];
            if (rr < lo || rr >= maxR) continue;
            float m = at(u, v);
            double ratio = m / std::max(sc.ringMedian[rr], 1e-6);
            // A bin that would neither raise the best ratio nor count as a peak cannot change the result: skip its
            // local-maximum test (most bins).
            if (ratio <= best && ratio < peak_threshold) continue;
            bool isMax = true;
            for (int dv = -1; dv <= 1 && isMax; dv++)
                for (int du = -1; du <= 1; du++)
                    if ((du || dv) && at(u + du, v + dv) > m) { isMax = false; break; }
            if (!isMax) continue;
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
    // Work near 160 px (glare sheets are large; this bounds the time), shrunk by a whole factor: OpenCV's INTER_AREA
    // has a fast path for integer factors, while a fractional one (e.g. 372 -> 160 px) took 0.95 ms of the cue's
    // 1.25 ms on this machine. The factor nearest to size/160 keeps the working size within ~107..240 px.
    const int factor = std::max(1, (int)std::lround(std::max(r.width, r.height) / kGlareWorkingSide));
    const double s = 1.0 / factor;
    cv::Mat small;
    if (factor > 1) cv::resize(roi, small, cv::Size(), s, s, cv::INTER_AREA);   // fx = 1/factor: the fast path
    else small = roi;
    cv::Mat hsv;
    cv::cvtColor(small, hsv, cv::COLOR_BGR2HSV);
    cv::Mat mask;
    // Near-white and unsaturated: a specular reflection of a (white) light source.
    cv::inRange(hsv, cv::Scalar(0, 0, 235), cv::Scalar(180, 50, 255), mask);
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
    // Everything below only looks at the largest blob: work in its bounding box grown by one pixel (the erosion's
    // and the Sobel's 3x3 neighbourhoods stay inside it, so the values are those of the whole image).
    cv::Rect bb(stats.at<int>(bestLabel, cv::CC_STAT_LEFT) - 1, stats.at<int>(bestLabel, cv::CC_STAT_TOP) - 1,
                stats.at<int>(bestLabel, cv::CC_STAT_WIDTH) + 2, stats.at<int>(bestLabel, cv::CC_STAT_HEIGHT) + 2);
    bb &= cv::Rect(0, 0, small.cols, small.rows);
    cv::Mat blob = labels(bb) == bestLabel;
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
    cv::Mat gray = grayOf(small), gxm, gym, grad;
    cv::Sobel(gray(bb), gxm, CV_32F, 1, 0);  // a sub-matrix: OpenCV filters it with its real neighbours
    cv::Sobel(gray(bb), gym, CV_32F, 0, 1);
    cv::magnitude(gxm, gym, grad);
    out->largest_texture = cv::mean(grad, inner)[0] / 4.0;  // Sobel 3x3 gain is 4
    return 0;
}

}  // extern "C"

namespace {

// Are two device sides joined at their top (or bottom) ends inside the picture? Ends within kSideBorderRows of the
// border leave the side open there (cut by the frame). Otherwise: a row near the ends (within max(3, 8 % of a face
// height)) whose edge pixels, each allowed one row up or down, cover >= kSideClosedCoverage of the columns between
// the two ends.
constexpr int kSideBorderRows = 3;
constexpr double kSideClosedCoverage = 0.7;
bool sidesClosed(const cv::Mat &edges, cv::Point2d l, cv::Point2d r, double faceHeight, bool top) {
    const int rows = edges.rows;
    double yEnd = top ? std::min(l.y, r.y) : std::max(l.y, r.y);
    if (top ? yEnd <= kSideBorderRows : yEnd >= rows - 1 - kSideBorderRows) return false;
    const double tol = std::max(3.0, 0.08 * faceHeight);
    const int yLo = std::max(1, (int)std::floor(std::min(l.y, r.y) - tol)), yHi = std::min(rows - 2, (int)std::ceil(std::max(l.y, r.y) + tol));
    const int x0 = std::max(0, (int)std::ceil(l.x) + 2), x1 = std::min(edges.cols - 1, (int)std::floor(r.x) - 2);
    if (x1 - x0 < 4) return false;
    for (int y = yLo; y <= yHi; y++) {
        const uint8_t *p0 = edges.ptr<uint8_t>(y - 1), *p1 = edges.ptr<uint8_t>(y), *p2 = edges.ptr<uint8_t>(y + 1);
        int covered = 0;
        for (int xx = x0; xx <= x1; xx++) covered += (p0[xx] | p1[xx] | p2[xx]) ? 1 : 0;
        if (covered >= kSideClosedCoverage * (x1 - x0 + 1)) return true;
    }
    return false;
}

// Digital matte (pillarbox / letterbox bars): a still or video converted to another aspect ratio carries bars of one
// flat colour along two opposite sides of the picture. Their inner borders are two full-length, exactly straight
// edges flanking the face and cut by the frame at both ends — the bezel's "device sides" topology (the obama-1080p
// press photo, genuine, was refused by it at every size; session 11). A camera does not record such bars: a bar is a
// run of border columns (rows) whose every pixel lies within kMatteFlatness grey levels, the two opposite bars have the
// same colour (kMatteFlatness) and the same width (kMatteSymmetry: a converter centres the content), and each is at
// least kMatteMinShare of the picture (a 1-px dark border is not a matte). The bezel then judges the content inside.
// A device cut by the frame in a pitch-dark room has flat clipped surroundings too, but it is not centred to the
// column with the same width on both sides on a still hand (a symmetric case would pass here: models and moiré remain).
constexpr int kMatteFlatness = 6;          // grey levels: JPEG ringing on a flat bar stays within 2-3 on the fixtures
constexpr double kMatteSymmetry = 0.02;    // of the picture's width (height): 1-px rounding at 320 px plus a margin
constexpr double kMatteMinShare = 0.03;    // of the picture's width (height) per bar
cv::Rect matteContent(const cv::Mat &gray) {
    const int W = gray.cols, H = gray.rows;
    cv::Rect all(0, 0, W, H);
    if (W < 32 || H < 32) return all;
    // Flat run from one border: columns (vertical = true) or rows whose min and max are within kMatteFlatness of the
    // first line's mean.
    auto run = [&](bool vertical, bool fromStart, double &colour) {
        const int n = vertical ? W : H;
        int k = 0;
        double ref = -1;
        for (; k < n / 2; k++) {
            const int i = fromStart ? k : n - 1 - k;
            cv::Mat line = vertical ? gray.col(i) : gray.row(i);
            double lo, hi;
            cv::minMaxLoc(line, &lo, &hi);
            if (hi - lo > kMatteFlatness) break;
            const double mid = (lo + hi) / 2;
            if (ref < 0) ref = mid; else if (std::fabs(mid - ref) > kMatteFlatness) break;
        }
        colour = ref;
        return k;
    };
    for (int vertical = 1; vertical >= 0; vertical--) {
        double c0 = 0, c1 = 0;
        const int a = run(vertical, true, c0), b = run(vertical, false, c1);
        const int n = vertical ? W : H;
        if (a < kMatteMinShare * n || b < kMatteMinShare * n) continue;
        if (std::abs(a - b) > std::max(1.0, kMatteSymmetry * n) || std::fabs(c0 - c1) > kMatteFlatness) continue;
        // One more line each side: the resampled border column blends bar and content.
        const int lo = a + 1, hi = n - b - 1;
        if (hi - lo < n / 4) continue;
        return vertical ? cv::Rect(lo, 0, hi - lo, H) : cv::Rect(0, lo, W, hi - lo);
    }
    return all;
}

// The same edges as cv::Canny(gray, edges, low, high) (L1 gradient, 3x3 Sobel with replicated borders), faster: a pixel
// is a candidate when its gradient magnitude exceeds `low` and is a maximum across the edge (cv::Canny's 4 direction
// sectors by fixed-point tangents and its strict / non-strict neighbour comparisons, 8 pixels at a time); candidates
// above `high` seed the edges, and every candidate 8-connected to a seed is an edge (255) — the set cv::Canny's
// hysteresis reaches. Checked pixel for pixel against cv::Canny on 760 working images (fixture clips, rendered rooms,
// adversarial textures; 272-640 px; notes h4/canny) and by PadCostEquivalenceTests (the reference path keeps cv::Canny).
// OpenCV's call spends most of its time outside the gradient (0.6 of 0.7 ms at 320x240 here); this one ~0.3 ms.
struct CannyScratch {
    cv::Mat dx, dy;
    std::vector<int32_t> mag;   // (rows + 2) x (cols + 2), zero border
    std::vector<uint8_t> map;   // (rows + 2) x (cols + 2): 0 candidate, 1 not an edge, 2 edge
    std::vector<int32_t> stack; // map indices
};
void cannyL1(const cv::Mat &gray, cv::Mat &edges, int low, int high, CannyScratch &sc) {
    const int R = gray.rows, C = gray.cols, W = C + 2;
    cv::Sobel(gray, sc.dx, CV_16S, 1, 0, 3, 1, 0, cv::BORDER_REPLICATE);
    cv::Sobel(gray, sc.dy, CV_16S, 0, 1, 3, 1, 0, cv::BORDER_REPLICATE);
    sc.mag.resize((size_t)(R + 2) * W);  // the border stays 0; the inside is written below
    std::fill(sc.mag.begin(), sc.mag.begin() + W, 0);
    std::fill(sc.mag.end() - W, sc.mag.end(), 0);
    sc.map.assign((size_t)(R + 2) * W, 1);
    sc.stack.clear();
    for (int y = 0; y < R; y++) {
        const int16_t *gx = sc.dx.ptr<int16_t>(y), *gy = sc.dy.ptr<int16_t>(y);
        int32_t *m = sc.mag.data() + (size_t)(y + 1) * W + 1;
        m[-1] = m[C] = 0;
        for (int x = 0; x < C; x++) m[x] = std::abs((int)gx[x]) + std::abs((int)gy[x]);
    }
    const int TG22 = (int)(0.4142135623730950488016887242097 * (1 << 15) + 0.5);
    for (int y = 0; y < R; y++) {
        const int16_t *gx = sc.dx.ptr<int16_t>(y), *gy = sc.dy.ptr<int16_t>(y);
        const int32_t *m = sc.mag.data() + (size_t)(y + 1) * W + 1, *up = m - W, *dn = m + W;
        uint8_t *mp = sc.map.data() + (size_t)(y + 1) * W + 1;
        const int base = (y + 1) * W + 1;
        int x = 0;
#if defined(__AVX2__)
        const __m256i vlow = _mm256_set1_epi32(low), vhigh = _mm256_set1_epi32(high), vtg = _mm256_set1_epi32(TG22);
        for (; x + 8 <= C; x += 8) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(m + x));
            const __m256i cand = _mm256_cmpgt_epi32(v, vlow);
            if (_mm256_testz_si256(cand, cand)) continue;  // map stays 1
            const __m256i xs = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(gx + x)));
            const __m256i ys = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(gy + x)));
            const __m256i ax = _mm256_abs_epi32(xs), ay = _mm256_slli_epi32(_mm256_abs_epi32(ys), 15);
            const __m256i t22 = _mm256_mullo_epi32(ax, vtg), t67 = _mm256_add_epi32(t22, _mm256_slli_epi32(ax, 16));
            const __m256i horiz = _mm256_cmpgt_epi32(t22, ay), vert = _mm256_cmpgt_epi32(ay, t67);
            const __m256i neg = _mm256_srai_epi32(_mm256_xor_si256(xs, ys), 31);  // s = -1
            auto gt = [](__m256i a, __m256i b) { return _mm256_cmpgt_epi32(a, b); };
            auto ld = [](const int32_t *p) { return _mm256_loadu_si256((const __m256i *)p); };
            const __m256i ones = _mm256_set1_epi32(-1);
            // m > a && m >= b  ==  m > a && !(b > m)
            const __m256i cH = _mm256_andnot_si256(gt(ld(m + x + 1), v), gt(v, ld(m + x - 1)));
            const __m256i cV = _mm256_andnot_si256(gt(ld(dn + x), v), gt(v, ld(up + x)));
            const __m256i cDp = _mm256_and_si256(gt(v, ld(up + x - 1)), gt(v, ld(dn + x + 1)));  // s = +1
            const __m256i cDn = _mm256_and_si256(gt(v, ld(up + x + 1)), gt(v, ld(dn + x - 1)));  // s = -1
            const __m256i cD = _mm256_blendv_epi8(cDp, cDn, neg);
            const __m256i diag = _mm256_xor_si256(_mm256_or_si256(horiz, vert), ones);
            __m256i keep = _mm256_or_si256(_mm256_or_si256(_mm256_and_si256(horiz, cH), _mm256_and_si256(vert, cV)), _mm256_and_si256(diag, cD));
            keep = _mm256_and_si256(keep, cand);
            const __m256i strong = _mm256_and_si256(keep, gt(v, vhigh));
            // map: 1 not kept, 0 kept weak, 2 kept strong
            __m256i val = _mm256_sub_epi32(_mm256_set1_epi32(1), _mm256_and_si256(keep, _mm256_set1_epi32(1)));
            val = _mm256_add_epi32(val, _mm256_and_si256(strong, _mm256_set1_epi32(2)));
            const __m128i p16 = _mm_packs_epi32(_mm256_castsi256_si128(val), _mm256_extracti128_si256(val, 1));
            _mm_storel_epi64((__m128i *)(mp + x), _mm_packus_epi16(p16, p16));
            for (unsigned bits = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(strong)); bits; bits &= bits - 1)
                sc.stack.push_back(base + x + __builtin_ctz(bits));
        }
#endif
        for (; x < C; x++) {
            const int v = m[x];
            if (v <= low) continue;
            const int xs = gx[x], ys = gy[x];
            const int ax = std::abs(xs), ay = std::abs(ys) << 15, t22 = ax * TG22;
            bool keep;
            if (ay < t22) keep = v > m[x - 1] && v >= m[x + 1];
            else if (ay > t22 + (ax << 16)) keep = v > up[x] && v >= dn[x];
            else { const int s = (xs ^ ys) < 0 ? -1 : 1; keep = v > up[x - s] && v > dn[x + s]; }
            if (!keep) continue;
            if (v > high) { mp[x] = 2; sc.stack.push_back((int32_t)(base + x)); }
            else mp[x] = 0;
        }
    }
    uint8_t *map = sc.map.data();
    const int nb[8] = {-1, 1, -W - 1, -W, -W + 1, W - 1, W, W + 1};
    while (!sc.stack.empty()) {
        const int p = sc.stack.back();
        sc.stack.pop_back();
        for (int k = 0; k < 8; k++)
            if (!map[p + nb[k]]) { map[p + nb[k]] = 2; sc.stack.push_back(p + nb[k]); }
    }
    edges.create(R, C, CV_8U);
    for (int y = 0; y < R; y++) {
        const uint8_t *mp = map + (size_t)(y + 1) * W + 1;
        uint8_t *e = edges.ptr<uint8_t>(y);
        for (int x = 0; x < C; x++) e[x] = mp[x] == 2 ? 255 : 0;
    }
}

// Longer side of the bezel's working frame (pixels): the frame is shrunk to it (never enlarged), so the device's rim
// is judged at one pixel scale whatever the camera's resolution. 320: the cue's tuning size (fixture clips, simulator).
constexpr int kBezelWorkingSide = 320;

int bezelFind(const fg_image *img, int x, int y, int w, int h, bool reference, int workingSide, fg_pad_bezel *out) {
    if (!img || !out || workingSide < 64) return -1;
    *out = fg_pad_bezel{};
    const cv::Mat &m = img->mat;
    double s = std::min(1.0, (double)workingSide / std::max(m.cols, m.rows));
    // Working images reused from call to call (same values; a fresh 100-300 KB image per call costs page faults).
    // `shrunk` is only ever the shim's own buffer; `small` may be a view of the caller's frame.
    thread_local struct { cv::Mat shrunk, gray, edges, closed; std::vector<std::vector<cv::Point>> contours; CannyScratch canny; } sc;
    cv::Mat small;
    if (s < 1) { cv::resize(m, sc.shrunk, cv::Size(), s, s, cv::INTER_AREA); small = sc.shrunk; } else small = m;
    cv::cvtColor(small, sc.gray, cv::COLOR_BGR2GRAY);
    // The picture's content inside a digital matte (pillarbox / letterbox), in working pixels; the whole frame otherwise.
    const cv::Rect content = matteContent(sc.gray);
    if (content.width != small.cols || content.height != small.rows) small = small(content);
    // A matte's content is copied out so that the blur and Canny see no bar pixels beyond its border.
    const bool matted = content.width != sc.gray.cols || content.height != sc.gray.rows;
    cv::Mat gray = matted ? cv::Mat(sc.gray(content).clone()) : sc.gray;
    cv::GaussianBlur(gray, gray, cv::Size(3, 3), 0);
    cv::Mat &edges = sc.edges;
    if (reference) cv::Canny(gray, edges, 40, 120);
    else cannyL1(gray, edges, 40, 120, sc.canny);  // the same edges, faster
    cv::dilate(edges, sc.closed, cv::Mat(), cv::Point(-1, -1), 1);
    std::vector<std::vector<cv::Point>> &contours = sc.contours;
    cv::findContours(sc.closed, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
    cv::Rect2d face(x * s - content.x, y * s - content.y, w * s, h * s);
    double faceArea = face.area();
    if (faceArea < 16) return -1;
    // Long straight sides flanking the face: a device whose top and bottom are outside the frame.
    {
        std::vector<cv::Vec4i> lines;
        double fl = face.x, fr = face.x + face.width, fcy = face.y + face.height / 2;
        // Both sides are needed: the transform only runs when a qualifying segment is possible on each.
        // Bounded cost: the transform sees only the two bands where a qualifying side can lie, and does not run when
        // a band is clutter (kSideMaxBandDensity).
        cv::Rect bandL, bandR;
        int nL = sideBandPixels(edges, fl - 1.2 * face.width, fl, bandL), nR = sideBandPixels(edges, fr, fr + 1.2 * face.width, bandR);
        bool cluttered = nL > kSideMaxBandDensity * bandL.area() || nR > kSideMaxBandDensity * bandR.area();
        if (!cluttered && nearVerticalSegmentPossible(edges, fl - 1.2 * face.width, fl, fcy, face.height) &&
            nearVerticalSegmentPossible(edges, fr, fr + 1.2 * face.width, fcy, face.height)) {
            if (reference) {
                cv::Mat banded = cv::Mat::zeros(edges.size(), CV_8U);
                edges(bandL).copyTo(banded(bandL));
                edges(bandR).copyTo(banded(bandR));
                cv::HoughLinesP(banded, lines, 1, CV_PI / 180, 40, face.height * 1.0, 10);
            } else {
                houghBands(edges, bandL, bandR, 40, face.height * 1.0, 10, lines);  // the same segments, faster
            }
        }
        double bestL = 0, bestR = 0, angL = 0, angR = 0;
        cv::Point2d topL, botL, topR, botR;  // the best sides' end points (top = smaller y)
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
            cv::Point2d a(l[0], l[1]), b(l[2], l[3]);
            if (a.y > b.y) std::swap(a, b);
            if (xm < fl && xm > fl - 1.2 * face.width && len > bestL) { bestL = len; angL = signedAng; topL = a; botL = b; }
            if (xm > fr && xm < fr + 1.2 * face.width && len > bestR) { bestR = len; angR = signedAng; topR = a; botR = b; }
        }
        // "Cut by the frame border" means open at both ends: sides whose ends are joined inside the picture by an
        // edge running across (a door's lintel above a person; a device fully in view, which the quad test below
        // judges) are not a device cut by the frame (session 9, H3: the rendered room's door jambs).
        if (bestL > 0 && bestR > 0 && std::fabs(angL - angR) < 0.14 &&
            !sidesClosed(edges, topL, topR, face.height, true) && !sidesClosed(edges, botL, botR, face.height, false)) {
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
        // Masks only over the quad's bounding box grown by the band (same pixels as full-frame masks, less work).
        int band = std::max(2, (int)(sw * 0.06));
        cv::Rect roi = cv::boundingRect(poly);
        roi = cv::Rect(roi.x - band - 1, roi.y - band - 1, roi.width + 2 * band + 2, roi.height + 2 * band + 2) &
              cv::Rect(0, 0, small.cols, small.rows);
        std::vector<std::vector<cv::Point>> pp{poly};
        for (auto &q : pp[0]) q -= roi.tl();
        cv::Mat maskIn = cv::Mat::zeros(roi.size(), CV_8U), maskOut;
        cv::drawContours(maskIn, pp, 0, cv::Scalar(255), band);
        cv::Mat filled = cv::Mat::zeros(roi.size(), CV_8U);
        cv::fillPoly(filled, pp, cv::Scalar(255));
        maskOut = maskIn.clone();
        maskIn &= filled;
        maskOut &= ~filled;
        double inMean = cv::mean(gray(roi), maskIn)[0], outMean = cv::mean(gray(roi), maskOut)[0];
        double rim = std::fabs(inMean - outMean) / 255.0;
        double score = support * (0.5 + rim);
        if (score > bestScore) {
            bestScore = score;
            out->found = 1;
            for (int i = 0; i < 4; i++) {
                out->corners[2 * i] = (float)((poly[i].x + content.x) / s);
                out->corners[2 * i + 1] = (float)((poly[i].y + content.y) / s);
            }
            out->area_ratio = area / faceArea;
            out->aspect = aspect;
            out->edge_support = support;
            out->rim_contrast = rim;
        }
    }
    return 0;
}

}  // namespace

extern "C" {

int fg_pad_bezel_find(const fg_image *img, int x, int y, int w, int h, fg_pad_bezel *out) {
    return bezelFind(img, x, y, w, h, false, kBezelWorkingSide, out);
}

int fg_pad_bezel_find_at(const fg_image *img, int x, int y, int w, int h, int working_side, fg_pad_bezel *out) {
    return bezelFind(img, x, y, w, h, false, working_side, out);
}

int fg_pad_bezel_find_reference(const fg_image *img, int x, int y, int w, int h, fg_pad_bezel *out) {
    return bezelFind(img, x, y, w, h, true, kBezelWorkingSide, out);
}

int fg_pad_bezel_side_segments(const fg_image *img, int x, int y, int w, int h, double min_length, int reference,
                               int *out, int max) {
    if (!img || (!out && max > 0) || w <= 0 || h <= 0) return -1;
    // The bezel cue's edge image (same working size, blur and Canny) and its two side bands around the face.
    const cv::Mat &m = img->mat;
    double s = std::min(1.0, 320.0 / std::max(m.cols, m.rows));
    cv::Mat small;
    if (s < 1) cv::resize(m, small, cv::Size(), s, s, cv::INTER_AREA); else small = m;
    cv::Mat gray = grayOf(small);
    cv::GaussianBlur(gray, gray, cv::Size(3, 3), 0);
    cv::Mat edges;
    cv::Canny(gray, edges, 40, 120);
    const double fl = x * s, fw = w * s, fr = fl + fw;
    cv::Rect bandL, bandR;
    sideBandPixels(edges, fl - 1.2 * fw, fl, bandL);
    sideBandPixels(edges, fr, fr + 1.2 * fw, bandR);
    std::vector<cv::Vec4i> lines;
    if (reference) {
        cv::Mat banded = cv::Mat::zeros(edges.size(), CV_8U);
        if (bandL.area()) edges(bandL).copyTo(banded(bandL));
        if (bandR.area()) edges(bandR).copyTo(banded(bandR));
        cv::HoughLinesP(banded, lines, 1, CV_PI / 180, 40, min_length, 10);
    } else {
        houghBands(edges, bandL, bandR, 40, min_length, 10, lines);
    }
    const int n = (int)lines.size();
    for (int i = 0; i < std::min(n, max); i++)
        for (int k = 0; k < 4; k++) out[4 * i + k] = lines[i][k];
    return n;
}

}  // extern "C"
