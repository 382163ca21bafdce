// dlib DNN code: MMOD CNN face detector and the ResNet face descriptor. Slow to compile; kept apart.
#include "dnn_dlib.hpp"
#include "embed_fast.hpp"
#include "fast_chip.hpp"
#include <dlib/dnn.h>
#include <dlib/image_processing.h>
#include <dlib/image_transforms.h>
#include <dlib/opencv.h>
#include <opencv2/imgproc.hpp>
#include <memory>
#include <climits>

namespace mmod {
using namespace dlib;
template <long num_filters, typename SUBNET> using con5d = con<num_filters, 5, 5, 2, 2, SUBNET>;
template <long num_filters, typename SUBNET> using con5 = con<num_filters, 5, 5, 1, 1, SUBNET>;
template <typename SUBNET> using downsampler = relu<affine<con5d<32, relu<affine<con5d<32, relu<affine<con5d<16, SUBNET>>>>>>>>>;
template <typename SUBNET> using rcon5 = relu<affine<con5<45, SUBNET>>>;
using net_type = loss_mmod<con<1, 9, 9, 1, 1, rcon5<rcon5<rcon5<downsampler<input_rgb_image_pyramid<pyramid_down<6>>>>>>>>;
}  // namespace mmod

namespace resnet {
using namespace dlib;
template <template <int, template <typename> class, int, typename> class block, int N,
          template <typename> class BN, typename SUBNET>
using residual = add_prev1<block<N, BN, 1, tag1<SUBNET>>>;
template <template <int, template <typename> class, int, typename> class block, int N,
          template <typename> class BN, typename SUBNET>
using residual_down = add_prev2<avg_pool<2, 2, 2, 2, skip1<tag2<block<N, BN, 2, tag1<SUBNET>>>>>>;
template <int N, template <typename> class BN, int stride, typename SUBNET>
using block = BN<con<N, 3, 3, 1, 1, relu<BN<con<N, 3, 3, stride, stride, SUBNET>>>>>;
template <int N, typename SUBNET> using ares = relu<residual<block, N, affine, SUBNET>>;
template <int N, typename SUBNET> using ares_down = relu<residual_down<block, N, affine, SUBNET>>;
template <typename SUBNET> using alevel0 = ares_down<256, SUBNET>;
template <typename SUBNET> using alevel1 = ares<256, ares<256, ares_down<256, SUBNET>>>;
template <typename SUBNET> using alevel2 = ares<128, ares<128, ares_down<128, SUBNET>>>;
template <typename SUBNET> using alevel3 = ares<64, ares<64, ares<64, ares_down<64, SUBNET>>>>;
template <typename SUBNET> using alevel4 = ares<32, ares<32, ares<32, SUBNET>>>;
using anet_type = loss_metric<fc_no_bias<128, avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<
    max_pool<3, 3, 2, 2, relu<affine<con<32, 7, 7, 2, 2, input_rgb_image_sized<150>>>>>>>>>>>>>;
}  // namespace resnet

struct fg_mmod {
    mmod::net_type net;
};

struct fg_embedder {
    resnet::anet_type net;
    dlib::rand rnd;
    // Same network evaluated by embed_fast.cpp (default); null for fg_embedder_load_reference (dlib's forward pass).
    std::unique_ptr<fastnet::Net> fast;
    std::vector<float> input;
    // Chip sampler: fast_chip.hpp (default, byte-identical to dlib's extract_image_chip) or dlib's own call.
    bool referenceChip = false;
    fgchip::Workspace chipws;
};

