/*  log.c — stderr logging. A single fprintf per line keeps lines whole across threads. */
#include "log.h"
#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static const char *s_component = "tally";
static int s_level = TL_LOG_INFO;

void
tl_log_init (const char *component, int level)
{
    s_component = component;
    s_level = level;
}

void
tl_log (int level, const char *fmt, ...)
{
    if (level > s_level)
        return;
    static const char *names [] = { "ERROR", "WARN", "INFO", "DEBUG" };
    char msg [1024];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (msg, sizeof msg, fmt, ap);
    va_end (ap);
    struct timeval tv;
    gettimeofday (&tv, NULL);
    struct tm tm;
    gmtime_r (&tv.tv_sec, &tm);
    char ts [32];
    strftime (ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf (stderr, "%s.%03dZ %-5s %s: %s\n", ts, (int) (tv.tv_usec / 1000), names [level], s_component, msg);
}
