/*  sigv4_tool — sign requests read from stdin with tally's SigV4, for the botocore cross-check.

    One request per line, tab-separated, every text field hex-encoded ("-" for none):
      method host path query range token date region access secret
    query is "-" or comma-separated "hexname:hexvalue" pairs (hexvalue may be empty).
    Prints one Authorization header value per line. */
#include "lib/aws/sigv4.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
s_unhex (const char *h)
{
    if (strcmp (h, "-") == 0)
        return NULL;
    size_t n = strlen (h) / 2;
    char *s = malloc (n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf (h + 2 * i, "%2x", &v);
        s [i] = (char) v;
    }
    s [n] = 0;
    return s;
}

int
main (void)
{
    char *line = NULL;
    size_t cap = 0;
    int bad = 0;
    while (getline (&line, &cap, stdin) > 0) {
        line [strcspn (line, "\n")] = 0;
        char *f [10];
        int n = 0;
        for (char *save = NULL, *t = strtok_r (line, "\t", &save); t && n < 10; t = strtok_r (NULL, "\t", &save))
            f [n++] = t;
        if (n != 10) {
            printf ("BAD LINE\n");
            bad++;
            continue;
        }
        tl_kv_t q [64];
        size_t nq = 0;
        char *qcopy = strcmp (f [3], "-") ? strdup (f [3]) : NULL;
        for (char *save = NULL, *p = qcopy ? strtok_r (qcopy, ",", &save) : NULL; p && nq < 64;
             p = strtok_r (NULL, ",", &save)) {
            char *colon = strchr (p, ':');
            *colon = 0;
            q [nq].name = s_unhex (p);
            q [nq].value = *(colon + 1) ? s_unhex (colon + 1) : strdup ("");
            nq++;
        }
        char *range = s_unhex (f [4]);
        tl_kv_t h [1] = { { "Range", range } };
        tl_sigv4_req_t r = {
            .method = s_unhex (f [0]), .host = s_unhex (f [1]), .path = s_unhex (f [2]), .query = q, .n_query = nq,
            .headers = h, .n_headers = range ? 1 : 0,
            .payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            .amz_date = s_unhex (f [6]), .region = s_unhex (f [7]), .service = "s3", .access_key = s_unhex (f [8]),
            .secret_key = s_unhex (f [9]), .session_token = s_unhex (f [5]),
        };
        char auth [2048];
        if (tl_sigv4_authorization (&r, auth, sizeof auth) != 0)
            printf ("SIGN FAILED\n");
        else
            printf ("%s\n", auth);
        for (size_t i = 0; i < nq; i++) {
            free ((char *) q [i].name);
            free ((char *) q [i].value);
        }
        free (qcopy);
        free (range);
        free ((char *) r.method);
        free ((char *) r.host);
        free ((char *) r.path);
        free ((char *) r.amz_date);
        free ((char *) r.region);
        free ((char *) r.access_key);
        free ((char *) r.secret_key);
        free ((char *) r.session_token);
    }
    free (line);
    return bad ? 1 : 0;
}
