// fast_chip.hpp — fast, BYTE-IDENTICAL replacement for
//     dlib::extract_image_chip(dlib::cv_image<dlib::bgr_pixel>(mat), chip_details, chip)   (dlib 19.24,
//     default interpolate_bilinear; chip = matrix<rgb_pixel> for the embedding, BGR cv::Mat for fg_face_chip)
//
// What it reproduces (read from /usr/include/dlib/image_transforms/interpolation.h, extract_image_chips, and
// image_pyramid.h, pyramid_down_2_1 RGB overload):
//   * geometry — pyramid depth, grown/clipped bounding box, pyramid level, chip->level affine transform — is
//     computed with dlib's own calls, verbatim (rect_down, rotate_point, grow_rect, find_affine_transform);
//   * pyramid_down<2>: 1-4-6-4-1 in both directions in uint16 (max 65280, never wraps), /256 truncated, output
//     (nr-3)/2 x (nc-3)/2, empty when nr or nc <= 8. Pure integer, so passes can be reordered: vertical first
//     on contiguous bytes (AVX2, 16 lanes), horizontal at full resolution (AVX2), then decimation;
//   * sample point m*p+b exactly as dlib's matrix_multiply_helper evaluates it *under this compiler* (coord4:
//     clang -mfma contracts "temp += m01*r" into fma(m01,r,m00*c); g++ -mfma fuses the other product; no FMA
//     without -mfma) — verified bit-exact on 45M points;
//   * interpolate_bilinear: floor, bounds check (left>=0, top>=0, left+1<nc, top+1<nr, else black),
//     ((1-lr)*tl + lr*tr)*(1-tb) + ((1-lr)*bl + lr*br)*tb in double with every * and + rounded separately
//     (dlib's expression templates keep them in separate functions, so clang's default -ffp-contract=on never
//     fuses them), static_cast<unsigned char> truncation; 4 output pixels per AVX2 step, scalar loads (vpgather
//     was 1.6x slower on this VM), exact scalar path near the end of the source buffer;
//   * dlib's no-scaling copy path (angle 0 and chip size == rect size) is not reimplemented: dlib is called.
// Safety net: fast_path_verified() runs once (~20 ms) and compares against dlib on 48 synthetic chips (flat tiles
// + noise, depth 0..2, rotations, non-square, border-cut); on any differing byte the wrappers always call dlib.
// Without AVX2 (FACEGATE_PORTABLE=1) the wrappers are plain dlib calls.
//
// How verified (a standalone C++ harness, not kept in the repo; dlib frontal detector + shape_predictor_5_face_landmarks,
// flags as Package.swift: -O2 -std=c++17 -DNDEBUG -DDLIB_USE_BLAS -DDLIB_USE_LAPACK -mavx2 -mfma):
//   159 fixture faces (30 identity images from LABELS.tsv, 129 frames of 5 motion clips every 15th frame),
//   chip configs 150/0.25, 96/0.1 (PadNative texture), 64/0.2 (training bench), 64/0.25, BGR and RGB outputs:
//     clang++ 21 (SwiftPM's compiler) -mavx2 -mfma: 1272 + 1272 (faces rescaled x0.5/x2/x3, depth 0..3) + 6000
//       random chip_details (any rect incl. off-image, angle +-3.2 rad, sizes 8..207, non-square):
//       0 differing bytes;
//     clang++ -mavx2 (no FMA): same sets, 0 differing bytes;
//     g++ 12 -mavx2 -mfma: GCC's -ffp-contract=fast fuses dlib's *own* blend after inlining, so the reference
//       differs (fixture faces 0 diffs, but 12618 bytes over the 6000 fuzz chips with an unmodified fast path);
//       the self-test detects it and the wrappers fall back to dlib (then 0 diffs). Not a production case.
// Measured (thread CPU, interleaved dlib/fast, median of 400, face scaled into a 640x480 frame, clang, 2 shared
//   vCPUs — absolute numbers move ±40% with machine load, ratios are stable):
//     150x150 pad 0.25, rect 334 px (depth 1): dlib 1.50 ms -> fast 0.41 ms (x3.7)
//     150x150, rect 295 px (depth 0, no pyramid): dlib ~1.0 ms -> ~0.29 ms (x3.5)
//     96x96 pad 0.10, rect 267 px:             dlib 1.16 ms -> 0.23 ms (x5.0)
//     64x64 pad 0.20, rect 312 px:             dlib 1.18 ms -> 0.23 ms (x5.1)
// Remaining cost at 150x150 is the double-precision bilinear blend (~13 ns/pixel, 27 double ops/pixel; must stay
// double to be exact).
//
// Use: fgchip::Workspace ws;  (reuse per thread/handle; not thread-safe)
//      fgchip::extract_image_chip_fast(mat, dlib::get_face_chip_details(shape, 150, 0.25), rgbMatrix, ws);
//      fgchip::extract_image_chip_fast(mat, dlib::get_face_chip_details(shape, size, padding), bgrMat, ws);
#pragma once
#include <dlib/image_processing.h>
#include <dlib/image_transforms.h>
#include <dlib/opencv.h>
#include <opencv2/core.hpp>
#include <immintrin.h>
#include <cmath>
#include <cstdint>
#include <vector>
#include <cstring>

