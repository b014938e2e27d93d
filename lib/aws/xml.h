/*  xml.h — a small read-only XML tree built with expat, for the EC2 Query API's replies.
    Names are local names (namespaces dropped); text is the concatenated character data of an
    element. Pure: no I/O. Bounded: depth <= 64 and at most 1,000,000 elements. */
#ifndef TL_XML_H
#define TL_XML_H
#include "lib/base/err.h"
#include <stddef.h>

typedef struct tl_xml tl_xml_t;
struct tl_xml {
    char *name;
    char *text;         /* never NULL */
    tl_xml_t *child;    /* first child */
    tl_xml_t *next;     /* next sibling */
};

/*  Parse a document. Returns the root element, or NULL with e set (TL_EPROTO). */
tl_xml_t *tl_xml_parse (const char *buf, size_t len, tl_err_t *e);
/*  Free the tree and set *root_p to NULL. */
void tl_xml_destroy (tl_xml_t **root_p);
/*  Follow a path of child names separated by '/' from n ("instanceState/name"). NULL if absent. */
tl_xml_t *tl_xml_find (const tl_xml_t *n, const char *path);
/*  The text at path below n, or "" if absent. */
const char *tl_xml_text (const tl_xml_t *n, const char *path);
/*  The next sibling of n with the same name, or NULL. */
tl_xml_t *tl_xml_next_same (const tl_xml_t *n);
#endif
