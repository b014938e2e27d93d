/*  web_activity.h — what the dashboard shows beyond the totals: task spans (one bar per task
    attempt), the event list and the mappers' details.

    The broker keeps them in bounded rings and the reducer relays them whole in its UPDATEs
    while a dashboard subscribes (docs/PROTOCOL.md: `spans`, `events`, `workers`, `clock`). An
    UPDATE may come without them (the snapshot that answers the plain subscription, or a
    reducer that does not relay them), so the last ones seen for the job are kept here, copied:
    the UPDATE they came in is released when the next one arrives. */
#ifndef TL_WEB_ACTIVITY_H
#define TL_WEB_ACTIVITY_H
#include "lib/wire/codec.h"
#include <stdio.h>

typedef struct tl_webact tl_webact_t;

tl_webact_t *tl_webact_new (void);
void tl_webact_destroy (tl_webact_t **self_p);
/*  Take the activity an UPDATE carries (none: the last kept stays, unless the job changed). */
void tl_webact_merge (tl_webact_t *self, const tl_msg_t *update);
/*  The activity as one JSON object: available, job, now_ms, spans, events, workers. */
void tl_webact_json (const tl_webact_t *self, FILE *f);
#endif
