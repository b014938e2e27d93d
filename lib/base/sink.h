/*  sink.h — the one shape in which bytes flow through tally: a callback that takes the next
    piece of a stream. Storage backends and the HTTP engine push into a sink; the decompressor
    and the scanners are sinks. It returns 0 for more, 1 to stop early (not an error) and a
    negative TL_E* code to fail the stream. */
#ifndef TL_SINK_H
#define TL_SINK_H
#include <stddef.h>
#include <stdint.h>

typedef int (*tl_sink_fn) (void *arg, const char *buf, size_t len);

/*  What a reader had to do to deliver a stream, for the metrics. */
typedef struct {
    uint64_t retries;       /* requests retried */
    uint64_t resumed;       /* bodies resumed mid-way */
} tl_read_stats_t;
#endif
