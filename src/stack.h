/*
 * stack.h - goroutine stacks and descriptors (see stack.c).
 */
#ifndef GO_STACK_H
#define GO_STACK_H

#include "runtime.h"

enum stack_guard {
    GUARD_MADVISE,  /* MADV_GUARD_INSTALL: no extra VMA */
    GUARD_MPROTECT, /* PROT_NONE pages: one extra VMA each */
    GUARD_CANARY,   /* no hardware guard left: a checked canary word */
};

#define STACK_GUARD_SIZE 16384 /* bytes of guard below each stack */
#define STACK_CANARY 0x676f726f7574696eULL /* "goroutin" */

extern size_t stack_default_size; /* usable bytes of a default stack */

void stack_init(void);
/* A fresh G (status G_IDLE) whose descriptor sits at the top of a new stack
 * of `size` usable bytes (0 = default), carved from p's arena if p is the
 * caller's own P, from the shared one if p is NULL. NULL and
 * *err = -ENOMEM/-EAGAIN on failure. */
g_t *stack_new_g(size_t size, p_t *p, int *err);
/* Give back a custom-size G and its stack to the system. */
void stack_free_custom(g_t *g);
/* Drop the physical pages of a cached G's stack, keeping the descriptor. */
void stack_release(g_t *g);
/*
 * Trimming (see stack.c): sysmon calls stack_trim_tick on each look; an M
 * about to resume g calls stack_trim_wait if g->trimming is set.
 */
#define STACK_TRIM_EVERY_NS 100000000 /* 100 ms */
void stack_trim_tick(int64_t now);
void stack_trim_wait(g_t *g);
/* Stacks trimmed so far, for go_stats. */
uint64_t stack_trims(void);

/* Prepare a recycled G's stack for a new goroutine (sanitizer state). */
void stack_reuse(g_t *g);
/* The canary check for GUARD_CANARY stacks; fatal on a smashed canary. */
void stack_check_canary(g_t *g);
/* Install the SIGSEGV handler for overflow reports (once), and an
 * alternate signal stack for the calling thread. */
void stack_install_handler(void);
void *stack_thread_altstack(void);

#endif /* GO_STACK_H */
