/* gort_begin.S - first object of the pre-linked static library: marks the
 * start of libgoroutine's code (see sysmon.c, safe points). Hidden, and
 * made local in the installed archive (objcopy --localize-hidden, see
 * CMakeLists.txt): no user program sees the name. */
    .text
    .globl gort_text_begin
    .hidden gort_text_begin
gort_text_begin:
    .section .note.GNU-stack,"",@progbits
