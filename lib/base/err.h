/*  err.h — error values for tally.
    Every fallible call returns 0 or a negative TL_E* code. Calls that can fail in ways an
    operator must act on also fill a tl_err_t with a message naming the key, host and status. */
#ifndef TL_ERR_H
#define TL_ERR_H
#include <stddef.h>

enum {
    TL_OK = 0,
    TL_ENOMEM = -1,     /* out of memory */
    TL_EINVAL = -2,     /* bad argument or configuration */
    TL_EIO = -3,        /* local file error */
    TL_ENET = -4,       /* network error (connect, reset, timeout) */
    TL_EHTTP = -5,      /* HTTP/S3 error status */
    TL_EPROTO = -6,     /* malformed message or reply */
    TL_ENOTFOUND = -7,  /* object, bucket or file not found */
    TL_ECOLUMN = -8,    /* group-by column not in header */
    TL_ECANCEL = -9,    /* cancelled */
    TL_EAUTH = -10,     /* credentials missing or refused */
    TL_ECHANGED = -11,  /* an input object changed since it was listed */
    TL_EFULL = -12,     /* a limit was reached (size cap, disk full) */
};

typedef struct {
    int code;
    int retryable;      /* 1 if trying again may succeed (5xx, reset, stall) */
    char msg[768];
} tl_err_t;

/*  Short text for a code. */
const char *tl_strerror (int code);
/*  Fill e (may be NULL) and return code. */
int tl_err_set (tl_err_t *e, int code, int retryable, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
#endif
