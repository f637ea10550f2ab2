/* chan.c - being written (see the chan section of include/goroutine.h). */
