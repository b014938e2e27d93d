/*  web_activity.c — the dashboard's copy of the broker's activity (web_activity.h). */
#include "cli/web_activity.h"
#include "lib/base/json.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
    tl_span_t s;
    char mapper [128], kind [16], state [16];
} s_span_t;

typedef struct {
    tl_event_t e;
    char kind [16], mapper [128], text [256];
} s_event_t;

typedef struct {
    tl_worker_t w;
    char name [128], state [16];
} s_worker_t;

struct tl_webact {
    char job [TL_STR_MAX + 1];
    bool available;
    uint64_t clock;
    s_span_t *spans;
    size_t nspans;
    s_event_t *events;
    size_t nevents;
    s_worker_t *workers;
    size_t nworkers;
};

tl_webact_t *
tl_webact_new (void)
{
    return calloc (1, sizeof (tl_webact_t));
}

static void
s_reset (tl_webact_t *self)
{
    free (self->spans);
    free (self->events);
    free (self->workers);
    self->spans = NULL;
    self->events = NULL;
    self->workers = NULL;
    self->nspans = self->nevents = self->nworkers = 0;
    self->available = false;
}

void
tl_webact_destroy (tl_webact_t **self_p)
{
    if (self_p && *self_p) {
        s_reset (*self_p);
        free (*self_p);
        *self_p = NULL;
    }
}

#define S_COPY(dst, src) snprintf (dst, sizeof dst, "%s", (src) ? (src) : "")

void
tl_webact_merge (tl_webact_t *self, const tl_msg_t *u)
{
    if (!self)
        return;
    const char *job = u->job ? u->job : "";
    if (strcmp (self->job, job) != 0) {
        s_reset (self);
        snprintf (self->job, sizeof self->job, "%s", job);
    }
    if (!u->n_spans && !u->n_events && !u->n_workers)
        return;
    s_span_t *sp = calloc (u->n_spans + 1, sizeof *sp);
    s_event_t *ev = calloc (u->n_events + 1, sizeof *ev);
    s_worker_t *wk = calloc (u->n_workers + 1, sizeof *wk);
    if (!sp || !ev || !wk) {    /* keep what we had */
        free (sp);
        free (ev);
        free (wk);
        return;
    }
    s_reset (self);
    for (size_t i = 0; i < u->n_spans; i++) {
        sp [i].s = u->spans [i];
        S_COPY (sp [i].mapper, u->spans [i].mapper);
        S_COPY (sp [i].kind, u->spans [i].kind);
        S_COPY (sp [i].state, u->spans [i].state);
    }
    for (size_t i = 0; i < u->n_events; i++) {
        ev [i].e = u->events [i];
        S_COPY (ev [i].kind, u->events [i].kind);
        S_COPY (ev [i].mapper, u->events [i].mapper);
        S_COPY (ev [i].text, u->events [i].text);
    }
    for (size_t i = 0; i < u->n_workers; i++) {
        wk [i].w = u->workers [i];
        S_COPY (wk [i].name, u->workers [i].name);
        S_COPY (wk [i].state, u->workers [i].state);
    }
    self->spans = sp, self->nspans = u->n_spans;
    self->events = ev, self->nevents = u->n_events;
    self->workers = wk, self->nworkers = u->n_workers;
    self->clock = u->clock;
    self->available = true;
}

static void
s_str (FILE *f, const char *s)
{
    char out [600];
    tl_json_escape (s, strlen (s), out, sizeof out);
    fprintf (f, "\"%s\"", out);
}

void
tl_webact_json (const tl_webact_t *self, FILE *f)
{
    fprintf (f, "{\"available\":%s,\"job\":", self && self->available ? "true" : "false");
    s_str (f, self ? self->job : "");
    fprintf (f, ",\"now_ms\":%llu,\"spans\":[", self ? (unsigned long long) self->clock : 0ULL);
    for (size_t i = 0; self && i < self->nspans; i++) {
        const s_span_t *s = &self->spans [i];
        fprintf (f, "%s{\"task\":%llu,\"attempt\":%llu,\"mapper\":", i ? "," : "", (unsigned long long) s->s.task,
                 (unsigned long long) s->s.attempt);
        s_str (f, s->mapper);
        fputs (",\"kind\":", f);
        s_str (f, s->kind);
        fputs (",\"state\":", f);
        s_str (f, s->state);
        fprintf (f, ",\"start\":%llu,\"end\":", (unsigned long long) s->s.start_ms);
        if (s->s.end_ms)
            fprintf (f, "%llu", (unsigned long long) s->s.end_ms);
        else
            fputs ("null", f);
        fprintf (f, ",\"offset\":%llu,\"length\":%llu,\"cut_ms\":", (unsigned long long) s->s.offset,
                 (unsigned long long) s->s.length);
        if (s->s.cut_ms)
            fprintf (f, "%llu,\"tail\":%llu}", (unsigned long long) s->s.cut_ms, (unsigned long long) s->s.tail);
        else
            fputs ("null,\"tail\":null}", f);
    }
    fputs ("],\"events\":[", f);
    for (size_t i = 0; self && i < self->nevents; i++) {
        const s_event_t *e = &self->events [i];
        fprintf (f, "%s{\"n\":%llu,\"ms\":%llu,\"kind\":", i ? "," : "", (unsigned long long) e->e.n,
                 (unsigned long long) e->e.ms);
        s_str (f, e->kind);
        fputs (",\"mapper\":", f);
        s_str (f, e->mapper);
        fprintf (f, ",\"task\":%llu,\"text\":", (unsigned long long) e->e.task);
        s_str (f, e->text);
        fputc ('}', f);
    }
    fputs ("],\"workers\":[", f);
    for (size_t i = 0; self && i < self->nworkers; i++) {
        const s_worker_t *w = &self->workers [i];
        fputs (i ? ",{\"name\":" : "{\"name\":", f);
        s_str (f, w->name);
        fprintf (f, ",\"slots\":%llu,\"state\":", (unsigned long long) w->w.slots);
        s_str (f, w->state);
        fprintf (f, ",\"tasks\":%llu,\"bytes\":%llu}", (unsigned long long) w->w.tasks, (unsigned long long) w->w.bytes);
    }
    fputs ("]}", f);
}
