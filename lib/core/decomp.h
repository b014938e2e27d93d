/*  decomp.h — streaming decompression in front of the CSV scanner: gzip (zlib, several members
    in a row allowed) and zstd (libzstd), detected by their magic bytes, anything else passed
    through untouched. Pure: bytes in, bytes out to a sink. Compressed objects cannot be cut at
    byte offsets, so the broker never splits them and the mapper declines steals on them. */
#ifndef TL_DECOMP_H
#define TL_DECOMP_H
#include "lib/base/err.h"
#include "lib/base/sink.h"

typedef enum { TL_DECOMP_UNKNOWN, TL_DECOMP_PLAIN, TL_DECOMP_GZIP, TL_DECOMP_ZSTD } tl_decomp_kind_t;

typedef struct tl_decomp tl_decomp_t;

/*  out receives the decompressed bytes (its return value is passed back: 0 more, 1 stop, <0 error). */
tl_decomp_t *tl_decomp_new (tl_sink_fn out, void *arg, tl_err_t *e);
void tl_decomp_destroy (tl_decomp_t **self_p);
/*  Feed compressed (or plain) bytes. Returns as a sink does. */
int tl_decomp_feed (tl_decomp_t *self, const char *buf, size_t len);
/*  End of input: TL_EPROTO if a compressed stream was cut short. */
int tl_decomp_finish (tl_decomp_t *self);
tl_decomp_kind_t tl_decomp_kind (const tl_decomp_t *self);
#endif
