/*  csv_record.c — see csv_record.h. */
#include "lib/core/csv_record.h"
#include "lib/core/csv.h"
#include <string.h>

/*  Quote states: at the start of a field, in an unquoted field (or after a closing quote),
    inside quotes, and just after a quote inside quotes (a closing quote, or the first of ""). */
enum { S_FIELD, S_PLAIN, S_IN, S_CLOSE };

void
tl_csv_record_init (tl_csv_record_t *self, bool lines)
{
    *self = (tl_csv_record_t) { .q = S_FIELD, .lines = lines };
}

bool
tl_csv_record_in_quotes (const tl_csv_record_t *self)
{
    return self->q == S_IN;
}

/*  The quote state machine over [p, e), from self->q, with no length limit. Returns the newline
    that ends the record, or NULL if the record goes on past e. Memchr-driven: only quotes and
    newlines stop it. */
static const char *
s_quotes (tl_csv_record_t *self, const char *p, const char *e)
{
    const char *nl = NULL;      /* the next newline at or after p (e: none before e), once known */
    while (p < e) {
        if (self->q == S_IN) {
            const char *qt = memchr (p, '"', (size_t) (e - p));
            const char *to = qt ? qt : e;
            for (const char *n = p; (n = memchr (n, '\n', (size_t) (to - n))) != NULL; n++)
                self->nl++;
            if (!qt)
                return NULL;
            self->nq++;
            self->q = S_CLOSE;
            p = qt + 1;
            continue;
        }
        if (self->q == S_CLOSE) {
            if (*p == '"') {    /* "" inside quotes */
                self->nq++;
                self->q = S_IN;
                p++;
                continue;
            }
            self->q = S_PLAIN;     /* the closing quote */
        }
        if (!nl || nl < p) {
            nl = memchr (p, '\n', (size_t) (e - p));
            if (!nl)
                nl = e;
        }
        const char *qt = memchr (p, '"', (size_t) (nl - p));
        if (!qt) {
            if (nl > p)
                self->q = nl [-1] == ',' ? S_FIELD : S_PLAIN;
            return nl < e ? nl : NULL;
        }
        self->nq++;
        self->q = (qt == p ? self->q == S_FIELD : qt [-1] == ',') ? S_IN : S_PLAIN;
        p = qt + 1;
    }
    return NULL;
}

const char *
tl_csv_record_scan (tl_csv_record_t *self, const char *p, const char *e)
{
    if (!self->overlong) {
        size_t room = TL_CSV_LINE_MAX - self->len;
        const char *cap = (size_t) (e - p) > room ? p + room : e;
        const char *t = self->lines ? memchr (p, '\n', (size_t) (cap - p)) : s_quotes (self, p, cap);
        if (t) {
            self->len += (size_t) (t - p);
            return t;
        }
        self->len += (size_t) (cap - p);
        if (cap == e)
            return NULL;
        if (*cap == '\n' && self->q != S_IN)
            return cap;         /* exactly TL_CSV_LINE_MAX bytes */
        self->overlong = true;
        p = cap;
    }
    const char *nl = memchr (p, '\n', (size_t) (e - p));
    if (!self->lines) {
        s_quotes (self, p, nl ? nl : e);    /* the quote state up to that newline (none before it) */
        self->open_cut = nl && self->q == S_IN;
    }
    return nl;
}
