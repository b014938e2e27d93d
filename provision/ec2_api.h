/*  ec2_api.h — the EC2 Query API over libcurl, signed with tally's SigV4 and credential chain.
    A call is a form POST of Action=...&Version=2016-11-15&params; the reply is XML. */
#ifndef TL_EC2_API_H
#define TL_EC2_API_H
#include "lib/base/err.h"
#include "lib/aws/sigv4.h"
#include "lib/aws/xml.h"
#include <time.h>

typedef struct {
    char endpoint [512];    /* https://ec2.REGION.amazonaws.com, or an emulator */
    char host [256];        /* Host header */
    char region [64];
} tl_ec2_t;

/*  Endpoint and region: endpoint_url, else AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL, else AWS;
    region, else AWS_REGION, AWS_DEFAULT_REGION, the profile's region, us-east-1. */
int tl_ec2_init (tl_ec2_t *c, const char *endpoint_url, const char *region, tl_err_t *e);
/*  Call action with params (raw names and values). On success *reply is the parsed XML (free with
    tl_xml_destroy). An error reply becomes e: "EC2 RunInstances: InvalidInstanceType: ...". */
int tl_ec2_call (const tl_ec2_t *c, const char *action, const tl_kv_t *params, size_t n, tl_xml_t **reply,
                 tl_err_t *e);
/*  The form body for action and params (sorted and encoded; exposed for tests). Caller frees. */
char *tl_ec2_body (const char *action, const tl_kv_t *params, size_t n);
/*  t as EC2 writes times, "2026-11-25T07:36:08Z", into out. */
void tl_ec2_iso_time (time_t t, char out [32]);
/*  "2026-11-25T07:36:08.000Z" or "2026-11-25 07:39:12" -> unix seconds; 0 if unparsable. */
time_t tl_ec2_parse_time (const char *s);
#endif
