/* wstate: the Date cache and the random source of a worker (see wstate.h). */
#include "wstate.h"

#include <time.h>

const char *worker_date(struct worker *w)
{
    time_t now = time(NULL);
    if (now != w->date_t) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(w->date, sizeof(w->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        w->date_t = now;
    }
    return w->date;
}

uint64_t worker_rand(struct worker *w)
{
    /* xorshift128+: fast, and $request_id needs uniqueness, not secrecy */
    uint64_t s1 = w->rng[0];
    const uint64_t s0 = w->rng[1];
    w->rng[0] = s0;
    s1 ^= s1 << 23;
    w->rng[1] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
    return w->rng[1] + s0;
}
