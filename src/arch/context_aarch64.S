/*
 * context_aarch64.S - mctx_switch for the AAPCS64 (Linux, ELF).
 *
 * Saves x19-x28, the frame pointer x29, the link register x30, the low 64
 * bits of v8-v15 (d8-d15) and FPCR on the current stack, stores the stack
 * pointer in from->sp, loads to->sp and pops the same frame. It does not
 * save caller-saved registers, the upper halves of v8-v15 (the ABI does not
 * preserve them across calls either), FPSR (the cumulative exception flags),
 * SVE/SME state, the signal mask or TPIDR_EL0. See context.h for the
 * contract and the CTX_A64_* frame layout.
 */
#include "context.h"

/*
 * Code built with -mbranch-protection=bti needs a landing pad at any
 * function that may be reached by an indirect call, and the linker only
 * keeps BTI on for the program when every object carries the property
 * note at the end of this file. `hint #34` is `bti c`, and it is a no-op
 * on cores without BTI, so spelling it as a hint needs no -march flag.
 */
#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define GO_BTI_C hint #34
#else
#define GO_BTI_C
#endif

    .text
    .globl mctx_switch
    .hidden mctx_switch
    .type mctx_switch, %function
    .p2align 4
/* void *mctx_switch(mctx_t *from, mctx_t *to, void *arg): x0, x1, x2 */
mctx_switch:
    .cfi_startproc
    GO_BTI_C
    /* Reserve the frame before storing into it: a signal may arrive at
     * any point and AAPCS64 on Linux has no red zone below sp. */
    sub sp, sp, #CTX_A64_FRAME
    .cfi_def_cfa_offset CTX_A64_FRAME
    stp x19, x20, [sp, #CTX_A64_X19]
    stp x21, x22, [sp, #CTX_A64_X19 + 16]
    stp x23, x24, [sp, #CTX_A64_X19 + 32]
    stp x25, x26, [sp, #CTX_A64_X19 + 48]
    stp x27, x28, [sp, #CTX_A64_X19 + 64]
    stp x29, x30, [sp, #CTX_A64_X29]
    stp d8, d9, [sp, #CTX_A64_D8]
    stp d10, d11, [sp, #CTX_A64_D8 + 16]
    stp d12, d13, [sp, #CTX_A64_D8 + 32]
    stp d14, d15, [sp, #CTX_A64_D8 + 48]
    /* The same frame layout sits at the top of every suspended stack, so
     * these rules stay true for the stack we switch to below. */
    .cfi_offset x19, CTX_A64_X19 - CTX_A64_FRAME
    .cfi_offset x20, CTX_A64_X19 + 8 - CTX_A64_FRAME
    .cfi_offset x21, CTX_A64_X19 + 16 - CTX_A64_FRAME
    .cfi_offset x22, CTX_A64_X19 + 24 - CTX_A64_FRAME
    .cfi_offset x23, CTX_A64_X19 + 32 - CTX_A64_FRAME
    .cfi_offset x24, CTX_A64_X19 + 40 - CTX_A64_FRAME
    .cfi_offset x25, CTX_A64_X19 + 48 - CTX_A64_FRAME
    .cfi_offset x26, CTX_A64_X19 + 56 - CTX_A64_FRAME
    .cfi_offset x27, CTX_A64_X19 + 64 - CTX_A64_FRAME
    .cfi_offset x28, CTX_A64_X19 + 72 - CTX_A64_FRAME
    .cfi_offset x29, CTX_A64_X29 - CTX_A64_FRAME
    .cfi_offset x30, CTX_A64_X30 - CTX_A64_FRAME
    .cfi_offset d8, CTX_A64_D8 - CTX_A64_FRAME
    .cfi_offset d9, CTX_A64_D8 + 8 - CTX_A64_FRAME
    .cfi_offset d10, CTX_A64_D8 + 16 - CTX_A64_FRAME
    .cfi_offset d11, CTX_A64_D8 + 24 - CTX_A64_FRAME
    .cfi_offset d12, CTX_A64_D8 + 32 - CTX_A64_FRAME
    .cfi_offset d13, CTX_A64_D8 + 40 - CTX_A64_FRAME
    .cfi_offset d14, CTX_A64_D8 + 48 - CTX_A64_FRAME
    .cfi_offset d15, CTX_A64_D8 + 56 - CTX_A64_FRAME
    mrs x9, fpcr
    str x9, [sp, #CTX_A64_FPCR]
    /* sp cannot be the source of a str, so it goes through x10. */
    mov x10, sp
    str x10, [x0]
    ldr x10, [x1]
    mov sp, x10
    ldp x19, x20, [sp, #CTX_A64_X19]
    ldp x21, x22, [sp, #CTX_A64_X19 + 16]
    ldp x23, x24, [sp, #CTX_A64_X19 + 32]
    ldp x25, x26, [sp, #CTX_A64_X19 + 48]
    ldp x27, x28, [sp, #CTX_A64_X19 + 64]
    ldp x29, x30, [sp, #CTX_A64_X29]
    ldp d8, d9, [sp, #CTX_A64_D8]
    ldp d10, d11, [sp, #CTX_A64_D8 + 16]
    ldp d12, d13, [sp, #CTX_A64_D8 + 32]
    ldp d14, d15, [sp, #CTX_A64_D8 + 48]
    /* Writing FPCR can stall the pipeline on some cores, and nearly every
     * switch is between contexts with the same (default) FPCR, so write it
     * only when it differs. x9 still holds the FPCR we are running with. */
    ldr x10, [sp, #CTX_A64_FPCR]
    cmp x9, x10
    b.eq 1f
    msr fpcr, x10
1:
    add sp, sp, #CTX_A64_FRAME
    .cfi_def_cfa_offset 0
    .irp reg, x19, x20, x21, x22, x23, x24, x25, x26, x27, x28, x29, x30
    .cfi_restore \reg
    .endr
    .irp reg, d8, d9, d10, d11, d12, d13, d14, d15
    .cfi_restore \reg
    .endr
    mov x0, x2
    ret
    .cfi_endproc
    .size mctx_switch, .-mctx_switch

/*
 * First code a new context runs, reached by the `ret` of mctx_switch (so
 * it needs no BTI landing pad). mctx_make() leaves the entry function in
 * x19, and the arg of the switch that started us arrives in x0. sp is the
 * 16-byte aligned top of the stack. Zeroing x29 and x30 ends the frame
 * chain here, and the CFI marks the return address undefined, so
 * debuggers and unwinders stop cleanly at this frame.
 */
    .globl mctx_trampoline_aarch64
    .hidden mctx_trampoline_aarch64
    .type mctx_trampoline_aarch64, %function
    .p2align 4
mctx_trampoline_aarch64:
    .cfi_startproc
    .cfi_undefined x30
    mov x29, xzr
    mov x30, xzr
    blr x19
    /* entry must never return; if it does, stop here rather than run off
     * into whatever follows. */
    brk #0x3c
    .cfi_endproc
    .size mctx_trampoline_aarch64, .-mctx_trampoline_aarch64

/*
 * The GNU property note tells the linker this object is fit for BTI and
 * return-address signing (it signs nothing itself, and the x30 it saves
 * is the unsigned return address of the call into mctx_switch). Without
 * it, one object built without the note turns the protection off for the
 * whole program. Emitted only when the compiler asks for the features.
 */
#if (defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT) || \
    (defined(__ARM_FEATURE_PAC_DEFAULT) && __ARM_FEATURE_PAC_DEFAULT)
#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define GO_PROP_BTI 1
#else
#define GO_PROP_BTI 0
#endif
#if defined(__ARM_FEATURE_PAC_DEFAULT) && __ARM_FEATURE_PAC_DEFAULT
#define GO_PROP_PAC 2
#else
#define GO_PROP_PAC 0
#endif
    .pushsection .note.gnu.property, "a"
    .p2align 3
    .long 4                 /* name size: "GNU" and its NUL */
    .long 16                /* descriptor size */
    .long 5                 /* NT_GNU_PROPERTY_TYPE_0 */
    .asciz "GNU"
    .long 0xc0000000        /* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
    .long 4                 /* property data size */
    .long GO_PROP_BTI | GO_PROP_PAC
    .long 0                 /* pad to 8 bytes */
    .popsection
#endif

    .section .note.GNU-stack,"",%progbits
