/*  creds.h — AWS credentials, found the way AWS tools find them:
      1. the environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
      2. the shared files: profile AWS_PROFILE (else "default") in AWS_SHARED_CREDENTIALS_FILE
         (else ~/.aws/credentials), then in AWS_CONFIG_FILE (else ~/.aws/config, as
         [profile NAME] or [default]);
      3. the EC2 instance role through IMDSv2 (PUT a token, GET the role, GET its credentials)
         at AWS_EC2_METADATA_SERVICE_ENDPOINT (else http://169.254.169.254), unless
         AWS_EC2_METADATA_DISABLED=true.
    The result is cached for the process and refreshed 5 minutes before its Expiration.
    Secrets never appear in a message, a log line or a command line. */
#ifndef TL_CREDS_H
#define TL_CREDS_H
#include "lib/base/err.h"
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char access_key [128];
    char secret_key [128];
    char session_token [4096];
    int64_t expires;        /* unix seconds; 0 means no expiry */
    char source [160];      /* where they came from, for logs: "environment", "profile x in FILE", ... */
} tl_creds_t;

/*  The chain, cached. TL_EAUTH with an operator-facing message when nothing is found. */
int tl_creds_get (tl_creds_t *c, tl_err_t *e);
/*  Pure helpers, exposed for tests. */
int tl_creds_from_files (const char *creds_path, const char *config_path, const char *profile, tl_creds_t *c);
int tl_creds_from_imds_json (const char *json, size_t len, tl_creds_t *c, tl_err_t *e);
/*  The region of the active profile from the config file, into out; 0 if found. */
int tl_config_region (char *out, size_t outlen);
/*  "AKIA…WXYZ": an access key id shortened for logs. */
void tl_creds_key_hint (const tl_creds_t *c, char out [16]);
#endif
