// Fast forward pass for dlib's ResNet face descriptor. Same network, same weights, same arithmetic up to float
// rounding (each affine_ folded into the convolution before it; sums in a different order): embeddings agree with
// dlib's own forward pass to ~1e-6 (EmbedderEquivalenceTests pins the tolerance on fixture faces).
//
// Why not dlib's forward pass: dlib convolves by img2col + BLAS sgemm, and its img2col lives in Debian's libdlib.so,
// compiled for generic x86-64 (libdlib-dev ships headers only, so it cannot be rebuilt with AVX2): perf on this
// machine put ~45 % of the 25.5 ms embedding in dlib::cpu::img2col. Here: Winograd F(2x2,3x3) for the stride-1 3x3
// convolutions on the 35x35 and 17x17 maps, own AVX-512 kernels (weights packed at load) for the 8x8 and <= 16-pixel
// maps, and im2col compiled in this translation unit (host AVX2/FMA) + OpenBLAS sgemm for the rest
// (docs/benchmarks.md "Embedding" has the per-layer numbers). OpenCV's DNN module
// (cv::dnn::Net built from the same layers) was measured as well: equivalent (2.7e-7) but only ~10 % faster than dlib.
#include "embed_fast.hpp"
#include <cblas.h>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif
#include <algorithm>
#include <cstring>
#include <string>

