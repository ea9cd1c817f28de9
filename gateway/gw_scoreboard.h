/* scoreboard: per-worker state in shared memory, written by each worker,
 * read by the master (stats, USR1, harakiri backstop, reload readiness).
 *
 * One slot per worker process (a reload briefly runs two processes for one
 * worker id, so there are twice as many slots as workers).  Fields are
 * written by one process and read racily by the master: each is a single
 * aligned word, good enough for monitoring. */
#ifndef GW_SCOREBOARD_H
#define GW_SCOREBOARD_H

#include <stdint.h>
#include <sys/types.h>

enum gw_wstate {
    GW_WS_FREE,     /* no process */
    GW_WS_STARTING, /* forked, loading the app */
    GW_WS_IDLE,     /* ready, waiting for requests */
    GW_WS_BUSY,     /* inside a request */
    GW_WS_STOPPING, /* finishing its connections before exiting */
};

struct gw_slot {
    volatile pid_t pid;
    volatile int state;            /* enum gw_wstate */
    volatile int accepting;        /* listening sockets are in its loop */
    volatile int conns;            /* open client connections */
    volatile uint64_t requests;    /* completed requests of this process */
    volatile uint64_t exceptions;  /* app exceptions */
    volatile uint64_t tx;          /* body bytes sent */
    volatile uint64_t rt_total_us; /* sum of request durations */
    volatile int64_t req_start_ms; /* CLOCK_MONOTONIC ms of the running request, 0 if none */
    volatile int64_t spawned;      /* wall-clock seconds */
    char req[128];                 /* "METHOD URI" of the running/last request */
};

/* Maps `n` zeroed shared slots.  NULL on failure (errno set). */
struct gw_slot *gw_sb_create(int n);
void gw_sb_destroy(struct gw_slot *sb, int n);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t gw_sb_now_ms(void);
/* State name as uWSGI's stats show it ("idle", "busy", ...). */
const char *gw_sb_state_name(int state);

#endif
