// dlib's frontal HOG face detector, evaluated with reused buffers and tighter loops: same image pyramid, same fHOG
// features, same separable filter bank, same detections and scores, bit for bit (HOGDetectorTests compares it
// with dlib's own object_detector call on fixture frames).
//
// Where the time goes in dlib's call (320x240, perf): ~60 % in float_spatially_filter_image_separable (305 separable
// filter terms x 8 pyramid levels; at these plane widths a large share of each row falls into dlib's scalar tail
// loop), ~30 % in extract_fhog_features (per-pixel gathers into SIMD registers, a 9-step orientation search, the
// bilinear scatter into 18-bin histograms), ~5 % in the pyramid resize, the rest allocation and zeroing.
//
// How results stay identical: every value is computed with the same float operations in the same order as dlib's
// code compiled in this shim. dlib's SIMD loops use separate multiply and add intrinsics (no fusing); its scalar
// tail loops (`temp += p*f`) are contracted into fused multiply-adds by clang when built with -mfma. The filter
// below reproduces both: columns that dlib computes in its 8-wide loop use mul+add with dlib's three accumulators,
// the remaining columns of a row use one fused chain, vectorised across those columns. The fHOG histogram step
// reuses dlib's own SIMD types and expressions; only memory access changes (direct byte loads instead of per-pixel
// image views, flat histogram and plane buffers) and the orientation search is read from a table of its own answers.
// The pyramid repeats dlib's bilinear resize lane for lane, 8 pixels at a time, with its row-invariant column terms
// computed once and the source pixels picked by byte shuffles instead of per-pixel gathers. Any configuration this file does not handle (cell size other than
// 8, filters not 10x10, images smaller than one cell block) goes to dlib's own call, and so does every call in a
// build without AVX2 + FMA (FACEGATE_PORTABLE=1 or an older CPU): the fast path is written for, and its bit-identity
// depends on, the fused multiply-adds of that instruction set.
#include "internal.hpp"
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv/cv_image.h>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#define FG_HOG_FAST 1
#include <immintrin.h>
#else
#define FG_HOG_FAST 0
#endif

