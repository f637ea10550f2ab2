/*
 * context.h - the raw context switch, the hottest code in the library.
 * Its names start with mctx_ (machine context); "ctx" alone, as in ctx.c
 * and go_ctx_*, is the cancellation context.
 *
 * Contract, met by arch/context_x86_64.S, arch/context_aarch64.S and the
 * portable arch/context_ucontext.c (chosen by CMake):
 *
 *   mctx_switch(from, to, arg) saves the caller's callee-saved registers, its
 *   stack pointer and its floating-point control words (x86-64: MXCSR and
 *   the x87 control word; aarch64: FPCR) into `from`, loads `to`, and
 *   resumes it. The resumed side sees its own mctx_switch() call return
 *   `arg`. Caller-saved registers are NOT preserved (the C ABI lets a call
 *   clobber them anyway), nor are signal masks, FS/TPIDR, or errno: the
 *   scheduler handles errno itself.
 *
 *   mctx_make(c, stack_lo, stack_size, entry) prepares `c` so that the first
 *   mctx_switch() into it calls entry(arg) on the given stack with a 16-byte
 *   aligned stack pointer, where arg is the value passed to that switch.
 *   entry must never return (the frame above it is a trap).
 *
 * The x86-64 and aarch64 implementations push the registers on the
 * switched-from stack and keep only the stack pointer in the context, so a
 * switch is a dozen instructions and touches one cache line of each stack.
 * The layout of that pushed frame is fixed by the CTX_* offsets below,
 * shared by the assembly (which includes this file with __ASSEMBLER__
 * defined) and mctx_make(); the static asserts in context_frame.c pin them.
 */
#ifndef GO_ARCH_CONTEXT_H
#define GO_ARCH_CONTEXT_H

#if defined(__x86_64__) && !defined(GO_CONTEXT_UCONTEXT)
/* Frame at the saved sp (8-byte slots): fp control, r15, r14, r13, r12,
 * rbx, rbp, return address. */
#define CTX_X86_FPCTRL 0  /* MXCSR in bytes 0-3, x87 CW in bytes 4-5 */
#define CTX_X86_R15 8
#define CTX_X86_R14 16
#define CTX_X86_R13 24
#define CTX_X86_R12 32
#define CTX_X86_RBX 40
#define CTX_X86_RBP 48
#define CTX_X86_RIP 56
#define CTX_X86_FRAME 64
#define GO_CONTEXT_ASM 1
#elif defined(__aarch64__) && !defined(GO_CONTEXT_UCONTEXT)
/* Frame at the saved sp: x19-x28, x29 (fp), x30 (lr), d8-d15, fpcr, pad. */
#define CTX_A64_X19 0
#define CTX_A64_X29 80
#define CTX_A64_X30 88
#define CTX_A64_D8 96
#define CTX_A64_FPCR 160
#define CTX_A64_FRAME 176
#define GO_CONTEXT_ASM 1
#endif

#ifndef __ASSEMBLER__
#include <stddef.h>

#ifdef GO_CONTEXT_ASM
typedef struct ctx {
    void *sp; /* saved stack pointer; the registers are on that stack */
} mctx_t;
#else
#include <ucontext.h>
typedef struct ctx {
    ucontext_t uc;
    void *transfer; /* the arg handed to whoever resumes this context */
    void (*entry)(void *);
} mctx_t;
#endif

void *mctx_switch(mctx_t *from, mctx_t *to, void *arg);
void mctx_make(mctx_t *c, void *stack_lo, size_t stack_size,
              void (*entry)(void *arg));
#endif /* !__ASSEMBLER__ */

#endif /* GO_ARCH_CONTEXT_H */
