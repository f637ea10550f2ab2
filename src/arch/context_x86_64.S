/*
 * context_x86_64.S - ctx_switch for the x86-64 System V ABI.
 *
 * Saves rbp, rbx, r12-r15, MXCSR and the x87 control word on the current
 * stack, stores the stack pointer in from->sp, loads to->sp and pops the
 * same frame. It does not save caller-saved registers, the x87 register
 * stack, vector registers (all caller-saved in this ABI), the signal mask or
 * FS. See context.h for the contract and the frame layout.
 */
#include "context.h"

    .text
    .globl ctx_switch
    .hidden ctx_switch
    .type ctx_switch, @function
    .p2align 4
/* void *ctx_switch(ctx_t *from, ctx_t *to, void *arg): rdi, rsi, rdx */
ctx_switch:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr CTX_X86_FPCTRL(%rsp)
    fnstcw CTX_X86_FPCTRL+4(%rsp)
    movq %rsp, (%rdi)
    movq (%rsi), %rsp
    ldmxcsr CTX_X86_FPCTRL(%rsp)
    fldcw CTX_X86_FPCTRL+4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    movq %rdx, %rax
    ret
    .cfi_endproc
    .size ctx_switch, .-ctx_switch

/*
 * First code a new context runs: ctx_make() leaves the entry function in
 * r12, and the arg of the switch that started us arrives in rax. The stack
 * pointer is 16-byte aligned here, so the call below meets the ABI.
 */
    .globl ctx_trampoline_x86_64
    .hidden ctx_trampoline_x86_64
    .type ctx_trampoline_x86_64, @function
    .p2align 4
ctx_trampoline_x86_64:
    .cfi_startproc
    .cfi_undefined rip
    xorl %ebp, %ebp
    movq %rax, %rdi
    callq *%r12
    ud2
    .cfi_endproc
    .size ctx_trampoline_x86_64, .-ctx_trampoline_x86_64

    .section .note.GNU-stack,"",@progbits