namespace fgchip {

#if defined(__AVX2__)

struct Workspace {
    std::vector<uint8_t> level[2];   // ping-pong pyramid levels, BGR interleaved, tight rows
    std::vector<uint16_t> vrow;      // vertical 1-4-6-4-1 sums of one output row (all byte positions)
    std::vector<uint8_t> hrow;       // horizontal result at full resolution (before decimation)
};

struct View { const uint8_t *p; long nr, nc; size_t step; };

// dlib::impl::pyramid_down_2_1, RGB overload: rows/cols filtered with 1 4 6 4 1 in uint16 (max 16*16*255 = 65280,
// never wraps), output (nr-3)/2 x (nc-3)/2, value = sum/256 truncated. The sum is exact integer arithmetic, so the
// order of the two separable passes does not matter: we do vertical first (contiguous bytes, no deinterleave).
static View pyramid_down2(const View &in, std::vector<uint8_t> &out, Workspace &ws) {
    if (in.nr <= 8 || in.nc <= 8) return View{nullptr, 0, 0, 0};
    const long onr = (in.nr - 3) / 2, onc = (in.nc - 3) / 2;
    out.resize((size_t)onr * onc * 3 + 32);
    const long nv = (2 * onc + 3) * 3;         // byte positions the horizontal pass reads
    const long nh = 6 * (onc - 1) + 3;         // byte positions whose horizontal sum we need (6c+ch)
    ws.vrow.resize(nv + 32);
    ws.hrow.resize(nh + 64);
    uint16_t *v = ws.vrow.data();
    uint8_t *h = ws.hrow.data();
    for (long dr = 0; dr < onr; ++dr) {
        const uint8_t *r0 = in.p + (size_t)(2 * dr) * in.step;
        const uint8_t *r1 = r0 + in.step, *r2 = r1 + in.step, *r3 = r2 + in.step, *r4 = r3 + in.step;
        long j = 0;
        for (; j + 16 <= nv; j += 16) {
            __m256i a = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(r0 + j)));
            __m256i b = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(r1 + j)));
            __m256i c = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(r2 + j)));
            __m256i d = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(r3 + j)));
            __m256i e = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(r4 + j)));
            __m256i s = _mm256_add_epi16(_mm256_add_epi16(a, e), _mm256_slli_epi16(_mm256_add_epi16(b, d), 2));
            s = _mm256_add_epi16(s, _mm256_add_epi16(_mm256_slli_epi16(c, 2), _mm256_slli_epi16(c, 1)));
            _mm256_storeu_si256((__m256i *)(v + j), s);
        }
        for (; j < nv; ++j) v[j] = (uint16_t)(r0[j] + 4 * r1[j] + 6 * r2[j] + 4 * r3[j] + r4[j]);
        j = 0;
        for (; j + 16 <= nh && j + 12 + 16 <= nv + 0; j += 16) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(v + j));
            __m256i b = _mm256_loadu_si256((const __m256i *)(v + j + 3));
            __m256i c = _mm256_loadu_si256((const __m256i *)(v + j + 6));
            __m256i d = _mm256_loadu_si256((const __m256i *)(v + j + 9));
            __m256i e = _mm256_loadu_si256((const __m256i *)(v + j + 12));
            __m256i s = _mm256_add_epi16(_mm256_add_epi16(a, e), _mm256_slli_epi16(_mm256_add_epi16(b, d), 2));
            s = _mm256_add_epi16(s, _mm256_add_epi16(_mm256_slli_epi16(c, 2), _mm256_slli_epi16(c, 1)));
            s = _mm256_srli_epi16(s, 8);
            __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi16(s, s), 0xD8);
            _mm_storeu_si128((__m128i *)(h + j), _mm256_castsi256_si128(p));
        }
        for (; j < nh; ++j)
            h[j] = (uint8_t)((uint16_t)(v[j] + 4 * v[j + 3] + 6 * v[j + 6] + 4 * v[j + 9] + v[j + 12]) >> 8);
        uint8_t *o = out.data() + (size_t)dr * onc * 3;
        for (long c = 0; c < onc; ++c) {
            o[3 * c] = h[6 * c]; o[3 * c + 1] = h[6 * c + 1]; o[3 * c + 2] = h[6 * c + 2];
        }
    }
    return View{out.data(), onr, onc, (size_t)onc * 3};
}

