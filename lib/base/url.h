/*  url.h — an endpoint URL ("http://127.0.0.1:5000", "https://ec2.eu-west-1.amazonaws.com",
    "http://proxy:8080/s3/") cut into the parts a signed request needs. Pure: no I/O. */
#ifndef TL_URL_H
#define TL_URL_H
#include <stddef.h>

typedef struct {
    char origin [1024];     /* scheme://host[:port], what a request URL starts with */
    char host [512];        /* host[:port], the Host header (and what SigV4 signs) */
    char path [1024];       /* the path prefix, "" or "/s3" (never a trailing '/') */
} tl_url_t;

/*  Split url, trailing slashes dropped. Returns 0, or -1 if it has no "://" (not a URL). Parts
    that do not fit are cut, like every snprintf in tally. */
int tl_url_split_endpoint (const char *url, tl_url_t *u);
#endif
