/* io.c - being written (see src/netpoll.h). */