// Bilinear sampling of a whole chip, 4 output pixels per step. The sample point reproduces dlib's
// point_transform_affine (see coord4 below); floor/bounds/fractions as interpolate_bilinear; the
// blend reproduces interpolate_bilinear: v = ((1-lr)*tl + lr*tr)*(1-tb) + ((1-lr)*bl + lr*br)*tb in double, each
// product and sum rounded separately (dlib's expression templates put every * and + in a different function, so
// clang's default -ffp-contract=on never fuses them), then static_cast<unsigned char> (truncation).
#if defined(__clang__)
#define FG_NOCONTRACT _Pragma("clang fp contract(off)")
#define FG_NOCONTRACT_ATTR
#else
#define FG_NOCONTRACT
#define FG_NOCONTRACT_ATTR __attribute__((optimize("fp-contract=off")))
#endif

FG_NOCONTRACT_ATTR
static inline void blend_px(const uint8_t *tl, const uint8_t *tr, const uint8_t *bl, const uint8_t *br, double lr,
                            double tb, uint8_t *o, bool rgb) {
    FG_NOCONTRACT
    const __m256d l = _mm256_set1_pd(lr), l1 = _mm256_set1_pd(1 - lr);
    const __m256d t = _mm256_set1_pd(tb), t1 = _mm256_set1_pd(1 - tb);
    auto ld = [](const uint8_t *q) {
        return _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(q[0] | (q[1] << 8) | (q[2] << 16))));
    };
    __m256d a = _mm256_add_pd(_mm256_mul_pd(ld(tl), l1), _mm256_mul_pd(ld(tr), l));
    __m256d b = _mm256_add_pd(_mm256_mul_pd(ld(bl), l1), _mm256_mul_pd(ld(br), l));
    __m256d s = _mm256_add_pd(_mm256_mul_pd(a, t1), _mm256_mul_pd(b, t));
    __m128i q = _mm256_cvttpd_epi32(s);
    const int c0 = _mm_cvtsi128_si32(q), c1 = _mm_extract_epi32(q, 1), c2 = _mm_extract_epi32(q, 2);
    if (rgb) { o[0] = (uint8_t)c2; o[1] = (uint8_t)c1; o[2] = (uint8_t)c0; }
    else { o[0] = (uint8_t)c0; o[1] = (uint8_t)c1; o[2] = (uint8_t)c2; }
}

// The reference's sample point is dlib's point_transform_affine: m*p + b, evaluated by dlib's matrix_multiply_helper
// as  temp = m(r,0)*p(0); temp += m(r,1)*p(1); return temp + b(r).  Whether "temp += a*b" becomes an FMA depends on
// the compiler (measured, 45M points each, bit-exact vs dlib's own call):
//   clang -O2 -mfma (-ffp-contract=on, SwiftPM's compiler):  fma(m01, r, m00*c) + b
//   g++   -O2 -mfma (-ffp-contract=fast):                    fma(m00, c, m01*r) + b
//   no FMA in the target:                                    (m00*c + m01*r) + b
static inline __m256d coord4(__m256d m0, __m256d m1, __m256d bb, __m256d c, __m256d r) {
#if defined(__FMA__) && defined(__clang__)
    return _mm256_add_pd(_mm256_fmadd_pd(m1, r, _mm256_mul_pd(m0, c)), bb);
#elif defined(__FMA__)
    return _mm256_add_pd(_mm256_fmadd_pd(m0, c, _mm256_mul_pd(m1, r)), bb);
#else
    return _mm256_add_pd(_mm256_add_pd(_mm256_mul_pd(m0, c), _mm256_mul_pd(m1, r)), bb);
#endif
}

