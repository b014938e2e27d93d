/*  digest.c — SHA-256 over length-prefixed values (see digest.h). */
#include "lib/core/digest.h"
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

struct tl_digest {
    EVP_MD_CTX *ctx;
};

tl_digest_t *
tl_digest_new (void)
{
    tl_digest_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->ctx = EVP_MD_CTX_new ();
    if (!self->ctx || EVP_DigestInit_ex (self->ctx, EVP_sha256 (), NULL) != 1)
        tl_digest_destroy (&self);
    return self;
}

void
tl_digest_destroy (tl_digest_t **self_p)
{
    if (self_p && *self_p) {
        EVP_MD_CTX_free ((*self_p)->ctx);
        free (*self_p);
        *self_p = NULL;
    }
}

void
tl_digest_u64 (tl_digest_t *self, uint64_t v)
{
    unsigned char b [9] = { 'u' };
    for (int i = 0; i < 8; i++)
        b [1 + i] = (unsigned char) (v >> (56 - 8 * i));
    EVP_DigestUpdate (self->ctx, b, sizeof b);
}

void
tl_digest_str (tl_digest_t *self, const char *s)
{
    size_t n = s ? strlen (s) : 0;
    unsigned char b [9] = { 's' };
    for (int i = 0; i < 8; i++)
        b [1 + i] = (unsigned char) ((uint64_t) n >> (56 - 8 * i));
    EVP_DigestUpdate (self->ctx, b, sizeof b);
    if (n)
        EVP_DigestUpdate (self->ctx, s, n);
}

void
tl_digest_task (tl_digest_t *self, uint64_t id, uint64_t length)
{
    tl_digest_u64 (self, id);
    tl_digest_u64 (self, length);
}

void
tl_digest_hex (tl_digest_t *self, char out [TL_DIGEST_HEX + 1])
{
    static const char hex [] = "0123456789abcdef";
    unsigned char md [32];
    unsigned int n = 0;
    EVP_DigestFinal_ex (self->ctx, md, &n);
    for (int i = 0; i < 32; i++) {
        out [2 * i] = hex [md [i] >> 4];
        out [2 * i + 1] = hex [md [i] & 15];
    }
    out [TL_DIGEST_HEX] = 0;
}

/*  splitmix64's finaliser: every input bit moves every output bit. */
static uint64_t
s_mix (uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

uint64_t
tl_digest_pair (uint64_t id, uint64_t length)
{
    return s_mix (s_mix (id) ^ length);
}
