/*  creds.c — credential lookup (environment). */
#include "creds.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
tl_creds_load (tl_creds_t *c, tl_err_t *e)
{
    memset (c, 0, sizeof *c);
    const char *ak = getenv ("AWS_ACCESS_KEY_ID");
    const char *sk = getenv ("AWS_SECRET_ACCESS_KEY");
    const char *tk = getenv ("AWS_SESSION_TOKEN");
    if (ak && *ak && sk && *sk) {
        if (strlen (ak) >= sizeof c->access_key || strlen (sk) >= sizeof c->secret_key
            || (tk && strlen (tk) >= sizeof c->session_token))
            return tl_err_set (e, TL_EAUTH, 0, "AWS credentials in the environment are too long");
        snprintf (c->access_key, sizeof c->access_key, "%s", ak);
        snprintf (c->secret_key, sizeof c->secret_key, "%s", sk);
        if (tk)
            snprintf (c->session_token, sizeof c->session_token, "%s", tk);
        return 0;
    }
    return tl_err_set (e, TL_EAUTH, 0,
                       "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                       "(and AWS_SESSION_TOKEN for temporary keys), or pass --no-sign-request for a public bucket");
}
