/*  libFuzzer: the SigV4 canonicaliser on arbitrary paths, query parameters and header values.
    Input: fields separated by 0x00: path, then name/value pairs, then a header value. */
#include <stdint.h>
#include "lib/aws/sigv4.h"
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *s = malloc (size + 2);
    memcpy (s, data, size);
    s [size] = 0;
    s [size + 1] = 0;
    char *f [17];
    int n = 0;
    for (char *p = s; n < 17 && p <= s + size; p += strlen (p) + 1)
        f [n++] = p;
    tl_kv_t q [8];
    int nq = 0;
    for (int i = 1; i + 1 < n - 1 && nq < 8; i += 2)
        q [nq++] = (tl_kv_t) { f [i], *f [i + 1] ? f [i + 1] : NULL };
    tl_kv_t h [1] = { { "range", n > 1 ? f [n - 1] : "" } };
    tl_sigv4_req_t r = { .method = "GET", .host = "h", .path = f [0], .query = q, .n_query = (size_t) nq,
                         .headers = h, .n_headers = 1, .payload_hash = "UNSIGNED-PAYLOAD",
                         .amz_date = "20130524T000000Z", .region = "us-east-1", .service = "s3",
                         .access_key = "AKIAIOSFODNN7EXAMPLE", .secret_key = "secret" };
    char *c = tl_sigv4_canonical_request (&r);
    free (c);
    char auth [4096];
    tl_sigv4_authorization (&r, auth, sizeof auth);
    free (s);
    return 0;
}