#if FG_HOG_FAST
namespace {

using scanner_type = dlib::scan_fhog_pyramid<dlib::pyramid_down<6>>;
constexpr int kPlanes = 31;
constexpr int kCell = 8;
constexpr int kTaps = 10;  // filter width and height of the frontal detector (80x80 window, 8 px cells)

// A float buffer that keeps its capacity between calls, 32-byte aligned, zero-filled when it grows.
struct FloatBuffer {
    std::unique_ptr<float[], void (*)(void *)> data{nullptr, std::free};
    size_t capacity = 0;
    float *reserve(size_t n) {
        if (n > capacity) {
            size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
            data.reset((float *)std::aligned_alloc(64, bytes));
            if (!data) throw std::bad_alloc();
            std::memset(data.get(), 0, bytes);
            capacity = bytes / sizeof(float);
        }
        return data.get();
    }
};

// The 31 fHOG planes of one pyramid level, each pnr x pnc, rows `stride` floats apart (stride leaves room for
// 8-wide loads and stores past the last column).
struct FhogLevel {
    long pnr = 0, pnc = 0, stride = 0;
    long feature_top = 0, feature_bottom = 0;  // rows holding features; the rest is zero padding
    FloatBuffer buf;
    float *plane(int i) { return buf.data.get() + (size_t)i * pnr * stride; }
    bool empty() const { return pnr == 0 || pnc == 0; }
};

struct SeparableTerm {
    int plane;
    float row[kTaps], col[kTaps];
};

struct Filterbank {
    std::vector<SeparableTerm> terms;  // dlib's order: plane by plane, term by term
    double thresh = 0;                 // the detector's bias (detection when saliency >= thresh + adjust)
};

// ---------------------------------------------------------------------------------------------------------------
// fHOG features (cell size 8), dlib's impl_extract_fhog_features.

// The unit vectors dlib snaps gradients to (fhog.h).
static void fhog_directions(dlib::matrix<float, 2, 1> (&directions)[9]) {
    directions[0] = 1.0000, 0.0000;
    directions[1] = 0.9397, 0.3420;
    directions[2] = 0.7660, 0.6428;
    directions[3] = 0.500, 0.8660;
    directions[4] = 0.1736, 0.9848;
    directions[5] = -0.1736, 0.9848;
    directions[6] = -0.5000, 0.8660;
    directions[7] = -0.7660, 0.6428;
    directions[8] = -0.9397, 0.3420;
}

// Gradients of 8-bit images are integer pairs in [-255, 255]^2, and dlib's 8-wide orientation search (9 directions,
// both signs, first best wins) is a pure function of the pair. This table holds its answer for every pair, computed
// once with dlib's own SIMD expressions, so the per-pixel search becomes one byte load. Index: (gy+255)*511 + gx+255.
constexpr int kGradRange = 511;
static const uint8_t *orientation_table() {
    static const std::vector<uint8_t> table = [] {
        using dlib::simd8f;
        using dlib::simd8f_bool;
        using dlib::simd8i;
        dlib::matrix<float, 2, 1> directions[9];
        fhog_directions(directions);
        std::vector<uint8_t> t((size_t)kGradRange * kGradRange + 8);
        for (int gy = -255; gy <= 255; gy++) {
            for (int gx0 = -255; gx0 <= 255; gx0 += 8) {
                simd8f grad_x, grad_y;
                grad_x = simd8i(gx0, gx0 + 1, gx0 + 2, gx0 + 3, gx0 + 4, gx0 + 5, gx0 + 6, gx0 + 7);
                grad_y = simd8i(gy);
                simd8f best_dot = 0;
                simd8f best_o = 0;
                for (int o = 0; o < 9; o++) {
                    simd8f dot = grad_x * directions[o](0) + grad_y * directions[o](1);
                    simd8f_bool cmp = dot > best_dot;
                    best_dot = select(cmp, dot, best_dot);
                    dot *= -1;
                    best_o = select(cmp, o, best_o);

                    cmp = dot > best_dot;
                    best_dot = select(cmp, dot, best_dot);
                    best_o = select(cmp, o + 9, best_o);
                }
                int32_t o8[8];
                simd8i(best_o).store(o8);
                for (int k = 0; k < 8 && gx0 + k <= 255; k++) t[(size_t)(gy + 255) * kGradRange + gx0 + k + 255] = (uint8_t)o8[k];
            }
        }
        return t;
    }();
    return table.data();
}

void extract_fhog(const uint8_t *img, long img_nr, long img_nc, long step, int filter_rows_padding,
                  int filter_cols_padding, FhogLevel &out, FloatBuffer &hist_buf, FloatBuffer &norm_buf) {
    using dlib::simd4f;
    using dlib::simd8f;
    using dlib::simd8f_bool;
    using dlib::simd8i;
    const int cell_size = kCell;
    dlib::matrix<float, 2, 1> directions[9];
    fhog_directions(directions);
    const uint8_t *orientations = orientation_table();

    const int cells_nr = (int)((float)img_nr / (float)cell_size + 0.5);
    const int cells_nc = (int)((float)img_nc / (float)cell_size + 0.5);
    const int hog_nr = std::max(cells_nr - 2, 0);
    const int hog_nc = std::max(cells_nc - 2, 0);
    if (cells_nr == 0 || cells_nc == 0 || hog_nr == 0 || hog_nc == 0) {
        out.pnr = out.pnc = 0;
        return;
    }
    const long hc = cells_nc + 2;
    float *hist = hist_buf.reserve((size_t)(cells_nr + 2) * hc * 18);
    std::memset(hist, 0, sizeof(float) * (size_t)(cells_nr + 2) * hc * 18);
    float *norm = norm_buf.reserve((size_t)cells_nr * cells_nc);
    std::memset(norm, 0, sizeof(float) * (size_t)cells_nr * cells_nc);
#define FG_HIST(r, c) (hist + ((size_t)(r) * hc + (c)) * 18)

    const int padding_rows_offset = (filter_rows_padding - 1) / 2;
    const int padding_cols_offset = (filter_cols_padding - 1) / 2;
    out.pnr = hog_nr + filter_rows_padding - 1;
    out.pnc = hog_nc + filter_cols_padding - 1;
    out.stride = ((out.pnc + 16 + 7) / 8) * 8;
    out.feature_top = padding_rows_offset;
    out.feature_bottom = padding_rows_offset + hog_nr;
    out.buf.reserve((size_t)kPlanes * out.pnr * out.stride + 16);

    const int visible_nr = std::min((long)cells_nr * cell_size, img_nr) - 1;
    const int visible_nc = std::min((long)cells_nc * cell_size, img_nc) - 1;

    for (int y = 1; y < visible_nr; y++) {
        const float yp = ((float)y + 0.5) / (float)cell_size - 0.5;
        const int iyp = (int)std::floor(yp);
        const float vy0 = yp - iyp;
        const float vy1 = 1.0 - vy0;
        const uint8_t *row = img + y * step, *above = row - step, *below = row + step;
        int x;
        for (x = 1; x < visible_nc - 7; x += 8) {
            simd8f xx(x, x + 1, x + 2, x + 3, x + 4, x + 5, x + 6, x + 7);
            // dlib's get_gradient: the same integer differences, loaded 8 bytes at a time.
            auto load8 = [](const uint8_t *p) {
                return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p));
            };
            simd8i left(load8(row + x - 1)), right(load8(row + x + 1));
            simd8i top(load8(above + x)), bottom(load8(below + x));
            const simd8i gx = right - left, gy = bottom - top;
            simd8f grad_x, grad_y, v;
            grad_x = gx;
            grad_y = gy;
            v = (grad_x * grad_x + grad_y * grad_y);

            simd8f xp = (xx + 0.5) / (float)cell_size + 0.5;
            simd8i ixp = simd8i(xp);
            simd8f vx0 = xp - ixp;
            simd8f vx1 = 1.0f - vx0;

            v = sqrt(v);

            // dlib's orientation search, answered by the table.
            int32_t _lut[8];
            (simd8i(_mm256_mullo_epi32(gy + 255, _mm256_set1_epi32(kGradRange))) + (gx + 255)).store(_lut);

            vx1 *= v;
            vx0 *= v;
            simd8f v11 = vy1 * vx1;
            simd8f v01 = vy0 * vx1;
            simd8f v10 = vy1 * vx0;
            simd8f v00 = vy0 * vx0;

            int32_t _ixp[8];
            ixp.store(_ixp);
            float _v11[8], _v01[8], _v10[8], _v00[8];
            v11.store(_v11);
            v01.store(_v01);
            v10.store(_v10);
            v00.store(_v00);
            float *h0 = FG_HIST(iyp + 1, 0), *h1 = FG_HIST(iyp + 2, 0);
            for (int k = 0; k < 8; k++) {
                const size_t a = (size_t)_ixp[k] * 18 + orientations[_lut[k]], b = a + 18;
                h0[a] += _v11[k];
                h1[a] += _v01[k];
                h0[b] += _v10[k];
                h1[b] += _v00[k];
            }
        }
        // The right columns that do not fill a SIMD register: dlib's scalar code, same expressions.
        for (; x < visible_nc; x++) {
            dlib::matrix<float, 2, 1> grad;
            float v;
            grad(0) = (int)row[x + 1] - (int)row[x - 1];
            grad(1) = (int)below[x] - (int)above[x];
            v = dlib::length_squared(grad);

            float best_dot = 0;
            int best_o = 0;
            for (int o = 0; o < 9; o++) {
                const float dot = dlib::dot(directions[o], grad);
                if (dot > best_dot) {
                    best_dot = dot;
                    best_o = o;
                } else if (-dot > best_dot) {
                    best_dot = -dot;
                    best_o = o + 9;
                }
            }

            v = std::sqrt(v);
            const float xp = ((double)x + 0.5) / (double)cell_size - 0.5;
            const int ixp = (int)std::floor(xp);
            const float vx0 = xp - ixp;
            const float vx1 = 1.0 - vx0;

            FG_HIST(iyp + 1, ixp + 1)[best_o] += vy1 * vx1 * v;
            FG_HIST(iyp + 1 + 1, ixp + 1)[best_o] += vy0 * vx1 * v;
            FG_HIST(iyp + 1, ixp + 1 + 1)[best_o] += vy1 * vx0 * v;
            FG_HIST(iyp + 1 + 1, ixp + 1 + 1)[best_o] += vy0 * vx0 * v;
        }
    }

    // Energy of each cell summed over orientations.
    for (int r = 0; r < cells_nr; ++r) {
        for (int c = 0; c < cells_nc; ++c) {
            const float *h = FG_HIST(r + 1, c + 1);
            float &n = norm[r * cells_nc + c];
            for (int o = 0; o < 9; o++) {
                n += (h[o] + h[o + 9]) * (h[o] + h[o + 9]);
            }
        }
    }

    // Zero the padding border of every plane (dlib's init_hog), then write the features.
    const long pnr = out.pnr, pnc = out.pnc, stride = out.stride;
    for (int i = 0; i < kPlanes; i++) {
        float *p = out.plane(i);
        for (long r = 0; r < pnr; r++) {
            float *pr = p + r * stride;
            if (r < padding_rows_offset || r >= padding_rows_offset + hog_nr) {
                std::memset(pr, 0, sizeof(float) * pnc);
            } else {
                std::memset(pr, 0, sizeof(float) * padding_cols_offset);
                std::memset(pr + padding_cols_offset + hog_nc, 0, sizeof(float) * (pnc - padding_cols_offset - hog_nc));
            }
        }
    }
    float *planes[kPlanes];
    for (int i = 0; i < kPlanes; i++) planes[i] = out.plane(i);
