/*
 * context_ucontext.c - the portable mctx_switch/mctx_make, built on
 * getcontext/makecontext/swapcontext, for targets without an assembly
 * switch (CMake compiles it only when GO_CONTEXT_UCONTEXT is on).
 *
 * swapcontext saves whatever the C library puts in a ucontext_t: on glibc
 * that is the callee-saved registers, the stack pointer, the signal mask
 * and the floating-point control words (MXCSR and the x87 environment on
 * x86-64, FPCR/FPSR on aarch64), more than context.h promises. It costs a
 * sigprocmask system call per switch, which is why the assembly versions
 * exist. Unlike them, a new context starts with the floating-point control
 * and signal mask that the thread calling mctx_make() had at that moment,
 * since getcontext() copies them, rather than with the defaults.
 */
#include "context.h"

#include <stdint.h>
#include <stdlib.h>
#include <ucontext.h>

/*
 * makecontext() passes only int arguments, so the new context's mctx_t
 * reaches the trampoline as two 32-bit halves. That keeps no global or
 * thread-local state, which matters because a context may be started by
 * a different thread from the one that made it.
 */
static void mctx_trampoline_ucontext(unsigned int hi, unsigned int lo)
{
    /* Shifting in two steps stays defined where uintptr_t is 32 bits. */
    uintptr_t bits = ((uintptr_t)hi << 16 << 16) | (uintptr_t)lo;
    mctx_t *self = (mctx_t *)bits;
    /* The switch that started us stored its arg in our transfer field. */
    self->entry(self->transfer);
    /* entry must never return; uc_link is NULL, so returning from here
     * would end the thread, and a loud stop is easier to debug. */
    abort();
}

void mctx_make(mctx_t *c, void *stack_lo, size_t stack_size,
              void (*entry)(void *arg))
{
    /* getcontext fills in the parts makecontext does not (signal mask,
     * FP state); it fails only on bad arguments, so treat that as a bug. */
    if (getcontext(&c->uc) != 0)
        abort();
    /* makecontext aligns the initial stack pointer itself, as the
     * contract requires, so the raw bounds can be passed on. */
    c->uc.uc_stack.ss_sp = stack_lo;
    c->uc.uc_stack.ss_size = stack_size;
    c->uc.uc_stack.ss_flags = 0;
    c->uc.uc_link = NULL;
    c->transfer = NULL;
    c->entry = entry;
    uintptr_t bits = (uintptr_t)c;
    unsigned int hi = (unsigned int)(bits >> 16 >> 16);
    unsigned int lo = (unsigned int)(bits & 0xffffffffu);
    /* The cast is how makecontext is meant to be used: it takes a
     * function of no arguments and the argument count separately. */
    makecontext(&c->uc, (void (*)(void))mctx_trampoline_ucontext, 2, hi, lo);
}

void *mctx_switch(mctx_t *from, mctx_t *to, void *arg)
{
    /* Leave the arg where the resumed side will look for it: in its own
     * context, read back below (or by the trampoline) once it runs. */
    to->transfer = arg;
    /* swapcontext fails only if sigprocmask does, which with a valid
     * mask it cannot; carrying on would return a wrong arg. */
    if (swapcontext(&from->uc, &to->uc) != 0)
        abort();
    /* We are running again because someone switched to `from`; they
     * stored their arg in from->transfer. */
    return from->transfer;
}
