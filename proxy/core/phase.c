/* phase: the phase engine (see phase.h).  The lists are static arrays filled
 * at start-up: running a phase is an index walk, no allocation. */
#include "phase.h"

#include <stddef.h>

static struct {
    phase_fn fn[PHASE_MAX_HANDLERS];
    int n;
} phases[PH_COUNT];

int phase_add(enum phase_id ph, phase_fn fn)
{
    if ((int)ph < 0 || ph >= PH_COUNT || !fn)
        return -1;
    for (int i = 0; i < phases[ph].n; i++)
        if (phases[ph].fn[i] == fn)
            return 0;
    if (phases[ph].n >= PHASE_MAX_HANDLERS)
        return -1;
    phases[ph].fn[phases[ph].n++] = fn;
    return 0;
}

void phase_reset(void)
{
    for (int i = 0; i < PH_COUNT; i++)
        phases[i].n = 0;
}

int phase_count(enum phase_id ph)
{
    return (int)ph >= 0 && ph < PH_COUNT ? phases[ph].n : 0;
}

/* Runs from the cursor on; the cursor is left on a handler that said AGAIN. */
static enum phase_rc run_from(struct phase_cursor *pc, void *r)
{
    while (pc->ph < PH_LOG) {
        if (pc->i >= phases[pc->ph].n) {
            pc->ph++;
            pc->i = 0;
            continue;
        }
        enum phase_rc rc = phases[pc->ph].fn[pc->i](r);
        if (rc != PHASE_NEXT)
            return rc;
        pc->i++;
    }
    return PHASE_NEXT;
}

enum phase_rc phase_run(struct phase_cursor *pc, void *r)
{
    pc->ph = PH_SERVER;
    pc->i = 0;
    return run_from(pc, r);
}

enum phase_rc phase_resume(struct phase_cursor *pc, void *r)
{
    if (pc->ph >= PH_LOG)
        return PHASE_NEXT;
    pc->i++;
    return run_from(pc, r);
}

void phase_log(void *r)
{
    for (int i = 0; i < phases[PH_LOG].n; i++)
        (void)phases[PH_LOG].fn[i](r);
}
