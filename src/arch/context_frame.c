/*
 * context_frame.c - mctx_make() for the assembly context switches: builds
 * the frame that the first mctx_switch() into a new context pops. A new
 * context starts with the default floating-point control (round to
 * nearest, exceptions masked), not with the creator's. The ucontext
 * fallback has its own mctx_make() in context_ucontext.c, and with it this
 * file compiles to nothing.
 */
#include "context.h"

#include <stdint.h>
#include <string.h>

#if defined(GO_CONTEXT_ASM) && defined(__x86_64__)
_Static_assert(CTX_X86_FRAME == CTX_X86_RIP + 8, "frame ends after rip");
_Static_assert(CTX_X86_FRAME % 16 == 0, "the saved sp stays 16-byte aligned");
_Static_assert(CTX_X86_R15 == CTX_X86_FPCTRL + 8, "r15 follows fp control");
_Static_assert(CTX_X86_RBP == CTX_X86_RBX + 8, "push order rbp, rbx");
_Static_assert(CTX_X86_R12 == CTX_X86_R13 + 8, "push order r12, r13");

void mctx_trampoline_x86_64(void);

void mctx_make(mctx_t *c, void *stack_lo, size_t stack_size,
              void (*entry)(void *arg))
{
    /* The trampoline is entered by `ret` with sp = top (16-byte aligned),
     * so its `call` pushes a return address as the ABI expects. */
    uintptr_t top = ((uintptr_t)stack_lo + stack_size) & ~(uintptr_t)15;
    uint8_t *f = (uint8_t *)(top - CTX_X86_FRAME);
    memset(f, 0, CTX_X86_FRAME);
    uint32_t mxcsr = 0x1f80;  /* all exceptions masked, round to nearest */
    uint16_t fpcw = 0x037f;   /* the same for x87, 64-bit precision */
    memcpy(f + CTX_X86_FPCTRL, &mxcsr, 4);
    memcpy(f + CTX_X86_FPCTRL + 4, &fpcw, 2);
    /* memcpy of the function pointers themselves: ISO C has no cast from
     * a function pointer to void *. */
    void (*t)(void) = mctx_trampoline_x86_64;
    memcpy(f + CTX_X86_R12, &entry, sizeof entry);
    memcpy(f + CTX_X86_RIP, &t, sizeof t);
    c->sp = f;
}
#endif

#if defined(GO_CONTEXT_ASM) && defined(__aarch64__)
/* The stp/ldp pairs in context_aarch64.S rely on these adjacencies, and
 * the saved sp stays 16-byte aligned only if the frame size is too. */
_Static_assert(CTX_A64_X19 % 16 == 0, "x19 pair slot is 16-byte aligned");
_Static_assert(CTX_A64_X29 == CTX_A64_X19 + 80, "x19-x28 are ten slots");
_Static_assert(CTX_A64_X29 % 16 == 0, "x29 pair slot is 16-byte aligned");
_Static_assert(CTX_A64_X30 == CTX_A64_X29 + 8, "x29 and x30 form a pair");
_Static_assert(CTX_A64_D8 % 8 == 0, "d8 slot is 8-byte aligned");
_Static_assert(CTX_A64_FPCR % 8 == 0, "fpcr slot is 8-byte aligned");
_Static_assert(CTX_A64_FPCR + 8 <= CTX_A64_FRAME, "fpcr fits in the frame");
_Static_assert(CTX_A64_FRAME % 16 == 0, "frame keeps sp 16-byte aligned");
_Static_assert(CTX_A64_FRAME <= 504, "every slot is in ldp/stp range");
/* The d8-d15 block must not overlap the x registers or FPCR. */
_Static_assert(CTX_A64_D8 >= CTX_A64_X30 + 8 || CTX_A64_D8 + 64 <= CTX_A64_X19,
               "d8-d15 do not overlap x19-x30");
_Static_assert(CTX_A64_FPCR >= CTX_A64_D8 + 64 || CTX_A64_FPCR + 8 <= CTX_A64_D8,
               "fpcr does not overlap d8-d15");

void mctx_trampoline_aarch64(void);

void mctx_make(mctx_t *c, void *stack_lo, size_t stack_size,
              void (*entry)(void *arg))
{
    /* mctx_switch pops the frame and returns through x30 into the
     * trampoline with sp = top, which AAPCS64 needs 16-byte aligned. */
    uintptr_t top = ((uintptr_t)stack_lo + stack_size) & ~(uintptr_t)15;
    uint8_t *f = (uint8_t *)(top - CTX_A64_FRAME);
    memset(f, 0, CTX_A64_FRAME);
    /* FPCR 0 is the Linux default: round to nearest, no trapped
     * exceptions, no flush-to-zero, IEEE NaN handling. */
    uint64_t fpcr = 0;
    memcpy(f + CTX_A64_FPCR, &fpcr, 8);
    /* x19 is callee-saved, so mctx_switch restores it like any other saved
     * register and the trampoline finds the entry function there. */
    void (*t)(void) = mctx_trampoline_aarch64;
    _Static_assert(sizeof entry == 8 && sizeof t == 8, "code pointers fill a slot");
    memcpy(f + CTX_A64_X19, &entry, 8);
    memcpy(f + CTX_A64_X30, &t, 8);
    c->sp = f;
}
#endif

#ifndef GO_CONTEXT_ASM
/* ISO C forbids an empty translation unit, and -Wpedantic says so. */
typedef int go_context_frame_unused;
#endif