#define FG_NORM(r, c) norm[(r) * cells_nc + (c)]

    const float eps = 0.0001;
    for (int y = 0; y < hog_nr; y++) {
        const int yy = y + padding_rows_offset;
        for (int x = 0; x < hog_nc; x++) {
            const simd4f z1(FG_NORM(y + 1, x + 1), FG_NORM(y, x + 1), FG_NORM(y + 1, x), FG_NORM(y, x));
            const simd4f z2(FG_NORM(y + 1, x + 2), FG_NORM(y, x + 2), FG_NORM(y + 1, x + 1), FG_NORM(y, x + 1));
            const simd4f z3(FG_NORM(y + 2, x + 1), FG_NORM(y + 1, x + 1), FG_NORM(y + 2, x), FG_NORM(y + 1, x));
            const simd4f z4(FG_NORM(y + 2, x + 2), FG_NORM(y + 1, x + 2), FG_NORM(y + 2, x + 1), FG_NORM(y + 1, x + 1));

            const simd4f nn = 0.2 * sqrt(z1 + z2 + z3 + z4 + eps);
            const simd4f n = 0.1 / nn;

            simd4f t = 0;
            const size_t at = (size_t)yy * stride + x + padding_cols_offset;
            const float *h = FG_HIST(y + 1 + 1, x + 1 + 1);

            // contrast-sensitive features
            for (int o = 0; o < 18; o += 3) {
                simd4f temp0(h[o]);
                simd4f temp1(h[o + 1]);
                simd4f temp2(h[o + 2]);
                simd4f h0 = min(temp0, nn) * n;
                simd4f h1 = min(temp1, nn) * n;
                simd4f h2 = min(temp2, nn) * n;
                planes[o][at] = sum(h0);
                planes[o + 1][at] = sum(h1);
                planes[o + 2][at] = sum(h2);
                t += h0 + h1 + h2;
            }

            t *= 2 * 0.2357;

            // contrast-insensitive features
            for (int o = 0; o < 9; o += 3) {
                simd4f temp0 = h[o] + h[o + 9];
                simd4f temp1 = h[o + 1] + h[o + 9 + 1];
                simd4f temp2 = h[o + 2] + h[o + 9 + 2];
                simd4f h0 = min(temp0, nn) * n;
                simd4f h1 = min(temp1, nn) * n;
                simd4f h2 = min(temp2, nn) * n;
                planes[o + 18][at] = sum(h0);
                planes[o + 18 + 1][at] = sum(h1);
                planes[o + 18 + 2][at] = sum(h2);
            }

            float temp[4];
            t.store(temp);
            // texture features
            planes[27][at] = temp[0];
            planes[28][at] = temp[1];
            planes[29][at] = temp[2];
            planes[30][at] = temp[3];
        }
    }
