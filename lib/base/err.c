/*  err.c — error codes and messages. */
#include "lib/base/err.h"
#include <stdarg.h>
#include <stdio.h>

const char *
tl_strerror (int code)
{
    switch (code) {
        case TL_OK:        return "ok";
        case TL_ENOMEM:    return "out of memory";
        case TL_EINVAL:    return "invalid argument";
        case TL_EIO:       return "i/o error";
        case TL_ENET:      return "network error";
        case TL_EHTTP:     return "http error";
        case TL_EPROTO:    return "protocol error";
        case TL_ENOTFOUND: return "not found";
        case TL_ECOLUMN:   return "column not found";
        case TL_ECANCEL:   return "cancelled";
        case TL_EAUTH:     return "authentication error";
        case TL_ECHANGED:  return "object changed since it was listed";
        case TL_EFULL:     return "limit reached";
        default:           return "unknown error";
    }
}

int
tl_err_set (tl_err_t *e, int code, int retryable, const char *fmt, ...)
{
    if (e) {
        e->code = code;
        e->retryable = retryable;
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (e->msg, sizeof e->msg, fmt, ap);
        va_end (ap);
    }
    return code;
}
