/*  log.h — one-line logs on stderr: timestamp, level, component, message. */
#ifndef TL_LOG_H
#define TL_LOG_H

enum { TL_LOG_ERROR = 0, TL_LOG_WARN = 1, TL_LOG_INFO = 2, TL_LOG_DEBUG = 3 };

/*  Set the component name (borrowed; keep it static) and the most verbose level shown. */
void tl_log_init (const char *component, int level);
/*  One JSON object per line ({"ts","level","component","msg"}) instead of text. */
void tl_log_set_json (int on);
void tl_log (int level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/*  A status line (a progress bar) kept under the log lines on a terminal: redrawn in place, moved
    down by each log line. NULL or "" removes it. Callers check isatty themselves. */
void tl_log_status (const char *line);
#define tl_error(...) tl_log (TL_LOG_ERROR, __VA_ARGS__)
#define tl_warn(...)  tl_log (TL_LOG_WARN, __VA_ARGS__)
#define tl_info(...)  tl_log (TL_LOG_INFO, __VA_ARGS__)
#define tl_debug(...) tl_log (TL_LOG_DEBUG, __VA_ARGS__)
#endif
