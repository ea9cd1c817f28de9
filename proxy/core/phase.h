/* phase: the engine that runs a request through nginx's phases, in order:
 *
 *   server selection -> server rewrite -> find location -> rewrite ->
 *   access -> try_files -> content            ... and at the end: log
 *
 * Each phase is a list of handlers that modules register once, at start-up
 * before the configuration is read (main.c:modules_init), through
 * phase_add().  The
 * engine names no module and knows nothing of the request: it passes the
 * pointer it was given.  An empty phase is an empty list and costs one
 * comparison.
 *
 * A handler returns
 *   PHASE_NEXT   go on with the next handler (the next phase after the last);
 *   PHASE_DONE   the request is answered (or failed): stop running phases;
 *   PHASE_AGAIN  the handler goes on asynchronously and calls phase_resume()
 *                when it has finished, which goes on with the handler after
 *                it.
 * The log phase is not part of the run: phase_log() runs it once the
 * response is over (or the client left). */
#ifndef PROXY_PHASE_H
#define PROXY_PHASE_H

#include <stdbool.h>

enum phase_id {
    PH_SERVER,         /* pick the server block by Host */
    PH_SERVER_REWRITE, /* rewrite at server level */
    PH_FIND_LOCATION,  /* pick the location by URI */
    PH_REWRITE,        /* rewrite at location level */
    PH_ACCESS,         /* allow/deny, auth, limit_req */
    PH_TRY_FILES,      /* try_files */
    PH_CONTENT,        /* the location's content handler */
    PH_LOG,            /* after the response: access log */
    PH_COUNT
};

enum phase_rc { PHASE_NEXT, PHASE_DONE, PHASE_AGAIN };

/* `r` is the request the engine was given (struct request *), borrowed. */
typedef enum phase_rc (*phase_fn)(void *r);

#define PHASE_MAX_HANDLERS 8 /* per phase */

/* Where a request is in the run; embedded in the request, no allocation. */
struct phase_cursor {
    unsigned char ph; /* enum phase_id */
    unsigned char i;  /* index in the phase's list */
};

/* Appends fn to phase ph's list (start-up).  0, or -1 when the list is
 * full or ph is not a phase.  Registering the same fn twice in one phase is
 * a no-op (a module initialised twice changes nothing). */
int phase_add(enum phase_id ph, phase_fn fn);
/* Empties every list (tests; a process that reloads its modules). */
void phase_reset(void);
/* How many handlers phase ph holds. */
int phase_count(enum phase_id ph);

/* Runs r from the first handler of the first phase.  Returns PHASE_DONE when
 * a handler answered, PHASE_AGAIN when one goes on asynchronously (it calls
 * phase_resume later), PHASE_NEXT when every phase up to content went on
 * without answering (the caller answers, as nginx does with 404). */
enum phase_rc phase_run(struct phase_cursor *pc, void *r);
/* A handler that returned PHASE_AGAIN has finished: go on after it.  Same
 * result as phase_run. */
enum phase_rc phase_resume(struct phase_cursor *pc, void *r);
/* Runs the log phase's handlers (their results are ignored). */
void phase_log(void *r);

#endif