#undef FG_NORM
#undef FG_HIST
}

// ---------------------------------------------------------------------------------------------------------------
// Image pyramid: dlib's pyramid_down<6> (resize_image with interpolate_bilinear, grayscale 8-bit path).

struct ByteImage {
    std::vector<uint8_t> data;
    long nr = 0, nc = 0, stride = 0;
    const uint8_t *row(long r) const { return data.data() + r * stride; }
};

// Column terms of dlib's 4-wide loop, identical for every row: the loop restarts its x accumulator on each row.
struct ResizeColumns {
    std::vector<int32_t> left;
    std::vector<float> lr, inv_lr;
    // Per 8-column block starting at a multiple of 8: byte shuffles picking the left and right source pixels from 16
    // bytes loaded at left[c], or none (-1 in shuffle_ok) when they do not fit.
    std::vector<__m128i> shuffle_left, shuffle_right;
    std::vector<int8_t> shuffle_ok;
    long simd_end = 0;  // dlib's 4-wide loop covers columns [0, simd_end); its scalar loop the rest
    long in_nc = -1, out_nc = -1;
};

void resize_columns(long in_nc, long out_nc, double x_scale, ResizeColumns &cols) {
    using dlib::simd4f;
    using dlib::simd4i;
    if (cols.in_nc == in_nc && cols.out_nc == out_nc) return;
    cols.left.assign(out_nc + 8, 0);
    cols.lr.assign(out_nc + 8, 0.f);
    cols.inv_lr.assign(out_nc + 8, 0.f);
    double x = -4 * x_scale;
    const simd4f _x_scale = 4 * x_scale;
    simd4f _x(x, x + x_scale, x + 2 * x_scale, x + 3 * x_scale);
    long c = 0;
    for (;; c += 4) {
        _x += _x_scale;
        simd4i left = simd4i(_x);
        simd4f _lr_frac = _x - left;
        simd4f _inv_lr_frac = 1 - _lr_frac;
        simd4i right = left + 1;
        int32_t fleft[4], fright[4];
        float flr[4], finv[4];
        left.store(fleft);
        right.store(fright);
        if (fright[3] >= in_nc) break;
        _lr_frac.store(flr);
        _inv_lr_frac.store(finv);
        for (int k = 0; k < 4; k++) { cols.left[c + k] = fleft[k]; cols.lr[c + k] = flr[k]; cols.inv_lr[c + k] = finv[k]; }
    }
    // Entries past the loop's end repeat its last column, so an 8-wide block that ends early reads valid pixels.
    for (long k = c; k < out_nc + 8; k++) {
        cols.left[k] = c > 0 ? cols.left[c - 1] : 0;
        cols.lr[k] = 0.f;
        cols.inv_lr[k] = 1.f;
    }
    cols.simd_end = c;
    const long blocks = (c + 7) / 8;
    cols.shuffle_left.assign(blocks, _mm_setzero_si128());
    cols.shuffle_right.assign(blocks, _mm_setzero_si128());
    cols.shuffle_ok.assign(blocks, 0);
    for (long b = 0; b < blocks; b++) {
        const int32_t *left = &cols.left[b * 8];
        const int32_t base = left[0];
        if (!(left[7] + 1 - base < 16 && left[7] >= base && base + 16 <= in_nc)) continue;
        alignas(16) int8_t sl[16], sr[16];
        for (int k = 0; k < 8; k++) { sl[k] = (int8_t)(left[k] - base); sr[k] = (int8_t)(left[k] + 1 - base); }
        for (int k = 8; k < 16; k++) sl[k] = sr[k] = (int8_t)0x80;
        cols.shuffle_left[b] = _mm_load_si128((const __m128i *)sl);
        cols.shuffle_right[b] = _mm_load_si128((const __m128i *)sr);
        cols.shuffle_ok[b] = 1;
    }
    cols.in_nc = in_nc;
    cols.out_nc = out_nc;
}

