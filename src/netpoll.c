/* netpoll.c - being written (see src/netpoll.h). */
