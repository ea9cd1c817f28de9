/* f_server_timing: the Server-Timing field (timing.h) of a location with
 * `server_timing on`, computed when the head goes out.  A header filter
 * only. */
#ifndef PROXY_F_SERVER_TIMING_H
#define PROXY_F_SERVER_TIMING_H

/* Joins the filter chain (init). */
int f_server_timing_init(void);

#endif
