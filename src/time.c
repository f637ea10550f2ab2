/* time.c - being written (see the time section of include/goroutine.h). */
