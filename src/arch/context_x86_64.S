/*
 * context_x86_64.S - mctx_switch for the x86-64 System V ABI.
 *
 * Saves rbp, rbx, r12-r15, MXCSR and the x87 control word on the current
 * stack, stores the stack pointer in from->sp, loads to->sp and pops the
 * same frame. It does not save caller-saved registers, the x87 register
 * stack, vector registers (all caller-saved in this ABI), the signal mask or
 * FS. See context.h for the contract and the frame layout.
 */
#include "context.h"

    .text
    .globl mctx_switch
    .hidden mctx_switch
    .type mctx_switch, @function
    .p2align 4
/* void *mctx_switch(mctx_t *from, mctx_t *to, void *arg): rdi, rsi, rdx */
/*
 * The unwind info below stays right across the stack swap: both stacks
 * hold the same frame layout at the same offsets from %rsp, so a debugger
 * or profiler stopped anywhere in here finds the caller's registers.
 */
mctx_switch:
    .cfi_startproc
    pushq %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset rbp, 0
    pushq %rbx
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset rbx, 0
    pushq %r12
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r12, 0
    pushq %r13
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r13, 0
    pushq %r14
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r14, 0
    pushq %r15
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r15, 0
    subq $8, %rsp
    .cfi_adjust_cfa_offset 8
    stmxcsr CTX_X86_FPCTRL(%rsp)
    fnstcw CTX_X86_FPCTRL+4(%rsp)
    movq %rsp, (%rdi)
    movq (%rsi), %rsp
    ldmxcsr CTX_X86_FPCTRL(%rsp)
    fldcw CTX_X86_FPCTRL+4(%rsp)
    addq $8, %rsp
    .cfi_adjust_cfa_offset -8
    popq %r15
    .cfi_adjust_cfa_offset -8
    .cfi_restore r15
    popq %r14
    .cfi_adjust_cfa_offset -8
    .cfi_restore r14
    popq %r13
    .cfi_adjust_cfa_offset -8
    .cfi_restore r13
    popq %r12
    .cfi_adjust_cfa_offset -8
    .cfi_restore r12
    popq %rbx
    .cfi_adjust_cfa_offset -8
    .cfi_restore rbx
    popq %rbp
    .cfi_adjust_cfa_offset -8
    .cfi_restore rbp
    movq %rdx, %rax
    ret
    .cfi_endproc
    .size mctx_switch, .-mctx_switch

/*
 * First code a new context runs: mctx_make() leaves the entry function in
 * r12, and the arg of the switch that started us arrives in rax. The stack
 * pointer is 16-byte aligned here, so the call below meets the ABI.
 */
    .globl mctx_trampoline_x86_64
    .hidden mctx_trampoline_x86_64
    .type mctx_trampoline_x86_64, @function
    .p2align 4
mctx_trampoline_x86_64:
    .cfi_startproc
    .cfi_undefined rip
    xorl %ebp, %ebp
    movq %rax, %rdi
    callq *%r12
    ud2
    .cfi_endproc
    .size mctx_trampoline_x86_64, .-mctx_trampoline_x86_64

    .section .note.GNU-stack,"",@progbits