// 8 output pixels of dlib's 4-wide loop: the same products and sums per lane; the 8-bit loads come from one 16-byte
// load and a shuffle when the 8 source columns fit in it.
static inline void resize_block8(const uint8_t *top, const uint8_t *bottom, const ResizeColumns &cols, long c,
                                 __m256 tb, __m256 inv_tb, uint8_t *out, int count) {
    __m256 tl, tr, bl, br;
    const int32_t *left = &cols.left[c];
    const float *lr = &cols.lr[c], *inv_lr = &cols.inv_lr[c];
    const int32_t base = left[0];
    if (cols.shuffle_ok[c / 8]) {
        const __m128i ml = cols.shuffle_left[c / 8], mr = cols.shuffle_right[c / 8];
        const __m128i t = _mm_loadu_si128((const __m128i *)(top + base)), b = _mm_loadu_si128((const __m128i *)(bottom + base));
        tl = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_shuffle_epi8(t, ml)));
        tr = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_shuffle_epi8(t, mr)));
        bl = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_shuffle_epi8(b, ml)));
        br = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_shuffle_epi8(b, mr)));
    } else {
        alignas(32) float a[4][8];
        for (int k = 0; k < 8; k++) {
            a[0][k] = top[left[k]]; a[1][k] = top[left[k] + 1]; a[2][k] = bottom[left[k]]; a[3][k] = bottom[left[k] + 1];
        }
        tl = _mm256_load_ps(a[0]); tr = _mm256_load_ps(a[1]); bl = _mm256_load_ps(a[2]); br = _mm256_load_ps(a[3]);
    }
    const __m256 vlr = _mm256_loadu_ps(lr), vinv = _mm256_loadu_ps(inv_lr);
    const __m256 tlf = _mm256_mul_ps(inv_tb, vinv), trf = _mm256_mul_ps(inv_tb, vlr);
    const __m256 blf = _mm256_mul_ps(tb, vinv), brf = _mm256_mul_ps(tb, vlr);
    __m256 v = _mm256_add_ps(_mm256_mul_ps(tlf, tl), _mm256_mul_ps(trf, tr));
    v = _mm256_add_ps(v, _mm256_mul_ps(blf, bl));
    v = _mm256_add_ps(v, _mm256_mul_ps(brf, br));
    // static_cast<unsigned char>(value + 0.5): the sum is taken in double, then truncated.
    const __m256d half = _mm256_set1_pd(0.5);
    const __m128i lo = _mm256_cvttpd_epi32(_mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), half));
    const __m128i hi = _mm256_cvttpd_epi32(_mm256_add_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), half));
    const __m128i w = _mm_packs_epi32(lo, hi);
    const __m128i bytes = _mm_packus_epi16(w, w);
    alignas(16) uint8_t o[16];
    _mm_store_si128((__m128i *)o, bytes);
    std::memcpy(out, o, count);
}