namespace fastnet {
namespace {

// im2col scratch per sgemm call: output rows are processed in bands whose columns fit this (well inside the 1 MB L2
// of this machine's Xeon; 256 KB measured fastest of 128 KB..1 MB for the 7x7 stem and the 35x35 blocks).
constexpr size_t kColumnBytes = 256 * 1024;
// Output width from which im2col copies whole rows instead of gathering through the offset table (17-wide maps:
// 0.158 ms by rows vs 0.183 ms by table; 8-wide: 0.145 vs 0.087).
constexpr int kRowCopyWidth = 16;

// Direct stride-2 kernel (directS2Conv512): for convolutions on at most this many input channels (the stem's 3: im2col
// there builds 147 rows per output pixel from 3 planes). Stem, interleaved in-process A/B on this machine: im2col +
// sgemm 1.8-2.5 ms, direct 1.0-1.1 ms (instrumented harness, 3 alternating runs of 150 passes, loaded machine).
constexpr int kDirectS2MaxChannels = 4;
// Floats of zero padding after the deinterleaved input: the kernel's last vector of a row reads past the row.
constexpr size_t kDirectS2Pad = 128;

// Smallest output map (pixels) convolved by Winograd F(2x2,3x3): per conv, one core, in-process A/B against im2col +
// sgemm: 35x35x32 0.50 -> 0.30 ms, 17x17x64 0.40 -> 0.24 ms, but 8x8x128 0.40 -> 0.42 ms (16 tiles: sgemms too small)
// and 4x4x256 0.51 -> 0.69 ms (bound by streaming the weights, which the transform makes 16/9 larger).
constexpr int kWinogradMinPixels = 128;
// Tile-row scratch in Net::winogradConv is sized for maps up to 128 pixels wide.
constexpr int kWinogradMaxTiles = 64;

int outSize(int in, int k, int s, int p) {
    if (s <= 0 || in + 2 * p < k) throw std::runtime_error("layer window larger than its input");
    return 1 + (in + 2 * p - k) / s;
}

// Columns for output pixels [n0, n1) of a convolution: row (c, ky, kx), one entry per output pixel, gathered through
// the op's precomputed offsets (zero where the window leaves the image). One table lookup per value instead of a
// copy call per output row: the 8x8 and 4x4 blocks have rows of 4-8 floats, where per-row calls cost more than the data
// (measured per conv: 128x8x8 0.145 -> 0.087 ms, 256x4x4 0.135 -> 0.054 ms; but 32x35x35 0.20 -> 0.40 ms, hence below).
void im2col(const float *src, const Shape &in, const Op &op, int n, int n0, int n1, float *d) {
    const int taps = op.kh * op.kw;
    for (int c = 0; c < in.c; c++) {
        const float *plane = src + (long)c * in.h * in.w;
        for (int t = 0; t < taps; t++, d += n1 - n0) {
            const int *ix = op.gather.data() + (long)t * n;
            for (int i = n0; i < n1; i++) d[i - n0] = ix[i] >= 0 ? plane[ix[i]] : 0.f;
        }
    }
}

// src with every row split into its even columns then its odd columns (row length unchanged). A stride-2 window
// column 2*ox + q is then element ox + floor(q/2) of the even (q even) or odd (q odd) half, so im2colRows copies
// contiguous runs instead of reading every other float (the 7x7 stride-2 stem: ~25 % of the pass's own time was
// that strided loop, perf on this machine).
void deinterleaveColumns(const float *__restrict src, const Shape &in, float *__restrict d) {
    const int W = in.w, even = (W + 1) / 2;
    for (long r = 0; r < (long)in.c * in.h; r++) {
        const float *s = src + r * W;
        float *e = d + r * W, *o = e + even;
        for (int x = 0; x < W / 2; x++) { e[x] = s[2 * x]; o[x] = s[2 * x + 1]; }
        if (W % 2) e[W / 2] = s[W - 1];
    }
}

// Same columns for output rows [oy0, oy1), copied row by row (faster than the table once rows hold >= 16 floats).
// deint: for stride-2 convolutions, src deinterleaved by deinterleaveColumns (else null).
void im2colRows(const float *src, const float *deint, const Shape &in, const Op &op, const Shape &out, int oy0, int oy1,
                float *d) {
    const int W = in.w, H = in.h, Wo = out.w;
    for (int c = 0; c < in.c; c++) {
        const float *plane = src + (long)c * H * W;
        for (int ky = 0; ky < op.kh; ky++) {
            for (int kx = 0; kx < op.kw; kx++) {
                // Output columns whose input column ox*sx - px + kx lies inside [0, W).
                int lo = 0, hi = Wo;
                while (lo < Wo && lo * op.sx - op.px + kx < 0) lo++;
                while (hi > lo && (hi - 1) * op.sx - op.px + kx >= W) hi--;
                for (int oy = oy0; oy < oy1; oy++, d += Wo) {
                    const int iy = oy * op.sy - op.py + ky;
                    if (iy < 0 || iy >= H) { std::fill(d, d + Wo, 0.f); continue; }
                    const float *row = plane + (long)iy * W - op.px + kx;
                    std::fill(d, d + lo, 0.f);
                    if (op.sx == 1) {
                        std::memcpy(d + lo, row + lo, sizeof(float) * (size_t)(hi - lo));
                    } else if (deint) {
                        const int q = kx - op.px, m = q >= 0 ? q / 2 : -((1 - q) / 2);   // floor(q / 2)
                        const float *half = deint + (long)c * H * W + (long)iy * W + ((q - 2 * m) ? (W + 1) / 2 : 0);
                        std::memcpy(d + lo, half + lo + m, sizeof(float) * (size_t)(hi - lo));
                    } else {
                        for (int ox = lo; ox < hi; ox++) d[ox] = row[ox * op.sx];
                    }
                    std::fill(d + hi, d + Wo, 0.f);
                }
            }
        }
    }
}

#if defined(__AVX2__) && defined(__FMA__)
// Maps of at most kSmallMapPixels outputs (the 256-channel 4x4, 3x3 and 1x1 layers): OpenBLAS repacks the whole
// weight matrix (2.4 MB) on every call for a 16-column product. Here the weights are streamed once, row-major as
// stored, 4 filters at a time against the im2col columns padded to 16 (two AVX registers per row).
constexpr int kSmallMapPixels = 16;
// ... from this many pixels, or fewer when most taps only see padding (the 3x3 convolution on the 1x1 map).
constexpr int kSmallMapMinPixels = 4;


// dst[k][i] = bias[k] + sum_j w[k][j] * cols[j][i], j < rows, i < n <= 16: cols holds one row of 16 floats (zero
// beyond n) per live im2col row; w holds the same columns (Builder::finish drops the taps that only see padding,
// e.g. 8 of the 9 on a 1x1 map, so their weights are not even read).
void smallMapGemm(int K, int rows, const float *w, const float *cols, const float *bias, float *dst, int n) {
    alignas(32) float tmp[16];
    for (int k = 0; k < K; k += 4) {
        const float *w0 = w + (long)k * rows, *w1 = w0 + rows, *w2 = w1 + rows, *w3 = w2 + rows;
        __m256 a00 = _mm256_setzero_ps(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        const float *c = cols;
        for (int j = 0; j < rows; j++, c += 16) {
            const __m256 b0 = _mm256_loadu_ps(c), b1 = _mm256_loadu_ps(c + 8);
            __m256 x = _mm256_broadcast_ss(w0 + j);
            a00 = _mm256_fmadd_ps(x, b0, a00); a01 = _mm256_fmadd_ps(x, b1, a01);
            x = _mm256_broadcast_ss(w1 + j);
            a10 = _mm256_fmadd_ps(x, b0, a10); a11 = _mm256_fmadd_ps(x, b1, a11);
            x = _mm256_broadcast_ss(w2 + j);
            a20 = _mm256_fmadd_ps(x, b0, a20); a21 = _mm256_fmadd_ps(x, b1, a21);
            x = _mm256_broadcast_ss(w3 + j);
            a30 = _mm256_fmadd_ps(x, b0, a30); a31 = _mm256_fmadd_ps(x, b1, a31);
        }
        const __m256 acc[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
        for (int r = 0; r < 4; r++) {
            _mm256_store_ps(tmp, acc[r][0]);
            _mm256_store_ps(tmp + 8, acc[r][1]);
            float *q = dst + (long)(k + r) * n;
            for (int i = 0; i < n; i++) q[i] = bias[k + r] + tmp[i];
        }
    }
}

// Same with AVX-512 when the CPU has it (this machine's Xeon does): the 16 columns fill one register, 8 filters at a
// time. (Extending it to the 8x8 maps, 4 blocks of 16 columns, was measured slower than im2col + sgemm: 10.5 vs 10.2 ms
// per forward pass.)
__attribute__((target("avx512f"))) void smallMapGemm512(int K, int rows, const float *w, const float *cols,
                                                         const float *bias, float *dst, int n) {
    alignas(64) float tmp[16];
    for (int k = 0; k < K; k += 8) {
        const float *w0 = w + (long)k * rows;
        __m512 a[8];
        for (int r = 0; r < 8; r++) a[r] = _mm512_setzero_ps();
        const float *c = cols;
        for (int j = 0; j < rows; j++, c += 16) {
            const __m512 b = _mm512_loadu_ps(c);
            for (int r = 0; r < 8; r++) a[r] = _mm512_fmadd_ps(_mm512_set1_ps(w0[(long)r * rows + j]), b, a[r]);
        }
        for (int r = 0; r < 8; r++) {
            _mm512_store_ps(tmp, a[r]);
            float *q = dst + (long)(k + r) * n;
            for (int i = 0; i < n; i++) q[i] = bias[k + r] + tmp[i];
        }
    }
}
// 8x8 maps (64 outputs = 4 AVX-512 registers per filter): 4 filters x 64 columns of the im2col product per pass, the
// weights pre-packed at load as [filter / 4][row][4] so each row's 4 broadcasts come from one contiguous 16 bytes.
// In-process A/B against im2col + sgemm for the six 8x8 convolutions: forward pass 10.1 -> 9.3 ms.
__attribute__((target("avx512f"))) void map64Gemm512(int K, int rows, const float *wp, const float *cols,
                                                      const float *bias, float *dst) {
    for (int k = 0; k < K; k += 4) {
        const float *w = wp + (long)k * rows;
        __m512 a[4][4];
        for (int r = 0; r < 4; r++)
            for (int q = 0; q < 4; q++) a[r][q] = _mm512_setzero_ps();
        const float *c = cols;
        for (int j = 0; j < rows; j++, c += 64, w += 4) {
            const __m512 b0 = _mm512_loadu_ps(c), b1 = _mm512_loadu_ps(c + 16);
            const __m512 b2 = _mm512_loadu_ps(c + 32), b3 = _mm512_loadu_ps(c + 48);
            for (int r = 0; r < 4; r++) {
                const __m512 x = _mm512_set1_ps(w[r]);
                a[r][0] = _mm512_fmadd_ps(x, b0, a[r][0]);
                a[r][1] = _mm512_fmadd_ps(x, b1, a[r][1]);
                a[r][2] = _mm512_fmadd_ps(x, b2, a[r][2]);
                a[r][3] = _mm512_fmadd_ps(x, b3, a[r][3]);
            }
        }
        for (int r = 0; r < 4; r++) {
            const __m512 b = _mm512_set1_ps(bias[k + r]);
            for (int q = 0; q < 4; q++) _mm512_storeu_ps(dst + (long)(k + r) * 64 + 16 * q, _mm512_add_ps(a[r][q], b));
        }
    }
}

// Stride-2 convolutions without padding on few input channels (the 7x7 stem on the 3x150x150 chip), computed directly
// from the column-deinterleaved input (deinterleaveColumns): an output row's 16 pixels at tap (c, ky, kx) are 16
// consecutive floats of one half row, so no im2col is built. 4 filters x NV vectors of 16 output pixels per pass,
// weights broadcast from their stored [filter][tap] layout, bias first then the taps in order (sgemm adds them in
// another order: float rounding only). Reads up to 16 * NV + kw / 2 floats past a half row's start: the caller pads.
template <int NV>
__attribute__((target("avx512f"))) void directS2Conv512(const Op &op, const Shape &I, const Shape &O,
                                                       const float *deint, const int *tapOffset, float *dst) {
    const int taps = I.c * op.kh * op.kw;
    const long plane = (long)O.h * O.w;
    const int tail = O.w - 16 * (NV - 1);   // 1..16 pixels in the last vector
    const __mmask16 lastMask = (__mmask16)(tail >= 16 ? 0xFFFF : ((1u << tail) - 1));
    for (int oy = 0; oy < O.h; oy++) {
        const float *row = deint + (long)(2 * oy) * I.w;
        for (int k = 0; k < O.c; k += 4) {
            const float *w = op.w.data() + (long)k * taps;
            __m512 a[4][NV];
            for (int r = 0; r < 4; r++)
                for (int v = 0; v < NV; v++) a[r][v] = _mm512_set1_ps(op.b[k + r]);
            for (int t = 0; t < taps; t++) {
                const float *p = row + tapOffset[t];
                __m512 x[NV];
                for (int v = 0; v < NV; v++) x[v] = _mm512_loadu_ps(p + 16 * v);
                for (int r = 0; r < 4; r++) {
                    const __m512 wv = _mm512_set1_ps(w[(long)r * taps + t]);
                    for (int v = 0; v < NV; v++) a[r][v] = _mm512_fmadd_ps(wv, x[v], a[r][v]);
                }
            }
            for (int r = 0; r < 4; r++) {
                float *q = dst + (long)(k + r) * plane + (long)oy * O.w;
                for (int v = 0; v < NV - 1; v++) _mm512_storeu_ps(q + 16 * v, a[r][v]);
                _mm512_mask_storeu_ps(q + 16 * (NV - 1), lastMask, a[r][NV - 1]);
            }
        }
    }
}

const bool kHasAvx512 = __builtin_cpu_supports("avx512f");
#endif

void reluInPlace(float *p, long n) {
    for (long i = 0; i < n; i++) p[i] = std::max(p[i], 0.f);
}

// Element-wise helpers with non-aliasing pointers, so the compiler vectorises them (the generic loops in
// Net::forward ran scalar: the destination might have aliased the source). Same operations, same results.
void maxRow(float *__restrict t, const float *__restrict r, int n) {
    for (int x = 0; x < n; x++) t[x] = std::max(t[x], r[x]);
}
void addRow(float *__restrict t, const float *__restrict r, int n) {
    for (int x = 0; x < n; x++) t[x] += r[x];
}
// q[ox] = max of t[ox*s .. ox*s + k - 1].
void maxColumns(const float *__restrict t, int k, int s, int n, float *__restrict q) {
    for (int ox = 0; ox < n; ox++) {
        const float *tx = t + ox * s;
        float acc = tx[0];
        for (int x = 1; x < k; x++) acc = std::max(acc, tx[x]);
        q[ox] = acc;
    }
}
// d = a + 0.f (a channel only one operand of an add_prev has), then ReLU if asked.
void addZero(float *__restrict d, const float *__restrict a, long n, bool relu) {
    if (relu)
        for (long i = 0; i < n; i++) d[i] = std::max(a[i] + 0.f, 0.f);
    else
        for (long i = 0; i < n; i++) d[i] = a[i] + 0.f;
}
// d = a + b, then ReLU if asked (one pass instead of two).
void addInto(float *__restrict d, const float *__restrict a, const float *__restrict b, long n, bool relu) {
    if (relu)
        for (long i = 0; i < n; i++) d[i] = std::max(a[i] + b[i], 0.f);
    else
        for (long i = 0; i < n; i++) d[i] = a[i] + b[i];
}

}  // namespace

// Winograd F(2x2,3x3) (Lavin & Gray 2016): each 2x2 output tile is A^T [ (G g G^T) .* (B^T d B) ] A for the 4x4 input
// tile d around it. The 16 element-wise products become 16 sgemms (K x C by C x tiles), 2.25x fewer multiplies than
// im2col. B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], A^T = [1 1 1 0; 0 1 -1 -1]. Layouts: V[16][C][T], M[16][K][T],
// T = tiles in row-major order; the transforms run along whole tile rows so they vectorise.
void Net::winogradConv(const Op &op, const Shape &I, const Shape &O, const float *src, float *dst) {
    const int C = I.c, K = O.c, H = I.h, W = I.w;
    const int th = (O.h + 1) / 2, tw = (O.w + 1) / 2, T = th * tw;
    winoIn_.resize((size_t)16 * C * T);
    winoOut_.resize((size_t)16 * K * T);
    // Per input channel and tile row: 4 zero-padded input rows split into even / odd columns (padded column x' = x + 1),
    // so tile tx reads e[tx], o[tx], e[tx+1], o[tx+1]; then one pass over the tiles writes all 16 products' inputs.
    const int half = tw + 1;
    winoRows_.assign((size_t)8 * half, 0.f);
    float *V = winoIn_.data();
    const long plane = (long)C * T;
    for (int c = 0; c < C; c++) {
        const float *p = src + (long)c * H * W;
        for (int ty = 0; ty < th; ty++) {
            for (int j = 0; j < 4; j++) {
                float *e = winoRows_.data() + (size_t)(2 * j) * half, *o = e + half;
                const int y = 2 * ty - 1 + j;
                std::fill(e, e + 2 * half, 0.f);
                if (y < 0 || y >= H) continue;
                const float *r = p + (long)y * W;
                // e[m] = x 2m - 1, o[m] = x 2m.
                for (int m = 1; 2 * m - 1 < W; m++) e[m] = r[2 * m - 1];
                for (int m = 0; 2 * m < W; m++) o[m] = r[2 * m];
            }
            const float *__restrict R = winoRows_.data();
            const float *e0 = R, *o0 = R + half, *e1 = R + 2 * half, *o1 = R + 3 * half;
            const float *e2 = R + 4 * half, *o2 = R + 5 * half, *e3 = R + 6 * half, *o3 = R + 7 * half;
            float *__restrict v = V + (long)c * T + (long)ty * tw;
#pragma clang loop vectorize(assume_safety)
            for (int tx = 0; tx < tw; tx++) {
                float cc[4][4];   // [row j][column transform]
                const float *ej[4] = {e0, e1, e2, e3}, *oj[4] = {o0, o1, o2, o3};
                for (int j = 0; j < 4; j++) {
                    const float d0 = ej[j][tx], d1 = oj[j][tx], d2 = ej[j][tx + 1], d3 = oj[j][tx + 1];
                    cc[j][0] = d0 - d2; cc[j][1] = d1 + d2; cc[j][2] = d2 - d1; cc[j][3] = d1 - d3;
                }
                for (int col = 0; col < 4; col++) {
                    v[(0 * 4 + col) * plane + tx] = cc[0][col] - cc[2][col];
                    v[(1 * 4 + col) * plane + tx] = cc[1][col] + cc[2][col];
                    v[(2 * 4 + col) * plane + tx] = cc[2][col] - cc[1][col];
                    v[(3 * 4 + col) * plane + tx] = cc[1][col] - cc[3][col];
                }
            }
        }
    }
    for (int xi = 0; xi < 16; xi++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, K, T, C, 1.f, op.wino.data() + (long)xi * K * C, C,
                    V + (long)xi * plane, T, 0.f, winoOut_.data() + (long)xi * K * T, T);
    const float *M = winoOut_.data();
    const long mplane = (long)K * T;
    float y[4][64];   // output tile rows 0/1, columns 0/1, per tile
    for (int k = 0; k < K; k++) {
        float *q = dst + (long)k * O.h * O.w;
        const float b = op.b[k];
        for (int ty = 0; ty < th; ty++) {
            const float *__restrict m = M + (long)k * T + (long)ty * tw;
#pragma clang loop vectorize(assume_safety)
            for (int tx = 0; tx < tw; tx++) {
                float s0[4], s1[4];   // A^T applied to the 4 rows, per column
                for (int col = 0; col < 4; col++) {
                    const float m0 = m[(0 * 4 + col) * mplane + tx], m1 = m[(1 * 4 + col) * mplane + tx];
                    const float m2 = m[(2 * 4 + col) * mplane + tx], m3 = m[(3 * 4 + col) * mplane + tx];
                    s0[col] = m0 + m1 + m2;
                    s1[col] = m1 - m2 - m3;
                }
                y[0][tx] = b + s0[0] + s0[1] + s0[2];
                y[1][tx] = b + s0[1] - s0[2] - s0[3];
                y[2][tx] = b + s1[0] + s1[1] + s1[2];
                y[3][tx] = b + s1[1] - s1[2] - s1[3];
            }
            const int y0 = 2 * ty;
            float *r0 = q + (long)y0 * O.w, *r1 = r0 + O.w;
            const bool second = y0 + 1 < O.h;
            for (int tx = 0; tx < tw; tx++) {
                const int x = 2 * tx;
                r0[x] = y[0][tx];
                if (second) r1[x] = y[2][tx];
                if (x + 1 < O.w) {
                    r0[x + 1] = y[1][tx];
                    if (second) r1[x + 1] = y[3][tx];
                }
            }
        }
    }
}

void Net::forward(const float *input, float *out) {
    if (data_.size() != shapes_.size()) {
        data_.resize(shapes_.size());
        for (size_t i = 0; i < shapes_.size(); i++) data_[i].assign((size_t)shapes_[i].size(), 0.f);
    }
    std::memcpy(data_[0].data(), input, sizeof(float) * (size_t)shapes_[0].size());
    for (const Op &op : ops_) {
        const Shape &I = shapes_[op.in], &O = shapes_[op.out];
        const float *src = data_[op.in].data();
        float *dst = data_[op.out].data();
        switch (op.kind) {
        case Op::Conv: {
            if (!op.wino.empty()) { winogradConv(op, I, O, src, dst); break; }
            const int ckk = I.c * op.kh * op.kw, n = O.h * O.w;
#if defined(__AVX2__) && defined(__FMA__)
            if (op.smallMap) {
                cols_.resize((size_t)ckk * n);
                im2col(src, I, op, n, 0, n, cols_.data());
                const int nlive = (int)op.live.size();
                padded_.assign((size_t)nlive * 16, 0.f);
                for (int jj = 0; jj < nlive; jj++) {
                    const float *row = cols_.data() + (long)op.live[jj] * n;
                    std::copy(row, row + n, padded_.data() + (long)jj * 16);
                }
                if (kHasAvx512 && O.c % 8 == 0)
                    smallMapGemm512(O.c, nlive, op.w.data(), padded_.data(), op.b.data(), dst, n);
                else
                    smallMapGemm(O.c, nlive, op.w.data(), padded_.data(), op.b.data(), dst, n);
                break;
            }
            if (op.map64) {
                cols_.resize((size_t)ckk * n);
                im2col(src, I, op, n, 0, n, cols_.data());
                map64Gemm512(O.c, ckk, op.w.data(), cols_.data(), op.b.data(), dst);
                break;
            }
            if (!op.tapOffset.empty()) {   // direct stride-2 kernel (Builder::finish chose it)
                deint_.resize((size_t)I.size() + kDirectS2Pad);
                deinterleaveColumns(src, I, deint_.data());
                std::fill(deint_.begin() + I.size(), deint_.end(), 0.f);
                const int nv = (O.w + 15) / 16;
                if (nv == 5) directS2Conv512<5>(op, I, O, deint_.data(), op.tapOffset.data(), dst);
                else if (nv == 4) directS2Conv512<4>(op, I, O, deint_.data(), op.tapOffset.data(), dst);
                else if (nv == 3) directS2Conv512<3>(op, I, O, deint_.data(), op.tapOffset.data(), dst);
                else if (nv == 2) directS2Conv512<2>(op, I, O, deint_.data(), op.tapOffset.data(), dst);
                else directS2Conv512<1>(op, I, O, deint_.data(), op.tapOffset.data(), dst);
                break;
            }
#endif
            for (int k = 0; k < O.c; k++) std::fill(dst + (long)k * n, dst + (long)(k + 1) * n, op.b[k]);
            if (op.kh == 1 && op.kw == 1 && op.sy == 1 && op.sx == 1 && op.py == 0 && op.px == 0) {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O.c, n, ckk, 1.f, op.w.data(), ckk, src, n, 1.f,
                            dst, n);
                break;
            }
            // Bands of output rows whose columns stay in L2 (the stem's full im2col is 3 MB; banded it runs ~2x faster).
            const int band = std::max(1, std::min(O.h, (int)(kColumnBytes / (sizeof(float) * (size_t)ckk * O.w))));
            cols_.resize((size_t)ckk * band * O.w);
            const float *deint = nullptr;
            if (O.w >= kRowCopyWidth && op.sx == 2) {
                deint_.resize((size_t)I.size());
                deinterleaveColumns(src, I, deint_.data());
                deint = deint_.data();
            }
            for (int oy0 = 0; oy0 < O.h; oy0 += band) {
                const int oy1 = std::min(O.h, oy0 + band), nb = (oy1 - oy0) * O.w;
                if (O.w >= kRowCopyWidth) im2colRows(src, deint, I, op, O, oy0, oy1, cols_.data());
                else im2col(src, I, op, n, oy0 * O.w, oy1 * O.w, cols_.data());
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, O.c, nb, ckk, 1.f, op.w.data(), ckk, cols_.data(),
                            nb, 1.f, dst + (long)oy0 * O.w, n);
            }
            break;
        }
        case Op::Affine: {
            const long n = (long)I.h * I.w;
            for (int c = 0; c < I.c; c++)
                for (long i = 0; i < n; i++) dst[c * n + i] = src[c * n + i] * op.w[c] + op.b[c];
            break;
        }
        case Op::Relu:
            for (long i = 0; i < I.size(); i++) dst[i] = std::max(src[i], 0.f);
            break;
        case Op::MaxPool:
        case Op::AvgPool: {
            // Window rows reduced first (contiguous, vectorised), then the window columns.
            const bool isMax = op.kind == Op::MaxPool;
            const float area = (float)(op.kh * op.kw);
            rowTmp_.resize((size_t)I.w);
            float *t = rowTmp_.data();
            for (int c = 0; c < O.c; c++) {
                const float *p = src + (long)c * I.h * I.w;
                float *q = dst + (long)c * O.h * O.w;
                for (int oy = 0; oy < O.h; oy++) {
                    const float *r = p + (long)(oy * op.sy) * I.w;
                    std::copy(r, r + I.w, t);
                    for (int y = 1; y < op.kh; y++) {
                        if (isMax) maxRow(t, r + (long)y * I.w, I.w);
                        else addRow(t, r + (long)y * I.w, I.w);
                    }
                    if (isMax) maxColumns(t, op.kw, op.sx, O.w, q + (long)oy * O.w);
                    else
                        for (int ox = 0; ox < O.w; ox++) {
                            const float *tx = t + ox * op.sx;
                            float acc = tx[0];
                            for (int x = 1; x < op.kw; x++) acc += tx[x];
                            q[oy * O.w + ox] = acc / area;
                        }
                }
            }
            break;
        }
        case Op::GlobalAvg: {
            const long n = (long)I.h * I.w;
            for (int c = 0; c < I.c; c++) {
                float s = 0;
                for (long i = 0; i < n; i++) s += src[c * n + i];
                dst[c] = s / (float)n;
            }
            break;
        }
        case Op::Add: {
            const Shape &J = shapes_[op.in2];
            const float *src2 = data_[op.in2].data();
            if (I.c == J.c && I.h == J.h && I.w == J.w) {
                addInto(dst, src, src2, O.size(), op.relu);
                continue;   // ReLU done
            } else if (I.h == J.h && I.w == J.w) {
                // Channel counts differ (the down-sampling blocks): a channel only one operand has is that operand
                // + 0.f, as in the generic zero-padding loop below, plane by plane.
                const long n = (long)O.h * O.w;
                for (int c = 0; c < O.c; c++) {
                    float *d = dst + c * n;
                    if (c < I.c && c < J.c) addInto(d, src + c * n, src2 + c * n, n, op.relu);
                    else addZero(d, c < I.c ? src + c * n : src2 + c * n, n, op.relu);
                }
                continue;   // ReLU done
            } else {
                // dlib add_prev_: both operands zero-padded to the larger size in each dimension.
                for (int c = 0; c < O.c; c++)
                    for (int y = 0; y < O.h; y++)
                        for (int x = 0; x < O.w; x++) {
                            float a = (c < I.c && y < I.h && x < I.w) ? src[((long)c * I.h + y) * I.w + x] : 0.f;
                            float b = (c < J.c && y < J.h && x < J.w) ? src2[((long)c * J.h + y) * J.w + x] : 0.f;
                            dst[((long)c * O.h + y) * O.w + x] = a + b;
                        }
            }
            break;
        }
        case Op::FC: {
            const int inputs = (int)I.size();
            std::copy(op.b.begin(), op.b.end(), dst);
            cblas_sgemv(CblasRowMajor, CblasNoTrans, O.c, inputs, 1.f, op.w.data(), inputs, src, 1, 1.f, dst, 1);
            break;
        }
        }
        if (op.relu) reluInPlace(dst, O.size());
    }
    std::memcpy(out, data_[out_].data(), sizeof(float) * (size_t)shapes_[out_].size());
}

Builder::Builder(int c, int h, int w) : net_(new Net) {
    net_->shapes_.push_back(Shape{c, h, w});
}

int Builder::newBlob(Shape s) {
    net_->shapes_.push_back(s);
    return (int)net_->shapes_.size() - 1;
}

bool Builder::fusable(int blob) const {
    if (net_->ops_.empty() || net_->ops_.back().out != blob) return false;
    for (auto &t : tags_) if (t.second == blob) return false;
    return true;
}

void Builder::conv(int k, int kh, int kw, int sy, int sx, int py, int px, const float *w, const float *bias) {
    const Shape I = net_->shapes_[cur_];
    Op op{Op::Conv};
    op.kh = kh; op.kw = kw; op.sy = sy; op.sx = sx; op.py = py; op.px = px;
    const long ckk = (long)I.c * kh * kw;
    op.w.assign(w, w + k * ckk);
    op.b.assign((size_t)k, 0.f);
    if (bias) op.b.assign(bias, bias + k);
    op.in = cur_;
    const Shape O{k, outSize(I.h, kh, sy, py), outSize(I.w, kw, sx, px)};
    op.out = cur_ = newBlob(O);
    // im2col offsets: for each tap (ky, kx) and output pixel, the input offset in a channel plane, or -1 (padding).
    const int n = O.h * O.w;
    op.gather.resize((size_t)kh * kw * n);
    for (int ky = 0; ky < kh; ky++)
        for (int kx = 0; kx < kw; kx++)
            for (int oy = 0; oy < O.h; oy++)
                for (int ox = 0; ox < O.w; ox++) {
                    const int iy = oy * sy - py + ky, ix = ox * sx - px + kx;
                    op.gather[(size_t)(ky * kw + kx) * n + oy * O.w + ox] =
                        (iy >= 0 && iy < I.h && ix >= 0 && ix < I.w) ? iy * I.w + ix : -1;
                }
    net_->ops_.push_back(std::move(op));
}

void Builder::affine(const float *gamma, const float *beta) {
    const Shape I = net_->shapes_[cur_];
    if (fusable(cur_) && net_->ops_.back().kind == Op::Conv && !net_->ops_.back().relu) {
        Op &c = net_->ops_.back();
        const long ckk = (long)c.w.size() / I.c;
        for (int k = 0; k < I.c; k++) {
            for (long j = 0; j < ckk; j++) c.w[k * ckk + j] *= gamma[k];
            c.b[k] = c.b[k] * gamma[k] + beta[k];
        }
        return;
    }
    Op op{Op::Affine};
    op.w.assign(gamma, gamma + I.c);
    op.b.assign(beta, beta + I.c);
    op.in = cur_;
    op.out = cur_ = newBlob(I);
    net_->ops_.push_back(std::move(op));
}

void Builder::relu() {
    if (fusable(cur_) && net_->ops_.back().kind != Op::Relu) { net_->ops_.back().relu = true; return; }
    Op op{Op::Relu};
    op.in = cur_;
    op.out = cur_ = newBlob(net_->shapes_[op.in]);
    net_->ops_.push_back(std::move(op));
}

void Builder::pool(bool isMax, int kh, int kw, int sy, int sx, int py, int px) {
    const Shape I = net_->shapes_[cur_];
    Op op{isMax ? Op::MaxPool : Op::AvgPool};
    op.in = cur_;
    if (kh == 0 || kw == 0) {
        if (isMax) throw std::runtime_error("global max pooling is not supported");
        op.kind = Op::GlobalAvg;
        op.out = cur_ = newBlob(Shape{I.c, 1, 1});
    } else {
        if (py != 0 || px != 0) throw std::runtime_error("padded pooling is not supported");
        op.kh = kh; op.kw = kw; op.sy = sy; op.sx = sx;
        op.out = cur_ = newBlob(Shape{I.c, outSize(I.h, kh, sy, 0), outSize(I.w, kw, sx, 0)});
    }
    net_->ops_.push_back(std::move(op));
}

void Builder::tag(unsigned long id) { tags_[id] = cur_; }

void Builder::skip(unsigned long id) {
    auto t = tags_.find(id);
    if (t == tags_.end()) throw std::runtime_error("skip to an unknown tag " + std::to_string(id));
    cur_ = t->second;
}

void Builder::addPrev(unsigned long id) {
    auto t = tags_.find(id);
    if (t == tags_.end()) throw std::runtime_error("add_prev of an unknown tag " + std::to_string(id));
    const Shape a = net_->shapes_[cur_], b = net_->shapes_[t->second];
    Op op{Op::Add};
    op.in = cur_;
    op.in2 = t->second;
    op.out = cur_ = newBlob(Shape{std::max(a.c, b.c), std::max(a.h, b.h), std::max(a.w, b.w)});
    net_->ops_.push_back(std::move(op));
}

void Builder::fc(int outputs, const float *w, const float *bias) {
    const Shape I = net_->shapes_[cur_];
    const long inputs = I.size();
    Op op{Op::FC};
    op.w.resize((size_t)outputs * inputs);   // dlib stores I x O; sgemv wants O x I
    for (long i = 0; i < inputs; i++)
        for (int o = 0; o < outputs; o++) op.w[(size_t)o * inputs + i] = w[(size_t)i * outputs + o];
    op.b.assign((size_t)outputs, 0.f);
    if (bias) op.b.assign(bias, bias + outputs);
    op.in = cur_;
    op.out = cur_ = newBlob(Shape{outputs, 1, 1});
    net_->ops_.push_back(std::move(op));
}

std::unique_ptr<Net> Builder::finish() {
    if (net_->ops_.empty()) throw std::runtime_error("empty network");
    // Winograd weights G g G^T per (filter, channel), computed once here (after the affine layers are folded in),
    // G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
    for (Op &op : net_->ops_) {
        const Shape &I = net_->shapes_[op.in], &O = net_->shapes_[op.out];
#if defined(__AVX2__) && defined(__FMA__)
        op.smallMap = customKernels && op.kind == Op::Conv && O.h * O.w <= kSmallMapPixels && O.c % 4 == 0 &&
                      !(op.kh == 1 && op.kw == 1);
        if (op.smallMap) {
            const int n = O.h * O.w, taps = op.kh * op.kw;
            for (int c = 0; c < I.c; c++)
                for (int t = 0; t < taps; t++)
                    if (std::any_of(op.gather.begin() + (long)t * n, op.gather.begin() + (long)(t + 1) * n,
                                    [](int g) { return g >= 0; }))
                        op.live.push_back(c * taps + t);
            // A single output pixel with every tap live (the stride-2 4x4 -> 1x1 layer) is a matrix-vector product:
            // sgemm 0.21 ms, the 16-column kernel 0.32.
            if (n < kSmallMapMinPixels && op.live.size() * 2 > (size_t)I.c * taps) {
                op.smallMap = false;
                op.live.clear();
            } else {
                const long ckk = (long)I.c * taps, rows = (long)op.live.size();
                std::vector<float> w((size_t)O.c * rows);
                for (long k = 0; k < O.c; k++)
                    for (long j = 0; j < rows; j++) w[k * rows + j] = op.w[k * ckk + op.live[j]];
                op.w.swap(w);
            }
        }
        // Direct stride-2 kernel: no padding, at most kDirectS2MaxChannels input channels, rows of <= 80 outputs.
        if (customKernels && kHasAvx512 && op.kind == Op::Conv && op.sy == 2 && op.sx == 2 && op.py == 0 &&
            op.px == 0 && I.c <= kDirectS2MaxChannels && O.w <= 80 && O.c % 4 == 0) {
            const int even = (I.w + 1) / 2;
            for (int c = 0; c < I.c; c++)
                for (int ky = 0; ky < op.kh; ky++)
                    for (int kx = 0; kx < op.kw; kx++)
                        op.tapOffset.push_back(c * I.h * I.w + ky * I.w + ((kx & 1) ? even : 0) + kx / 2);
            continue;
        }
        op.map64 = customKernels && kHasAvx512 && op.kind == Op::Conv && O.h * O.w == 64 && O.c % 4 == 0 &&
                   !(op.kh == 1 && op.kw == 1);
        if (op.map64) {   // pack the weights as [filter / 4][row][4]
            const long ckk = (long)I.c * op.kh * op.kw;
            std::vector<float> w(op.w.size());
            for (long k = 0; k < O.c; k++)
                for (long j = 0; j < ckk; j++) w[((k / 4) * ckk + j) * 4 + k % 4] = op.w[k * ckk + j];
            op.w.swap(w);
            continue;
        }
#endif
        if (!customKernels || op.kind != Op::Conv || op.kh != 3 || op.kw != 3 || op.sy != 1 || op.sx != 1 || op.py != 1 ||
            op.px != 1 || O.h * O.w < kWinogradMinPixels || (O.w + 1) / 2 > kWinogradMaxTiles)
            continue;
        const int K = O.c, C = I.c;
        op.wino.assign((size_t)16 * K * C, 0.f);
        for (int k = 0; k < K; k++)
            for (int c = 0; c < C; c++) {
                const float *g = op.w.data() + ((long)k * C + c) * 9;
                double gt[4][3];   // G g
                for (int x = 0; x < 3; x++) {
                    gt[0][x] = g[x];
                    gt[1][x] = 0.5 * ((double)g[x] + g[3 + x] + g[6 + x]);
                    gt[2][x] = 0.5 * ((double)g[x] - g[3 + x] + g[6 + x]);
                    gt[3][x] = g[6 + x];
                }
                for (int i = 0; i < 4; i++) {
                    const double u[4] = {gt[i][0], 0.5 * (gt[i][0] + gt[i][1] + gt[i][2]),
                                         0.5 * (gt[i][0] - gt[i][1] + gt[i][2]), gt[i][2]};
                    for (int j = 0; j < 4; j++) op.wino[((size_t)(i * 4 + j) * K + k) * C + c] = (float)u[j];
                }
            }
        op.gather.clear();
        op.gather.shrink_to_fit();
    }
    net_->out_ = cur_;
    return std::move(net_);
}

}  // namespace fastnet
