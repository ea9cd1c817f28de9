/* loop_until: runs an event loop in a unit test on its sockets' events only,
 * with no timer of its own, until the test's condition holds.
 *
 * A test that stops the loop with a helper timer hides how the code under
 * test makes progress (a missed edge-triggered report is covered by the
 * timer's turns), and a wall-clock limit fails it on a busy machine.  Here a
 * stall is a failure, found by state, never by time:
 * - the loop has nothing left to wait for (no event is added or active);
 * - turn after turn, nothing moved (the test's progress() counter stays)
 *   while a socket is ready for what one of the loop's added events waits
 *   for: a report the loop should have had and did not (a missed edge);
 * - no socket is ready for its added events and no timer is pending (an
 *   event dropped while its socket still had work: output left queued).
 * When no socket is ready and a timer is, the loop blocks until something
 * is reported or the timer fires (a read timeout, a put-off read). */
#ifndef TESTS_LOOP_UNTIL_H
#define TESTS_LOOP_UNTIL_H

#include <stdbool.h>

struct event_base;

/* Turns of b until done(); progress() returns a value that changes whenever
 * the test's data moves (bytes read, written, queued; flags seen).  Returns
 * NULL once done(), else why it stalled (a static string).  Borrows b. */
const char *loop_until(struct event_base *b, bool (*done)(void), unsigned long (*progress)(void));

#endif
