/*  url.c — see url.h. */
#include "lib/base/url.h"
#include <stdio.h>
#include <string.h>

int
tl_url_split_endpoint (const char *url, tl_url_t *u)
{
    memset (u, 0, sizeof *u);
    size_t n = strlen (url);
    while (n && url [n - 1] == '/')
        n--;
    const char *h = strstr (url, "://");
    if (!h || (size_t) (h - url) + 3 > n)
        return -1;
    h += 3;
    const char *end = url + n;
    const char *slash = memchr (h, '/', (size_t) (end - h));
    const char *he = slash ? slash : end;
    snprintf (u->origin, sizeof u->origin, "%.*s", (int) (he - url), url);
    snprintf (u->host, sizeof u->host, "%.*s", (int) (he - h), h);
    snprintf (u->path, sizeof u->path, "%.*s", (int) (end - he), he);
    return 0;
}
