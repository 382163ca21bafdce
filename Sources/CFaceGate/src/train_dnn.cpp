// LivenessNet: a small CNN for face-crop liveness, trained on CPU with dlib's dnn_trainer.
// Slow to compile (dlib DNN templates); kept in its own translation unit.
//
// Architecture (after the classic Keras "LivenessNet"):
//   [conv3x3(16) relu bn  conv3x3(16) relu bn  maxpool2  dropout.25]
//   [conv3x3(32) relu bn  conv3x3(32) relu bn  maxpool2  dropout.25]
//   fc(64) relu bn dropout.5  fc(classes)  softmax (multiclass log loss)
// Training uses batch-norm layers and dropout; the returned model is the inference form (batch-norm folded into
// affine layers with the running statistics, dropout replaced by its expected scaling).
#include "internal.hpp"
#include <dlib/dnn.h>
#include <dlib/rand.h>
#include <opencv2/imgproc.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <sstream>
#include <vector>

namespace lnet {
using namespace dlib;

// dlib's dropout_ takes its rate at run time; these fix the rate in the type so the network default-constructs
// with LivenessNet's rates. Serialised as plain dropout_ (the rate is stored).
class dropout25_ : public dropout_ {
public:
    dropout25_() : dropout_(0.25f) {}
};
class dropout50_ : public dropout_ {
public:
    dropout50_() : dropout_(0.5f) {}
};
template <typename SUBNET> using drop25 = add_layer<dropout25_, SUBNET>;
template <typename SUBNET> using drop50 = add_layer<dropout50_, SUBNET>;

template <long N, typename SUBNET> using conv3 = con<N, 3, 3, 1, 1, SUBNET>;

// Training form.
template <long N, typename SUBNET>
using tblock = drop25<max_pool<2, 2, 2, 2, bn_con<relu<conv3<N, bn_con<relu<conv3<N, SUBNET>>>>>>>>;
using train_net = loss_multiclass_log<fc<2, drop50<bn_fc<relu<fc<64, tblock<32, tblock<16, input_rgb_image>>>>>>>>;

// Inference form: same layers, batch-norm → affine, dropout → multiply.
template <long N, typename SUBNET>
using iblock = multiply<max_pool<2, 2, 2, 2, affine<relu<conv3<N, affine<relu<conv3<N, SUBNET>>>>>>>>;
using infer_net = loss_multiclass_log<fc<2, multiply<affine<relu<fc<64, iblock<32, iblock<16, input_rgb_image>>>>>>>>;
}  // namespace lnet

struct fg_crops {
    int size = 32;
    std::vector<cv::Mat> images;  // BGR, size x size
    std::vector<int> labels;
};

struct fg_lnet {
    int input_size = 32;
    int classes = 2;
    lnet::infer_net net;
};

