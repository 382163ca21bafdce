#ifndef FG_TRAIN_H
#define FG_TRAIN_H
/* Training helpers (own liveness models). Owned by the training work. */
#include "fg_image.h"
#ifdef __cplusplus
extern "C" {
#endif
#ifdef __cplusplus
}
#endif
#endif
