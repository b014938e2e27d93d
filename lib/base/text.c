/*  text.c — see text.h. */
#include "lib/base/text.h"
#include <ctype.h>

void
tl_trim (const char **p, const char **e)
{
    while (*p < *e && isspace ((unsigned char) **p))
        (*p)++;
    while (*e > *p && isspace ((unsigned char) (*e) [-1]))
        (*e)--;
}
