/*
 * traceback.h - unwinding a goroutine's stack and naming its frames, for
 * the dumps (see traceback.c).
 */
#ifndef GO_TRACEBACK_H
#define GO_TRACEBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime.h"

#define TB_MAX_FRAMES 64
#define TB_NAME_MAX 96

/* One frame: the pc (a return address, except for frame 0 of a signal
 * context), and the name the unwinder gave it, if any ("" if not). */
typedef struct tb_frame {
    uintptr_t pc;
    bool exact; /* pc is the faulting/current instruction, not a return address */
    char name[TB_NAME_MAX];
    uintptr_t off; /* pc - start of `name` when name is set */
} tb_frame_t;

/* The output sink the dumps write to: a small buffer flushed with
 * write(2), so that it works in a signal handler and with no memory. */
typedef struct dbg_out {
    char buf[512];
    size_t n;
    int fd;
} dbg_out_t;

void dbg_flush(dbg_out_t *o);
void dbg_puts(dbg_out_t *o, const char *s);
void dbg_putu(dbg_out_t *o, uint64_t v);
void dbg_putx(dbg_out_t *o, uintptr_t v);

/* One-time set-up (idempotent): the runtime's own code range, the
 * symboliser's state. Async-signal-safe after the first call. */
void tb_init(void);

/* Unwind a goroutine that is not running from its saved context; its
 * stack is [lo, hi). Returns the frames stored (0 if none could be). */
int tb_unwind_saved(const mctx_t *ctx, uintptr_t lo, uintptr_t hi, tb_frame_t *f, int max);
/* Unwind the calling thread from a signal handler's context (uc), or
 * from the caller when uc is NULL. */
int tb_unwind_here(void *uc, tb_frame_t *f, int max);

/* Whether pc lies in libgoroutine's own code. */
bool tb_in_runtime(uintptr_t pc);

/* Print frames in Go's layout, one "function(...)\n\tfile:line +0xoff"
 * pair per frame (inlined calls get their own pair). Frames inside the
 * runtime are left out except the public go_* call the goroutine made. */
int tb_print(dbg_out_t *o, const tb_frame_t *f, int n);
/* The name of the function at entry address pc, or NULL; the string
 * lives as long as the process (the execution trace's slice names). */
const char *tb_fn_name(uintptr_t pc);
/* Print the function at entry address pc as one frame. */
void tb_print_fn(dbg_out_t *o, uintptr_t pc);
/* Print "name" and "\tfile:line +0xoff" for one return address (the
 * `created by` line), with `prefix` before the name. */
void tb_print_pc(dbg_out_t *o, const char *prefix, uintptr_t pc, const char *suffix);

#endif /* GO_TRACEBACK_H */
