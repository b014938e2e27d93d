/*  xml.c — see xml.h. */
#include "lib/aws/xml.h"
#include <expat.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_DEPTH 64
#define S_MAX_NODES 1000000

typedef struct {
    XML_Parser p;
    tl_xml_t *root;
    tl_xml_t *stack [S_MAX_DEPTH];
    tl_xml_t *last [S_MAX_DEPTH];   /* last child at each depth, to append in order */
    size_t tlen [S_MAX_DEPTH];
    int depth;
    size_t nodes;
    int fail;
} s_state_t;

static void
s_node_free (tl_xml_t *n)
{
    while (n) {
        tl_xml_t *next = n->next;
        s_node_free (n->child);
        free (n->name);
        free (n->text);
        free (n);
        n = next;
    }
}

static void XMLCALL
s_start (void *ud, const XML_Char *name, const XML_Char **atts)
{
    (void) atts;
    s_state_t *s = ud;
    if (s->fail)
        return;
    if (s->depth >= S_MAX_DEPTH || ++s->nodes > S_MAX_NODES || (s->depth == 0 && s->root)) {
        s->fail = 1;
        XML_StopParser (s->p, XML_FALSE);
        return;
    }
    const char *local = strrchr (name, ' ');     /* "uri name" with namespace processing */
    local = local ? local + 1 : name;
    tl_xml_t *n = calloc (1, sizeof *n);
    if (!n || !(n->name = strdup (local)) || !(n->text = calloc (1, 1))) {
        if (n) {
            free (n->name);
            free (n);
        }
        s->fail = 1;
        XML_StopParser (s->p, XML_FALSE);
        return;
    }
    if (s->depth == 0)
        s->root = n;
    else {
        tl_xml_t *parent = s->stack [s->depth - 1];
        if (s->last [s->depth])
            s->last [s->depth]->next = n;
        else
            parent->child = n;
        s->last [s->depth] = n;
    }
    s->stack [s->depth] = n;
    s->tlen [s->depth] = 0;
    s->depth++;
    if (s->depth < S_MAX_DEPTH)
        s->last [s->depth] = NULL;
}

static void XMLCALL
s_end (void *ud, const XML_Char *name)
{
    (void) name;
    s_state_t *s = ud;
    if (!s->fail && s->depth > 0)
        s->depth--;
}

static void XMLCALL
s_chars (void *ud, const XML_Char *txt, int len)
{
    s_state_t *s = ud;
    if (s->fail || s->depth == 0 || len <= 0)
        return;
    tl_xml_t *n = s->stack [s->depth - 1];
    size_t have = s->tlen [s->depth - 1];
    if (have + (size_t) len > 1024 * 1024) {
        s->fail = 1;
        XML_StopParser (s->p, XML_FALSE);
        return;
    }
    char *t = realloc (n->text, have + (size_t) len + 1);
    if (!t) {
        s->fail = 1;
        XML_StopParser (s->p, XML_FALSE);
        return;
    }
    memcpy (t + have, txt, (size_t) len);
    t [have + (size_t) len] = 0;
    n->text = t;
    s->tlen [s->depth - 1] = have + (size_t) len;
}

tl_xml_t *
tl_xml_parse (const char *buf, size_t len, tl_err_t *e)
{
    s_state_t s = { 0 };
    s.p = XML_ParserCreateNS (NULL, ' ');
    if (!s.p) {
        tl_err_set (e, TL_ENOMEM, 0, "out of memory");
        return NULL;
    }
    XML_SetUserData (s.p, &s);
    XML_SetElementHandler (s.p, s_start, s_end);
    XML_SetCharacterDataHandler (s.p, s_chars);
    int ok = XML_Parse (s.p, buf, (int) (len > 0x7fffffff ? 0x7fffffff : len), XML_TRUE) == XML_STATUS_OK;
    if (!ok || s.fail || !s.root) {
        tl_err_set (e, TL_EPROTO, 0, "malformed XML reply: %s",
                    s.fail ? "too deep, too big or two roots" : XML_ErrorString (XML_GetErrorCode (s.p)));
        s_node_free (s.root);
        XML_ParserFree (s.p);
        return NULL;
    }
    XML_ParserFree (s.p);
    return s.root;
}

void
tl_xml_destroy (tl_xml_t **root_p)
{
    if (root_p && *root_p) {
        s_node_free (*root_p);
        *root_p = NULL;
    }
}

tl_xml_t *
tl_xml_find (const tl_xml_t *n, const char *path)
{
    const tl_xml_t *cur = n;
    while (cur && *path) {
        const char *slash = strchr (path, '/');
        size_t len = slash ? (size_t) (slash - path) : strlen (path);
        const tl_xml_t *c = cur->child;
        while (c && !(strlen (c->name) == len && memcmp (c->name, path, len) == 0))
            c = c->next;
        cur = c;
        path += len + (slash ? 1 : 0);
    }
    return (tl_xml_t *) cur;
}

const char *
tl_xml_text (const tl_xml_t *n, const char *path)
{
    tl_xml_t *f = tl_xml_find (n, path);
    return f ? f->text : "";
}

tl_xml_t *
tl_xml_next_same (const tl_xml_t *n)
{
    for (tl_xml_t *c = n ? n->next : NULL; c; c = c->next)
        if (strcmp (c->name, n->name) == 0)
            return c;
    return NULL;
}
