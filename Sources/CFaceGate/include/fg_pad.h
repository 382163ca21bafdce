#ifndef FG_PAD_H
#define FG_PAD_H
/* Presentation-attack detection helpers (passive liveness). Owned by the passive-liveness work. */
#include "fg_image.h"
#ifdef __cplusplus
extern "C" {
#endif
#ifdef __cplusplus
}
#endif
#endif