namespace {
// Walks the deserialised dlib net from its input to its output and describes every layer to a fastnet::Builder.
// Any layer type not handled here makes loading fail (the fast path never guesses).
struct FastNetWalker {
    fastnet::Builder &b;
    template <long NF, long NR, long NC, int SY, int SX, int PY, int PX>
    void details(const dlib::con_<NF, NR, NC, SY, SX, PY, PX> &l) {
        const auto &p = l.get_layer_params();
        const float *w = p.host();
        const long filters = (long)p.size() - (l.bias_is_disabled() ? 0 : l.num_filters());
        b.conv((int)l.num_filters(), (int)l.nr(), (int)l.nc(), (int)l.stride_y(), (int)l.stride_x(),
               (int)l.padding_y(), (int)l.padding_x(), w, l.bias_is_disabled() ? nullptr : w + filters);
    }
    void details(const dlib::affine_ &l) {
        if (l.is_disabled()) return;
        if (l.get_mode() != dlib::CONV_MODE) throw std::runtime_error("affine_ in FC mode is not supported");
        auto g = l.get_gamma();   // keep the alias instances alive while reading them
        auto be = l.get_beta();
        b.affine(g.get().host(), be.get().host());
    }
    void details(const dlib::relu_ &) { b.relu(); }
    template <long NR, long NC, int SY, int SX, int PY, int PX>
    void details(const dlib::max_pool_<NR, NC, SY, SX, PY, PX> &l) {
        b.pool(true, (int)l.nr(), (int)l.nc(), (int)l.stride_y(), (int)l.stride_x(), (int)l.padding_y(), (int)l.padding_x());
    }
    template <long NR, long NC, int SY, int SX, int PY, int PX>
    void details(const dlib::avg_pool_<NR, NC, SY, SX, PY, PX> &l) {
        b.pool(false, (int)l.nr(), (int)l.nc(), (int)l.stride_y(), (int)l.stride_x(), (int)l.padding_y(), (int)l.padding_x());
    }
    template <template <typename> class TAG>
    void details(const dlib::add_prev_<TAG> &) { b.addPrev((unsigned long)dlib::tag_id<TAG>::id); }
    template <unsigned long N, dlib::fc_bias_mode M>
    void details(const dlib::fc_<N, M> &l) {
        const auto &p = l.get_layer_params();
        const int outputs = (int)l.get_num_outputs();
        const long inputs = (long)p.size() / outputs - (M == dlib::FC_HAS_BIAS ? 1 : 0);
        b.fc(outputs, p.host(), M == dlib::FC_HAS_BIAS ? p.host() + inputs * outputs : nullptr);
    }
    template <typename T> void details(const T &) { throw std::runtime_error("unsupported dlib layer type"); }

    template <typename L, typename S, typename E> void operator()(size_t, dlib::add_layer<L, S, E> &l) {
        details(l.layer_details());
    }
    template <unsigned long ID, typename S, typename E> void operator()(size_t, dlib::add_tag_layer<ID, S, E> &) {
        b.tag(ID);
    }
    template <template <typename> class TAG, typename S> void operator()(size_t, dlib::add_skip_layer<TAG, S> &) {
        b.skip((unsigned long)dlib::tag_id<TAG>::id);
    }
    template <size_t NR, size_t NC> void operator()(size_t, dlib::input_rgb_image_sized<NR, NC> &) {}
};

std::unique_ptr<fastnet::Net> build_fast(resnet::anet_type &net) {
    fastnet::Builder builder(3, 150, 150);
    FastNetWalker walker{builder};
    dlib::visit_layers_backwards(net.subnet(), [&](size_t i, auto &l) { walker(i, l); });
    auto fast = builder.finish();
    if (fast->outputSize() != 128) throw std::runtime_error("fast path: descriptor is not 128-d");
    return fast;
}

// dlib input_rgb_image_sized<150>: planar R, G, B, each (pixel - channel mean) / 256.
void chip_to_input(const fg_embedder &e, const dlib::matrix<dlib::rgb_pixel> &chip, std::vector<float> &in) {
    const auto &il = dlib::input_layer(e.net);
    const float mr = il.get_avg_red(), mg = il.get_avg_green(), mb = il.get_avg_blue();
    const long n = chip.nr() * chip.nc();
    in.resize((size_t)(3 * n));
    for (long r = 0, i = 0; r < chip.nr(); r++)
        for (long c = 0; c < chip.nc(); c++, i++) {
            const dlib::rgb_pixel p = chip(r, c);
            in[i] = (p.red - mr) / 256.f;
            in[n + i] = (p.green - mg) / 256.f;
            in[2 * n + i] = (p.blue - mb) / 256.f;
        }
}

dlib::matrix<float, 0, 1> embed_fast(fg_embedder &e, const dlib::matrix<dlib::rgb_pixel> &chip) {
    chip_to_input(e, chip, e.input);
    dlib::matrix<float, 0, 1> d(128);
    e.fast->forward(e.input.data(), &d(0));
    return d;
}
}  // namespace

fg_mmod *fg_mmod_load(const char *path, char *err, int errlen) {
    auto m = std::make_unique<fg_mmod>();
    try {
        dlib::deserialize(path) >> m->net;
    } catch (const std::exception &e) {
        fg_set_err(err, errlen, std::string("not a dlib MMOD detector: ") + e.what());
        return nullptr;
    }
    return m.release();
}

void fg_mmod_detect(fg_mmod *m, const cv::Mat &bgr, int upsample, std::vector<fg_detection> &out) {
    dlib::matrix<dlib::rgb_pixel> img;
    dlib::assign_image(img, dlib::cv_image<dlib::bgr_pixel>(bgr));
    double f = 1;
    for (int i = 0; i < upsample; i++) { dlib::pyramid_up(img); f *= 2; }
    auto dets = m->net(img);
    for (auto &d : dets) {
        out.push_back({(float)(d.rect.left() / f), (float)(d.rect.top() / f), (float)(d.rect.width() / f),
                       (float)(d.rect.height() / f), (float)d.detection_confidence});
    }
}

