/*  token.c — HMAC-SHA256 assignment tokens (see token.h). */
#include "lib/wire/token.h"
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_hex [] = "0123456789abcdef";

/*  Fields are length-prefixed (8 bytes, little-endian), so no two claims share an encoding;
    integers are 8 bytes little-endian, whatever the host. */
static size_t
s_put (unsigned char *buf, size_t pos, size_t cap, const void *p, size_t n)
{
    if (pos > cap || cap - pos < 8 || cap - pos - 8 < n)
        return pos;     /* cannot happen: the caller bounds every field */
    for (int i = 0; i < 8; i++)
        buf [pos + (size_t) i] = (unsigned char) ((uint64_t) n >> (8 * i));
    memcpy (buf + pos + 8, p, n);
    return pos + 8 + n;
}

static size_t
s_put_u64 (unsigned char *buf, size_t pos, size_t cap, uint64_t v)
{
    unsigned char le [8];
    for (int i = 0; i < 8; i++)
        le [i] = (unsigned char) (v >> (8 * i));
    return s_put (buf, pos, cap, le, 8);
}

/*  The message a claim's token is the HMAC of; returns its length. */
static size_t
s_claim_msg (const tl_token_claim_t *c, unsigned char *msg, size_t cap)
{
    size_t pos = 0;
    const char *job = c->job ? c->job : "", *mapper = c->mapper ? c->mapper : "";
    size_t jl = strnlen (job, 4096), ml = strnlen (mapper, 4096);
    pos = s_put (msg, pos, cap, job, jl);
    pos = s_put_u64 (msg, pos, cap, c->task);
    pos = s_put_u64 (msg, pos, cap, c->attempt);
    pos = s_put (msg, pos, cap, mapper, ml);
    pos = s_put_u64 (msg, pos, cap, c->offset);
    pos = s_put_u64 (msg, pos, cap, c->verify);
    return pos;
}

static void
s_hex_mac (const unsigned char *mac, char out [TL_TOKEN_HEX + 1])
{
    for (int i = 0; i < TL_TOKEN_HEX / 2; i++) {
        out [2 * i] = s_hex [mac [i] >> 4];
        out [2 * i + 1] = s_hex [mac [i] & 15];
    }
    out [TL_TOKEN_HEX] = 0;
}

#define MSG_MAX (2 * 4096 + 128)

void
tl_token_make (const uint8_t key [TL_TOKEN_KEY_LEN], const tl_token_claim_t *c, char out [TL_TOKEN_HEX + 1])
{
    unsigned char msg [MSG_MAX];
    size_t pos = s_claim_msg (c, msg, sizeof msg);
    unsigned char mac [EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    HMAC (EVP_sha256 (), key, TL_TOKEN_KEY_LEN, msg, pos, mac, &maclen);
    s_hex_mac (mac, out);
}

bool
tl_token_check (const uint8_t key [TL_TOKEN_KEY_LEN], const tl_token_claim_t *claim, const char *token)
{
    if (!token || strlen (token) != TL_TOKEN_HEX)
        return false;
    char want [TL_TOKEN_HEX + 1];
    tl_token_make (key, claim, want);
    return CRYPTO_memcmp (want, token, TL_TOKEN_HEX) == 0;
}

/*  The keyed HMAC context is set up once; each token re-initialises it with no key, which
    OpenSSL takes as "the same key again" (the pads are hashed once, nothing is fetched). */
struct tl_token_mac {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
    uint8_t key [TL_TOKEN_KEY_LEN];
};

tl_token_mac_t *
tl_token_mac_new (const uint8_t key [TL_TOKEN_KEY_LEN])
{
    tl_token_mac_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    memcpy (self->key, key, TL_TOKEN_KEY_LEN);
    OSSL_PARAM params [] = { OSSL_PARAM_construct_utf8_string ("digest", (char *) "SHA256", 0),
                             OSSL_PARAM_construct_end () };
    if (!(self->mac = EVP_MAC_fetch (NULL, "HMAC", NULL)) || !(self->ctx = EVP_MAC_CTX_new (self->mac))
        || EVP_MAC_init (self->ctx, key, TL_TOKEN_KEY_LEN, params) != 1)
        tl_token_mac_destroy (&self);
    return self;
}

void
tl_token_mac_destroy (tl_token_mac_t **self_p)
{
    if (self_p && *self_p) {
        tl_token_mac_t *self = *self_p;
        EVP_MAC_CTX_free (self->ctx);
        EVP_MAC_free (self->mac);
        OPENSSL_cleanse (self->key, sizeof self->key);
        free (self);
        *self_p = NULL;
    }
}

bool
tl_token_mac_is (const tl_token_mac_t *self, const uint8_t key [TL_TOKEN_KEY_LEN])
{
    return self && CRYPTO_memcmp (self->key, key, TL_TOKEN_KEY_LEN) == 0;
}

tl_token_mac_t *
tl_token_mac_ready (tl_token_mac_t **self_p, const uint8_t key [TL_TOKEN_KEY_LEN])
{
    if (!tl_token_mac_is (*self_p, key)) {
        tl_token_mac_destroy (self_p);
        *self_p = tl_token_mac_new (key);
    }
    return *self_p;
}

void
tl_token_mac_make (tl_token_mac_t *self, const tl_token_claim_t *c, char out [TL_TOKEN_HEX + 1])
{
    unsigned char msg [MSG_MAX];
    size_t pos = s_claim_msg (c, msg, sizeof msg);
    unsigned char mac [EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    if (EVP_MAC_init (self->ctx, NULL, 0, NULL) != 1 || EVP_MAC_update (self->ctx, msg, pos) != 1
        || EVP_MAC_final (self->ctx, mac, &maclen, sizeof mac) != 1 || maclen < TL_TOKEN_HEX / 2) {
        tl_token_make (self->key, c, out);  /* cannot happen; the slow way is the same token */
        return;
    }
    s_hex_mac (mac, out);
}

bool
tl_token_mac_check (tl_token_mac_t *self, const tl_token_claim_t *claim, const char *token)
{
    if (!token || strlen (token) != TL_TOKEN_HEX)
        return false;
    char want [TL_TOKEN_HEX + 1];
    tl_token_mac_make (self, claim, want);
    return CRYPTO_memcmp (want, token, TL_TOKEN_HEX) == 0;
}

void
tl_token_key_hex (const uint8_t key [TL_TOKEN_KEY_LEN], char out [2 * TL_TOKEN_KEY_LEN + 1])
{
    for (int i = 0; i < TL_TOKEN_KEY_LEN; i++) {
        out [2 * i] = s_hex [key [i] >> 4];
        out [2 * i + 1] = s_hex [key [i] & 15];
    }
    out [2 * TL_TOKEN_KEY_LEN] = 0;
}

static int
s_nibble (char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int
tl_token_key_from_hex (const char *hex, uint8_t key [TL_TOKEN_KEY_LEN])
{
    if (!hex || strlen (hex) != 2 * TL_TOKEN_KEY_LEN)
        return -1;
    for (int i = 0; i < TL_TOKEN_KEY_LEN; i++) {
        int hi = s_nibble (hex [2 * i]), lo = s_nibble (hex [2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        key [i] = (uint8_t) (hi << 4 | lo);
    }
    return 0;
}
