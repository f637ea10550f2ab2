/* netpoll_epoll.c - being written (see src/netpoll.h). */
