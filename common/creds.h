/*  creds.h — AWS credentials. They come from the environment (AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). They are never put in a message, a log line or
    a command line. */
#ifndef TL_CREDS_H
#define TL_CREDS_H
#include "err.h"

typedef struct {
    char access_key [128];
    char secret_key [128];
    char session_token [2048];
} tl_creds_t;

/*  Fill c. TL_EAUTH with an operator-facing message when none are found. */
int tl_creds_load (tl_creds_t *c, tl_err_t *e);
#endif
