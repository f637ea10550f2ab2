/*
 * proc.h - goroutine life cycle (see proc.c).
 */
#ifndef GO_PROC_H
#define GO_PROC_H

#include "runtime.h"

void proc_init(void);
/* Checked state transition (fatal on an illegal one). */
void proc_setstatus(g_t *g, enum g_status to);
/* Run g's function and exit it; called on g's own stack. */
__attribute__((noreturn)) void proc_run(g_t *g);
/* Recycle a dead G (after-switch action of its exit). */
void proc_gfree(m_t *m, g_t *g);
/* Move a retiring P's caches to the global ones. */
void proc_retire_p(p_t *p);
/* Walk all goroutines (for dumps); not locked (used when dying). */
g_t *proc_allg_first(void);
int64_t proc_allg_count(void);

#endif /* GO_PROC_H */
