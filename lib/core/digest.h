/*  digest.h — SHA-256 digests that name what a job is and what it covered.

    * The job's fingerprint: every input object as listed (URI, size, ETag or mtime), the
      query text and the split rules. The journal and the reducer's checkpoint carry it, so a
      state dir can never be resumed by another job.
    * The task-list digest: the task count and every task's (id, length) once all cuts are
      made. The broker sends it in END, and the reducer computes the same over what it applied:
      a job is done and ok only if the two agree.
    * The applied-set digest: an order-free 64-bit sum over (id, length) pairs, which both
      halves of the applied-set exchange keep as they go (O(1) per task), so that a broker
      can say in a few bytes which part of the reducer's applied set it already holds. It
      guards against lost and mixed-up messages, not against forgery (tokens and CURVE do).
    Values are length-prefixed, so no two different sequences hash alike. Pure (OpenSSL). */
#ifndef TL_DIGEST_H
#define TL_DIGEST_H
#include <stddef.h>
#include <stdint.h>

#define TL_DIGEST_HEX 64

typedef struct tl_digest tl_digest_t;

tl_digest_t *tl_digest_new (void);
void tl_digest_destroy (tl_digest_t **self_p);
void tl_digest_u64 (tl_digest_t *self, uint64_t v);
/*  A string (NULL counts as empty). */
void tl_digest_str (tl_digest_t *self, const char *s);
/*  The task-list digest, one format for the broker (END) and the reducer (coverage): begin with
    the task count, then one call per task in id order. */
void tl_digest_task (tl_digest_t *self, uint64_t id, uint64_t length);
/*  Finish: the digest in hex into out. The digest cannot be fed afterwards. */
void tl_digest_hex (tl_digest_t *self, char out [TL_DIGEST_HEX + 1]);
/*  One (id, length) pair's share of the applied-set digest: add them up (mod 2^64). */
uint64_t tl_digest_pair (uint64_t id, uint64_t length);
#endif
