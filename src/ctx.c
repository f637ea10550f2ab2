/* ctx.c - being written (see the ctx section of include/goroutine.h). */
