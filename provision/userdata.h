/*  userdata.h — the cloud-init script an EC2 mapper boots with. Pure: text in, text out.
    The script installs tally from a .deb (a presigned S3 URL, so the image needs neither the
    AWS CLI nor a role for it), writes /etc/default/tally-mapper, starts tally-mapper.service, and
    arms a lifetime guard: the machine powers off after max_lifetime_s whatever else happens, and
    since instances are launched with InstanceInitiatedShutdownBehavior=terminate, power-off
    ends the bill. */
#ifndef TL_USERDATA_H
#define TL_USERDATA_H
#include <stddef.h>

typedef struct {
    const char *fleet;
    const char *broker;         /* tcp://HOST:PORT as instances reach it */
    const char *deb_url;        /* where the instance downloads the .deb */
    unsigned slots;             /* 0: the machine's cores */
    unsigned max_lifetime_s;    /* > 0 */
    const char *version;        /* tally's version, for the comment */
    const char *extra;          /* more mapper options (plain words), or NULL */
} tl_userdata_t;

/*  The script (caller frees), or NULL if a field would break it (quotes, newlines, empty). */
char *tl_userdata (const tl_userdata_t *u);
/*  The mapper options the script writes to TALLY_MAPPER_ARGS, into out. */
void tl_userdata_mapper_args (const tl_userdata_t *u, char *out, size_t outlen);
#endif