void pyramid_down6(const uint8_t *in, long nr, long nc, long step, ByteImage &out, ResizeColumns &cols) {
    const unsigned N = 6;
    out.nr = ((N - 1) * nr) / N + 0.5;
    out.nc = ((N - 1) * nc) / N + 0.5;
    out.stride = ((out.nc + 16 + 15) / 16) * 16;
    if (out.data.size() < (size_t)(out.nr * out.stride)) out.data.resize(out.nr * out.stride);
    if (out.nr == 0 || out.nc == 0 || nr == 0 || nc == 0) return;
    const double x_scale = (nc - 1) / (double)std::max<long>((out.nc - 1), 1);
    const double y_scale = (nr - 1) / (double)std::max<long>((out.nr - 1), 1);
    resize_columns(nc, out.nc, x_scale, cols);
    double y = -y_scale;
    for (long r = 0; r < out.nr; ++r) {
        y += y_scale;
        const long top = static_cast<long>(std::floor(y));
        const long bottom = std::min(top + 1, nr - 1);
        const double tb_frac = y - top;
        const __m256 tb = _mm256_set1_ps((float)tb_frac), inv_tb = _mm256_set1_ps((float)(1 - tb_frac));
        const uint8_t *trow = in + top * step, *brow = in + bottom * step;
        uint8_t *orow = out.data.data() + r * out.stride;
        long c = 0;
        for (; c < cols.simd_end; c += 8) {
            resize_block8(trow, brow, cols, c, tb, inv_tb, orow + c, (int)std::min<long>(8, cols.simd_end - c));
        }
        c = cols.simd_end;
        // dlib's scalar loop, same expressions.
        double x = -x_scale + c * x_scale;
        for (; c < out.nc; ++c) {
            x += x_scale;
            const long left = static_cast<long>(std::floor(x));
            const long right = std::min(left + 1, nc - 1);
            const float lr_frac = x - left;
            float tl = 0, tr = 0, bl = 0, br = 0;
            dlib::assign_pixel(tl, trow[left]);
            dlib::assign_pixel(tr, trow[right]);
            dlib::assign_pixel(bl, brow[left]);
            dlib::assign_pixel(br, brow[right]);
            float temp = (1 - tb_frac) * ((1 - lr_frac) * tl + lr_frac * tr) + tb_frac * ((1 - lr_frac) * bl + lr_frac * br);
            dlib::assign_pixel(orow[c], temp);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Separable filtering, dlib's float_spatially_filter_image_separable for 10-tap filters.

// dlib's SIMD order for one 8-wide block: three accumulators over taps (0,3,6,9), (1,4,7), (2,5,8), then
// t1 + (t2 + t3); separate multiply and add.
static inline __m256 taps_simd(const float *p, long step, const __m256 *f) {
    __m256 t1 = _mm256_setzero_ps(), t2 = _mm256_setzero_ps(), t3 = _mm256_setzero_ps();
    for (int n = 0; n < kTaps - 2; n += 3) {
        t1 = _mm256_add_ps(t1, _mm256_mul_ps(_mm256_loadu_ps(p + n * step), f[n]));
        t2 = _mm256_add_ps(t2, _mm256_mul_ps(_mm256_loadu_ps(p + (n + 1) * step), f[n + 1]));
        t3 = _mm256_add_ps(t3, _mm256_mul_ps(_mm256_loadu_ps(p + (n + 2) * step), f[n + 2]));
    }
    for (int n = (kTaps - 2 + 2) / 3 * 3; n < kTaps; n++) t1 = _mm256_add_ps(t1, _mm256_mul_ps(_mm256_loadu_ps(p + n * step), f[n]));
    return _mm256_add_ps(t1, _mm256_add_ps(t2, t3));
}

// dlib's scalar tail order (`temp += p*f`, contracted to a fused multiply-add): one chain over the taps, for up to 8
// columns at once.
static inline __m256 taps_tail(const float *p, long step, const __m256 *f) {
    __m256 t = _mm256_setzero_ps();
    for (int n = 0; n < kTaps; n++) t = _mm256_fmadd_ps(_mm256_loadu_ps(p + n * step), f[n], t);
    return t;
}

// Adds (or, for the first term, stores) one separable term into `sal`: rows fr..lr-1, columns fc..lc-1.
// Rows [zero_top, zero_bottom) hold features; the others are the planes' zero padding. A row filter over a zero row
// gives +0 in either summation order (+0 + -0 = +0), so those scratch rows are not computed: the caller clears them
// once per level.
void apply_term(const float *in, long nr, long nc, long stride, long zero_top, long zero_bottom, const SeparableTerm &term,
                float *scratch, float *sal, bool add_to) {
    const long first_row = kTaps / 2, first_col = kTaps / 2;
    const long last_row = nr - (kTaps - 1) / 2, last_col = nc - (kTaps - 1) / 2;
    if (last_col <= first_col || last_row <= first_row) return;
    __m256 rf[kTaps], cf[kTaps];
    for (int n = 0; n < kTaps; n++) { rf[n] = _mm256_set1_ps(term.row[n]); cf[n] = _mm256_set1_ps(term.col[n]); }
    // dlib's 8-wide loop runs while c < last_col - 7 from first_col; the rest of the row is its scalar tail.
    const long blocks = (last_col - first_col) / 8;
    const long tail_c = first_col + blocks * 8;
    const bool tail = tail_c < last_col;

    for (long r = 0; r < nr; r++) {
        const float *src = in + r * stride;
        float *dst = scratch + r * stride;
        if (r < zero_top || r >= zero_bottom) continue;  // cleared once per level by the caller
        for (long c = first_col; c < tail_c; c += 8) _mm256_storeu_ps(dst + c, taps_simd(src + c - first_col, 1, rf));
        if (tail) _mm256_storeu_ps(dst + tail_c, taps_tail(src + tail_c - first_col, 1, rf));
    }
    for (long r = first_row; r < last_row; r++) {
        const float *src = scratch + (r - first_row) * stride;
        float *dst = sal + r * stride;
        for (long c = first_col; c < tail_c; c += 8) {
            __m256 v = taps_simd(src + c, stride, cf);
            if (add_to) v = _mm256_add_ps(v, _mm256_loadu_ps(dst + c));
            _mm256_storeu_ps(dst + c, v);
        }
        if (tail) {
            __m256 v = taps_tail(src + tail_c, stride, cf);
            if (add_to) v = _mm256_add_ps(_mm256_loadu_ps(dst + tail_c), v);
            _mm256_storeu_ps(dst + tail_c, v);
        }
    }
}

}  // namespace
#else
namespace {
constexpr int kCell = 8;
}  // namespace
#endif  // FG_HOG_FAST

// ---------------------------------------------------------------------------------------------------------------

struct fg_hog {
    dlib::frontal_face_detector reference;
    bool use_reference = false;
#if FG_HOG_FAST
    std::vector<Filterbank> banks;
    dlib::test_box_overlap overlap;
    unsigned long min_layer_w = 0, min_layer_h = 0, max_levels = 0;
    int fh = 0, fw = 0, det_h = 0, det_w = 0;
    // Reused between calls.
    std::vector<FhogLevel> levels;
    ByteImage pyr_a, pyr_b;
    std::vector<ResizeColumns> columns;  // per pyramid level
    FloatBuffer hist, norm, scratch, saliency;
    std::vector<std::pair<double, dlib::rectangle>> dets;
    std::vector<dlib::rect_detection> accum;
#endif
};

fg_hog *fg_hog_create(bool reference) {
    auto h = std::make_unique<fg_hog>();
    h->reference = dlib::get_frontal_face_detector();
    h->use_reference = reference;
#if FG_HOG_FAST
    const scanner_type &sc = h->reference.get_scanner();
    h->overlap = h->reference.get_overlap_tester();
    h->min_layer_w = sc.get_min_pyramid_layer_width();
    h->min_layer_h = sc.get_min_pyramid_layer_height();
    h->max_levels = sc.get_max_pyramid_levels();
    h->fw = (int)sc.get_fhog_window_width();
    h->fh = (int)sc.get_fhog_window_height();
    h->det_w = h->fw - 2 * (int)sc.get_padding();
    h->det_h = h->fh - 2 * (int)sc.get_padding();
    bool supported = sc.get_cell_size() == kCell && h->fw == kTaps && h->fh == kTaps &&
                     sc.get_feature_extractor().get_num_planes() == kPlanes;
    for (unsigned long d = 0; supported && d < h->reference.num_detectors(); d++) {
        const auto &pw = h->reference.get_processed_w(d);
        const auto &fb = pw.get_detect_argument();
        Filterbank bank;
        bank.thresh = pw.w(sc.get_num_dimensions());
        // dlib switches to full 2-D filters when the separable ones would be slower; this file only does the
        // separable path.
        if (fb.num_separable_filters() > fb.filters.size() * std::min(fb.filters[0].nr(), fb.filters[0].nc()) / 3.0) supported = false;
        for (size_t i = 0; supported && i < fb.row_filters.size(); i++) {
            for (size_t j = 0; j < fb.row_filters[i].size(); j++) {
                if (fb.row_filters[i][j].size() != kTaps || fb.col_filters[i][j].size() != kTaps) { supported = false; break; }
                SeparableTerm t;
                t.plane = (int)i;
                for (int n = 0; n < kTaps; n++) { t.row[n] = fb.row_filters[i][j](n); t.col[n] = fb.col_filters[i][j](n); }
                bank.terms.push_back(t);
            }
        }
        h->banks.push_back(std::move(bank));
    }
    if (!supported) h->use_reference = true;
#else
    h->use_reference = true;
#endif
    return h.release();
}

void fg_hog_free(fg_hog *h) { delete h; }

namespace {

void detect_rects(fg_hog *h, const cv::Mat &gray, double adjust_threshold, std::vector<dlib::rect_detection> &final_dets) {
    final_dets.clear();
    CV_Assert(gray.type() == CV_8UC1);
    dlib::cv_image<unsigned char> cimg(gray);
    // Images smaller than a few cells take dlib's own path (its empty-feature handling), as does the reference.
    if (h->use_reference || gray.rows < 3 * kCell || gray.cols < 3 * kCell) {
        h->reference(cimg, final_dets, adjust_threshold);
        return;
    }
#if FG_HOG_FAST
    // Number of levels: as dlib's create_fhog_pyramid.
    dlib::pyramid_down<6> pyr;
    unsigned long nlevels = 0;
    dlib::rectangle rect = dlib::get_rect(cimg);
    do {
        rect = pyr.rect_down(rect);
        ++nlevels;
    } while (rect.width() >= h->min_layer_w && rect.height() >= h->min_layer_h && nlevels < h->max_levels);
    if (h->levels.size() < nlevels) h->levels.resize(nlevels);

    // Image pyramid (dlib's pyramid_down<6>, buffers reused) and fHOG per level.
    extract_fhog(gray.ptr<uint8_t>(0), gray.rows, gray.cols, (long)gray.step, h->fh, h->fw, h->levels[0], h->hist, h->norm);
    if (h->columns.size() < nlevels) h->columns.resize(nlevels);
    const ByteImage *prev = nullptr;
    for (unsigned long l = 1; l < nlevels; l++) {
        ByteImage &cur = (l % 2) ? h->pyr_a : h->pyr_b;
        if (l == 1) pyramid_down6(gray.ptr<uint8_t>(0), gray.rows, gray.cols, (long)gray.step, cur, h->columns[l]);
        else pyramid_down6(prev->data.data(), prev->nr, prev->nc, prev->stride, cur, h->columns[l]);
        extract_fhog(cur.data.data(), cur.nr, cur.nc, cur.stride, h->fh, h->fw, h->levels[l], h->hist, h->norm);
        prev = &cur;
    }

    // Filter bank per detector and level, then dlib's candidate scan, sort and non-max suppression.
    const auto &fe = h->reference.get_scanner().get_feature_extractor();
    h->accum.clear();
    for (size_t d = 0; d < h->banks.size(); d++) {
        const Filterbank &bank = h->banks[d];
        const double thresh = bank.thresh + adjust_threshold;
        auto &dets = h->dets;
        dets.clear();
        for (unsigned long l = 0; l < nlevels; l++) {
            FhogLevel &lv = h->levels[l];
            if (lv.empty() || bank.terms.empty()) continue;
            float *scratch = h->scratch.reserve((size_t)lv.pnr * lv.stride + 16);
            float *sal = h->saliency.reserve((size_t)lv.pnr * lv.stride + 16);
            for (long r = 0; r < lv.pnr; r++) {
                if (r < lv.feature_top || r >= lv.feature_bottom) std::memset(scratch + r * lv.stride, 0, sizeof(float) * lv.stride);
            }
            bool first = true;
            for (const SeparableTerm &t : bank.terms) {
                apply_term(lv.plane(t.plane), lv.pnr, lv.pnc, lv.stride, lv.feature_top, lv.feature_bottom, t, scratch, sal, !first);
                first = false;
            }
            const long top = kTaps / 2, left = kTaps / 2;
            const long bottom = lv.pnr - (kTaps - 1) / 2 - 1, right = lv.pnc - (kTaps - 1) / 2 - 1;
            for (long r = top; r <= bottom; ++r) {
                const float *srow = sal + r * lv.stride;
                for (long c = left; c <= right; ++c) {
                    if (srow[c] >= thresh) {
                        dlib::rectangle rect = fe.feats_to_image(dlib::centered_rect(dlib::point(c, r), h->det_w, h->det_h),
                                                                 kCell, h->fh, h->fw);
                        rect = pyr.rect_up(rect, l);
                        dets.push_back(std::make_pair(srow[c], rect));
                    }
                }
            }
        }
        std::sort(dets.rbegin(), dets.rend(), dlib::impl::compare_pair_rect);
        for (const auto &dt : dets) {
            dlib::rect_detection temp;
            temp.detection_confidence = dt.first - bank.thresh;
            temp.weight_index = d;
            temp.rect = dt.second;
            h->accum.push_back(temp);
        }
    }
    if (h->banks.size() > 1) std::sort(h->accum.rbegin(), h->accum.rend());
    for (const auto &cand : h->accum) {
        bool overlaps = false;
        for (const auto &kept : final_dets) {
            if (h->overlap(kept.rect, cand.rect)) { overlaps = true; break; }
        }
        if (!overlaps) final_dets.push_back(cand);
    }
#endif
}

}  // namespace

void fg_hog_detect(fg_hog *h, const cv::Mat &gray, double adjust_threshold, std::vector<fg_hog_box> &out) {
    std::vector<dlib::rect_detection> dets;
    detect_rects(h, gray, adjust_threshold, dets);
    out.clear();
    for (const auto &d : dets) out.push_back({d.rect.left(), d.rect.top(), (long)d.rect.width(), (long)d.rect.height(), d.detection_confidence});
}
