/* gort_begin.S - first object of the pre-linked static library: marks the
 * start of libgoroutine's code (see sysmon.c, safe points). */
    .text
    .globl gort_text_begin
    .hidden gort_text_begin
gort_text_begin:
    .section .note.GNU-stack,"",@progbits
