/* gort_end.S - last object of the pre-linked static library: marks the
 * end of libgoroutine's code (see sysmon.c, safe points). Hidden, and
 * made local in the installed archive (objcopy --localize-hidden, see
 * CMakeLists.txt): no user program sees the name. */
    .text
    .globl gort_text_end
    .hidden gort_text_end
gort_text_end:
    .section .note.GNU-stack,"",@progbits
