/*  s3xml.c — expat handlers that track the element path we are in and collect text.
    Only elements directly under the root (or under <Contents>) matter, so a depth counter and
    the current element name suffice. */
#include "lib/aws/s3xml.h"
#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int depth;
    int in_contents;
    char root [64];
    char elem [64];
    char *text;
    size_t tlen, tcap;
    int oom;
    tl_s3_page_t *page;
    char *key;
    char *etag;
    uint64_t size;
    /* error document */
    char *code, *msg;
    size_t codelen, msglen;
} s_ctx_t;

static void
s_text (void *ud, const XML_Char *s, int len)
{
    s_ctx_t *c = ud;
    if (c->oom || len <= 0)
        return;
    if (c->tlen + (size_t) len + 1 > c->tcap) {
        size_t cap = (c->tlen + len + 1) * 2;
        if (cap > (1 << 20)) {      /* no element of interest is this long */
            c->oom = 1;
            return;
        }
        char *t = realloc (c->text, cap);
        if (!t) {
            c->oom = 1;
            return;
        }
        c->text = t;
        c->tcap = cap;
    }
    memcpy (c->text + c->tlen, s, len);
    c->tlen += len;
    c->text [c->tlen] = 0;
}

static void
s_start (void *ud, const XML_Char *name, const XML_Char **atts)
{
    (void) atts;
    s_ctx_t *c = ud;
    if (c->depth == 0)
        snprintf (c->root, sizeof c->root, "%s", name);
    if (c->depth == 1 && strcmp (name, "Contents") == 0) {
        c->in_contents = 1;
        free (c->key);
        c->key = NULL;
        free (c->etag);
        c->etag = NULL;
        c->size = 0;
    }
    snprintf (c->elem, sizeof c->elem, "%s", name);
    c->tlen = 0;
    if (c->text)
        c->text [0] = 0;
    c->depth++;
}

static void
s_end (void *ud, const XML_Char *name)
{
    s_ctx_t *c = ud;
    c->depth--;
    const char *t = c->text ? c->text : "";
    if (c->page && c->in_contents && c->depth == 2) {
        if (strcmp (name, "Key") == 0) {
            free (c->key);
            c->key = strdup (t);
            if (!c->key)
                c->oom = 1;
        }
        else if (strcmp (name, "Size") == 0)
            c->size = strtoull (t, NULL, 10);
        else if (strcmp (name, "ETag") == 0) {
            free (c->etag);
            if (!(c->etag = strdup (t)))
                c->oom = 1;
        }
    }
    else if (c->page && c->in_contents && c->depth == 1 && strcmp (name, "Contents") == 0) {
        c->in_contents = 0;
        if (c->key) {
            tl_s3_entry_t *v = realloc (c->page->v, (c->page->n + 1) * sizeof *v);
            if (!v) {
                c->oom = 1;
                return;
            }
            c->page->v = v;
            v [c->page->n].key = c->key;
            v [c->page->n].size = c->size;
            v [c->page->n].etag = c->etag;
            c->page->n++;
            c->key = NULL;
            c->etag = NULL;
        }
    }
    else if (c->depth == 1) {
        if (c->page && strcmp (name, "IsTruncated") == 0)
            c->page->truncated = strcmp (t, "true") == 0;
        else if (c->page && strcmp (name, "NextContinuationToken") == 0) {
            free (c->page->next_token);
            c->page->next_token = strdup (t);
        }
        else if (c->code && strcmp (name, "Code") == 0)
            snprintf (c->code, c->codelen, "%s", t);
        else if (c->msg && strcmp (name, "Message") == 0)
            snprintf (c->msg, c->msglen, "%s", t);
    }
    c->tlen = 0;
    if (c->text)
        c->text [0] = 0;
}

static int
s_parse (s_ctx_t *c, const char *xml, size_t len)
{
    XML_Parser p = XML_ParserCreate (NULL);
    if (!p)
        return TL_ENOMEM;
    XML_SetUserData (p, c);
    XML_SetElementHandler (p, s_start, s_end);
    XML_SetCharacterDataHandler (p, s_text);
    int ok = XML_Parse (p, xml, (int) len, 1) == XML_STATUS_OK;
    XML_ParserFree (p);
    free (c->text);
    free (c->key);
    free (c->etag);
    if (c->oom)
        return TL_ENOMEM;
    return ok ? 0 : TL_EPROTO;
}

int
tl_s3xml_list (const char *xml, size_t len, tl_s3_page_t *page, tl_err_t *e)
{
    memset (page, 0, sizeof *page);
    if (len > (size_t) 1 << 30)
        return tl_err_set (e, TL_EPROTO, 0, "listing reply too large");
    s_ctx_t c = { .page = page };
    int rc = s_parse (&c, xml, len);
    if (rc == 0 && strcmp (c.root, "ListBucketResult") != 0)
        rc = TL_EPROTO;
    if (rc == 0 && page->truncated && (!page->next_token || !*page->next_token))
        rc = TL_EPROTO;
    if (rc) {
        tl_s3xml_page_free (page);
        return tl_err_set (e, rc, 0, "malformed ListObjectsV2 reply (%zu bytes)", len);
    }
    return 0;
}

void
tl_s3xml_page_free (tl_s3_page_t *page)
{
    for (size_t i = 0; i < page->n; i++) {
        free (page->v [i].key);
        free (page->v [i].etag);
    }
    free (page->v);
    free (page->next_token);
    memset (page, 0, sizeof *page);
}

void
tl_s3xml_error (const char *xml, size_t len, char *code, size_t codelen, char *msg, size_t msglen)
{
    if (code && codelen)
        *code = 0;
    if (msg && msglen)
        *msg = 0;
    if (len > (1 << 20))
        return;
    s_ctx_t c = { .code = code, .codelen = codelen, .msg = msg, .msglen = msglen };
    s_parse (&c, xml, len);
}

void
tl_s3xml_explain (const char *body, size_t len, tl_http_error_t *out)
{
    tl_s3xml_error (body, len, out->code, sizeof out->code, out->msg, sizeof out->msg);
    out->retry = strcmp (out->code, "SlowDown") == 0 || strcmp (out->code, "RequestTimeout") == 0
                 || strcmp (out->code, "InternalError") == 0;
}

void
tl_s3xml_describe (long status, const char *body, size_t len, char *out, size_t outlen)
{
    tl_http_error_t why = { 0 };
    if (body && len)
        tl_s3xml_explain (body, len, &why);
    tl_http_describe (status, &why, out, outlen);
}
