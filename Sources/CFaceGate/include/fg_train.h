#ifndef FG_TRAIN_H
#define FG_TRAIN_H
/* Training helpers (own liveness models). Owned by the training work.
 * LivenessNet: a small dlib DNN trained with dlib's dnn_trainer (train_dnn.cpp).
 * Texture model: an OpenCV ml SVM with Platt-scaled probabilities (train_svm.cpp). */
#include "fg_image.h"
#ifdef __cplusplus
extern "C" {
#endif

/* ---------- labelled face crops ---------- */

/* A set of labelled face crops, each resized to size x size (area interpolation) when added. */
typedef struct fg_crops fg_crops;
fg_crops *fg_crops_new(int size);
/* Adds a copy of img (any size) with a class label >= 0. Returns the new count, or -1 on bad input. */
int fg_crops_add(fg_crops *c, const fg_image *img, int label);
int fg_crops_count(const fg_crops *c);
int fg_crops_size(const fg_crops *c);
void fg_crops_free(fg_crops *c);

/* ---------- LivenessNet (dlib DNN) ---------- */

typedef struct {
    int input_size;          /* crop side in pixels (e.g. 32 or 64) */
    int classes;             /* number of classes (>= 2) */
    int epochs;              /* upper bound; the epoch callback may stop earlier */
    int batch;               /* mini-batch size */
    double learning_rate;    /* Adam initial learning rate */
    double lr_decay;         /* inverse-time decay per epoch: lr = lr0 / (1 + lr_decay * epoch) */
    double weight_decay;     /* Adam weight decay */
    unsigned seed;           /* shuffling, augmentation and dropout seed */
    int augment;             /* 1: flip, rotation, brightness/contrast jitter on every training crop */
    double max_rotation_deg; /* uniform in [-max, max] */
    double brightness_jitter;/* additive, in grey levels: uniform in [-b, b] */
    double contrast_jitter;  /* multiplicative: uniform in [1-c, 1+c] */
    int balance;             /* 1: oversample minority classes so every class is seen equally often per epoch */
} fg_lnet_params;

typedef struct {
    int epoch;               /* 1-based */
    int epochs;
    double train_loss, train_acc;  /* on the un-augmented training crops, inference mode */
    double val_loss, val_acc;      /* NaN when there is no validation set */
    double learning_rate;
    double seconds;                /* wall time of this epoch: training steps + evaluation */
    double train_seconds;          /* training steps only */
} fg_lnet_epoch;

/* Epoch callback result bits. */
#define FG_TRAIN_CONTINUE 0
#define FG_TRAIN_STOP 1       /* stop after this epoch */
#define FG_TRAIN_KEEP_BEST 2  /* snapshot the weights of this epoch as the ones to return */
typedef int (*fg_lnet_epoch_cb)(void *ctx, const fg_lnet_epoch *e);
/* Called after each mini-batch step: epoch (1-based), batch (1-based), batches per epoch. */
typedef void (*fg_lnet_batch_cb)(void *ctx, int epoch, int batch, int batches);

typedef struct fg_lnet fg_lnet;
/* Trains a LivenessNet. val may be NULL or empty. Returns the snapshot marked KEEP_BEST last (or the final weights
 * when none was marked), in inference form (batch-norm folded, dropout scaled). NULL with err on failure. */
fg_lnet *fg_lnet_train(const fg_crops *train, const fg_crops *val, const fg_lnet_params *p,
                       fg_lnet_epoch_cb on_epoch, fg_lnet_batch_cb on_batch, void *ctx, char *err, int errlen);
/* Serialises the weights (with input size and class count) to a malloc'd buffer (free with fg_buffer_free). */
size_t fg_lnet_serialize(const fg_lnet *m, uint8_t **out);
fg_lnet *fg_lnet_deserialize(const uint8_t *data, size_t len, char *err, int errlen);
int fg_lnet_input_size(const fg_lnet *m);
int fg_lnet_classes(const fg_lnet *m);
/* Class probabilities for one crop (resized to the input size). Writes min(nprobs, classes) values; returns the
 * class count, or -1 on bad input. Not thread-safe: one model per thread. */
int fg_lnet_predict(fg_lnet *m, const fg_image *crop, float *probs, int nprobs);
/* Probabilities for every crop of a set (already at the input size); out holds count * classes floats. */
int fg_lnet_predict_crops(fg_lnet *m, const fg_crops *crops, float *out);
void fg_lnet_free(fg_lnet *m);
/* The inference-form parameters, for export to other runtimes (ONNX). Writes up to cap floats to out (out may be NULL
 * to ask for the count) and returns the total count, or 0 on bad input. Order (dlib layouts, row-major):
 *   input: avg_red, avg_green, avg_blue, divisor (value = (pixel - avg) / divisor, RGB planes)
 *   for each of the 4 conv layers (16, 16, 32, 32 filters; 3x3, stride 1, padding 1):
 *     filters [n][k][3][3], biases [n], affine gamma [n], affine beta [n]   (conv -> relu -> affine)
 *     after conv 2 and conv 4: max-pool 2x2 stride 2, then dropout multiplier [1]
 *   fc 64: weights [inputs][64] (x * W), biases [64], affine gamma [64], beta [64], dropout multiplier [1]
 *   fc classes: weights [64][classes], biases [classes]; softmax. */
size_t fg_lnet_export_params(const fg_lnet *m, float *out, size_t cap);

/* ---------- texture model: SVM on feature vectors ---------- */

typedef struct fg_svm fg_svm;
typedef struct {
    double c;                /* soft-margin C */
    double gamma;            /* RBF gamma (features are standardised first) */
    double weight_pos;       /* class weight of label 1 (e.g. n_neg / n_pos); <= 0 means 1 */
    double weight_neg;       /* class weight of label 0; <= 0 means 1 */
    int max_iter;            /* solver iteration cap */
} fg_svm_params;

/* Trains a binary RBF SVM: n rows of dim floats, labels 0/1 (1 = the positive class, e.g. real).
 * Features are standardised with the training mean and standard deviation (kept in the model). */
fg_svm *fg_svm_train(const float *x, const int *labels, int n, int dim, const fg_svm_params *p, char *err, int errlen);
/* Signed decision values (larger = more positive) for n rows. */
void fg_svm_decision(const fg_svm *m, const float *x, int n, double *out);
/* Fits Platt's sigmoid P(positive | f) = 1 / (1 + exp(A f + B)) on held-out decision values (Platt 1999, with the
 * Lin-Lin-Weng Newton method and Platt's smoothed targets) and stores it in the model. Returns 0 on success. */
int fg_svm_calibrate(fg_svm *m, const double *scores, const int *labels, int n);
/* Calibrated probability of the positive class for n rows (raw logistic of the decision value when uncalibrated). */
void fg_svm_probability(const fg_svm *m, const float *x, int n, double *out);
void fg_svm_platt(const fg_svm *m, double *a, double *b);
int fg_svm_dim(const fg_svm *m);
int fg_svm_support_vectors(const fg_svm *m);
/* Serialises (OpenCV FileStorage text + standardisation + Platt parameters) to a malloc'd buffer. */
size_t fg_svm_serialize(const fg_svm *m, uint8_t **out);
fg_svm *fg_svm_deserialize(const uint8_t *data, size_t len, char *err, int errlen);
void fg_svm_free(fg_svm *m);

#ifdef __cplusplus
}
#endif
#endif