FG_NOCONTRACT_ATTR
static void sample_chip(const View &src, size_t avail, const dlib::point_transform_affine &trns, long rows, long cols,
                        uint8_t *out, size_t ostep, bool rgb) {
    FG_NOCONTRACT
    const auto &M = trns.get_m();
    const auto &B = trns.get_b();
    const __m256d mx0 = _mm256_set1_pd(M(0, 0)), mx1 = _mm256_set1_pd(M(0, 1)), bx = _mm256_set1_pd(B.x());
    const __m256d my0 = _mm256_set1_pd(M(1, 0)), my1 = _mm256_set1_pd(M(1, 1)), by = _mm256_set1_pd(B.y());
    const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0);
    const __m256d ncm1 = _mm256_set1_pd((double)src.nc - 1), nrm1 = _mm256_set1_pd((double)src.nr - 1);
    const __m128i step3 = _mm_set1_epi32((int)src.step), three = _mm_set1_epi32(3), ff = _mm_set1_epi32(0xFF);
    // every gathered 4-byte word must lie inside the readable source: off + step + 3 + 3 < avail
    const __m128i lim = _mm_set1_epi32((int)std::min<size_t>(avail, 0x7fffff00) - (int)src.step - 7);
    const __m128i pack = _mm_setr_epi8(0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1);
    const uint8_t *base = src.p;
    for (long r = 0; r < rows; ++r) {
        uint8_t *o = out + (size_t)r * ostep;
        const __m256d rv = _mm256_set1_pd((double)r);
        long c = 0;
        for (; c + 4 <= cols && src.nr > 0; c += 4) {
            const __m256d cv = _mm256_add_pd(_mm256_set1_pd((double)c), _mm256_setr_pd(0, 1, 2, 3));
            const __m256d x = coord4(mx0, mx1, bx, cv, rv), y = coord4(my0, my1, by, cv, rv);
            const __m256d fx = _mm256_floor_pd(x), fy = _mm256_floor_pd(y);
            __m256d ok = _mm256_and_pd(_mm256_cmp_pd(fx, zero, _CMP_GE_OQ), _mm256_cmp_pd(fy, zero, _CMP_GE_OQ));
            ok = _mm256_and_pd(ok, _mm256_and_pd(_mm256_cmp_pd(fx, ncm1, _CMP_LT_OQ), _mm256_cmp_pd(fy, nrm1, _CMP_LT_OQ)));
            const int okbits = _mm256_movemask_pd(ok);
            if (okbits == 0) { memset(o + 3 * c, 0, 12); continue; }
            const __m128i okm = _mm256_cvtpd_epi32(_mm256_and_pd(ok, one));  // 1 / 0 per lane
            const __m128i oki = _mm_sub_epi32(_mm_setzero_si128(), okm);      // all-ones / 0
            const __m128i li = _mm256_cvttpd_epi32(_mm256_and_pd(fx, ok)), ti = _mm256_cvttpd_epi32(_mm256_and_pd(fy, ok));
            const __m128i off = _mm_and_si128(oki, _mm_add_epi32(_mm_mullo_epi32(ti, step3), _mm_mullo_epi32(li, three)));
            if (_mm_movemask_epi8(_mm_cmpgt_epi32(off, lim))) {  // near the end of the buffer: exact scalar path
                for (int k = 0; k < 4; ++k) {
                    const double px = ((const double *)&x)[k], py = ((const double *)&y)[k];
                    const long left = (long)std::floor(px), top = (long)std::floor(py);
                    uint8_t *q = o + 3 * (c + k);
                    if (!(left >= 0 && top >= 0 && left + 1 < src.nc && top + 1 < src.nr)) { q[0] = q[1] = q[2] = 0; continue; }
                    const uint8_t *q0 = base + (size_t)top * src.step + (size_t)left * 3, *q1 = q0 + src.step;
                    blend_px(q0, q0 + 3, q1, q1 + 3, px - left, py - top, q, rgb);
                }
                continue;
            }
            // scalar loads instead of vpgather: with the GDS/"Downfall" microcode mitigation gathers cost ~3x here
            alignas(16) int offs[4], wtl[4], wtr[4], wbl[4], wbr[4];
            _mm_store_si128((__m128i *)offs, off);
            for (int k = 0; k < 4; ++k) {
                const uint8_t *q0 = base + offs[k], *q1 = q0 + src.step;
                std::memcpy(&wtl[k], q0, 4); std::memcpy(&wtr[k], q0 + 3, 4);
                std::memcpy(&wbl[k], q1, 4); std::memcpy(&wbr[k], q1 + 3, 4);
            }
            const __m128i gtl = _mm_load_si128((const __m128i *)wtl), gtr = _mm_load_si128((const __m128i *)wtr);
            const __m128i gbl = _mm_load_si128((const __m128i *)wbl), gbr = _mm_load_si128((const __m128i *)wbr);
            const __m256d l = _mm256_sub_pd(x, fx), t = _mm256_sub_pd(y, fy);
            const __m256d l1 = _mm256_sub_pd(one, l), t1 = _mm256_sub_pd(one, t);
            __m128i ch[3];
            for (int k = 0; k < 3; ++k) {
                const int sh = 8 * k;
                const __m256d tl = _mm256_cvtepi32_pd(_mm_and_si128(_mm_srli_epi32(gtl, sh), ff));
                const __m256d tr = _mm256_cvtepi32_pd(_mm_and_si128(_mm_srli_epi32(gtr, sh), ff));
                const __m256d bl = _mm256_cvtepi32_pd(_mm_and_si128(_mm_srli_epi32(gbl, sh), ff));
                const __m256d br = _mm256_cvtepi32_pd(_mm_and_si128(_mm_srli_epi32(gbr, sh), ff));
                const __m256d a = _mm256_add_pd(_mm256_mul_pd(tl, l1), _mm256_mul_pd(tr, l));
                const __m256d b = _mm256_add_pd(_mm256_mul_pd(bl, l1), _mm256_mul_pd(br, l));
                const __m256d s = _mm256_add_pd(_mm256_mul_pd(a, t1), _mm256_mul_pd(b, t));
                ch[k] = _mm_and_si128(_mm256_cvttpd_epi32(s), oki);
            }
            const __m128i lo = rgb ? ch[2] : ch[0], hi = rgb ? ch[0] : ch[2];
            const __m128i w = _mm_or_si128(_mm_or_si128(lo, _mm_slli_epi32(ch[1], 8)), _mm_slli_epi32(hi, 16));
            const __m128i pk = _mm_shuffle_epi8(w, pack);
            _mm_storel_epi64((__m128i *)(o + 3 * c), pk);
            const int last = _mm_extract_epi32(pk, 2);
            memcpy(o + 3 * c + 8, &last, 4);
        }
        for (; c < cols; ++c) {
            const double cc = (double)c, rr = (double)r;
            double px, py;
#if defined(__FMA__) && defined(__clang__)
            px = std::fma(M(0, 1), rr, M(0, 0) * cc) + B.x(); py = std::fma(M(1, 1), rr, M(1, 0) * cc) + B.y();
#elif defined(__FMA__)
            px = std::fma(M(0, 0), cc, M(0, 1) * rr) + B.x(); py = std::fma(M(1, 0), cc, M(1, 1) * rr) + B.y();
#else
            { const double a0 = M(0, 0) * cc, a1 = M(0, 1) * rr; px = a0 + a1 + B.x(); }
            { const double a0 = M(1, 0) * cc, a1 = M(1, 1) * rr; py = a0 + a1 + B.y(); }
#endif
            const long left = (long)std::floor(px), top = (long)std::floor(py);
            uint8_t *q = o + 3 * c;
            if (!(left >= 0 && top >= 0 && left + 1 < src.nc && top + 1 < src.nr)) { q[0] = q[1] = q[2] = 0; continue; }
            const uint8_t *q0 = base + (size_t)top * src.step + (size_t)left * 3, *q1 = q0 + src.step;
            blend_px(q0, q0 + 3, q1, q1 + 3, px - left, py - top, q, rgb);
        }
    }
}

