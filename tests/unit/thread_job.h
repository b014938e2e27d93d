/*  thread_job.h — one work and its argument, and the pthread start routine that runs it: the
    runners that give tl_agg_view_new_par's works threads of their own (tests/unit/test_agg_par.c,
    bench/sort_par.c) start each work through this. */
#ifndef TL_THREAD_JOB_H
#define TL_THREAD_JOB_H
#include <stddef.h>

typedef struct {
    void (*work) (void *arg);
    void *arg;
} s_job_t;

static inline void *
s_thread (void *arg)
{
    s_job_t *j = arg;
    j->work (j->arg);
    return NULL;
}
#endif
