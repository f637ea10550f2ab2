/*
 * proc.h - goroutine life cycle (see proc.c).
 */
#ifndef GO_PROC_H
#define GO_PROC_H

#include "runtime.h"

void proc_init(void);
/* Checked state transition (fatal on an illegal one): the check is one
 * table load, cheap enough to stay on in every build. */
extern const uint8_t proc_legal[G_NSTATUS];
__attribute__((noreturn)) void proc_badstatus(g_t *g, enum g_status to);
static inline void proc_setstatus(g_t *g, enum g_status to)
{
    uint32_t from = __atomic_load_n(&g->status, __ATOMIC_RELAXED);
    if (__builtin_expect(!(proc_legal[from] & (1u << to)), 0))
        proc_badstatus(g, to);
    __atomic_store_n(&g->status, to, __ATOMIC_RELAXED);
}
/* Run g's function and exit it; called on g's own stack. */
__attribute__((noreturn)) void proc_run(g_t *g);
/* Recycle a dead G (after-switch action of its exit). */
void proc_gfree(m_t *m, g_t *g);
/* Release the stacks of up to max spare Gs once the pool has gone unused
 * for a while; true if it released some. sysmon only. */
bool proc_scavenge(int64_t now, int max);
/* When proc_scavenge() next wants to run (0: nothing to release). */
int64_t proc_scavenge_due(void);
/* Move a retiring P's caches to the global ones. */
void proc_retire_p(p_t *p);
/* Walk all goroutines (for dumps); not locked (used when dying). */
g_t *proc_allg_first(void);
/* For one scanner (sysmon): call visit(g, arg) under the all-G lock for
 * up to max Gs, resuming after the last G the previous call visited,
 * until visit returns false. True if it reached the end of the list (the
 * next call starts over at the head). Keep max small: goroutine creation
 * and exit wait for the lock. */
bool proc_allg_scan(int max, bool (*visit)(g_t *g, void *arg), void *arg);
int64_t proc_allg_count(void);

#endif /* GO_PROC_H */