void fg_mmod_free(fg_mmod *m) { delete m; }

namespace {
bool make_shape(const fg_image *img, const float *pts, int npts, dlib::full_object_detection &shape) {
    if (npts != 5 && npts != 68) return false;
    std::vector<dlib::point> parts;
    long x0 = LONG_MAX, y0 = LONG_MAX, x1 = LONG_MIN, y1 = LONG_MIN;
    for (int i = 0; i < npts; i++) {
        dlib::point p((long)std::lround(pts[2 * i]), (long)std::lround(pts[2 * i + 1]));
        parts.push_back(p);
        x0 = std::min(x0, p.x()); y0 = std::min(y0, p.y()); x1 = std::max(x1, p.x()); y1 = std::max(y1, p.y());
    }
    (void)img;
    shape = dlib::full_object_detection(dlib::rectangle(x0, y0, x1, y1), parts);
    return true;
}
}  // namespace

extern "C" {

fg_embedder *fg_embedder_load_reference(const char *path, char *err, int errlen) {
    auto e = std::make_unique<fg_embedder>();
    try {
        dlib::deserialize(path) >> e->net;
    } catch (const std::exception &ex) {
        fg_set_err(err, errlen, std::string("not a dlib ResNet face model: ") + ex.what());
        return nullptr;
    }
    return e.release();
}

fg_embedder *fg_embedder_load(const char *path, char *err, int errlen) {
    fg_embedder *e = fg_embedder_load_reference(path, err, errlen);
    if (!e) return nullptr;
    try {
        e->fast = build_fast(e->net);
    } catch (const std::exception &ex) {
        fg_set_err(err, errlen, std::string("dlib ResNet face model has a layout the fast evaluator does not know (")
                                    + ex.what() + "); use the dlib reference evaluator");
        delete e;
        return nullptr;
    }
    return e;
}

int fg_embed(fg_embedder *e, const fg_image *img, const float *pts, int npts, int jitter, float *out128) {
    if (!e || !img || !pts || !out128) return -1;
    dlib::full_object_detection shape;
    if (!make_shape(img, pts, npts, shape)) return -1;
    try {
        dlib::matrix<dlib::rgb_pixel> chip;
        const auto details = dlib::get_face_chip_details(shape, 150, 0.25);
        if (e->referenceChip)
            dlib::extract_image_chip(dlib::cv_image<dlib::bgr_pixel>(img->mat), details, chip);
        else
            fgchip::extract_image_chip_fast(img->mat, details, chip, e->chipws);
        dlib::matrix<float, 0, 1> d;
        if (jitter <= 0) {
            d = e->fast ? embed_fast(*e, chip) : e->net(chip);
        } else {
            std::vector<dlib::matrix<dlib::rgb_pixel>> crops;
            for (int i = 0; i < jitter; i++) crops.push_back(dlib::jitter_image(chip, e->rnd));
            if (e->fast) {
                std::vector<dlib::matrix<float, 0, 1>> ds;
                for (auto &c : crops) ds.push_back(embed_fast(*e, c));
                d = dlib::mean(dlib::mat(ds));
            } else {
                d = dlib::mean(dlib::mat(e->net(crops)));
            }
        }
        for (int i = 0; i < 128; i++) out128[i] = d(i);
    } catch (...) {
        return -1;
    }
    return 0;
}

fg_image *fg_face_chip_ex(const fg_image *img, const float *pts, int npts, int size, double padding, int reference) {
    if (!img || !pts || size <= 0 || img->mat.type() != CV_8UC3) return nullptr;
    dlib::full_object_detection shape;
    if (!make_shape(img, pts, npts, shape)) return nullptr;
    const auto details = dlib::get_face_chip_details(shape, (unsigned long)size, padding);
    try {
        if (reference) {
            dlib::matrix<dlib::bgr_pixel> chip;
            dlib::extract_image_chip(dlib::cv_image<dlib::bgr_pixel>(img->mat), details, chip);
            cv::Mat m = dlib::toMat(chip).clone();
            return fg_wrap(m);
        }
        static thread_local fgchip::Workspace ws;
        cv::Mat m;
        fgchip::extract_image_chip_fast(img->mat, details, m, ws);
        return fg_wrap(m);
    } catch (...) {
        return nullptr;
    }
}

fg_image *fg_face_chip(const fg_image *img, const float *pts, int npts, int size, double padding) {
    return fg_face_chip_ex(img, pts, npts, size, padding, 0);
}

int fg_chip_fast_enabled(void) { return fgchip::fast_path_verified() ? 1 : 0; }

void fg_embedder_set_reference_chip(fg_embedder *e, int reference) {
    if (e) e->referenceChip = reference != 0;
}

void fg_embedder_free(fg_embedder *e) { delete e; }

}  // extern "C"
