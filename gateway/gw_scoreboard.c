/* scoreboard: shared per-worker state (see scoreboard.h). */
#include "gw_scoreboard.h"

#include <sys/mman.h>
#include <time.h>

struct gw_slot *gw_sb_create(int n)
{
    void *p = mmap(NULL, sizeof(struct gw_slot) * (size_t)n, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void gw_sb_destroy(struct gw_slot *sb, int n)
{
    if (sb)
        munmap(sb, sizeof(struct gw_slot) * (size_t)n);
}

int64_t gw_sb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *gw_sb_state_name(int state)
{
    switch (state) {
    case GW_WS_STARTING:
        return "starting";
    case GW_WS_IDLE:
        return "idle";
    case GW_WS_BUSY:
        return "busy";
    case GW_WS_STOPPING:
        return "stopping";
    default:
        return "free";
    }
}
