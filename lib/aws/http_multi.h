/*  http_multi.h — one byte span of an object of known size, read as concurrent ranged GETs
    through the curl multi interface and delivered in order (see http_multi.c). */
#ifndef TL_HTTP_MULTI_H
#define TL_HTTP_MULTI_H
#include "lib/aws/http_req.h"

/*  Stream [offset, offset+length) of r's object (r->size > 0, r->range_size > 0) into sink. */
int tl_http_stream_multi (const tl_http_req_t *r, uint64_t offset, uint64_t length, tl_sink_fn sink, void *arg,
                          tl_err_t *e);
#endif