// Core: returns false when the reference would take dlib's basic (no scaling) copy path or something unexpected
// (caller then uses dlib). Writes rows x cols x 3 bytes (BGR, or RGB when rgb=true) at out/ostep.
static bool extract_chip(const cv::Mat &bgr, const dlib::chip_details &loc, uint8_t *out, size_t ostep, bool rgb,
                         Workspace &ws) {
    using namespace dlib;
    if (bgr.type() != CV_8UC3 || loc.size() == 0 || loc.rect.is_empty()) return false;
    if (loc.angle == 0 && loc.rows == loc.rect.height() && loc.cols == loc.rect.width()) return false;
    const rectangle img_rect(0, 0, bgr.cols - 1, bgr.rows - 1);
    // --- geometry: verbatim from dlib::extract_image_chips (one chip) ---
    pyramid_down<2> pyr;
    long depth = 0;
    double grow = 2;
    drectangle rect = pyr.rect_down(loc.rect);
    while (rect.area() > loc.size()) {
        rect = pyr.rect_down(rect);
        ++depth;
        grow = grow * 2 + 2;
    }
    drectangle rot_rect;
    const vector<double, 2> cent = center(loc.rect);
    rot_rect += rotate_point<double>(cent, loc.rect.tl_corner(), loc.angle);
    rot_rect += rotate_point<double>(cent, loc.rect.tr_corner(), loc.angle);
    rot_rect += rotate_point<double>(cent, loc.rect.bl_corner(), loc.angle);
    rot_rect += rotate_point<double>(cent, loc.rect.br_corner(), loc.angle);
    rectangle bounding_box;
    bounding_box += grow_rect(rot_rect, grow).intersect(img_rect);
    int level = -1;
    drectangle lrect = translate_rect(loc.rect, -bounding_box.tl_corner());
    while (pyr.rect_down(lrect).area() > loc.size()) {
        ++level;
        lrect = pyr.rect_down(lrect);
    }
    if (level >= depth) return false;  // dlib would index past its pyramid; never seen, leave it to dlib
    std::vector<vector<double, 2>> from, to;
    const rectangle chip_rect(0, 0, (long)loc.cols - 1, (long)loc.rows - 1);
    from.push_back(chip_rect.tl_corner()); to.push_back(rotate_point<double>(center(lrect), lrect.tl_corner(), loc.angle));
    from.push_back(chip_rect.tr_corner()); to.push_back(rotate_point<double>(center(lrect), lrect.tr_corner(), loc.angle));
    from.push_back(chip_rect.bl_corner()); to.push_back(rotate_point<double>(center(lrect), lrect.bl_corner(), loc.angle));
    const point_transform_affine trns = find_affine_transform(from, to);
    // --- pixels ---
    View src{nullptr, 0, 0, 0};
    if (!bounding_box.is_empty())
        src = View{bgr.ptr<uint8_t>((int)bounding_box.top()) + bounding_box.left() * 3, (long)bounding_box.height(),
                   (long)bounding_box.width(), bgr.step[0]};
    size_t avail = src.nr ? (size_t)(bgr.dataend - src.p) : 0;  // readable bytes from src.p
    for (int i = 0; i <= level; ++i) {
        src = pyramid_down2(src, ws.level[i & 1], ws);
        avail = src.nr ? ws.level[i & 1].size() : 0;
        if (src.nr == 0) break;  // dlib: level cleared when <= 8 rows/cols; every later sample is background
    }
    sample_chip(src, avail, trns, (long)loc.rows, (long)loc.cols, out, ostep, rgb);
    return true;
}

