/* log: the error log shared by both programs.
 *
 * One process-wide log: a file opened in append mode (or stderr), a minimum
 * level, and an identity shown in each line.  Lines look like nginx's:
 *   2026/11/22 20:54:49 [error] 1234#0: message
 * Each line is written with a single write(2) so workers sharing the file do
 * not interleave.  Not thread-safe beyond that; our processes are single
 * threaded. */
#ifndef CHAIN_LOG_H
#define CHAIN_LOG_H

#include <stdarg.h>

enum log_level { /* nginx's levels, most verbose first */
                 LL_DEBUG,
                 LL_INFO,
                 LL_NOTICE,
                 LL_WARN,
                 LL_ERROR,
                 LL_CRIT,
                 LL_ALERT,
                 LL_EMERG };

/* Parses "debug", "info", "notice", "warn", "error", "crit", "alert",
 * "emerg". Returns 0, or -1 for an unknown name. */
int log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level l);

/* Sends the log to `path` ("stderr" or NULL means standard error) at level
 * `min`.  Returns 0, or -1 with errno set when the file cannot be opened (the
 * previous destination is kept).  The path is copied. */
int log_open(const char *path, enum log_level min);
/* Re-opens the current file (after rotation; SIGUSR1).  0 or -1. */
int log_reopen(void);
/* The file descriptor lines go to (for dup2 onto stderr). */
int log_fd(void);
void log_set_level(enum log_level min);
enum log_level log_get_level(void);

void log_msg(enum log_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level l, const char *fmt, va_list ap);

#define log_debug(...) log_msg(LL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LL_INFO, __VA_ARGS__)
#define log_notice(...) log_msg(LL_NOTICE, __VA_ARGS__)
#define log_warn(...) log_msg(LL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LL_ERROR, __VA_ARGS__)
#define log_crit(...) log_msg(LL_CRIT, __VA_ARGS__)

#endif
