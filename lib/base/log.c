/*  log.c — stderr logging. A single fprintf per line keeps lines whole across threads. */
#include "lib/base/log.h"
#include "lib/base/json.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static const char *s_component = "tally";
static int s_level = TL_LOG_INFO;
static int s_json;
static char s_status [512];     /* the status line shown under the log on a terminal, or "" */

void
tl_log_set_json (int on)
{
    s_json = on;
}

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
    if (*s_status)
        fputs ("\r\033[K", stderr);   /* the status line gives way to the log line */
    if (s_json) {
        char esc [2048];
        tl_json_escape (msg, strlen (msg), esc, sizeof esc);
        fprintf (stderr, "{\"ts\":\"%s.%03dZ\",\"level\":\"%s\",\"component\":\"%s\",\"msg\":\"%s\"}\n", ts,
                 (int) (tv.tv_usec / 1000), names [level], s_component, esc);
    }
    else
        fprintf (stderr, "%s.%03dZ %-5s %s: %s\n", ts, (int) (tv.tv_usec / 1000), names [level], s_component, msg);
    if (*s_status)
        fputs (s_status, stderr);
}

void
tl_log_status (const char *line)
{
    if (!line || !*line) {
        if (*s_status)
            fputs ("\r\033[K", stderr);
        s_status [0] = 0;
        return;
    }
    snprintf (s_status, sizeof s_status, "%s", line);
    fprintf (stderr, "\r\033[K%s", s_status);
    fflush (stderr);
}