namespace {

using rgb_matrix = dlib::matrix<dlib::rgb_pixel>;

rgb_matrix to_rgb(const cv::Mat &bgr) {
    rgb_matrix m(bgr.rows, bgr.cols);
    for (int y = 0; y < bgr.rows; y++) {
        const uint8_t *p = bgr.ptr<uint8_t>(y);
        for (int x = 0; x < bgr.cols; x++) m(y, x) = dlib::rgb_pixel(p[3 * x + 2], p[3 * x + 1], p[3 * x]);
    }
    return m;
}

cv::Mat resized(const cv::Mat &src, int size) {
    if (src.rows == size && src.cols == size) return src.clone();
    cv::Mat out;
    int interp = (src.rows > size || src.cols > size) ? cv::INTER_AREA : cv::INTER_LINEAR;
    cv::resize(src, out, cv::Size(size, size), 0, 0, interp);
    return out;
}

// One augmented copy: horizontal flip, small rotation, brightness/contrast jitter.
cv::Mat augment(const cv::Mat &src, const fg_lnet_params &p, std::mt19937 &rng) {
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    cv::Mat img = src;
    if (rng() & 1) cv::flip(img, img, 1);
    if (p.max_rotation_deg > 0) {
        double deg = u(rng) * p.max_rotation_deg;
        cv::Mat R = cv::getRotationMatrix2D(cv::Point2f(img.cols / 2.0f, img.rows / 2.0f), deg, 1.0);
        cv::Mat out;
        cv::warpAffine(img, out, R, img.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
        img = out;
    }
    if (p.brightness_jitter > 0 || p.contrast_jitter > 0) {
        double alpha = 1.0 + u(rng) * p.contrast_jitter;
        double beta = u(rng) * p.brightness_jitter;
        cv::Mat out;
        img.convertTo(out, -1, alpha, beta);  // saturating
        img = out;
    }
    return img.data == src.data ? src.clone() : img;
}

// Softmax probabilities and mean log loss / accuracy of `net` over crops.
struct EvalResult {
    double loss = std::numeric_limits<double>::quiet_NaN();
    double acc = std::numeric_limits<double>::quiet_NaN();
};

void forward_probs(lnet::infer_net &net, const std::vector<cv::Mat> &imgs, size_t begin, size_t end, int classes,
                   float *out) {
    std::vector<rgb_matrix> batch;
    batch.reserve(end - begin);
    for (size_t i = begin; i < end; i++) batch.push_back(to_rgb(imgs[i]));
    dlib::resizable_tensor x;
    net.to_tensor(batch.begin(), batch.end(), x);
    net.subnet().forward(x);
    const dlib::tensor &o = net.subnet().get_output();
    const float *logits = o.host();
    long k = o.k();
    for (size_t i = 0; i < batch.size(); i++) {
        const float *l = logits + i * k;
        float mx = *std::max_element(l, l + k);
        double sum = 0;
        for (long c = 0; c < k; c++) sum += std::exp((double)(l[c] - mx));
        for (int c = 0; c < classes; c++) out[i * classes + c] = c < k ? (float)(std::exp((double)(l[c] - mx)) / sum) : 0.f;
    }
}

constexpr size_t kEvalBatch = 128;

EvalResult evaluate(lnet::infer_net &net, const fg_crops &set, int classes) {
    EvalResult r;
    size_t n = set.images.size();
    if (n == 0) return r;
    std::vector<float> probs(kEvalBatch * classes);
    double loss = 0;
    size_t correct = 0;
    for (size_t b = 0; b < n; b += kEvalBatch) {
        size_t e = std::min(n, b + kEvalBatch);
        forward_probs(net, set.images, b, e, classes, probs.data());
        for (size_t i = b; i < e; i++) {
            const float *p = probs.data() + (i - b) * classes;
            int y = set.labels[i];
            loss += -std::log(std::max(1e-12, (double)p[y]));
            int arg = (int)(std::max_element(p, p + classes) - p);
            if (arg == y) correct++;
        }
    }
    r.loss = loss / n;
    r.acc = (double)correct / n;
    return r;
}

void set_fc_outputs(lnet::train_net &net, int classes) {
    // layer<1> is the final fc layer under the loss.
    dlib::layer<1>(net).layer_details().set_num_outputs(classes);
}

}  // namespace

extern "C" {

fg_crops *fg_crops_new(int size) {
    if (size < 8 || size > 512) return nullptr;
    auto *c = new (std::nothrow) fg_crops;
    if (c) c->size = size;
    return c;
}

int fg_crops_add(fg_crops *c, const fg_image *img, int label) {
    if (!c || !img || img->mat.empty() || label < 0) return -1;
    try {
        c->images.push_back(resized(img->mat, c->size));
        c->labels.push_back(label);
    } catch (...) {
        return -1;
    }
    return (int)c->images.size();
}

int fg_crops_count(const fg_crops *c) { return c ? (int)c->images.size() : 0; }
int fg_crops_size(const fg_crops *c) { return c ? c->size : 0; }
void fg_crops_free(fg_crops *c) { delete c; }

fg_lnet *fg_lnet_train(const fg_crops *train, const fg_crops *val, const fg_lnet_params *pp,
                       fg_lnet_epoch_cb on_epoch, fg_lnet_batch_cb on_batch, void *ctx, char *err, int errlen) {
    if (!train || !pp) { fg_set_err(err, errlen, "no training data"); return nullptr; }
    const fg_lnet_params p = *pp;
    if (p.classes < 2) { fg_set_err(err, errlen, "need at least two classes"); return nullptr; }
    if (train->images.empty()) { fg_set_err(err, errlen, "the training set is empty"); return nullptr; }
    if (train->size != p.input_size || (val && !val->images.empty() && val->size != p.input_size)) {
        fg_set_err(err, errlen, "crop size does not match the network input size");
        return nullptr;
    }
    if (p.input_size % 4 != 0 || p.input_size < 8) {
        fg_set_err(err, errlen, "input size must be a multiple of 4 and at least 8 (two 2x2 max-pool stages)");
        return nullptr;
    }
    for (int y : train->labels) {
        if (y >= p.classes) { fg_set_err(err, errlen, "a label is outside the class range"); return nullptr; }
    }
    try {
        std::srand(p.seed);  // dropout_ seeds its generator from std::rand()
        dlib::rand dseed(p.seed);
        std::mt19937 rng(p.seed);
        lnet::train_net net;
        set_fc_outputs(net, p.classes);

        dlib::dnn_trainer<lnet::train_net, dlib::adam> trainer(net, dlib::adam(p.weight_decay, 0.9, 0.999));
        trainer.be_quiet();
        trainer.set_learning_rate(p.learning_rate);
        trainer.set_min_learning_rate(1e-9);
        // The schedule is ours (inverse-time decay per epoch); switch off dlib's plateau-based shrinking.
        trainer.set_iterations_without_progress_threshold(std::numeric_limits<unsigned long>::max() / 4);
        trainer.set_test_iterations_without_progress_threshold(std::numeric_limits<unsigned long>::max() / 4);

        // Index lists per class, for balanced epochs.
        std::vector<std::vector<size_t>> by_class(p.classes);
        for (size_t i = 0; i < train->labels.size(); i++) by_class[train->labels[i]].push_back(i);
        size_t largest = 0;
        for (auto &v : by_class) largest = std::max(largest, v.size());

        std::unique_ptr<fg_lnet> best;
        const int batch = std::max(1, p.batch);
        for (int epoch = 1; epoch <= std::max(1, p.epochs); epoch++) {
            auto t0 = std::chrono::steady_clock::now();
            double lr = p.learning_rate / (1.0 + p.lr_decay * (epoch - 1));
            trainer.set_learning_rate(lr);

            std::vector<size_t> order;
            if (p.balance) {
                for (auto &v : by_class) {
                    if (v.empty()) continue;
                    order.insert(order.end(), v.begin(), v.end());
                    std::uniform_int_distribution<size_t> pick(0, v.size() - 1);
                    for (size_t k = v.size(); k < largest; k++) order.push_back(v[pick(rng)]);
                }
            } else {
                order.resize(train->images.size());
                std::iota(order.begin(), order.end(), 0);
            }
            std::shuffle(order.begin(), order.end(), rng);
            int batches = (int)((order.size() + batch - 1) / batch);
            std::vector<rgb_matrix> xs;
            std::vector<unsigned long> ys;
            for (int b = 0; b < batches; b++) {
                xs.clear();
                ys.clear();
                size_t end = std::min(order.size(), (size_t)(b + 1) * batch);
                for (size_t k = (size_t)b * batch; k < end; k++) {
                    size_t i = order[k];
                    const cv::Mat &src = train->images[i];
                    xs.push_back(to_rgb(p.augment ? augment(src, p, rng) : src));
                    ys.push_back((unsigned long)train->labels[i]);
                }
                trainer.train_one_step(xs, ys);
                if (on_batch) on_batch(ctx, epoch, b + 1, batches);
            }
            trainer.get_net();  // waits for the trainer thread to finish the queued steps
            auto t1 = std::chrono::steady_clock::now();

            auto snap = std::make_unique<fg_lnet>();
            snap->input_size = p.input_size;
            snap->classes = p.classes;
            snap->net = lnet::infer_net(trainer.get_net());
            fg_lnet_epoch e{};
            e.epoch = epoch;
            e.epochs = p.epochs;
            EvalResult tr = evaluate(snap->net, *train, p.classes);
            EvalResult va = val ? evaluate(snap->net, *val, p.classes) : EvalResult{};
            e.train_loss = tr.loss;
            e.train_acc = tr.acc;
            e.val_loss = va.loss;
            e.val_acc = va.acc;
            e.learning_rate = lr;
            auto t2 = std::chrono::steady_clock::now();
            e.train_seconds = std::chrono::duration<double>(t1 - t0).count();
            e.seconds = std::chrono::duration<double>(t2 - t0).count();
            int rc = on_epoch ? on_epoch(ctx, &e) : FG_TRAIN_CONTINUE;
            if ((rc & FG_TRAIN_KEEP_BEST) || epoch == p.epochs || (rc & FG_TRAIN_STOP)) {
                if ((rc & FG_TRAIN_KEEP_BEST) || !best) best = std::move(snap);
            }
            if (rc & FG_TRAIN_STOP) break;
        }
        (void)dseed;
        if (!best) { fg_set_err(err, errlen, "training produced no model"); return nullptr; }
        return best.release();
    } catch (const std::exception &ex) {
        fg_set_err(err, errlen, std::string("training failed: ") + ex.what());
        return nullptr;
    }
}

size_t fg_lnet_serialize(const fg_lnet *m, uint8_t **out) {
    if (!m || !out) return 0;
    try {
        std::ostringstream os;
        dlib::serialize("facegate-livenessnet", os);
        dlib::serialize(m->input_size, os);
        dlib::serialize(m->classes, os);
        // clean() drops the cached activations and gradients of the last forward pass, which dlib would otherwise
        // serialise too (18 MB instead of ~0.6 MB for a 32x32 net after a 128-crop batch).
        lnet::infer_net copy = m->net;
        copy.clean();
        dlib::serialize(copy, os);
        return fg_export_bytes(os.str(), out);
    } catch (...) {
        return 0;
    }
}

fg_lnet *fg_lnet_deserialize(const uint8_t *data, size_t len, char *err, int errlen) {
    std::string bytes;
    if (!fg_import_bytes(data, len, bytes, err, errlen)) return nullptr;
    try {
        std::istringstream is(bytes);
        std::string tag;
        dlib::deserialize(tag, is);
        if (tag != "facegate-livenessnet") { fg_set_err(err, errlen, "weights are not a LivenessNet"); return nullptr; }
        auto m = std::make_unique<fg_lnet>();
        dlib::deserialize(m->input_size, is);
        dlib::deserialize(m->classes, is);
        dlib::deserialize(m->net, is);
        if (m->input_size < 8 || m->classes < 2) { fg_set_err(err, errlen, "weights have an invalid shape"); return nullptr; }
        return m.release();
    } catch (const std::exception &ex) {
        fg_set_err(err, errlen, std::string("LivenessNet weights are damaged: ") + ex.what());
        return nullptr;
    }
}

int fg_lnet_input_size(const fg_lnet *m) { return m ? m->input_size : 0; }
int fg_lnet_classes(const fg_lnet *m) { return m ? m->classes : 0; }

int fg_lnet_predict(fg_lnet *m, const fg_image *crop, float *probs, int nprobs) {
    if (!m || !crop || crop->mat.empty() || !probs) return -1;
    try {
        std::vector<cv::Mat> one{resized(crop->mat, m->input_size)};
        std::vector<float> p(m->classes);
        forward_probs(m->net, one, 0, 1, m->classes, p.data());
        for (int c = 0; c < std::min(nprobs, m->classes); c++) probs[c] = p[c];
    } catch (...) {
        return -1;
    }
    return m->classes;
}

int fg_lnet_predict_crops(fg_lnet *m, const fg_crops *crops, float *out) {
    if (!m || !crops || !out) return -1;
    if (crops->size != m->input_size) return -1;
    try {
        size_t n = crops->images.size();
        for (size_t b = 0; b < n; b += kEvalBatch) {
            size_t e = std::min(n, b + kEvalBatch);
            forward_probs(m->net, crops->images, b, e, m->classes, out + b * m->classes);
        }
    } catch (...) {
        return -1;
    }
    return (int)crops->images.size();
}

size_t fg_lnet_export_params(const fg_lnet *cm, float *out, size_t cap) {
    if (!cm) return 0;
    auto &net = const_cast<fg_lnet *>(cm)->net;
    std::vector<float> v;
    auto put = [&](const dlib::tensor &t) { const float *h = t.host(); v.insert(v.end(), h, h + t.size()); };
    auto conv = [&](auto &c, auto &a) {
        const auto &cd = c.layer_details();
        if (cd.bias_is_disabled()) throw std::runtime_error("conv without bias");
        const dlib::tensor &p = cd.get_layer_params();
        const float *h = p.host();
        v.insert(v.end(), h, h + p.size());  // filters then biases
        put(a.layer_details().get_gamma());
        put(a.layer_details().get_beta());
    };
    try {
        const auto &in = net.input_layer();
        v.push_back(in.get_avg_red());
        v.push_back(in.get_avg_green());
        v.push_back(in.get_avg_blue());
        v.push_back(256.0f);  // dlib's input_rgb_image divides by 256
        // Layer indices from the top (1 = the last fc): see infer_net / iblock.
        conv(dlib::layer<21>(net), dlib::layer<19>(net));
        conv(dlib::layer<18>(net), dlib::layer<16>(net));
        v.push_back(dlib::layer<14>(net).layer_details().get_multiply_value());
        conv(dlib::layer<13>(net), dlib::layer<11>(net));
        conv(dlib::layer<10>(net), dlib::layer<8>(net));
        v.push_back(dlib::layer<6>(net).layer_details().get_multiply_value());
        const auto &fc1 = dlib::layer<5>(net).layer_details();
        if (fc1.bias_is_disabled()) return 0;
        put(fc1.get_layer_params());  // weights then biases
        put(dlib::layer<3>(net).layer_details().get_gamma());
        put(dlib::layer<3>(net).layer_details().get_beta());
        v.push_back(dlib::layer<2>(net).layer_details().get_multiply_value());
        const auto &fc2 = dlib::layer<1>(net).layer_details();
        if (fc2.bias_is_disabled()) return 0;
        put(fc2.get_layer_params());
    } catch (...) {
        return 0;
    }
    if (out) std::copy(v.begin(), v.begin() + std::min(cap, v.size()), out);
    return v.size();
}

void fg_lnet_free(fg_lnet *m) { delete m; }

}  // extern "C"