// One-time self-test: the fast path is used only if it reproduces dlib's call byte-for-byte in *this* build
// (compiler + flags decide dlib's own FMA contraction; see coord4). Synthetic noise image, 24 random chips
// covering depth 0..2 pyramids (48 chips), rotation, non-square chips and rects cut by the border, on flat tiles and noise. ~20 ms once.
inline bool fast_path_verified() {
    static const bool ok = [] {
        cv::Mat img(480, 640, CV_8UC3);
        uint32_t st = 2463534242u;
        // left half: flat 12x12 tiles (blends land exactly on integers there, where truncation is most sensitive to
        // rounding/FMA differences); right half: per-byte noise
        for (int r = 0; r < img.rows; ++r)
            for (int c = 0; c < img.cols * 3; ++c) {
                st ^= st << 13; st ^= st >> 17; st ^= st << 5;
                img.at<uint8_t>(r, c) = c < img.cols * 3 / 2 ? (uint8_t)(((r / 12) * 131 + (c / 36) * 71 + (c % 3) * 53) * 2654435761u >> 24)
                                                             : (uint8_t)st;
            }
        Workspace ws;
        for (int k = 0; k < 48; ++k) {
            st ^= st << 13; st ^= st >> 17; st ^= st << 5;
            const long w = 40 + (long)(st % 600), x = (long)(st >> 8) % 500 - 100, y = (long)(st >> 16) % 400 - 100;
            const unsigned long sz = (k % 3 == 0) ? 150 : (k % 3 == 1) ? 96 : 64;
            const dlib::chip_details cd(dlib::rectangle(x, y, x + w - 1, y + w - 1), dlib::chip_dims(sz, k % 5 ? sz : sz / 2),
                                        (k % 4) ? ((double)(st % 1000) / 1000.0 - 0.5) : 0.0);
            dlib::matrix<dlib::bgr_pixel> ref;
            dlib::extract_image_chip(dlib::cv_image<dlib::bgr_pixel>(img), cd, ref);
            cv::Mat mine((int)cd.rows, (int)cd.cols, CV_8UC3);
            if (extract_chip(img, cd, mine.data, mine.step[0], false, ws) &&
                std::memcmp(&ref(0, 0), mine.data, cd.rows * cd.cols * 3) != 0)
                return false;
        }
        return true;
    }();
    return ok;
}

