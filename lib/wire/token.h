/*  token.h — assignment tokens: proof that the broker gave a task to a mapper.

    The broker draws a random key per job and hands it to the reducer in JOB (over CURVE when
    --keys is set). Each TASK carries token = HMAC-SHA256(key, job, task, attempt, mapper,
    offset, verify), cut to 128 bits and written in hex. The mapper copies it into its PARTIAL,
    and the reducer applies a partial only if the token matches what the broker would have
    given for exactly that job, task, attempt and mapper name. So an allowed mapper can report
    only tasks it was given, not tasks of others and not tails that do not exist yet. It can
    still lie about the counts of a task it was given (docs/RELIABILITY.md; --verify-fraction).

    Pure: OpenSSL's HMAC, no I/O. */
#ifndef TL_TOKEN_H
#define TL_TOKEN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TL_TOKEN_KEY_LEN 32
#define TL_TOKEN_HEX 32         /* hex digits of a token */

typedef struct {
    const char *job;
    uint64_t task, attempt;
    const char *mapper;         /* the name the broker knows the mapper by */
    uint64_t offset;
    uint64_t verify;            /* 1 + the task a verification copy checks, 0 otherwise */
} tl_token_claim_t;

/*  The token for claim under key, as TL_TOKEN_HEX hex digits and a NUL into out. */
void tl_token_make (const uint8_t key [TL_TOKEN_KEY_LEN], const tl_token_claim_t *claim,
                    char out [TL_TOKEN_HEX + 1]);
/*  True if token is the one for claim (compared in constant time). */
bool tl_token_check (const uint8_t key [TL_TOKEN_KEY_LEN], const tl_token_claim_t *claim, const char *token);
/*  A key made ready once for many tokens: tl_token_make and tl_token_check set HMAC up from the
    key for every token (OpenSSL's one-shot HMAC fetches the digest and hashes the key pads each
    time: ~1.5 us, a fifth of the reducer's CPU per 4 KiB task). The same tokens, ~5x cheaper.
    new returns NULL when out of memory (then use the plain calls). Not for concurrent use. */
typedef struct tl_token_mac tl_token_mac_t;
tl_token_mac_t *tl_token_mac_new (const uint8_t key [TL_TOKEN_KEY_LEN]);
void tl_token_mac_destroy (tl_token_mac_t **self_p);
/*  True if self was made from key (so a caller can tell when its key changed). */
bool tl_token_mac_is (const tl_token_mac_t *self, const uint8_t key [TL_TOKEN_KEY_LEN]);
/*  *self_p made ready for key: kept if it was made from key, else made again. Returns it, or
    NULL when out of memory (then use the plain calls). */
tl_token_mac_t *tl_token_mac_ready (tl_token_mac_t **self_p, const uint8_t key [TL_TOKEN_KEY_LEN]);
void tl_token_mac_make (tl_token_mac_t *self, const tl_token_claim_t *claim, char out [TL_TOKEN_HEX + 1]);
bool tl_token_mac_check (tl_token_mac_t *self, const tl_token_claim_t *claim, const char *token);
/*  Key <-> hex (2 * TL_TOKEN_KEY_LEN digits). from_hex returns 0, or -1 if hex is malformed. */
void tl_token_key_hex (const uint8_t key [TL_TOKEN_KEY_LEN], char out [2 * TL_TOKEN_KEY_LEN + 1]);
int tl_token_key_from_hex (const char *hex, uint8_t key [TL_TOKEN_KEY_LEN]);
#endif
