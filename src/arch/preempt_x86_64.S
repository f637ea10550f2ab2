/*
 * preempt_x86_64.S - the code an asynchronously preempted goroutine
 * "calls" (see sysmon.c). On entry the interrupted instruction's address
 * is at (%rsp), and 128 bytes above it begins the interrupted code's red
 * zone. We save every general-purpose register the C ABI lets a call
 * clobber, the flags, and the whole XSAVE state (x87, SSE, AVX...), yield,
 * restore all of it and resume the interrupted code with `ret $128`.
 * Callee-saved registers need no saving: the C code we call keeps them.
 */
    .text
    .globl go_preempt_trampoline
    .hidden go_preempt_trampoline
    .type go_preempt_trampoline, @function
    .p2align 4
go_preempt_trampoline:
    .cfi_startproc
    pushfq
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %rbx
    movq %rsp, %rbx                 /* rbx is callee-saved: keeps the frame */
    movl go_preempt_xsave_size(%rip), %eax
    subq %rax, %rsp
    andq $-64, %rsp                 /* XSAVE needs 64-byte alignment */
    /* XSAVE requires the header (bytes 512-575) to start out zero. */
    xorl %eax, %eax
    movq %rax, 512(%rsp)
    movq %rax, 520(%rsp)
    movq %rax, 528(%rsp)
    movq %rax, 536(%rsp)
    movq %rax, 544(%rsp)
    movq %rax, 552(%rsp)
    movq %rax, 560(%rsp)
    movq %rax, 568(%rsp)
    movl $-1, %eax
    movl $-1, %edx
    xsave (%rsp)
    cld                             /* the ABI wants DF clear at a call */
    call go_preempt_yield
    movl $-1, %eax
    movl $-1, %edx
    xrstor (%rsp)
    movq %rbx, %rsp
    popq %rbx
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
    popfq
    ret $128
    .cfi_endproc
    .size go_preempt_trampoline, .-go_preempt_trampoline

    .section .note.GNU-stack,"",@progbits