// Drop-in wrappers. Same results as dlib::extract_image_chip(dlib::cv_image<bgr_pixel>(bgr), loc, chip).
inline void extract_image_chip_fast(const cv::Mat &bgr, const dlib::chip_details &loc,
                                    dlib::matrix<dlib::rgb_pixel> &chip, Workspace &ws) {
    chip.set_size((long)loc.rows, (long)loc.cols);
    if (!fast_path_verified() || !extract_chip(bgr, loc, (uint8_t *)&chip(0, 0), (size_t)loc.cols * 3, true, ws))
        dlib::extract_image_chip(dlib::cv_image<dlib::bgr_pixel>(bgr), loc, chip);
}
inline void extract_image_chip_fast(const cv::Mat &bgr, const dlib::chip_details &loc, cv::Mat &chip, Workspace &ws) {
    chip.create((int)loc.rows, (int)loc.cols, CV_8UC3);
    if (!fast_path_verified() || !extract_chip(bgr, loc, chip.data, chip.step[0], false, ws)) {
        dlib::matrix<dlib::bgr_pixel> m;
        dlib::extract_image_chip(dlib::cv_image<dlib::bgr_pixel>(bgr), loc, m);
        dlib::toMat(m).copyTo(chip);
    }
}

#else   // no AVX2 in this build (FACEGATE_PORTABLE=1): same API, dlib's own code
struct Workspace {};
inline bool fast_path_verified() { return false; }
inline void extract_image_chip_fast(const cv::Mat &bgr, const dlib::chip_details &loc,
                                    dlib::matrix<dlib::rgb_pixel> &chip, Workspace &) {
    dlib::extract_image_chip(dlib::cv_image<dlib::bgr_pixel>(bgr), loc, chip);
}
inline void extract_image_chip_fast(const cv::Mat &bgr, const dlib::chip_details &loc, cv::Mat &chip, Workspace &) {
    dlib::matrix<dlib::bgr_pixel> m;
    dlib::extract_image_chip(dlib::cv_image<dlib::bgr_pixel>(bgr), loc, m);
    dlib::toMat(m).copyTo(chip);
}
#endif

}  // namespace fgchip
